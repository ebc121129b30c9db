package jsonl

import (
	"bufio"
	"io"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// Writer writes one JSON object per event. Call Flush when done.
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// New returns a Writer on w.
func New(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 1024)}
}

// Event writes ev as one line.
func (j *Writer) Event(ev *timeline.Event) error {
	j.buf = AppendEvent(j.buf[:0], ev)
	j.buf = append(j.buf, '\n')
	_, err := j.w.Write(j.buf)
	return err
}

// Flush writes buffered lines to the underlying writer.
func (j *Writer) Flush() error { return j.w.Flush() }

// AppendEvent appends the JSON object for ev (without a newline).
func AppendEvent(b []byte, ev *timeline.Event) []byte {
	b = append(b, `{"ts":"`...)
	b = AppendTime(b, ev.TS)
	b = append(b, `","frame":`...)
	b = strconv.AppendInt(b, ev.Frame, 10)
	if c := ev.Conn; c != nil {
		b = append(b, `,"conn":`...)
		b = strconv.AppendInt(b, int64(c.ID), 10)
		b = append(b, `,"transport":"`...)
		b = append(b, c.Transport.String()...)
		b = append(b, `","client":"`...)
		b = appendAddrPort(b, c.Client)
		b = append(b, `","server":"`...)
		b = appendAddrPort(b, c.Server)
		b = append(b, '"')
	}
	if ev.Dir != decode.DirNone {
		b = append(b, `,"dir":"`...)
		b = append(b, ev.Dir.String()...)
		b = append(b, '"')
	}
	b = append(b, `,"layer":"`...)
	b = append(b, ev.Layer.String()...)
	b = append(b, `","type":`...)
	b = AppendString(b, string(ev.Type))
	if ev.Stream != decode.NoValue {
		b = append(b, `,"stream":`...)
		b = strconv.AppendInt(b, ev.Stream, 10)
	}
	if ev.Len != decode.NoValue {
		b = append(b, `,"len":`...)
		b = strconv.AppendInt(b, ev.Len, 10)
	}
	b = append(b, `,"info":`...)
	b = AppendInfo(b, ev.Info)
	return append(b, '}')
}

// AppendTime appends t in RFC 3339 UTC with microseconds, or nanoseconds
// when the timestamp has sub-microsecond digits, so a capture's full
// precision is kept.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond()%1000 == 0 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	}
	return t.AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
}

func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return b
	}
	return ap.AppendTo(b)
}

// AppendInfo appends info as a JSON object, keys in order.
func AppendInfo(b []byte, info decode.Info) []byte {
	b = append(b, '{')
	for i, f := range info {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, f.Key)
		b = append(b, ':')
		b = appendValue(b, f)
	}
	return append(b, '}')
}

func appendValue(b []byte, f decode.Field) []byte {
	switch f.Kind {
	case decode.KindString:
		return AppendString(b, f.Str)
	case decode.KindInt, decode.KindUint:
		return strconv.AppendInt(b, f.Int, 10)
	case decode.KindFloat:
		if math.IsNaN(f.Float) || math.IsInf(f.Float, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, f.Float, 'f', -1, 64)
	case decode.KindBool:
		return strconv.AppendBool(b, f.Bool())
	case decode.KindDuration:
		return decode.AppendMillis(b, f.Duration())
	case decode.KindStrings:
		b = append(b, '[')
		for i, s := range f.Strs {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, s)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Control characters, quotes,
// backslashes, U+2028/U+2029 and <, >, & are escaped; invalid UTF-8 becomes
// U+FFFD, so the result is always valid JSON and safe to embed in HTML.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
