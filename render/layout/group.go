package layout

import (
	"math"
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// Stacked labels: the events of one packet in one direction share an
// arrow, each named on its own line.
const (
	// maxStack bounds the label lines of one arrow; past it the last
	// line says "+N more" (the tooltip lists them all, up to maxTipEvents).
	maxStack = 6
	// labelLineH is the distance between two stacked label baselines.
	labelLineH = 14
	// maxTipEvents bounds the events described in one arrow's tooltip.
	maxTipEvents = 16
)

// labelLine is one line of a stacked label and the event it names (nil
// for the "+N more" line).
type labelLine struct {
	s string
	e *decode.Event
}

// stackLabels names the arrow events of one row, in packet order. A
// record that carries the next event (Carries: a TLS record around
// HTTP/2 frames) is not named: its payload is. Past maxStack lines the
// rest are counted.
func stackLabels(evs []*timeline.Event) []labelLine {
	var out []labelLine
	more := 0
	for i, ev := range evs {
		if i+1 < len(evs) && Carries(&ev.Event, &evs[i+1].Event) {
			continue
		}
		if len(out) == maxStack-1 && i+1 < len(evs) {
			more++
			continue
		}
		if more > 0 {
			more++
			continue
		}
		out = append(out, labelLine{s: arrowLabel(&ev.Event), e: &ev.Event})
	}
	if more > 0 {
		out = append(out, labelLine{s: "+" + strconv.Itoa(more) + " more"})
	}
	return out
}

// stackRise is the extra height row i needs above it for its stacked
// label lines.
func (s *seq) stackRise(i int) float64 {
	if n := len(s.labels[i]); n > 1 {
		return float64(n-1) * labelLineH
	}
	return 0
}

// arrow draws row i's arrow from the sender's lifeline (from) to the
// receiver's (to), with the row's labels stacked above it.
func (s *seq) arrow(i int, r *row, id string, from, to, room float64) Arrow {
	y := r.y
	lines := s.labels[i]
	first := &r.arrows[0].Event
	for _, l := range lines {
		if l.e != nil {
			first = l.e
			break
		}
	}
	class := s.evClass(first)
	dashed := false
	for _, ev := range r.arrows {
		if c := s.evClass(&ev.Event); c == ClassError {
			class = ClassError
		}
		if f, ok := ev.Info.Get("retransmission"); ok && f.Bool() {
			dashed = true
		}
	}
	a := s.arrowShape(y, id, from, to)
	a.Type = clean(string(first.Type), maxTipValue)
	a.Class = class
	a.Dashed = dashed
	// Lines of several colours name their own; a single-class stack
	// takes the arrow's.
	mixed := false
	for _, l := range lines {
		if l.e != nil && s.evClass(l.e) != class {
			mixed = true
		}
	}
	mid := round((from + to) / 2)
	for k, l := range lines {
		t := Text{X: mid, Y: round(y - labelRise - float64(len(lines)-1-k)*labelLineH),
			S: fit(l.s, room, FontLabel, true), Anchor: Middle, Class: TextLabel}
		if mixed && l.e != nil {
			t.Tone = s.evClass(l.e)
		}
		a.Labels = append(a.Labels, t)
	}
	rise := s.stackRise(i)
	a.Hit = Rect{X: math.Min(from, to), Y: y - hitAbove - rise, W: math.Abs(to - from), H: hitAbove + hitBelow + rise}
	a.Tip = s.groupTip(r.arrows)
	return a
}

// arrowShape is an arrow's line and head at y from the sender's lifeline
// (from) to the receiver's (to).
func (s *seq) arrowShape(y float64, id string, from, to float64) Arrow {
	base := to - math.Copysign(1, to-from)*arrowHeadLen
	return Arrow{
		ID:   "a" + id,
		Line: Line{X1: from, Y1: y, X2: round(base), Y2: y},
		Head: [3]Point{{X: to, Y: y}, {X: round(base), Y: y - arrowHeadHalf}, {X: round(base), Y: y + arrowHeadHalf}},
	}
}

// groupTip joins the tooltips of a row's arrow events, at most
// maxTipEvents of them.
func (s *seq) groupTip(evs []*timeline.Event) string {
	if len(evs) == 1 {
		return s.tip(&evs[0].Event)
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(evs)) + " events in one packet")
	for k, ev := range evs {
		if k == maxTipEvents {
			b.WriteString("\n\n… " + strconv.Itoa(len(evs)-k) + " more events")
			break
		}
		b.WriteString("\n\n" + s.tip(&ev.Event))
	}
	return b.String()
}
