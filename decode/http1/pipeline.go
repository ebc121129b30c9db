package http1

import (
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// TypeHOLStall is the analysis event of a pipelined exchange whose
// request was complete while an earlier response was still being sent:
// HTTP/1.1 answers in order (RFC 9112 §9.3.2), so its response could not
// begin before that one ended. See doc.go for what it measures.
const TypeHOLStall decode.Type = "hol-stall"

// waiting returns the exchange answered after ex, whose response has just
// ended at at, when that exchange's request had been complete since
// before: it waited behind ex. nil at the connection's end (the response
// ended because the connection did; the next is never answered), after a
// protocol switch, and when there is no such request.
func (d *Decoder) waiting(ex *exchange, at decode.Position) *exchange {
	if d.ending || d.resp >= len(d.queue) {
		return nil
	}
	next := d.queue[d.resp]
	if !next.reqDone || next.unmatched || ex.unmatched || !next.reqEnd.TS.Before(at.TS) {
		return nil
	}
	return next
}

// pipelineStall builds the analysis/hol-stall event of next, which waited
// from its request's end until ex's response ended at at (docs/events.md):
// scope pipeline, dir s2c (the response held back), stream the waiting
// exchange.
func (d *Decoder) pipelineStall(next, ex *exchange, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, decode.S2C, decode.LayerAnalysis, TypeHOLStall)
	e.Stream = next.ord
	e.Info = decode.Info{
		decode.String("scope", "pipeline"),
		decode.Int("stream", next.ord),
		decode.Int("blocked_by", ex.ord),
		decode.Int("ahead", next.ahead),
		decode.String("start", next.reqEnd.TS.UTC().Format(time.RFC3339Nano)),
		decode.String("end", at.TS.UTC().Format(time.RFC3339Nano)),
		decode.Millis("duration_ms", at.TS.Sub(next.reqEnd.TS)),
		decode.Int("start_frame", next.reqEnd.Frame),
	}
	return e
}
