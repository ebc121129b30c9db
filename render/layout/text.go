package layout

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
)

// clean makes a wire string safe to show and bounded: invalid UTF-8 bytes
// become \xNN, control characters and the bidirectional overrides that can
// disguise text become Go-style escapes, and the result is cut to at most
// max bytes (on a character boundary) with a count of the bytes omitted.
// Escaping for an output format is left to the renderer.
func clean(s string, max int) string {
	if max > 0 && len(s) <= max && isPlain(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size == 1:
			piece = `\x` + hex2(s[i])
		case r == '\n':
			piece = `\n`
		case r == '\r':
			piece = `\r`
		case r == '\t':
			piece = `\t`
		case r < 0x80 && unicode.IsControl(r):
			piece = `\x` + hex2(byte(r))
		case unicode.IsControl(r) || isBidi(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff':
			piece = `\u` + strconv.FormatInt(int64(r)+0x10000, 16)[1:]
		default:
			piece = s[i : i+size]
		}
		if max > 0 && b.Len()+len(piece) > max {
			b.WriteString("… (")
			b.WriteString(strconv.Itoa(len(s) - i))
			b.WriteString(" bytes omitted)")
			return b.String()
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

// isPlain reports whether s is valid UTF-8 without anything clean rewrites.
func isPlain(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || isBidi(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return false
		}
	}
	return true
}

// isBidi reports the explicit directional formatting characters
// (embeddings, overrides and isolates), which can make text read
// differently from what it is.
func isBidi(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f'
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// textWidth estimates the drawn width of s in a font of the given size.
func textWidth(s string, size float64, mono bool) float64 {
	adv := sansAdvance
	if mono {
		adv = monoAdvance
	}
	return float64(utf8.RuneCountInString(s)) * size * adv
}

// fit cuts s with "…" so that it is at most width wide.
func fit(s string, width, size float64, mono bool) string {
	if textWidth(s, size, mono) <= width {
		return s
	}
	adv := sansAdvance
	if mono {
		adv = monoAdvance
	}
	return Cut(s, int(width/(size*adv)))
}

// Cut shortens s to at most n characters, the last of them "…" when s
// was cut.
func Cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if n <= 1 {
			i = j
			break
		}
		n--
	}
	return s[:i] + "…"
}

// round keeps one decimal, so the goldens stay short and stable.
func round(v float64) float64 { return math.Round(v*10) / 10 }

// millis formats d as milliseconds with up to three decimals.
func millis(d time.Duration) string { return string(decode.AppendMillis(nil, d)) }

// human formats a duration for idle breaks and the summary: "850 µs",
// "12.5 ms", "3.2 s", "4 min 10 s", "2 h 5 min".
func human(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d < time.Millisecond:
		return neg + strconv.FormatInt(int64(d/time.Microsecond), 10) + " µs"
	case d < time.Second:
		return neg + millis(d.Round(10*time.Microsecond)) + " ms"
	case d < time.Minute:
		return neg + strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return neg + strconv.FormatInt(int64(d/time.Minute), 10) + " min " + strconv.FormatInt(int64(d%time.Minute/time.Second), 10) + " s"
	}
	d = d.Round(time.Minute)
	return neg + strconv.FormatInt(int64(d/time.Hour), 10) + " h " + strconv.FormatInt(int64(d%time.Hour/time.Minute), 10) + " min"
}

// grouped formats n with thousands separators: 1,234,567.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return neg + s
	}
	var b strings.Builder
	b.WriteString(neg)
	first := len(s) % 3
	if first > 0 {
		b.WriteString(s[:first])
	}
	for i := first; i < len(s); i += 3 {
		if b.Len() > len(neg) {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// bytesText formats a byte count: "1,234 B", with "(1.2 MB)" above 10 kB.
func bytesText(n int64) string {
	s := grouped(n) + " B"
	if n >= 10000 {
		s += " (" + scaledBytes(n) + ")"
	}
	return s
}

// scaledBytes is n in the largest decimal unit that keeps it at least 1:
// "850 B", "12.3 kB", "1.9 MB".
func scaledBytes(n int64) string {
	units := [...]string{"kB", "MB", "GB", "TB"}
	v := float64(n)
	u := -1
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	if u < 0 {
		return strconv.FormatInt(n, 10) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u]
}

// value returns a field's value as cleaned text, cut to max bytes.
func value(f decode.Field, max int) string {
	var buf [64]byte
	return clean(string(f.AppendValue(buf[:0])), max)
}
