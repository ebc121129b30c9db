package h2

import (
	"slices"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// TypeFlowControlStall is the analysis event of a flow-control stall
// (layer analysis): a sender's stream or connection window was exhausted
// while it still had a stream open for sending, until the receiver
// reopened it. See doc.go for the rule.
const TypeFlowControlStall decode.Type = "flow-control-stall"

// Scopes of a flow-control stall: one stream's window, or the connection's.
const (
	scopeStream     = "stream"
	scopeConnection = "connection"
)

// fcStall is a flow-control stall in progress on one window of one
// sender: the window went to zero or below and has not been reopened.
type fcStall struct {
	on     bool
	at     decode.Position // the frame at which the sender became blocked
	window int64           // the window then
	stream uint32          // connection scope: the stream that was blocked then
}

// sending reports whether dir may still send DATA on the stream: it has
// not ended its side with END_STREAM and the stream was not reset. A
// promised stream is not open for the server until its HEADERS.
func (st *stream) sending(dir decode.Dir) bool {
	switch st.state {
	case stateOpen:
		return true
	case stateHalfClosedLocal:
		return dir == decode.S2C
	case stateHalfClosedRemote:
		return dir == decode.C2S
	}
	return false
}

// blocked starts the stalls of dir's sender on st after a frame it sent
// there: a DATA frame with a payload, or HEADERS. When the stream stays
// open for dir's data (no END_STREAM) and its window, or the connection's,
// is at or below zero, the sender cannot send another byte of DATA until
// the receiver reopens that window. at is the frame's last byte.
func (d *Decoder) blocked(dir decode.Dir, st *stream, at decode.Position) {
	if !st.sending(dir) {
		return
	}
	i := dir.Index()
	if w := d.streamWindow(st, i); w <= 0 && !st.stall[i].on {
		st.stall[i] = fcStall{on: true, at: at, window: w}
	}
	if c := &d.connStall[i]; !c.on && d.connWin[i] <= 0 {
		*c = fcStall{on: true, at: at, window: d.connWin[i], stream: st.id}
	}
}

// windowReopened ends the stalls of the sender of dir (the direction the
// window serves) that a WINDOW_UPDATE on stream id, now applied, reopened:
// the window is above zero again. A stall whose streams have all ended
// meanwhile is dropped: the sender had nothing left to send.
func (d *Decoder) windowReopened(dir decode.Dir, id uint32, at decode.Position, emit decode.Emit) {
	i := dir.Index()
	if id == 0 {
		c := &d.connStall[i]
		if !c.on || d.connWin[i] <= 0 {
			return
		}
		if d.anySending(dir, c.stream) {
			emit(d.stallEvent(dir, scopeConnection, 0, c, at))
		}
		*c = fcStall{}
		return
	}
	if st := d.streams[id]; st != nil {
		d.streamReopened(dir, st, at, emit)
	}
}

// streamReopened ends st's stall for dir's sender when its window is
// above zero.
func (d *Decoder) streamReopened(dir decode.Dir, st *stream, at decode.Position, emit decode.Emit) {
	i := dir.Index()
	c := &st.stall[i]
	if !c.on || d.streamWindow(st, i) <= 0 {
		return
	}
	if st.sending(dir) {
		emit(d.stallEvent(dir, scopeStream, st.id, c, at))
	}
	*c = fcStall{}
}

// initialWindowRaised ends the stream stalls of dir's sender that a larger
// SETTINGS_INITIAL_WINDOW_SIZE reopened, in stream order.
func (d *Decoder) initialWindowRaised(dir decode.Dir, at decode.Position, emit decode.Emit) {
	i := dir.Index()
	var ids []uint32
	for id, st := range d.streams {
		if st.stall[i].on {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	for _, id := range ids {
		d.streamReopened(dir, d.streams[id], at, emit)
	}
}

// anySending reports whether dir still has a stream open for its data,
// trying first the one that was blocked when the stall began.
func (d *Decoder) anySending(dir decode.Dir, first uint32) bool {
	if st := d.streams[first]; st != nil && st.sending(dir) {
		return true
	}
	for _, st := range d.streams {
		if st.sending(dir) {
			return true
		}
	}
	return false
}

// stallEvent builds the analysis/flow-control-stall event of a stall that
// ends at at (docs/events.md): dir is the blocked sender's direction.
func (d *Decoder) stallEvent(dir decode.Dir, scope string, id uint32, c *fcStall, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerAnalysis, TypeFlowControlStall)
	e.Stream = int64(id)
	e.Info = decode.Info{
		decode.String("scope", scope),
		decode.Uint("stream", uint64(id)),
		decode.Int("window", c.window),
		decode.String("start", c.at.TS.UTC().Format(time.RFC3339Nano)),
		decode.String("end", at.TS.UTC().Format(time.RFC3339Nano)),
		decode.Millis("duration_ms", at.TS.Sub(c.at.TS)),
		decode.Int("start_frame", c.at.Frame),
	}
	return e
}
