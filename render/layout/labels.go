package layout

import (
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// maxLabelBytes cuts any single wire value before it goes into a label or
// note; fit then cuts to the available width.
const maxLabelBytes = 128

// field returns the cleaned value of Info field key, or "".
func field(e *decode.Event, key string) string {
	if f, ok := e.Info.Get(key); ok {
		return value(f, maxLabelBytes)
	}
	return ""
}

// arrowLabel is the text above an arrow: the type and a short detail.
// TCP arrows show relative sequence and acknowledgment numbers and the
// payload length, as Wireshark does; plain segments are named by their
// flags.
func arrowLabel(e *decode.Event) string {
	var b strings.Builder
	name := clean(string(e.Type), maxLabelBytes)
	if e.Layer == decode.LayerTCP {
		if e.Type == decode.TypeSegment {
			if fl := field(e, "flags"); fl != "" {
				name = fl
			}
		}
		b.WriteString(name)
		for _, k := range [...]string{"seq", "ack"} {
			if v := field(e, k); v != "" {
				b.WriteString(" " + k + "=" + v)
			}
		}
		if e.Len > 0 {
			b.WriteString(" len=" + strconv.FormatInt(e.Len, 10))
		}
		if f, ok := e.Info.Get("refused"); ok && f.Kind == decode.KindBool && f.Bool() {
			b.WriteString(" (refused)")
		}
		return b.String()
	}
	if e.Layer != decode.LayerUDP {
		// Later layers name the layer, since their types do not say it.
		b.WriteString(clean(e.Layer.String(), maxLabelBytes) + " ")
	}
	b.WriteString(name)
	if e.Stream != decode.NoValue {
		b.WriteString(" stream=" + strconv.FormatInt(e.Stream, 10))
	}
	if d := httpDetail(e); d != "" {
		b.WriteString(" " + d)
	} else if e.Len != decode.NoValue {
		b.WriteString(" len=" + strconv.FormatInt(e.Len, 10))
	}
	return b.String()
}

// httpDetail is what an HTTP event's label says after its type: the
// request ("GET /path"), the status ("200 OK"), an acknowledgment or an
// error code; "" for other events.
func httpDetail(e *decode.Event) string {
	switch e.Layer {
	case decode.LayerHTTP1, decode.LayerHTTP2, decode.LayerHTTP3, decode.LayerWS:
	default:
		return ""
	}
	var parts []string
	if m := field(e, "method"); m != "" {
		parts = append(parts, m)
		if p := field(e, "path"); p != "" {
			parts = append(parts, p)
		}
	}
	if st := field(e, "status"); st != "" && st != "0" {
		parts = append(parts, st)
		if r := field(e, "reason"); r != "" {
			parts = append(parts, r)
		}
	}
	for _, k := range [...]string{"code", "error_code"} {
		if v := field(e, k); v != "" {
			parts = append(parts, v)
		}
	}
	if f, ok := e.Info.Get("ack"); ok && f.Kind == decode.KindBool && f.Bool() {
		parts = append(parts, "ack")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ")
}

// exchangeNote sums up an HTTP exchange: "GET /path → 200 · first byte
// 11.2 ms · 3,933 B".
func exchangeNote(e *decode.Event) string {
	s := "exchange"
	if e.Stream != decode.NoValue {
		s += " " + strconv.FormatInt(e.Stream, 10)
	}
	s += ": " + field(e, "method") + " " + field(e, "path")
	if st := field(e, "status"); st != "" && st != "0" {
		s += " → " + st
	}
	if f, ok := e.Info.Get("first_byte_ms"); ok && f.Kind == decode.KindDuration {
		s += " · first byte " + millis(f.Duration()) + " ms"
	}
	if f, ok := e.Info.Get("resp_bytes"); ok {
		s += " · " + grouped(f.Int) + " B"
	}
	for _, k := range [...]string{"reset", "incomplete"} {
		if f, ok := e.Info.Get(k); ok && f.Kind == decode.KindBool && f.Bool() {
			s += " · " + k
		}
	}
	return s
}

// markerNote is the note for an analysis finding.
func markerNote(e *decode.Event) string {
	name := clean(string(e.Type), maxLabelBytes)
	switch {
	case e.Type == decode.TypeDupAck:
		s := name
		if v := field(e, "dup_ack_num"); v != "" {
			s += " #" + v
		}
		if v := field(e, "ack"); v != "" {
			s += " ack=" + v
		}
		return s
	case e.Type == decode.TypeCapLimit:
		if v := field(e, "limit"); v != "" {
			return name + ": " + v
		}
		return name
	case e.Layer == decode.LayerTCP && (e.Type == decode.TypeZeroWindow || e.Type == decode.TypeKeepAlive):
		return name
	case e.Layer == decode.LayerTCP:
		s := name
		if v := field(e, "seq"); v != "" {
			s += " seq=" + v
		}
		if e.Len > 0 {
			s += " len=" + strconv.FormatInt(e.Len, 10)
		}
		return s
	}
	if e.Len != decode.NoValue {
		return name + " len=" + strconv.FormatInt(e.Len, 10)
	}
	return name
}

// stallNote is the note beside a head-of-line stall.
func stallNote(e *decode.Event) string {
	s := "HOL stall"
	if f, ok := e.Info.Get("duration_ms"); ok && f.Kind == decode.KindDuration {
		s += " " + human(f.Duration())
	}
	if f, ok := e.Info.Get("blocked_bytes"); ok && (f.Kind == decode.KindUint || f.Kind == decode.KindInt) {
		s += ", " + grouped(f.Int) + " B blocked"
	}
	return s
}

// centerNote is the text of a connection-wide event: its type and its
// Info values.
func centerNote(e *decode.Event) string {
	if e.Type == "exchange" {
		return exchangeNote(e)
	}
	var b strings.Builder
	b.WriteString(clean(string(e.Type), maxLabelBytes))
	for i, f := range e.Info {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(clean(f.Key, maxLabelBytes) + "=" + value(f, maxLabelBytes))
		if b.Len() > maxNoteBytes {
			break
		}
	}
	return b.String()
}

// tip is an event's tooltip: what it is, when, and every Info field.
func (s *seq) tip(e *decode.Event) string {
	var b strings.Builder
	b.WriteString(clean(e.Layer.String(), maxTipValue) + " " + clean(string(e.Type), maxTipValue))
	b.WriteString("\nframe " + strconv.FormatInt(e.Frame, 10) + " · +" + millis(e.TS.Sub(s.conn.FirstTS)) + " ms · ")
	switch e.Dir {
	case decode.C2S:
		b.WriteString("client → server")
	case decode.S2C:
		b.WriteString("server → client")
	default:
		b.WriteString("connection")
	}
	b.WriteString("\n" + e.TS.UTC().Format(time.RFC3339Nano))
	if e.Stream != decode.NoValue {
		b.WriteString("\nstream: " + strconv.FormatInt(e.Stream, 10))
	}
	if e.Len != decode.NoValue {
		b.WriteString("\nlen: " + strconv.FormatInt(e.Len, 10))
	}
	for i, f := range e.Info {
		if i == maxTipFields {
			b.WriteString("\n… " + strconv.Itoa(len(e.Info)-i) + " more fields")
			break
		}
		b.WriteString("\n" + clean(f.Key, maxTipValue) + ": " + value(f, maxTipValue))
	}
	return b.String()
}

// arrowClass is a layer name, or ClassError for resets.
func arrowClass(e *decode.Event) string {
	if e.Layer == decode.LayerTCP && e.Type == decode.TypeRST {
		return ClassError
	}
	return clean(e.Layer.String(), maxLabelBytes)
}

func markerClass(e *decode.Event) string {
	if e.Type == decode.TypeDecodeError {
		return ClassError
	}
	return ClassWarning
}

func centerClass(e *decode.Event) string {
	switch e.Type {
	case decode.TypeDecodeError:
		return ClassError
	case decode.TypeCapLimit:
		return ClassWarning
	}
	return ClassConn
}

// markerShape gives each finding a shape, so that they differ by more than
// colour.
func markerShape(e *decode.Event) Shape {
	switch e.Type {
	case decode.TypeRetransmission, decode.TypeFastRetransmission:
		return Circle
	case decode.TypeDupAck:
		return Diamond
	case decode.TypeLostSegment:
		return Cross
	case decode.TypeZeroWindow, decode.TypeCapLimit:
		return Square
	case decode.TypeOutOfOrder, decode.TypeKeepAlive:
		return Triangle
	}
	return Circle
}
