package ladder

import (
	"bufio"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/text"
	"github.com/wiretrace/wiretrace/timeline"
)

// Defaults and bounds for Options.
const (
	// DefaultWidth is the width when Options.Width is not set.
	DefaultWidth = 100
	// MinWidth is the narrowest ladder; narrower widths draw this wide.
	MinWidth = 40
	// DefaultMaxRows bounds the rows held per connection: the first and
	// the last DefaultMaxRows/2 are drawn, the ones between counted.
	DefaultMaxRows = 2000
	// maxLinger bounds the ended connections held back because they may
	// turn out to be a proxy's back connection.
	maxLinger = 64
)

// Options configure a Writer.
type Options struct {
	// Width is the terminal's width in columns (DefaultWidth if ≤ 0, at
	// least MinWidth). No line is wider: labels are cut with "…", never
	// wrapped.
	Width int
	// ASCII draws with ASCII characters only (|, -, >, <) and replaces
	// other characters in labels.
	ASCII bool
	// Color adds ANSI colours. The caller decides (a terminal, NO_COLOR
	// unset).
	Color bool
	// Stream writes each row as soon as its event arrives, prefixed with
	// the connection number, as live captures want; by default each
	// connection is one block, written when it ends.
	Stream bool
	// MaxRows bounds the rows held per connection in block mode
	// (DefaultMaxRows if ≤ 0).
	MaxRows int
}

// Writer is a timeline.Sink that draws ladder diagrams. Call Close at the
// end of input. It is not safe for concurrent use.
type Writer struct {
	opts  Options
	g     *glyphs
	w     *bufio.Writer
	buf   []byte
	conns map[int]*conn
	// openServers counts open connections per server address, to tell
	// which ended connections may be a proxy's back connection.
	openServers map[netip.Addr]int
	linger      []*conn // ended, held back, in order of their end
	blocks      int     // blocks written
	err         error
}

// conn is one connection's state.
type conn struct {
	c    *timeline.Conn
	head []row
	// extra holds what few connections need, allocated on first use
	// (ext) and at the connection's end, so that an open connection
	// with one row stays small.
	*extra
	run         *run            // the open run of bulk events or findings; nil when none
	delayed     *timeline.Event // a bulk event held until the next, which it may carry
	hasDel      bool
	prevFinding struct {
		frame int64
		dir   decode.Dir
	}
	summary *timeline.Event
	started bool // stream mode: its header was written
	ended   bool
}

// extra is the part of a connection's state that few connections need.
type extra struct {
	tail    []row // a ring once full
	next    int
	omitted int64
	phases  []phase
	stalls  []stall
	backs   []int // connections a proxy-link named as this one's back
	relays  []int // those of them that relay its bytes (l4): all theirs
}

// ext returns c.extra, allocated.
func (c *conn) ext() *extra {
	if c.extra == nil {
		c.extra = &extra{}
	}
	return c.extra
}

// phase is one analysis/phase event.
type phase struct {
	startFrame, endFrame int64
	label                string
}

// stall is a HOL stall: the receiver's lifeline is drawn heavy from the
// first frame behind the gap to the frame that filled it.
type stall struct {
	from, to int64
	side     decode.Dir // the receiver: C2S for the client's lifeline
}

// New returns a Writer on w.
func New(w io.Writer, opts Options) *Writer {
	if opts.Width <= 0 {
		opts.Width = DefaultWidth
	}
	opts.Width = max(opts.Width, MinWidth)
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	g := &unicodeGlyphs
	if opts.ASCII {
		g = &asciiGlyphs
	}
	return &Writer{opts: opts, g: g, w: bufio.NewWriterSize(w, 32<<10), conns: map[int]*conn{}, openServers: map[netip.Addr]int{}}
}

// Event draws or holds one event.
func (w *Writer) Event(ev *timeline.Event) error {
	if w.err != nil {
		return w.err
	}
	if ev.Conn == nil {
		w.captureEvent(ev)
		return w.err
	}
	c := w.conns[ev.Conn.ID]
	if c == nil {
		c = &conn{c: ev.Conn}
		w.conns[ev.Conn.ID] = c
		w.openServers[ev.Conn.Server.Addr()]++
	}
	if c.ended {
		return nil // a straggler after the summary
	}
	if c.hasDel {
		c.hasDel = false
		if !layout.Carries(&c.delayed.Event, &ev.Event) {
			w.fold(c, c.delayed, false)
		}
	}
	e := &ev.Event
	switch {
	case e.Layer == decode.LayerConn && e.Type == decode.TypeSummary:
		w.flushRun(c)
		s := *ev
		c.summary = &s
		w.end(c)
	case layout.IsPhase(e):
		w.flushRun(c)
		label, _ := layout.PhaseLabel(e)
		p := phase{endFrame: e.Frame, label: text.Sanitize(label)}
		if f, ok := e.Info.Get("start_frame"); ok {
			p.startFrame = f.Int
		}
		if w.opts.Stream {
			w.add(c, row{frame: e.Frame, ts: e.TS, kind: rowNote, class: classPhase, text: "phase " + p.label})
		} else {
			c.ext().phases = append(c.ext().phases, p)
		}
	case e.Layer == decode.LayerAnalysis && e.Type == "proxy-link":
		w.flushRun(c)
		x := c.ext()
		if f, ok := e.Info.Get("back"); ok && len(x.backs) < 16 && !slices.Contains(x.backs, int(f.Int)) {
			x.backs = append(x.backs, int(f.Int))
			if layout.Field(e, "mode") == "l4" {
				x.relays = append(x.relays, int(f.Int))
			}
		}
		w.add(c, row{frame: e.Frame, ts: e.TS, kind: rowNote, class: classPhase, text: text.Sanitize(linkText(e))})
	case e.Layer == decode.LayerTCP && e.Type == decode.TypeSegment && c.prevFinding.frame == e.Frame && c.prevFinding.dir == e.Dir:
		// The finding drew this segment already.
	case isBulk(e):
		if c.delayed == nil {
			c.delayed = new(timeline.Event)
		}
		*c.delayed, c.hasDel = *ev, true
	case isFinding(e):
		w.fold(c, ev, true)
		c.prevFinding.frame, c.prevFinding.dir = e.Frame, e.Dir
	default:
		w.flushRun(c)
		if layout.Classify(e) == layout.KindStall {
			st := stall{to: e.Frame, side: e.Dir.Reverse()}
			if f, ok := e.Info.Get("start_frame"); ok {
				st.from = f.Int
			}
			if x := c.ext(); len(x.stalls) < 256 {
				x.stalls = append(x.stalls, st)
			}
		}
		for _, r := range rowsFor(ev) {
			w.add(c, r)
		}
	}
	return w.err
}

// fold adds a bulk event or a finding to the connection's run.
func (w *Writer) fold(c *conn, ev *timeline.Event, finding bool) {
	if c.run != nil && !c.run.fits(&ev.Event, finding) {
		w.flushRun(c)
	}
	if c.run == nil {
		c.run = new(run)
	}
	r := rowsFor(ev)[0]
	if finding {
		r = row{frame: ev.Frame, ts: ev.TS, kind: rowArrow, dir: ev.Dir, style: styleDotted, class: classWarn,
			text: text.Sanitize(layout.MarkerNote(&ev.Event))}
	}
	c.run.add(&ev.Event, r, finding)
}

func (w *Writer) flushRun(c *conn) {
	if c.hasDel {
		c.hasDel = false
		w.fold(c, c.delayed, false)
	}
	if c.run == nil {
		return
	}
	rows := c.run.rows()
	c.run = nil
	for _, r := range rows {
		w.add(c, r)
	}
}

// add writes a row (stream mode) or holds it.
func (w *Writer) add(c *conn, r row) {
	r.conn = c.c.ID
	if w.opts.Stream {
		if !c.started {
			c.started = true
			w.header(c.c, nil, w.streamTag(c.c.ID))
		}
		w.draw([]row{r}, w.streamGeom(), c.c.FirstTS, w.streamTag(c.c.ID), nil)
		return
	}
	half := w.opts.MaxRows / 2
	switch {
	case len(c.head) < half:
		c.head = append(c.head, r)
	case len(c.ext().tail) < w.opts.MaxRows-half:
		c.tail = append(c.tail, r)
	default:
		c.omitted++
		c.tail[c.next] = r
		c.next = (c.next + 1) % len(c.tail)
	}
}

// rows returns a held connection's rows in order, with a note where rows
// were left out.
func (c *conn) rows() []row {
	c.ext()
	out := make([]row, 0, len(c.head)+len(c.tail)+1)
	out = append(out, c.head...)
	tail := append(append([]row(nil), c.tail[c.next:]...), c.tail[:c.next]...)
	if c.omitted > 0 && len(tail) > 0 {
		out = append(out, row{frame: tail[0].frame, ts: tail[0].ts, kind: rowNote, class: classNote, conn: c.c.ID,
			text: "… " + layout.Grouped(c.omitted) + " rows left out …"})
	}
	return append(out, tail...)
}

// end finishes a connection: written at once (stream mode), merged into
// its proxy's front block, held back while it may still be a back
// connection, or written as its own block.
func (w *Writer) end(c *conn) {
	c.ended = true
	c.ext()
	sa := c.c.Server.Addr()
	if w.openServers[sa]--; w.openServers[sa] <= 0 {
		delete(w.openServers, sa)
	}
	if w.opts.Stream {
		if !c.started {
			c.started = true
			w.header(c.c, nil, w.streamTag(c.c.ID))
		}
		w.footer([]*conn{c}, w.streamTag(c.c.ID), nil)
		delete(w.conns, c.c.ID)
		return
	}
	var backs []*conn
	for _, id := range c.backs {
		if i := slices.IndexFunc(w.linger, func(l *conn) bool { return l.c.ID == id }); i >= 0 {
			backs = append(backs, w.linger[i])
			w.linger = slices.Delete(w.linger, i, i+1)
		}
	}
	delete(w.conns, c.c.ID)
	switch {
	case len(backs) > 0:
		w.block(c, backs)
	case w.openServers[c.c.Client.Addr()] > 0 && c.c.Client.Addr() != sa:
		w.linger = append(w.linger, c)
		if len(w.linger) > maxLinger {
			w.block(w.linger[0], nil)
			w.linger = w.linger[1:]
		}
	default:
		w.block(c, nil)
	}
	w.release(false)
}

// release writes the held-back connections that can no longer be a back
// connection (all of them with force), in connection order.
func (w *Writer) release(force bool) {
	var out []*conn
	w.linger = slices.DeleteFunc(w.linger, func(l *conn) bool {
		if force || w.openServers[l.c.Client.Addr()] == 0 {
			out = append(out, l)
			return true
		}
		return false
	})
	slices.SortFunc(out, func(a, b *conn) int { return a.c.ID - b.c.ID })
	for _, l := range out {
		w.block(l, nil)
	}
}

// Flush writes what is buffered; in stream mode runs of bulk events are
// ended first, so that a live view does not lag.
func (w *Writer) Flush() error {
	if w.opts.Stream {
		ids := make([]int, 0, len(w.conns))
		for id := range w.conns {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			w.flushRun(w.conns[id])
		}
	}
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// Close writes the connections still open or held back, in connection
// order, and flushes.
func (w *Writer) Close() error {
	ids := make([]int, 0, len(w.conns))
	for id := range w.conns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := w.conns[id]
		w.flushRun(c)
		w.end(c)
	}
	w.release(true)
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

func (w *Writer) write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

// captureEvent writes an event about the whole capture as one line.
func (w *Writer) captureEvent(ev *timeline.Event) {
	cv := newCanvas(w.opts.Width, w.g)
	cv.text(0, w.str("capture: "+layout.CenterNote(&ev.Event)), w.opts.Width, classWarn)
	w.buf = cv.appendTo(w.buf[:0], w.opts.Color)
	w.write(w.buf)
}

// str prepares a string for the canvas: sanitised, and in ASCII mode
// transliterated.
func (w *Writer) str(s string) string {
	s = text.Sanitize(s)
	if w.opts.ASCII {
		s = toASCII(s)
	}
	return s
}

func (w *Writer) streamTag(id int) string { return "#" + strconv.Itoa(id) }

// geom is where a ladder's columns are.
type geom struct {
	tagW   int   // the stream tag column, with its space
	timeW  int   // the time column
	lanes  []int // lifeline columns
	phaseX int   // the phase bracket column, or -1
}

// minLanes is the narrowest the lifelines may get to make room for the
// phase brackets; below it phases are listed under the block.
const minLanes = 46

// Stream mode's columns: the tag ("#123") with its space, and the time.
const (
	tagWidth  = 6
	timeWidth = 9
)

func (w *Writer) streamGeom() geom { return w.geom(tagWidth, timeWidth, 2, 0) }

// geom places n lifelines after the tag and time columns, leaving
// phaseW columns at the right for phase brackets.
func (w *Writer) geom(tagW, timeW, n, phaseW int) geom {
	g := geom{tagW: tagW, timeW: timeW, phaseX: -1}
	x0 := tagW + timeW + 1
	right := w.opts.Width - 1
	if phaseW > 0 && right-phaseW-x0 >= minLanes {
		right -= phaseW
		g.phaseX = right + 2
	}
	for i := range n {
		g.lanes = append(g.lanes, x0+(right-x0)*i/(n-1))
	}
	return g
}

// block writes one connection, or a proxy's front connection with its
// back connections on a third lifeline.
func (w *Writer) block(front *conn, backs []*conn) {
	rows := front.rows()
	// An L7 back connection's rows outside the front's lifetime belong
	// to other fronts (a pooled back connection): left out, counted. An
	// L4 relay is the front's alone.
	start, end := front.c.FirstTS, time.Time{}
	if front.summary != nil {
		end = front.summary.TS
	}
	var notes []string
	for _, b := range backs {
		left := 0
		relay := slices.Contains(front.relays, b.c.ID)
		for _, r := range b.rows() {
			if !relay && (r.ts.Before(start) || !end.IsZero() && r.ts.After(end)) {
				left++
				continue
			}
			r.leg = 1
			if len(backs) > 1 {
				r.text = "#" + strconv.Itoa(b.c.ID) + " " + r.text
			}
			rows = append(rows, r)
		}
		if left > 0 {
			notes = append(notes, "conn "+strconv.Itoa(b.c.ID)+": "+plural(int64(left), "row")+" outside this connection's time left out")
		}
	}
	if len(backs) > 0 {
		slices.SortStableFunc(rows, func(a, b row) int { return a.ts.Compare(b.ts) })
	}
	origin := front.c.FirstTS
	timeW := 0
	for _, r := range rows {
		timeW = max(timeW, len(timeText(r.ts.Sub(origin))))
	}
	timeW = max(timeW, 6)
	phaseW := 0
	for _, p := range front.phases {
		phaseW = max(phaseW, textWidth(w.str(p.label))+3)
	}
	phaseW = min(phaseW, w.opts.Width/3)
	n := 2
	if len(backs) > 0 {
		n = 3
	}
	g := w.geom(0, timeW, n, phaseW)
	if w.blocks > 0 {
		w.write([]byte{'\n'})
	}
	w.blocks++
	var back *timeline.Conn
	if len(backs) > 0 {
		back = backs[0].c
	}
	w.header(front.c, back, "")
	w.lanesLine(g, front.c, back)
	marks, phaseNotes := w.marks(rows, front, backs, g)
	w.draw(rows, g, origin, "", marks)
	w.footer(append([]*conn{front}, backs...), "", append(phaseNotes, notes...))
}

// marks are what a row draws beside its event: heavy lifelines for HOL
// stalls and the phase bracket.
type marks struct {
	heavy   [][3]bool
	bracket []rune
	label   []string
}

// marks returns the marks of rows, and the phases that found no room as
// lines for the footer.
func (w *Writer) marks(rows []row, front *conn, backs []*conn, g geom) (*marks, []string) {
	m := &marks{heavy: make([][3]bool, len(rows)), bracket: make([]rune, len(rows)), label: make([]string, len(rows))}
	stalls := func(c *conn, leg int) {
		for _, st := range c.stalls {
			lane := leg
			if st.side == decode.S2C {
				lane = leg + 1
			}
			for i, r := range rows {
				if r.conn == c.c.ID && r.frame >= st.from && r.frame <= st.to {
					m.heavy[i][lane] = true
				}
			}
		}
	}
	stalls(front, 0)
	for _, b := range backs {
		stalls(b, 1)
	}
	var notes []string
	for _, p := range front.phases {
		first, last := -1, -1
		for i, r := range rows {
			if r.conn != front.c.ID {
				continue
			}
			// A phase starts where the one before it ended: on the
			// last row of its start frame.
			if r.frame <= p.startFrame || first < 0 && r.frame >= p.startFrame {
				first = i
			}
			if r.frame <= p.endFrame {
				last = i
			}
		}
		if first < 0 || last < 0 || last < first || g.phaseX < 0 {
			// No room or no rows: a note at the end.
			notes = append(notes, "phase "+p.label)
			continue
		}
		for i := first + 1; i < last; i++ {
			if m.bracket[i] == 0 {
				m.bracket[i] = w.g.mid
			}
		}
		switch {
		case first == last:
			m.bracket[first] = w.g.one
		default:
			if m.bracket[first] == w.g.bottom || m.bracket[first] == w.g.one {
				m.bracket[first] = w.g.join
			} else {
				m.bracket[first] = w.g.top
			}
			m.bracket[last] = w.g.bottom
		}
		if m.label[last] != "" {
			m.label[last] += ", "
		}
		m.label[last] += p.label
	}
	return m, notes
}

// header writes a connection's title line.
func (w *Writer) header(c, back *timeline.Conn, tag string) {
	t := "conn " + strconv.Itoa(c.ID) + " · " + strings.ToUpper(c.Transport.String()) + " · " +
		c.Client.String() + " → " + c.Server.String()
	if back != nil {
		t = "conn " + strconv.Itoa(c.ID) + " via proxy, conn " + strconv.Itoa(back.ID) + " · " +
			c.Client.String() + " → " + c.Server.String() + " → " + back.Server.String()
	}
	if c.Midstream {
		t += " (picked up midstream: roles guessed)"
	}
	if tag != "" {
		t = tag + " " + t
	}
	cv := newCanvas(w.opts.Width, w.g)
	cv.text(0, w.str(t), w.opts.Width, classTitle)
	w.buf = cv.appendTo(w.buf[:0], w.opts.Color)
	w.write(w.buf)
}

// lanesLine names the lifelines above them.
func (w *Writer) lanesLine(g geom, c, back *timeline.Conn) {
	names := []string{"client " + c.Client.String(), "server " + c.Server.String()}
	if back != nil {
		names = []string{"client " + c.Client.String(), "proxy " + c.Server.Addr().String(), "server " + back.Server.String()}
	}
	cv := newCanvas(w.opts.Width, w.g)
	cv.text(g.tagW+g.timeW-2, "ms", 2, classTime)
	last := len(g.lanes) - 1
	// The proxy's name is centred on its lifeline; the client's starts at
	// its lifeline and the server's ends at its own, each up to the
	// middle one.
	lo := (g.lanes[0] + g.lanes[last]) / 2
	hi := lo
	if last == 2 {
		room := (g.lanes[2] - g.lanes[0]) / 2
		s := w.laneName(names[1], room)
		n := min(textWidth(s), room)
		lo = g.lanes[1] - n/2
		hi = lo + cv.text(lo, s, n, classTitle)
	}
	cv.text(g.lanes[0], w.laneName(names[0], lo-g.lanes[0]-2), lo-g.lanes[0]-2, classTitle)
	room := g.lanes[last] - hi - 2
	s := w.laneName(names[last], room)
	n := min(textWidth(s), room)
	cv.text(g.lanes[last]-n+1, s, n, classTitle)
	w.buf = cv.appendTo(w.buf[:0], w.opts.Color)
	w.write(w.buf)
}

// laneName is a lifeline's name ("client 192.0.2.1:443"), without its
// role when it does not fit in room columns.
func (w *Writer) laneName(name string, room int) string {
	s := w.str(name)
	if textWidth(s) > room {
		_, addr, _ := strings.Cut(s, " ")
		return addr
	}
	return s
}

// timeText is the time column: milliseconds since the connection's first
// packet, with three decimals.
func timeText(d time.Duration) string {
	s := strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
	if d >= 0 {
		s = "+" + s
	}
	return s
}

// draw writes rows to the geometry.
func (w *Writer) draw(rows []row, g geom, origin time.Time, tag string, m *marks) {
	b := w.buf[:0]
	for i, r := range rows {
		cv := newCanvas(w.opts.Width, w.g)
		if tag != "" {
			cv.text(0, tag, g.tagW-1, classNote)
		}
		if !r.ts.IsZero() {
			t := timeText(r.ts.Sub(origin))
			cv.text(g.tagW+g.timeW-len(t), t, g.timeW, classTime)
		}
		var heavy [3]bool
		if m != nil {
			heavy = m.heavy[i]
		}
		for l, x := range g.lanes {
			if heavy[l] {
				cv.set(x, w.g.heavy, classStall)
			} else {
				cv.set(x, w.g.life, classLife)
			}
		}
		w.drawRow(cv, r, g)
		if m != nil && g.phaseX >= 0 && m.bracket[i] != 0 {
			cv.set(g.phaseX, m.bracket[i], classPhase)
			if m.label[i] != "" {
				cv.set(g.phaseX+1, w.g.hook, classPhase)
				cv.text(g.phaseX+2, w.str(m.label[i]), w.opts.Width-g.phaseX-2, classPhase)
			}
		}
		b = cv.appendTo(b, w.opts.Color)
		if len(b) > 32<<10 {
			w.write(b)
			b = b[:0]
		}
	}
	w.write(b)
	w.buf = b[:0]
}

// drawRow draws one row's arrow or note between its leg's lifelines.
func (w *Writer) drawRow(cv *canvas, r row, g geom) {
	leg := min(int(r.leg), len(g.lanes)-2)
	left, right := g.lanes[leg], g.lanes[leg+1]
	inner := right - left - 1 // columns between the lifelines
	s := w.str(r.text)
	switch r.kind {
	case rowNote:
		cv.set(left+2, w.g.note, r.class)
		cv.text(left+4, s, inner-4, r.class)
	case rowSide:
		if r.dir == decode.S2C {
			n := min(textWidth(s), inner-3)
			cv.text(right-1-n, s, n, r.class)
		} else {
			cv.text(left+2, s, inner-3, r.class)
		}
	case rowArrow:
		shaft := w.g.shaft
		switch r.style {
		case styleDotted:
			shaft = w.g.dotted
		case styleBulk:
			shaft = w.g.bulk
		}
		cv.fill(left+1, inner, shaft, r.class)
		room := inner - 5
		n := min(textWidth(s), room)
		if r.dir == decode.S2C {
			head := w.g.left
			if r.style == styleReset {
				head = w.g.reset
			}
			cv.set(left+1, head, r.class)
			cv.text(right-2-n, s, n, r.class)
		} else {
			head := w.g.right
			if r.style == styleReset {
				head = w.g.reset
			}
			cv.set(right-1, head, r.class)
			cv.text(left+3, s, n, r.class)
		}
	}
}

// footer writes notes and the summaries of the connections of a block.
func (w *Writer) footer(cs []*conn, tag string, notes []string) {
	lines := notes
	for _, c := range cs {
		prefix := ""
		if len(cs) > 1 {
			prefix = "conn " + strconv.Itoa(c.c.ID) + ": "
		}
		for _, l := range summaryLines(c.summary) {
			lines = append(lines, prefix+l)
			prefix = strings.Repeat(" ", len(prefix))
		}
	}
	for _, l := range lines {
		cv := newCanvas(w.opts.Width, w.g)
		x := 0
		if tag != "" {
			x = cv.text(0, tag, len(tag), classNote) + 1
		}
		cv.text(x+2, w.str(l), w.opts.Width-x-2, classNote)
		w.buf = cv.appendTo(w.buf[:0], w.opts.Color)
		w.write(w.buf)
	}
}

// summaryFields are the summary's values a footer shows, in order, with
// their names.
var summaryFields = [][2]string{
	{"handshake", ""}, {"sni", "SNI "}, {"alpn", "ALPN "}, {"protocol", ""},
}

// summaryLines sums up a connection in two lines; none without a summary.
func summaryLines(sum *timeline.Event) []string {
	if sum == nil {
		return []string{"(no summary: the input ended first)"}
	}
	e := &sum.Event
	var first []string
	for _, f := range summaryFields {
		if v := layout.Field(e, f[0]); v != "" {
			first = append(first, f[1]+v)
		}
	}
	var second []string
	dur := func(key, prefix string) {
		if f, ok := e.Info.Get(key); ok && f.Kind == decode.KindDuration {
			second = append(second, prefix+layout.Human(f.Duration()))
		}
	}
	dur("rtt_ms", "RTT ")
	if f, ok := e.Info.Get("round_trips_before_data"); ok {
		second = append(second, strconv.FormatInt(f.Int, 10)+" RTT before data")
	}
	dur("ttfb_ms", "first byte ")
	dur("duration_ms", "lasted ")
	var third []string
	c2s, ok1 := e.Info.Get("bytes_c2s")
	s2c, ok2 := e.Info.Get("bytes_s2c")
	if ok1 && ok2 {
		third = append(third, layout.Grouped(c2s.Int)+" B → "+layout.Grouped(s2c.Int)+" B ←")
	}
	if f, ok := e.Info.Get("requests"); ok && f.Int > 0 {
		third = append(third, plural(f.Int, "request"))
	}
	if f, ok := e.Info.Get("hol_stalls"); ok && f.Int > 0 {
		third = append(third, plural(f.Int, "HOL stall"))
	}
	for _, k := range [...]string{"close", "ended"} {
		if v := layout.Field(e, k); v != "" {
			third = append(third, k+" "+v)
		}
	}
	out := []string{"summary: " + strings.Join(first, " · ")}
	for _, l := range [][]string{second, third} {
		if len(l) > 0 {
			out = append(out, "  "+strings.Join(l, " · "))
		}
	}
	return out
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return layout.Grouped(n) + " " + word + "s"
}
