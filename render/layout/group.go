package layout

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// flightGap is the longest pause between two packets of one
	// direction whose events still make one flight, drawn as one arrow
	// (a server's ServerHello … Finished, a client's burst of requests).
	flightGap = time.Millisecond
	// maxFlightEvents stops a flight from growing past what maxStack
	// lines could show (records carrying frames count twice).
	maxFlightEvents = 2 * maxStack
)

// flightRow reports whether r may join or start a flight: arrows only,
// none of them TCP's (handshake, FIN and RST segments keep their own
// arrows), no findings, stall or note.
func flightRow(r *row) bool {
	if len(r.arrows) == 0 || len(r.marks) > 0 || r.stall != nil || r.center != nil || r.bulk != nil {
		return false
	}
	for _, ev := range r.arrows {
		if ev.Layer == decode.LayerTCP {
			return false
		}
	}
	return true
}

// joinFlights merges consecutive rows of one direction, at most
// flightGap apart, into one row when their labels fit in one stack
// without "+N more". A flight never runs on past a phase's end or start
// (the TLS handshake's last record stays apart from the first request).
func (s *seq) joinFlights() {
	bounds := map[int64]bool{}
	for _, p := range s.phases {
		bounds[p.e.Frame] = true
		if f, ok := p.e.Info.Get("start_frame"); ok && (f.Kind == decode.KindInt || f.Kind == decode.KindUint) {
			bounds[f.Int] = true
		}
	}
	out := s.rows[:0:0]
	for _, r := range s.rows {
		if n := len(out); n > 0 {
			p := out[n-1]
			dt := r.t.Sub(p.tMono)
			last := max(p.frame, p.lastFrame)
			if flightRow(p) && flightRow(r) && r.gap == nil && p.dir == r.dir && dt >= 0 && dt <= flightGap && !bounds[last] &&
				len(p.arrows)+len(r.arrows) <= maxFlightEvents {
				joined := append(slices.Clip(p.arrows), r.arrows...)
				if lines := stackLabels(joined); lines[len(lines)-1].e != nil {
					p.arrows = joined
					p.lastFrame = r.frame
					if r.tMono.After(p.tMono) {
						p.tMono = r.tMono
					}
					continue
				}
			}
		}
		out = append(out, r)
	}
	s.rows = out
}

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
	packets := 1
	for k := 1; k < len(evs); k++ {
		if evs[k].Frame != evs[k-1].Frame {
			packets++
		}
	}
	if packets == 1 {
		b.WriteString(strconv.Itoa(len(evs)) + " events in one packet")
	} else {
		b.WriteString(strconv.Itoa(len(evs)) + " events in " + strconv.Itoa(packets) + " packets, one flight")
	}
	for k, ev := range evs {
		if k == maxTipEvents {
			b.WriteString("\n\n… " + strconv.Itoa(len(evs)-k) + " more events")
			break
		}
		b.WriteString("\n\n" + s.tip(&ev.Event))
	}
	return b.String()
}
