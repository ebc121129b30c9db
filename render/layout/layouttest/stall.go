package layouttest

import (
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// FlowControlStall is an HTTP/2 download whose stream 3 waited 12.5 ms
// for a WINDOW_UPDATE: an analysis/flow-control-stall event (as
// decode/h2 emits it) between DATA frames.
func FlowControlStall() Case {
	b := newBuilder(8, "192.0.2.10:51500", "198.51.100.20:443", false)
	t := b.handshake(0)
	data := func(us float64, dir decode.Dir, typ decode.Type, n int64) {
		b.next()
		e := decode.NewEvent(b.frame, at(us), dir, decode.LayerHTTP2, typ)
		e.Stream, e.Len = 3, n
		b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
	}
	data(t+1000, decode.S2C, "DATA", 16384)
	data(t+1100, decode.S2C, "DATA", 16384)
	b.next()
	e := decode.NewEvent(b.frame, at(t+13600), decode.S2C, decode.LayerAnalysis, "flow-control-stall")
	e.Stream = 3
	e.Info = decode.Info{decode.String("scope", "stream"), decode.Uint("stream", 3), decode.Int("window", 0),
		decode.String("start", at(t+1100).Format(time.RFC3339Nano)), decode.String("end", at(t+13600).Format(time.RFC3339Nano)),
		decode.Millis("duration_ms", 12500*time.Microsecond), decode.Int("start_frame", b.frame-1)}
	b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
	data(t+13600, decode.C2S, "WINDOW_UPDATE", 4)
	data(t+14000, decode.S2C, "DATA", 16384)
	c := b.summary(t+15000, decode.String("handshake", "TCP"), decode.String("protocol", "http2"))
	c.Name = "flow-control-stall"
	return c
}
