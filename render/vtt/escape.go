package vtt

import (
	"strings"
	"unicode"
)

// escape makes s safe as one line of cue text (WebVTT §4.2.2 and §6.4):
// '&', '<' and '>' become the character references &amp; &lt; &gt;, so
// that no cue tag, timestamp tag or "-->" can appear, and control
// characters (line breaks among them, which would end the cue) are
// removed. Wire strings reach it already cleaned by layout.Clean, which
// writes control characters as visible escapes.
func escape(s string) string {
	if !strings.ContainsFunc(s, special) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func special(r rune) bool {
	return r == '&' || r == '<' || r == '>' || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
