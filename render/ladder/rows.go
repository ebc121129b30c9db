package ladder

import (
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/text"
	"github.com/wiretrace/wiretrace/timeline"
)

// rowKind is what a row draws.
type rowKind uint8

const (
	rowArrow rowKind = iota // an arrow between the two lifelines of a leg
	rowNote                 // a note across a leg
	rowSide                 // a note beside one lifeline of a leg
)

// arrowStyle is how an arrow's shaft is drawn.
type arrowStyle uint8

const (
	styleSolid  arrowStyle = iota
	styleDotted            // a retransmission or a TCP analysis finding
	styleBulk              // a folded run of bulk transfer
	styleReset             // a TCP reset
)

// row is one line of a ladder, before it is drawn to a width.
type row struct {
	frame int64
	ts    time.Time
	class string
	text  string // cleaned and sanitised
	conn  int    // the connection, for rows of merged blocks
	kind  rowKind
	// leg is 0 for the client's connection (lifelines 0 and 1) and 1 for a
	// proxy's back connection (lifelines 1 and 2).
	leg   uint8
	dir   decode.Dir // arrows: the direction; side notes: the side (C2S: client's)
	style arrowStyle
}

// minFold is the shortest run of bulk events, or of one TCP finding,
// folded into one row per direction.
const minFold = 3

// wire makes a string from the wire safe for a terminal: cleaned and cut
// as in every diagram (render/layout), then through the text view's
// sanitiser, which drops anything that could still move the cursor.
func wire(s string) string { return text.Sanitize(layout.Clean(s, 256)) }

// rowsFor returns the rows of one event that is neither bulk nor a
// finding (those are folded), a phase, a proxy link nor a summary.
func rowsFor(ev *timeline.Event) []row {
	e := &ev.Event
	r := row{frame: e.Frame, ts: e.TS, dir: e.Dir, class: text.Sanitize(layout.Clean(e.Layer.String(), 32))}
	switch layout.Classify(e) {
	case layout.KindCenter:
		r.kind, r.text, r.class = rowNote, text.Sanitize(layout.CenterNote(e)), classNote
		switch e.Type {
		case decode.TypeDecodeError:
			r.class = classError
		case decode.TypeCapLimit:
			r.class = classWarn
		}
		return []row{r}
	case layout.KindStall:
		// Beside the receiver, whose buffer held the bytes.
		r.kind, r.dir, r.class = rowSide, e.Dir.Reverse(), classStall
		r.text = "⧗ " + text.Sanitize(layout.StallNote(e)) + stallVictims(e)
		return []row{r}
	case layout.KindMarker:
		r.kind, r.class = rowSide, classWarn
		r.text = text.Sanitize(analysisNote(e))
		if e.Type == "flow-control-stall" {
			r.text, r.class = "⧗ "+r.text, classStall
		}
		if e.Layer != decode.LayerAnalysis {
			r.kind = rowNote
		}
		return []row{r}
	}
	r.kind = rowArrow
	r.text = text.Sanitize(arrowLabel(e))
	switch {
	case e.Layer == decode.LayerTCP && e.Type == decode.TypeRST:
		r.style, r.class = styleReset, classError
	case flag(e, "retransmission"):
		r.style = styleDotted
	}
	return []row{r}
}

// flag reports a true boolean Info field.
func flag(e *decode.Event, key string) bool {
	f, ok := e.Info.Get(key)
	return ok && f.Kind == decode.KindBool && f.Bool()
}

// details are the Info fields an arrow's label adds to the sequence
// diagram's, per layer and type: what a reader of a ladder looks for.
var details = map[decode.Layer]map[decode.Type][]string{
	decode.LayerTLS: {
		"ClientHello": {"sni", "alpn"}, "ServerHello": {"version", "alpn"}, "HelloRetryRequest": {"version"},
		"EncryptedExtensions": {"alpn"}, "Alert": {"level", "description"},
	},
	decode.LayerWS:   {"close": {"code_name", "reason"}},
	decode.LayerQUIC: {"Initial": {"version"}, "VersionNegotiation": {"versions"}},
}

// arrowLabel is the sequence diagram's arrow label with the details
// above, and the handshake RTT on the ACK that completes it.
func arrowLabel(e *decode.Event) string {
	s := layout.ArrowLabel(e)
	var extra []string
	for _, k := range details[e.Layer][e.Type] {
		if v := layout.Field(e, k); v != "" {
			extra = append(extra, v)
		}
	}
	if e.Layer == decode.LayerTCP && e.Type == decode.TypeACK {
		extra = appendDuration(extra, e, "rtt_ms", "RTT ")
	}
	return withDetails(s, extra, ", ")
}

// appendDuration appends prefix and e's duration field key, if it has one.
func appendDuration(parts []string, e *decode.Event, key, prefix string) []string {
	if f, ok := e.Info.Get(key); ok && f.Kind == decode.KindDuration {
		parts = append(parts, prefix+layout.Human(f.Duration()))
	}
	return parts
}

// withDetails is s with parts in parentheses after it, if any.
func withDetails(s string, parts []string, sep string) string {
	if len(parts) == 0 {
		return s
	}
	return s + " (" + strings.Join(parts, sep) + ")"
}

// analysisNote is the note of an analysis finding other than a HOL stall:
// the sequence diagram's, with the duration and stream of a
// flow-control stall.
func analysisNote(e *decode.Event) string {
	f, ok := e.Info.Get("duration_ms")
	if !ok || f.Kind != decode.KindDuration {
		return layout.MarkerNote(e)
	}
	s := layout.Clean(string(e.Type), 64) + " " + layout.Human(f.Duration())
	if e.Stream != decode.NoValue {
		s += " stream " + strconv.FormatInt(e.Stream, 10)
	}
	return s
}

// stallVictims names the streams a HOL stall held up, when the timeline
// knows them.
func stallVictims(e *decode.Event) string {
	if v := layout.Field(e, "streams"); v != "" {
		return " (streams " + v + ")"
	}
	if e.Stream != decode.NoValue {
		return " (stream " + strconv.FormatInt(e.Stream, 10) + ")"
	}
	return ""
}

// linkText is the note of a proxy-link event.
func linkText(e *decode.Event) string {
	s := "proxy link → conn " + layout.Field(e, "back")
	var parts []string
	for _, k := range [...]string{"mode", "back_stream", "method", "path", "status"} {
		if v := layout.Field(e, k); v != "" {
			if k == "back_stream" {
				v = "stream " + v
			}
			parts = append(parts, v)
		}
	}
	return withDetails(s, appendDuration(parts, e, "added_ms", "proxy adds "), " ")
}

// isFinding reports the TCP analysis findings, drawn as dotted arrows.
func isFinding(e *decode.Event) bool {
	return e.Layer == decode.LayerTCP && layout.Classify(e) == layout.KindMarker
}

// isBulk reports an event of bulk transfer, folded when it comes in runs
// (layout.IsBulk: the same rule as the SVG's and Mermaid's).
func isBulk(e *decode.Event) bool { return layout.IsBulk(e) }

// run folds consecutive bulk events (both directions), or consecutive
// events of one TCP finding in one direction, in constant memory.
type run struct {
	n       int
	finding bool
	typ     decode.Type
	dir     decode.Dir
	alone   [minFold - 1]row // the first rows, drawn as they are when the run stays short
	last    row
	sides   [2]runSide // by direction
	order   [2]decode.Dir
	nsides  int
}

type runSide struct {
	n                   int
	firstFrame, lastFrm int64
	firstTS, lastTS     time.Time
	kinds               []runKind
	single              row
}

type runKind struct {
	name  string
	n     int
	bytes int64
}

// maxRunKinds bounds the kinds listed in a folded row.
const maxRunKinds = 4

// fits reports whether e continues the run.
func (r *run) fits(e *decode.Event, finding bool) bool {
	if r.n == 0 {
		return true
	}
	if finding {
		return r.finding && e.Type == r.typ && e.Dir == r.dir
	}
	return !r.finding
}

// add puts e, of row rw, into the run.
func (r *run) add(e *decode.Event, rw row, finding bool) {
	if r.n == 0 {
		r.finding, r.typ, r.dir = finding, e.Type, e.Dir
	}
	if r.n < len(r.alone) {
		r.alone[r.n] = rw
	}
	r.n++
	r.last = rw
	i := e.Dir.Index()
	if i < 0 || i > 1 {
		i = 0
	}
	sd := &r.sides[i]
	if sd.n == 0 {
		sd.firstFrame, sd.firstTS, sd.single = e.Frame, e.TS, rw
		r.order[r.nsides] = e.Dir
		r.nsides++
	}
	sd.n++
	sd.lastFrm, sd.lastTS = e.Frame, e.TS
	name := wire(e.Layer.String() + " " + string(e.Type))
	k := -1
	for j := range sd.kinds {
		if sd.kinds[j].name == name {
			k = j
		}
	}
	if k < 0 && len(sd.kinds) < maxRunKinds {
		sd.kinds = append(sd.kinds, runKind{name: name})
		k = len(sd.kinds) - 1
	}
	if k < 0 {
		k = len(sd.kinds) - 1 // counted with the last kind listed
	}
	sd.kinds[k].n++
	if e.Len > 0 {
		sd.kinds[k].bytes += e.Len
	}
}

// rows ends the run and returns its rows: the events as they are when
// fewer than minFold, else one dotted row for a finding's run, or one
// bulk row per direction.
func (r *run) rows() []row {
	switch {
	case r.n == 0:
		return nil
	case r.n < minFold:
		out := make([]row, 0, r.n)
		for i := range r.n {
			out = append(out, r.alone[i])
		}
		return out
	case r.finding:
		f := r.alone[0]
		f.text = f.text + " … " + r.last.text + " ×" + strconv.Itoa(r.n) + span(f.frame, r.last.frame, r.last.ts.Sub(f.ts))
		return []row{f}
	}
	out := make([]row, 0, r.nsides)
	for _, dir := range r.order[:r.nsides] {
		sd := &r.sides[dir.Index()]
		if sd.n == 1 {
			out = append(out, sd.single)
			continue
		}
		var b strings.Builder
		for i, k := range sd.kinds {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(k.name + " ×" + strconv.Itoa(k.n))
			if k.bytes > 0 {
				b.WriteString(", " + layout.Grouped(k.bytes) + " B")
			}
		}
		rw := sd.single
		rw.frame, rw.ts = sd.lastFrm, sd.firstTS
		rw.style, rw.class = styleBulk, sd.single.class
		rw.text = b.String() + span(sd.firstFrame, sd.lastFrm, sd.lastTS.Sub(sd.firstTS))
		out = append(out, rw)
	}
	return out
}

// span is " (frames 12–40, 3.2 ms)".
func span(first, last int64, d time.Duration) string {
	return " (frames " + strconv.FormatInt(first, 10) + "–" + strconv.FormatInt(last, 10) + ", " + layout.Human(d) + ")"
}
