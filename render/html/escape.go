package html

import (
	"bufio"
	"strconv"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/render/layout"
)

// writer is the only path to the output. Markup written by this package
// is constant; every string from an event goes through text (cleaned and
// escaped) and numbers through num. The first write error sticks.
type writer struct {
	w   *bufio.Writer
	err error
	buf []byte
}

// raw writes markup that this package wrote itself, never data.
func (w *writer) raw(s string) {
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

// bytes writes markup produced by a trusted encoder (render/svg).
func (w *writer) bytes(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

// text writes a wire string as HTML text or as a double-quoted attribute
// value: cleaned by layout.Clean (control characters and invalid UTF-8
// shown as escapes, cut to max bytes) and escaped.
func (w *writer) text(s string, max int) {
	w.esc(layout.Clean(s, max))
}

// esc writes s escaped for HTML text and double- or single-quoted
// attribute values. s must already be clean (see text) or our own.
func (w *writer) esc(s string) {
	if w.err == nil {
		w.buf = appendEscaped(w.buf[:0], s)
		_, w.err = w.w.Write(w.buf)
	}
}

// num writes an integer.
func (w *writer) num(v int64) {
	if w.err == nil {
		w.buf = strconv.AppendInt(w.buf[:0], v, 10)
		_, w.err = w.w.Write(w.buf)
	}
}

// appendEscaped appends s with &, <, >, " and ' as character references.
// What HTML cannot carry as text is replaced by U+FFFD: NUL and the other
// C0 controls but tab, newline and carriage return, DEL, the C1
// controls, noncharacters and invalid UTF-8 (layout.Clean has already
// written these as visible escapes; this is the last line).
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '"':
				b = append(b, "&#34;"...)
			case c == '\'':
				b = append(b, "&#39;"...)
			case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f || r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
