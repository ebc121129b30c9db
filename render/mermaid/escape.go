package mermaid

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escape makes s inert in a Mermaid statement's text: a message, a note,
// a participant's description or the title.
//
// Mermaid's sequence grammar ends a text at '#', ';' or a newline, treats
// "%%{" anywhere in the source as a directive (which could change the
// configuration), strips a leading "wrap:" or "nowrap:", renders '<br>'
// and other markup through its HTML sanitizer, and math between '$$'.
// So every ASCII character other than letters, digits, space and
// . , / _ - + = ( ) [ ] ! ? * @ ~ ^ | becomes an entity code, #59; for ';',
// which Mermaid turns into the HTML character reference &#59; when it
// renders. Characters that are not printable (the caller has already
// written control characters as escapes) become U+FFFD, since SVG could
// not hold them.
func escape(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !safe(c) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && safe(byte(r)):
			b.WriteRune(r)
		case r < utf8.RuneSelf:
			b.WriteByte('#')
			b.WriteString(strconv.Itoa(int(r)))
			b.WriteByte(';')
		case r == utf8.RuneError || !unicode.IsPrint(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safe reports whether an ASCII byte may appear as itself in a text.
func safe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte(" .,/_-+=()[]!?*@~^|", c) >= 0
}
