package layout

import (
	"math"
	"strconv"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// phaseMark is one analysis/phase event and the texts of its bracket.
type phaseMark struct {
	e     *timeline.Event
	start time.Time
	label string
	tip   string
}

func isPhase(e *decode.Event) bool {
	return e.Layer == decode.LayerAnalysis && e.Type == timeline.TypePhase
}

// phaseShort names a phase on its bracket; phaseLong in its tooltip.
var (
	phaseShort = map[string]string{
		timeline.PhaseTCP: "TCP", "tls": "TLS", "quic": "QUIC",
		timeline.PhaseRequest: "request", timeline.PhaseFirstByte: "first byte",
	}
	phaseLong = map[string]string{
		timeline.PhaseTCP: "TCP handshake", "tls": "TLS handshake", "quic": "QUIC handshake",
		timeline.PhaseRequest:   "first request (connection ready → request sent)",
		timeline.PhaseFirstByte: "first response byte (request sent → first byte back)",
	}
)

// phaseTexts builds each phase bracket's label and tooltip: the phase, its
// duration and its round trips ("TLS 20.9 ms · 2 RTT").
func (s *seq) phaseTexts() {
	for i := range s.phases {
		p := &s.phases[i]
		e := &p.e.Event
		label, short, d, rounds, early := phaseLabel(e)
		long, ok := phaseLong[field(e, "phase")]
		if !ok {
			long = short
		}
		p.start = e.TS.Add(-d)
		p.label = label
		p.tip = long + ": " + millis(d) + " ms"
		switch rounds {
		case 0:
		case 1:
			p.tip += ", 1 round trip"
		default:
			p.tip += ", " + strconv.FormatInt(rounds, 10) + " round trips"
		}
		if early {
			p.tip += "\nsent before the handshake completed (0-RTT, TCP Fast Open or False Start)"
		}
		p.tip += "\nframes " + field(e, "start_frame") + " → " + strconv.FormatInt(e.Frame, 10) +
			"\n+" + millis(p.start.Sub(s.conn.FirstTS)) + " ms → +" + millis(e.TS.Sub(s.conn.FirstTS)) + " ms"
		if l := field(e, "layer"); l != "" {
			p.tip += "\ncounted at the " + clean(l, maxTipValue) + " layer"
		}
	}
}

// phaseLabel reads an analysis/phase event: its bracket label ("TLS 20.9
// ms · 2 RTT"), its short name, duration and round trips, and whether the
// request left early.
func phaseLabel(e *decode.Event) (label, short string, d time.Duration, rounds int64, early bool) {
	name := field(e, "phase")
	short, ok := phaseShort[name]
	if !ok {
		short = clean(name, maxTipValue)
	}
	if f, ok := e.Info.Get("duration_ms"); ok && f.Kind == decode.KindDuration {
		d = f.Duration()
	}
	if f, ok := e.Info.Get("round_trips"); ok {
		rounds = f.Int
	}
	early = e.Info.Has("early")
	label = short + " " + millis(d) + " ms"
	if rounds > 0 {
		label += " · " + strconv.FormatInt(rounds, 10) + " RTT"
	}
	if early {
		label = short + " sent early"
	}
	return label, short, d, rounds, early
}

// phaseColumn is the width the phase labels and brackets need left of the
// client's notes, or 0 when there are no phases.
func (s *seq) phaseColumn() float64 {
	w := 0.0
	for _, p := range s.phases {
		w = math.Max(w, textWidth(p.label, FontNote, true))
	}
	if w == 0 {
		return 0
	}
	return math.Min(w, maxNoteCol) + phaseLabelGap + bracketTick
}

// phaseBrackets draws one bracket per phase on the phase column's spine,
// from the phase's start to its end, with its label to the left, middle
// aligned and pushed down where it would overlap the previous label.
func (s *seq) phaseBrackets() {
	lastY := math.Inf(-1)
	for _, p := range s.phases {
		y1, y2 := s.yAt(p.start), s.yAt(p.e.TS)
		if y2 < y1 {
			y1, y2 = y2, y1
		}
		ly := math.Max((y1+y2)/2+textDrop, lastY+FontNote+phaseLabelAir)
		lastY = ly
		s.d.Brackets = append(s.d.Brackets, Bracket{
			Spine: Line{X1: round(s.phaseX), Y1: round(y1), X2: round(s.phaseX), Y2: round(y2)},
			Tick:  bracketTick,
			Label: Text{X: round(s.phaseX - phaseLabelGap), Y: round(ly), S: fit(p.label, s.phaseW-phaseLabelGap-bracketTick, FontNote, true), Anchor: End, Class: TextNote},
			Class: ClassPhase,
			Tip:   p.tip,
		})
	}
}
