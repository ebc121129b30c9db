package svg

import (
	"bufio"
	"encoding/xml"
	"io"
	"strconv"
)

// writer is the only path from a Diagram to the output. Markup written by
// this package is constant; every string that came from a Diagram goes
// through esc (text and attribute values) or name (IDs and class names).
// The first write error sticks and ends the output.
type writer struct {
	w   *bufio.Writer
	err error
	// speed divides animation times; 0 writes a still picture.
	speed float64
}

func newWriter(w io.Writer) *writer { return &writer{w: bufio.NewWriter(w)} }

// raw writes markup that this package wrote itself, never data.
func (w *writer) raw(s string) {
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

// esc writes s escaped for XML text and attribute values. encoding/xml
// also replaces what XML 1.0 cannot hold (invalid UTF-8, most control
// characters, U+FFFE) with U+FFFD, so any string yields a well-formed
// document.
func (w *writer) esc(s string) {
	if w.err == nil {
		w.err = xml.EscapeText(w.w, []byte(s))
	}
}

// name writes s encoded as an XML name fragment for an ID or a class (see
// appendName).
func (w *writer) name(s string) {
	if w.err == nil {
		var b [64]byte
		_, w.err = w.w.Write(appendName(b[:0], s))
	}
}

// appendName appends s encoded for use inside an ID or class name: ASCII
// letters, digits and '-' stay, every other byte becomes _xx in hex. The
// encoding is one-to-one, so distinct strings stay distinct, and the
// result never needs escaping.
func appendName(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			b = append(b, c)
		default:
			b = append(b, '_', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// num writes a coordinate in the shortest form that reads back exactly.
func (w *writer) num(v float64) {
	if w.err == nil {
		var b [32]byte
		_, w.err = w.w.Write(strconv.AppendFloat(b[:0], v, 'f', -1, 64))
	}
}

// attr writes ` k="v"` with v escaped.
func (w *writer) attr(k, v string) {
	w.raw(" " + k + `="`)
	w.esc(v)
	w.raw(`"`)
}

// numAttr writes ` k="v"` for a number.
func (w *writer) numAttr(k string, v float64) {
	w.raw(" " + k + `="`)
	w.num(v)
	w.raw(`"`)
}

// title writes a <title> child, which browsers show as a tooltip.
func (w *writer) title(s string) {
	if s == "" {
		return
	}
	w.raw("<title>")
	w.esc(s)
	w.raw("</title>")
}

func (w *writer) flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}
