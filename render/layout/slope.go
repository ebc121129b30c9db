package layout

import (
	"math"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// oneWay returns the one-way delays from the capture point to the client
// and to the server, halves of the TCP handshake's two legs as the ACK
// event gives them (syn_to_synack_ms, synack_to_ack_ms); false without a
// handshake.
func (s *seq) oneWay() (toClient, toServer time.Duration, ok bool) {
	for _, r := range s.rows {
		for _, ev := range r.arrows {
			e := &ev.Event
			if e.Layer != decode.LayerTCP || e.Type != decode.TypeACK {
				continue
			}
			a, okA := e.Info.Get("syn_to_synack_ms")
			b, okB := e.Info.Get("synack_to_ack_ms")
			if !okA || !okB || a.Kind != decode.KindDuration || b.Kind != decode.KindDuration {
				return 0, 0, false
			}
			return max(0, b.Duration()/2), max(0, a.Duration()/2), true
		}
	}
	return 0, 0, false
}

// slope tilts arrow a, of a packet seen at time t, by its one-way time:
// it leaves the sender when the packet left it and reaches the receiver
// when it arrived, as far as the capture point can tell, mapped through
// the time axis.
func (s *seq) slope(a *Arrow, t time.Time, dir decode.Dir, from, to float64) {
	dFrom, dTo := s.toClient, s.toServer // C→S
	if dir == decode.S2C {
		dFrom, dTo = s.toServer, s.toClient
	}
	y0, y1 := round(s.yAt(t.Add(-dFrom))), round(s.yAt(t.Add(dTo)))
	dx, dy := to-from, y1-y0
	l := math.Hypot(dx, dy)
	ux, uy := dx/l, dy/l
	bx, by := to-ux*arrowHeadLen, y1-uy*arrowHeadLen
	nx, ny := -uy*arrowHeadHalf, ux*arrowHeadHalf
	a.Line = Line{X1: from, Y1: y0, X2: round(bx), Y2: round(by)}
	a.Head = [3]Point{{X: to, Y: y1}, {X: round(bx + nx), Y: round(by + ny)}, {X: round(bx - nx), Y: round(by - ny)}}
	top := math.Min(a.Hit.Y, math.Min(y0, y1)-hitBelow)
	bottom := math.Max(a.Hit.Y+a.Hit.H, math.Max(y0, y1)+hitBelow)
	a.Hit.Y, a.Hit.H = top, bottom-top
}
