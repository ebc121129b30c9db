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

// kind is how an event is drawn.
type kind uint8

const (
	kindArrow  kind = iota // an arrow between the lifelines
	kindMarker             // a marker on the sender's lifeline, with a note
	kindStall              // a head-of-line stall band
	kindCenter             // a note across the lifelines (no direction)
)

// typeHOLStall is the analysis event of a head-of-line stall.
const typeHOLStall decode.Type = "hol-stall"

// classify decides how e is drawn: analysis findings become markers on
// the sending side, connection-wide events notes, the rest arrows.
func classify(e *decode.Event) kind {
	if e.Dir != decode.C2S && e.Dir != decode.S2C {
		return kindCenter
	}
	switch e.Layer {
	case decode.LayerAnalysis:
		if e.Type == typeHOLStall {
			return kindStall
		}
		return kindMarker
	case decode.LayerCapture:
		return kindMarker
	case decode.LayerTCP:
		switch e.Type {
		case decode.TypeRetransmission, decode.TypeFastRetransmission, decode.TypeOutOfOrder,
			decode.TypeLostSegment, decode.TypeDupAck, decode.TypeZeroWindow, decode.TypeKeepAlive:
			return kindMarker
		}
	}
	return kindArrow
}

// row is one y position: the events of one packet in one direction. Its
// arrow events are drawn as one arrow with their labels stacked.
type row struct {
	t     time.Time // the packet's timestamp
	tMono time.Time // running maximum of t, for the time-to-y map
	frame int64
	// lastFrame is the last packet of a flight of several, else 0.
	lastFrame int64
	dir       decode.Dir
	arrows    []*timeline.Event
	marks     []*timeline.Event
	stall     *timeline.Event
	center    *timeline.Event
	// bulk, when set, stands for a folded run of bulk rows in this
	// direction; the row has no events of its own.
	bulk *bulkRun
	y    float64
	// gap is an omitted run drawn just above this row.
	gap *Omission
}

// join reports whether e belongs on r.
func (r *row) join(e *timeline.Event, k kind) bool {
	if r.center != nil || k == kindCenter || e.Frame != r.frame || e.Dir != r.dir {
		return false
	}
	switch k {
	case kindArrow:
		return true
	case kindMarker:
		return len(r.marks) < maxMarkersPerRow && (r.stall == nil || stallSide(r.stall) != side(r.dir))
	case kindStall:
		return r.stall == nil && !isFlowStall(&e.Event)
	}
	return false
}

// sides returns the x of the sender's and receiver's lifelines and the
// sender's outward direction (-1 left, +1 right).
func (s *seq) sides(dir decode.Dir) (from, to, fromOut float64) {
	if dir == decode.S2C {
		return s.serverX, s.clientX, 1
	}
	return s.clientX, s.serverX, -1
}

// seq holds the state of one layout.
type seq struct {
	opts    Options
	conn    *timeline.Conn
	d       *Diagram
	rows    []*row
	trail   *Omission // an omitted run after the last row
	summary *timeline.Event
	drawn   int
	total   int64

	// texts decided before the geometry
	labels    [][]labelLine // per row: the arrow's stacked label
	notes     [][2]string
	details   [][]string // per row: the lines under a stall's note
	centers   []string
	phases    []phaseMark // analysis/phase events, drawn as brackets
	phaseW    float64     // width of the phase column; 0 without phases
	phaseX    float64     // x of the phase brackets' spine
	clientX   float64
	serverX   float64
	noteEnd   [2]float64 // x where left/right notes end near the lifeline
	noteWidth [2]float64 // width of the left and right note columns
	span      float64

	// streamIdx is each HTTP/2 or HTTP/3 stream's colour index, in the
	// order of streamOrder, the streams by first appearance.
	streamIdx   map[int64]int
	streamOrder []int64

	// sloped arrows (Options.Slope): the one-way delays from the capture
	// point to each end.
	sloped             bool
	toClient, toServer time.Duration
}

// Sequence lays out one connection's events as a sequence diagram: the
// client's lifeline left, the server's right, time downward. events are
// the connection's events in output order; its conn/summary event, if
// present, fills the footer. conn may be nil, in which case the events'
// Conn is used.
//
// The result depends only on its arguments, so equal inputs give equal
// diagrams.
func Sequence(conn *timeline.Conn, events []timeline.Event, opts Options) *Diagram {
	conn = ConnOf(conn, events)
	s := &seq{opts: opts, conn: conn, d: &Diagram{}, streamIdx: map[int64]int{}}
	s.buildRows(events)
	s.foldBulk()
	s.joinFlights()
	s.texts()
	s.columns()
	s.header()
	s.place()
	if opts.Slope {
		s.toClient, s.toServer, s.sloped = s.oneWay()
	}
	s.draw()
	s.footer()
	s.legend()
	s.d.Height = round(s.d.Height)
	s.d.Stats = Stats{Events: s.total, Drawn: s.drawn, Omitted: s.total - int64(s.drawn), Rows: len(s.rows)}
	return s.d
}

// ConnOf returns conn, or when it is nil the Conn of the first event that
// has one, or else a Conn made from the first event's time and frame.
func ConnOf(conn *timeline.Conn, events []timeline.Event) *timeline.Conn {
	if conn != nil {
		return conn
	}
	for i := range events {
		if events[i].Conn != nil {
			return events[i].Conn
		}
	}
	conn = &timeline.Conn{}
	if len(events) > 0 {
		conn.FirstTS, conn.FirstFrame = events[0].TS, events[0].Frame
	}
	return conn
}

// buildRows drops the middle of an oversized connection and groups the
// rest into rows.
func (s *seq) buildRows(events []timeline.Event) {
	// The summary is the last conn/summary event; other summaries (there
	// should be none) are not drawn.
	sum := -1
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Layer == decode.LayerConn && events[i].Type == decode.TypeSummary {
			sum = i
			break
		}
	}
	if sum >= 0 {
		s.summary = &events[sum]
	}
	var list []*timeline.Event
	caller := s.opts.Omitted
	callerAt := -1 // index in list before which the caller's run sits
	for i := range events {
		if caller != nil && caller.Count > 0 && i == caller.After {
			callerAt = len(list)
		}
		if events[i].Layer == decode.LayerConn && events[i].Type == decode.TypeSummary {
			continue
		}
		if isPhase(&events[i].Event) {
			s.phases = append(s.phases, phaseMark{e: &events[i]})
			continue
		}
		list = append(list, &events[i])
	}
	if caller != nil && caller.Count > 0 && callerAt < 0 {
		callerAt = len(list)
	}
	s.total = int64(len(list))
	if callerAt >= 0 {
		s.total += caller.Count
	}

	// Drop the middle: keep head events, then tail events.
	max := s.opts.maxEvents()
	head, tail := len(list), 0
	if len(list) > max {
		head = max / 2
		tail = max - head
	}
	var gap *Omission // the run being collected
	flush := func() *Omission {
		g := gap
		gap = nil
		return g
	}
	var pending *Omission
	for j, e := range list {
		if j == callerAt {
			if gap == nil {
				gap = &Omission{}
			}
			gap.merge(caller)
		}
		if j >= head && j < len(list)-tail {
			if gap == nil {
				gap = &Omission{}
			}
			gap.Add(e.Frame, e.TS)
			continue
		}
		if gap != nil {
			pending = flush()
		}
		s.add(e, pending)
		pending = nil
	}
	if callerAt == len(list) {
		if gap == nil {
			gap = &Omission{}
		}
		gap.merge(caller)
	}
	s.trail = flush()
}

// add places e on the current row or a new one; gap is an omitted run
// that precedes e.
func (s *seq) add(e *timeline.Event, gap *Omission) {
	k := drawKind(&e.Event)
	var r *row
	if n := len(s.rows); n > 0 && gap == nil && s.rows[n-1].join(e, k) {
		r = s.rows[n-1]
	} else {
		r = &row{t: e.TS, tMono: e.TS, frame: e.Frame, dir: e.Dir, gap: gap}
		if n > 0 && r.tMono.Before(s.rows[n-1].tMono) {
			r.tMono = s.rows[n-1].tMono
		}
		s.rows = append(s.rows, r)
	}
	s.drawn++
	switch k {
	case kindArrow:
		r.arrows = append(r.arrows, e)
	case kindMarker:
		r.marks = append(r.marks, e)
	case kindStall:
		r.stall = e
	case kindCenter:
		r.center = e
	}
}

// side returns 0 for notes on the client's side and 1 for the server's.
func side(dir decode.Dir) int {
	if dir == decode.S2C {
		return 1
	}
	return 0
}

// texts decides every row's strings before any width is known.
func (s *seq) texts() {
	s.numberStreams()
	n := len(s.rows)
	s.labels = make([][]labelLine, n)
	s.notes = make([][2]string, n)
	s.details = make([][]string, n)
	s.centers = make([]string, n)
	for i, r := range s.rows {
		if len(r.arrows) > 0 {
			s.labels[i] = stackLabels(r.arrows)
		}
		if r.bulk != nil {
			s.labels[i] = []labelLine{{s: s.bulkLabel(r.bulk)}}
		}
		if len(r.marks) > 0 {
			parts := make([]string, len(r.marks))
			for k, m := range r.marks {
				parts[k] = markerNote(&m.Event)
			}
			s.notes[i][side(r.dir)] = strings.Join(parts, " · ")
		}
		if r.stall != nil {
			e := &r.stall.Event
			if isFlowStall(e) {
				s.notes[i][stallSide(r.stall)] = flowStallNote(e)
			} else {
				s.notes[i][stallSide(r.stall)] = stallNote(e)
				s.details[i] = stallDetail(e)
			}
		}
		if r.center != nil {
			s.centers[i] = centerNote(&r.center.Event)
		}
	}
	s.phaseTexts()
}

// columns fixes the x positions: frame and time labels, the axis, the
// note columns and the lifelines.
func (s *seq) columns() {
	d := s.d
	frameW := textWidth("frame", FontTick, false)
	timeW := textWidth("ms", FontTick, false)
	for _, r := range s.rows {
		frameW = math.Max(frameW, textWidth(r.frameLabel(), FontTick, true))
		timeW = math.Max(timeW, textWidth(s.timeLabel(r.t), FontTick, true))
	}
	xFrameR := pad + frameW
	xTimeR := xFrameR + colGap + timeW
	xAxis := xTimeR + axisTextGap + axisTickLen
	d.Axis.Line = Line{X1: round(xAxis), X2: round(xAxis)}
	d.Axis.Heads = []Text{
		{X: round(xFrameR), S: "frame", Anchor: End, Class: TextAxisHead},
		{X: round(xTimeR), S: "ms", Anchor: End, Class: TextAxisHead},
	}

	// Note columns, with room for stacked markers.
	var need [2]float64
	for i, r := range s.rows {
		for sd := 0; sd < 2; sd++ {
			if s.notes[i][sd] == "" {
				continue
			}
			w := textWidth(s.notes[i][sd], FontNote, true) + s.stackOffset(r, sd)
			need[sd] = math.Max(need[sd], w)
			if r.stall != nil && stallSide(r.stall) == sd {
				for _, l := range s.details[i] {
					need[sd] = math.Max(need[sd], textWidth(l, FontNote, true))
				}
			}
		}
	}
	s.phaseW = s.phaseColumn()
	for sd := range need {
		s.noteWidth[sd] = math.Min(math.Max(need[sd], minNoteCol), maxNoteCol)
	}

	// Heads.
	roles := s.roles()
	var headW [2]float64
	for i, ap := range s.addrs() {
		headW[i] = math.Max(textWidth(roles[i], FontRole, false), textWidth(ap, FontAddr, true)) + 2*headPadX
	}

	// Span between the lifelines.
	span := 0.0
	for i := range s.rows {
		for _, l := range s.labels[i] {
			span = math.Max(span, textWidth(l.s, FontLabel, true)+2*labelPadX)
		}
		span = math.Max(span, textWidth(s.centers[i], FontNote, true)+2*(labelPadX+centerNotePadX))
	}
	span = math.Min(math.Max(span, minSpan), maxSpan)
	span = math.Max(span, (headW[0]+headW[1])/2+headGap)

	s.phaseX = xAxis + colGap + s.phaseW // the phase brackets' spine
	clientX := math.Max(s.phaseX+colGap+s.noteWidth[0]+noteInset, xTimeR+colGap+headW[0]/2)
	right := func() float64 {
		return math.Max(clientX+span+noteInset+s.noteWidth[1], clientX+span+headW[1]/2) + pad
	}
	width := right()
	want := math.Max(float64(minCanvasWidth), s.titleWidth()+2*pad)
	if width < want {
		grow := math.Min(want-width, math.Max(0, maxSpan-span))
		span += grow
		width = want
	}
	s.clientX, s.serverX, s.span = round(clientX), round(clientX+span), span
	s.noteEnd = [2]float64{s.clientX - noteInset, s.serverX + noteInset}
	d.Width = round(math.Max(width, right()))

	y := float64(pad + FontTitle)
	for i, ap := range s.addrs() {
		x := []float64{s.clientX, s.serverX}[i]
		top := y + subtitleGap + headTopGap
		d.Heads[i] = Head{
			Box:  Rect{X: round(x - headW[i]/2), Y: top, W: round(headW[i]), H: headHeight},
			Role: Text{X: x, Y: top + headRoleBaseline, S: roles[i], Anchor: Middle, Class: TextRole},
			Addr: Text{X: x, Y: top + headAddrBaseline, S: ap, Anchor: Middle, Class: TextAddr},
		}
	}
}

// stackOffset is the extra distance of a row's note from its lifeline
// caused by stacked markers on that side.
func (s *seq) stackOffset(r *row, sd int) float64 {
	if side(r.dir) == sd && len(r.marks) > 1 {
		return float64(len(r.marks)-1) * markerStep
	}
	return 0
}

// addrs returns the client's and server's addr:port. Zones are the only
// free text in them, and they are cleaned like wire strings.
func (s *seq) addrs() [2]string {
	return [2]string{clean(s.conn.Client.String(), maxLabelBytes), clean(s.conn.Server.String(), maxLabelBytes)}
}

func (s *seq) roles() [2]string {
	if s.conn.Midstream {
		return [2]string{"client (guessed)", "server (guessed)"}
	}
	return [2]string{"client", "server"}
}

func (s *seq) title() (string, string) {
	t := "Connection " + strconv.Itoa(s.conn.ID)
	if s.conn.Transport != 0 {
		t += " · " + strings.ToUpper(s.conn.Transport.String())
	}
	// The protocols the summary names, outermost first: "TCP · TLS1.3 ·
	// HTTP2".
	if s.summary != nil {
		if v := field(&s.summary.Event, "tls_version"); v != "" {
			t += " · " + v
		}
		if p := field(&s.summary.Event, "protocol"); p != "" {
			for _, name := range strings.Split(p, "/") {
				if name != "tls" {
					t += " · " + strings.ToUpper(name)
				}
			}
		}
	}
	if s.conn.Midstream {
		t += " · picked up midstream"
	}
	a := s.addrs()
	sub := a[0] + " → " + a[1] +
		" · first packet: frame " + strconv.FormatInt(s.conn.FirstFrame, 10) +
		" at " + s.conn.FirstTS.UTC().Format("2006-01-02 15:04:05.000000 UTC")
	return t, sub
}

func (s *seq) titleWidth() float64 {
	t, sub := s.title()
	return math.Max(textWidth(t, FontTitle, false), textWidth(sub, FontSubtitle, false))
}

func (s *seq) header() {
	t, sub := s.title()
	y := float64(pad + FontTitle)
	s.d.Title = Text{X: pad, Y: y, S: t, Anchor: Start, Class: TextTitle}
	s.d.Subtitle = Text{X: pad, Y: y + subtitleGap, S: sub, Anchor: Start, Class: TextSubtitle}
	what := "connection"
	if s.conn.Transport != 0 {
		what = strings.ToUpper(s.conn.Transport.String()) + " connection"
	}
	s.d.Desc = "Sequence diagram of " + what + " " + strconv.Itoa(s.conn.ID) + " between client " +
		s.addrs()[0] + " and server " + s.addrs()[1] + ": " +
		strconv.FormatInt(s.total, 10) + " events, time downward in milliseconds since the first packet."
}

// place fixes every row's y. Rows keep their order; the space between two
// rows grows with the logarithm of the time between them, and gaps of at
// least IdleBreak, like omitted runs, become fixed-height bands.
func (s *seq) place() {
	d := s.d
	headBottom := d.Heads[0].Box.Y + headHeight
	for i := range d.Axis.Heads {
		d.Axis.Heads[i].Y = headBottom - textDrop
	}
	idle := s.opts.idleBreak()
	floor := s.gapFloor()
	y := headBottom + firstRowGap
	bandAt := func(top float64, cls, label, tip string) {
		box := Rect{X: pad, Y: round(top), W: round(d.Width - 2*pad), H: breakHeight}
		d.Bands = append(d.Bands, Band{Box: box, Class: cls, Tip: tip,
			Label: Text{X: round((s.clientX + s.serverX) / 2), Y: round(top + breakHeight/2 + textDrop), S: label, Anchor: Middle, Class: TextBand}})
	}
	for i, r := range s.rows {
		if i > 0 {
			prev := s.rows[i-1]
			dt := r.t.Sub(prev.tMono)
			switch {
			case r.gap != nil:
				top := prev.y + bandMargin
				bandAt(top, ClassOmitted, omittedLabel(r.gap), omittedTip(r.gap, s.conn.FirstTS))
				y = top + breakHeight + rowSpacing + s.stackRise(i)
			case dt >= idle:
				top := prev.y + bandMargin
				bandAt(top, ClassIdle, "… "+human(dt)+" idle …",
					"no packets for "+human(dt)+" (frames "+strconv.FormatInt(prev.frame, 10)+" → "+strconv.FormatInt(r.frame, 10)+")")
				y = top + breakHeight + rowSpacing + s.stackRise(i)
			default:
				y = prev.y + rowSpacing + s.stackRise(i) + gapExtra(dt, floor)
				if prev.center != nil {
					y += centerNoteClear
				}
				y += float64(len(s.details[i-1])) * labelLineH // the lines under a stall's note
			}
		} else if r.gap != nil {
			top := headBottom + bandMargin
			bandAt(top, ClassOmitted, omittedLabel(r.gap), omittedTip(r.gap, s.conn.FirstTS))
			y = top + breakHeight + firstRowGap + s.stackRise(i)
		} else {
			y += s.stackRise(i)
		}
		r.y = round(y)
	}
	end := headBottom + minLifeline
	if n := len(s.rows); n > 0 {
		end = math.Max(end, s.rows[n-1].y+tailGap+float64(len(s.details[n-1]))*labelLineH)
	}
	if s.trail != nil {
		top := end - tailGap + bandMargin
		if len(s.rows) == 0 {
			top = headBottom + bandMargin
		}
		bandAt(top, ClassOmitted, omittedLabel(s.trail), omittedTip(s.trail, s.conn.FirstTS))
		end = math.Max(end, top+breakHeight+tailGap)
	}
	end = round(end)

	// Lifelines, broken by the bands drawn so far (idle and omitted).
	for _, x := range []float64{s.clientX, s.serverX} {
		top := headBottom
		for _, b := range d.Bands {
			d.Lifelines = append(d.Lifelines, Line{X1: x, Y1: top, X2: x, Y2: b.Box.Y})
			top = b.Box.Y + b.Box.H
		}
		if top < end {
			d.Lifelines = append(d.Lifelines, Line{X1: x, Y1: top, X2: x, Y2: end})
		}
	}
	d.Axis.Line.Y1, d.Axis.Line.Y2 = headBottom, end
	d.Height = end
}

// gapFloor is the time gap below which rows get no extra space: the
// connection's median gap between rows, at least minGapFloor, so that a
// steady stream of packets packs tightly and only its pauses stand out.
func (s *seq) gapFloor() time.Duration {
	var gaps []time.Duration
	for i := 1; i < len(s.rows); i++ {
		if dt := s.rows[i].t.Sub(s.rows[i-1].tMono); dt > 0 {
			gaps = append(gaps, dt)
		}
	}
	if len(gaps) == 0 {
		return minGapFloor
	}
	slices.Sort(gaps)
	return max(minGapFloor, gaps[len(gaps)/2])
}

// gapExtra is the extra space for a time gap between rows: pxPerDecade
// per tenfold growth above floor, at most maxGapExtra.
func gapExtra(dt, floor time.Duration) float64 {
	if dt <= floor {
		return 0
	}
	return math.Min(maxGapExtra, pxPerDecade*math.Log10(float64(dt)/float64(floor)))
}

// yAt maps a time to a y by linear interpolation between rows.
func (s *seq) yAt(t time.Time) float64 {
	n := len(s.rows)
	if n == 0 {
		return s.d.Axis.Line.Y1
	}
	if !t.After(s.rows[0].tMono) {
		return s.rows[0].y
	}
	for i := 1; i < n; i++ {
		a, b := s.rows[i-1], s.rows[i]
		if t.After(b.tMono) {
			continue
		}
		span := b.tMono.Sub(a.tMono)
		if span <= 0 {
			return a.y
		}
		f := float64(t.Sub(a.tMono)) / float64(span)
		return a.y + f*(b.y-a.y)
	}
	return s.rows[n-1].y
}

// draw places the arrows, markers, notes, axis labels, stall bands and
// the phase brackets.
func (s *seq) draw() {
	d := s.d
	lastTime, lastFrame := "", int64(-1)
	labelRoom := s.span - 2*labelPadX
	lastBand := map[string]float64{} // bottom of the last stall band, by class
	for i, r := range s.rows {
		y := r.y
		nA, nM, nN := len(d.Arrows), len(d.Markers), len(d.Notes)
		// Axis: a tick and label for each new time, a frame label for
		// each new packet.
		if tl := s.timeLabel(r.t); tl != lastTime {
			lastTime = tl
			d.Axis.Ticks = append(d.Axis.Ticks, Line{X1: d.Axis.Line.X1 - axisTickLen, Y1: y, X2: d.Axis.Line.X1, Y2: y})
			d.Axis.Times = append(d.Axis.Times, Text{X: d.Axis.Heads[1].X, Y: y + textDrop, S: tl, Anchor: End, Class: TextTick})
		}
		if r.frame != lastFrame {
			lastFrame = r.frame
			d.Axis.Frames = append(d.Axis.Frames, Text{X: d.Axis.Heads[0].X, Y: y + textDrop, S: r.frameLabel(), Anchor: End, Class: TextFrame})
		}
		d.Guides = append(d.Guides, Line{X1: d.Axis.Line.X1, Y1: y, X2: s.clientX, Y2: y})

		id := strconv.Itoa(i + 1)
		from, to, fromOut := s.sides(r.dir)
		if len(r.arrows) > 0 {
			a := s.arrow(i, r, id, from, to, labelRoom)
			if s.sloped {
				s.slope(&a, r.t, r.dir, from, to)
			}
			d.Arrows = append(d.Arrows, a)
		}
		if r.bulk != nil {
			d.Arrows = append(d.Arrows, s.bulkArrow(i, r, id, from, to, labelRoom))
		}
		for k, m := range r.marks {
			e := &m.Event
			d.Markers = append(d.Markers, Marker{
				ID: "m" + id + "-" + strconv.Itoa(k+1), Type: clean(string(e.Type), maxTipValue),
				X: round(from + fromOut*float64(k)*markerStep), Y: y, R: markerRadius,
				Shape: markerShape(e), Class: markerClass(e), Tip: s.tip(e),
			})
		}
		if len(r.marks) > 0 {
			sd := side(r.dir)
			s.sideNote(i, r, sd, ClassWarning, joinTips(s, r.marks))
		}
		if r.stall != nil {
			e := &r.stall.Event
			sd := stallSide(r.stall)
			tip := s.tip(e)
			class := ClassStall
			if isFlowStall(e) {
				class = ClassFlowStall
			}
			s.sideNote(i, r, sd, class, tip)
			s.detailNotes(i, r, sd, class, tip)
			y1 := s.yAt(stallStart(e))
			if y-y1 < minBandHeight {
				y1 = y - minBandHeight
			}
			// Overlapping stalls of one kind share the shade: a band
			// starts where the last one ended, so the overlap does not
			// darken (each tooltip keeps its own start).
			if last := lastBand[class]; last > y1 && last < y {
				y1 = last
			}
			lastBand[class] = y
			d.Bands = append(d.Bands, Band{
				Box:   Rect{X: s.clientX, Y: round(y1), W: round(s.serverX - s.clientX), H: round(y - y1)},
				Class: class, Tip: tip, At: s.at(stallStart(e)),
			})
		}
		if r.center != nil {
			e := &r.center.Event
			room := s.span - 2*labelPadX
			txt := fit(s.centers[i], room-2*centerNotePadX, FontNote, true)
			w := textWidth(txt, FontNote, true) + 2*centerNotePadX
			mid := round((s.clientX + s.serverX) / 2)
			d.Notes = append(d.Notes, Note{
				Text:  Text{X: mid, Y: y + textDrop, S: txt, Anchor: Middle, Class: TextNote},
				Box:   &Rect{X: round(mid - w/2), Y: y - centerNoteHalf, W: round(w), H: 2 * centerNoteHalf},
				Class: centerClass(e), Tip: s.tip(e),
			})
		}
		at := s.at(r.t)
		for k := nA; k < len(d.Arrows); k++ {
			d.Arrows[k].At = at
		}
		for k := nM; k < len(d.Markers); k++ {
			d.Markers[k].At = at
		}
		for k := nN; k < len(d.Notes); k++ {
			d.Notes[k].At = at
		}
	}
	s.bulkBands()
	s.phaseBrackets()
}

// at is t in milliseconds since the connection's first packet, to the
// microsecond, never negative: when an element appears in an animated
// diagram.
func (s *seq) at(t time.Time) float64 {
	return max(0, math.Round(float64(t.Sub(s.conn.FirstTS))/float64(time.Microsecond))/1000)
}

// sideNote writes row i's note on side sd.
func (s *seq) sideNote(i int, r *row, sd int, class, tip string) {
	off := s.stackOffset(r, sd)
	txt := fit(s.notes[i][sd], s.noteWidth[sd]-off, FontNote, true)
	x, anchor := s.noteEnd[0]-off, End
	if sd == 1 {
		x, anchor = s.noteEnd[1]+off, Start
	}
	s.d.Notes = append(s.d.Notes, Note{
		Text:  Text{X: round(x), Y: r.y + textDrop, S: txt, Anchor: anchor, Class: TextNote},
		Class: class, Tip: tip,
	})
}

// detailNotes writes the lines under row i's stall note on side sd.
func (s *seq) detailNotes(i int, r *row, sd int, class, tip string) {
	x, anchor := s.noteEnd[0], End
	if sd == 1 {
		x, anchor = s.noteEnd[1], Start
	}
	for k, l := range s.details[i] {
		s.d.Notes = append(s.d.Notes, Note{
			Text:  Text{X: round(x), Y: r.y + textDrop + float64(k+1)*labelLineH, S: fit(l, s.noteWidth[sd], FontNote, true), Anchor: anchor, Class: TextNote},
			Class: class, Tip: tip,
		})
	}
}

func joinTips(s *seq, marks []*timeline.Event) string {
	parts := make([]string, len(marks))
	for k, m := range marks {
		parts[k] = s.tip(&m.Event)
	}
	return strings.Join(parts, "\n\n")
}

// stallStart is when a head-of-line stall began: its end minus its
// duration, or its "start" field.
func stallStart(e *decode.Event) time.Time {
	if f, ok := e.Info.Get("duration_ms"); ok && f.Kind == decode.KindDuration && f.Duration() >= 0 {
		return e.TS.Add(-f.Duration())
	}
	if f, ok := e.Info.Get("start"); ok && f.Kind == decode.KindString {
		if t, err := time.Parse(time.RFC3339Nano, f.Str); err == nil {
			return t
		}
	}
	return e.TS
}

func (s *seq) timeLabel(t time.Time) string { return millis(t.Sub(s.conn.FirstTS)) }

// frameLabel names a row's packet, "#8", or a flight's, "#8–10".
func (r *row) frameLabel() string {
	s := "#" + strconv.FormatInt(r.frame, 10)
	if r.lastFrame > r.frame {
		s += "–" + strconv.FormatInt(r.lastFrame, 10)
	}
	return s
}

func omittedLabel(o *Omission) string {
	return "… " + grouped(o.Count) + " events omitted (frames " + strconv.FormatInt(o.FirstFrame, 10) +
		"–" + strconv.FormatInt(o.LastFrame, 10) + ", " + human(o.LastTS.Sub(o.FirstTS)) + ") …"
}

func omittedTip(o *Omission, first time.Time) string {
	return grouped(o.Count) + " events omitted to bound the diagram's size\nframes " +
		strconv.FormatInt(o.FirstFrame, 10) + " – " + strconv.FormatInt(o.LastFrame, 10) +
		"\n+" + millis(o.FirstTS.Sub(first)) + " ms – +" + millis(o.LastTS.Sub(first)) + " ms"
}
