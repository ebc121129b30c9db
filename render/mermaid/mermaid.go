package mermaid

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/timeline"
)

// Defaults for Options.
const (
	// DefaultMaxLines bounds the statements of one diagram. Mermaid lays
	// out a few hundred messages comfortably; more become a scroll no one
	// reads.
	DefaultMaxLines = 400
	// DefaultMaxBytes bounds one diagram's text. GitHub and Mermaid refuse
	// diagrams over 50,000 characters (Mermaid's maxTextSize).
	DefaultMaxBytes = 40000
	// DefaultMaxEvents bounds the events buffered per connection before
	// its summary arrives: the first and the last DefaultMaxEvents are
	// kept, the ones between only counted.
	DefaultMaxEvents = 4000
)

// minFold is the shortest run of bulk events folded into one arrow per
// direction: shorter ones, a few WebSocket messages or DATA frames, read
// better one by one.
const minFold = 6

// minFoldWS is minFold for runs with WebSocket frames: each is a message
// someone sent, worth its own arrow unless there are many.
const minFoldWS = 16

// minFindingFold is the shortest run of one TCP finding (duplicate ACKs
// after a loss) folded into one arrow.
const minFindingFold = 3

// maxText is the longest text of one statement, in characters, before
// escaping.
const maxText = 120

// Options configure a Writer.
type Options struct {
	// Bare writes the diagrams without Markdown around them: each starts
	// with "sequenceDiagram" and they follow each other separated by a
	// blank line (a file with one connection is then a .mmd file for
	// mermaid-cli). By default each diagram is a ```mermaid block under a
	// heading, so that the output is a Markdown document GitHub renders.
	Bare bool
	// MaxLines bounds the statements per diagram (DefaultMaxLines if ≤ 0);
	// past it, or past MaxBytes, the middle is left out with a note.
	MaxLines int
	// MaxBytes bounds a diagram's text (DefaultMaxBytes if ≤ 0).
	MaxBytes int
	// MaxEvents bounds the events buffered per connection
	// (DefaultMaxEvents if ≤ 0).
	MaxEvents int
}

// Writer is a timeline.Sink that writes one Mermaid sequenceDiagram per
// connection, when the connection's summary arrives. Call Close at the
// end of input. A Writer is not safe for concurrent use.
type Writer struct {
	opts  Options
	w     *bufio.Writer
	conns map[int]*pending
	done  map[int]bool
	n     int // diagrams written
}

// pending is one connection's buffered events.
type pending struct {
	conn *timeline.Conn
	held layout.Held
}

// New returns a Writer on w.
func New(w io.Writer, opts Options) *Writer {
	if opts.MaxLines <= 0 {
		opts.MaxLines = DefaultMaxLines
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxEvents
	}
	return &Writer{opts: opts, w: bufio.NewWriter(w), conns: map[int]*pending{}, done: map[int]bool{}}
}

// Event buffers a copy of ev and writes the connection's diagram when ev
// is its summary. Events without a connection are not drawn.
func (w *Writer) Event(ev *timeline.Event) error {
	if ev.Conn == nil || w.done[ev.Conn.ID] {
		return nil
	}
	id := ev.Conn.ID
	p := w.conns[id]
	if p == nil {
		p = &pending{conn: ev.Conn, held: layout.Held{Max: w.opts.MaxEvents}}
		w.conns[id] = p
	}
	p.held.Add(ev)
	if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
		delete(w.conns, id)
		w.done[id] = true
		return w.write(p)
	}
	return nil
}

// Flush writes what is buffered to the underlying writer: the diagrams
// of the connections that ended so far (for live captures).
func (w *Writer) Flush() error { return w.w.Flush() }

// Close writes the diagrams of connections that never got a summary, in
// connection order, and flushes.
func (w *Writer) Close() error {
	ids := make([]int, 0, len(w.conns))
	for id := range w.conns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := w.write(w.conns[id]); err != nil {
			return err
		}
		delete(w.conns, id)
	}
	return w.w.Flush()
}

func (w *Writer) write(p *pending) error {
	if w.n > 0 {
		w.w.WriteByte('\n')
	}
	w.n++
	events := p.held.Events()
	d := diagram(p.conn, events, w.opts, p.held.Omitted.After, p.held.Omitted.Count)
	if w.opts.Bare {
		_, err := w.w.WriteString(d)
		return err
	}
	w.w.WriteString("## " + markdown(title(p.conn, summaryOf(events))) + "\n\n")
	w.w.WriteString("```mermaid\n")
	w.w.WriteString(d)
	_, err := w.w.WriteString("```\n")
	return err
}

// Diagram returns the Mermaid sequenceDiagram of one connection. events
// are its events in output order, summary last when it ended; conn may be
// nil to take it from the events. The result depends only on the
// arguments.
func Diagram(conn *timeline.Conn, events []timeline.Event, opts Options) string {
	return diagram(conn, events, opts, 0, 0)
}

// diagram is Diagram with omitted events the caller dropped before
// events[at].
func diagram(conn *timeline.Conn, events []timeline.Event, opts Options, at int, omitted int64) string {
	conn = layout.ConnOf(conn, events)
	if opts.MaxLines <= 0 {
		opts.MaxLines = DefaultMaxLines
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	sum := summaryOf(events)
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	b.WriteString("    title " + escape(layout.Cut(title(conn, sum), maxText)) + "\n")
	role := [2]string{"client", "server"}
	if conn.Midstream {
		role = [2]string{"client (guessed)", "server (guessed)"}
	}
	b.WriteString("    participant C as " + escape(role[0]+" "+layout.Clean(conn.Client.String(), 64)) + "\n")
	b.WriteString("    participant S as " + escape(role[1]+" "+layout.Clean(conn.Server.String(), 64)) + "\n")
	lines := statements(events, at, omitted)
	if sum != nil {
		lines = append(lines, line{text: "Note over C,S: " + summaryNote(sum), frame: sum.Frame})
	}
	for _, l := range bound(lines, opts.MaxLines, opts.MaxBytes) {
		b.WriteString("    " + l.text + "\n")
	}
	return b.String()
}

// summaryOf returns the conn/summary event among events, or nil.
func summaryOf(events []timeline.Event) *decode.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Layer == decode.LayerConn && events[i].Type == decode.TypeSummary {
			return &events[i].Event
		}
	}
	return nil
}

// title names a connection: "Connection 1 · TCP · TLS1.3 · HTTP2".
func title(c *timeline.Conn, sum *decode.Event) string {
	t := "Connection " + strconv.Itoa(c.ID)
	if c.Transport != 0 {
		t += " · " + strings.ToUpper(c.Transport.String())
	}
	if sum != nil {
		if v := layout.Field(sum, "tls_version"); v != "" {
			t += " · " + v
		}
		for _, p := range strings.Split(layout.Field(sum, "protocol"), "/") {
			if p != "" && p != "tls" {
				t += " · " + strings.ToUpper(p)
			}
		}
	}
	if c.Midstream {
		t += " · picked up midstream"
	}
	return t
}

// line is one statement, already escaped, and the last frame it shows.
type line struct {
	text  string
	frame int64
}

func arrow(dir decode.Dir, op, text string) string {
	from, to := "C", "S"
	if dir == decode.S2C {
		from, to = "S", "C"
	}
	return from + op + to + ": " + escape(layout.Cut(text, maxText))
}

func note(over, text string) string {
	return "Note over " + over + ": " + escape(layout.Cut(text, maxText))
}

// sender and receiver name the participant that sent and received an
// event of direction dir.
func sender(dir decode.Dir) string {
	if dir == decode.S2C {
		return "S"
	}
	return "C"
}

func receiver(dir decode.Dir) string {
	if dir == decode.S2C {
		return "C"
	}
	return "S"
}

// Arrow operators.
const (
	opSolid  = "->>"  // an event
	opDotted = "-->>" // a retransmitted or duplicate segment, an analysis finding
	opCross  = "-x"   // a reset
	opOpen   = "-)"   // a folded run of bulk events
)

// step is one event to show, before runs are folded.
type step struct {
	ev   *timeline.Event
	bulk bool
	text string // the statement, escaped, when not bulk
}

// statements turns a connection's events into statements: one arrow per
// meaningful event, runs of bulk transfer folded, notes for RTTs, stalls,
// exchanges and phases (each after the event that ended it).
func statements(events []timeline.Event, at int, omitted int64) []line {
	var steps []step
	var phases []*timeline.Event
	// The TCP phase's note says the handshake's RTT when no SYN was
	// retransmitted; the ACK's note would repeat it.
	tcpPhase := time.Duration(-1)
	for i := range events {
		if e := &events[i].Event; layout.IsPhase(e) && layout.Field(e, "phase") == timeline.PhaseTCP {
			_, tcpPhase = layout.PhaseLabel(e)
		}
	}
	for i := range events {
		e := &events[i]
		if i == at && omitted > 0 {
			steps = append(steps, step{ev: e, text: note("C,S", "… "+layout.Grouped(omitted)+" events left out to bound the diagram …")})
		}
		switch {
		case e.Layer == decode.LayerConn && e.Type == decode.TypeSummary:
			continue
		case layout.IsPhase(&e.Event):
			phases = append(phases, e)
			continue
		case carrier(events, i):
			continue
		case e.Layer == decode.LayerTCP && e.Type == decode.TypeSegment && i > 0 && finding(&events[i-1].Event) &&
			events[i-1].Frame == e.Frame && events[i-1].Dir == e.Dir:
			continue // the finding already drew this segment
		}
		if bulk(&e.Event) {
			steps = append(steps, step{ev: e, bulk: true})
			continue
		}
		for _, s := range render(&e.Event, tcpPhase) {
			steps = append(steps, step{ev: e, text: s})
		}
	}
	lines := fold(steps)
	return placePhases(lines, phases)
}

// render returns the statements of one event that is not bulk; tcpPhase
// is the TCP phase's duration, or -1.
func render(e *decode.Event, tcpPhase time.Duration) []string {
	switch layout.Classify(e) {
	case layout.KindCenter:
		return []string{note("C,S", layout.CenterNote(nonEmpty(e)))}
	case layout.KindStall:
		return []string{note(receiver(e.Dir), layout.StallNote(e))}
	case layout.KindMarker:
		if finding(e) {
			return []string{arrow(e.Dir, opDotted, layout.MarkerNote(e))}
		}
		if e.Layer == decode.LayerAnalysis {
			return []string{note(sender(e.Dir), analysisNote(e))}
		}
		return []string{note("C,S", layout.MarkerNote(e))}
	}
	op := opSolid
	if e.Layer == decode.LayerTCP && e.Type == decode.TypeRST {
		op = opCross
	}
	if f, ok := e.Info.Get("retransmission"); ok && f.Kind == decode.KindBool && f.Bool() {
		op = opDotted
	}
	out := []string{arrow(e.Dir, op, label(e))}
	if e.Layer == decode.LayerTCP && e.Type == decode.TypeACK {
		if f, ok := e.Info.Get("rtt_ms"); ok && f.Kind == decode.KindDuration && f.Duration() != tcpPhase {
			out = append(out, note("C,S", "handshake RTT "+ms(f.Duration())))
		}
	}
	return out
}

// nonEmpty returns e without its empty string and list fields, which a
// note need not list ("protocol=").
func nonEmpty(e *decode.Event) *decode.Event {
	c := *e
	c.Info = nil
	for _, f := range e.Info {
		if (f.Kind == decode.KindString && f.Str == "") || (f.Kind == decode.KindStrings && len(f.Strs) == 0) {
			continue
		}
		c.Info = append(c.Info, f)
	}
	return &c
}

// label is an arrow's text: the sequence diagram's label, and for a few
// events the detail a reader looks for (the server name of a ClientHello,
// the version a ServerHello chose, an alert, a WebSocket close).
func label(e *decode.Event) string {
	s := layout.ArrowLabel(e)
	var extra []string
	add := func(prefix, key string) {
		if v := layout.Field(e, key); v != "" {
			extra = append(extra, prefix+v)
		}
	}
	switch {
	case e.Layer == decode.LayerTLS && e.Type == "ClientHello":
		add("SNI ", "sni")
		add("ALPN ", "alpn")
	case e.Layer == decode.LayerTLS && (e.Type == "ServerHello" || e.Type == "HelloRetryRequest"):
		add("", "version")
		add("ALPN ", "alpn")
	case e.Layer == decode.LayerTLS && e.Type == "EncryptedExtensions":
		add("ALPN ", "alpn")
	case e.Layer == decode.LayerTLS && e.Type == "Alert":
		add("", "level")
		add("", "description")
	case e.Layer == decode.LayerWS && e.Type == "close":
		add("", "code_name")
		add("reason ", "reason")
	case e.Layer == decode.LayerQUIC:
		if n := quicNote(e); n != "" {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// quicNote names the frames of a QUIC packet that change the
// connection's state: HANDSHAKE_DONE and CONNECTION_CLOSE (with its error).
func quicNote(e *decode.Event) string {
	var parts []string
	for _, name := range [...]string{"HANDSHAKE_DONE", "CONNECTION_CLOSE"} {
		if f := layout.QUICFrame(e, name); f != "" {
			parts = append(parts, f)
		}
	}
	return strings.Join(parts, ", ")
}

// analysisNote is the note of an analysis event other than a head-of-line
// stall: its type, and its duration when it has one ("flow-control-stall
// 12.5 ms stream 3").
func analysisNote(e *decode.Event) string {
	s := layout.MarkerNote(e)
	if f, ok := e.Info.Get("duration_ms"); ok && f.Kind == decode.KindDuration {
		s = layout.Clean(strings.ReplaceAll(string(e.Type), "-stall", " stall"), 64) + " " + layout.Human(f.Duration())
		if v := layout.Field(e, "stream"); v != "" {
			s += " stream " + v
		}
	}
	return s
}

// finding reports TCP analysis findings, which are segments: drawn as
// dotted arrows.
func finding(e *decode.Event) bool {
	if e.Layer != decode.LayerTCP {
		return false
	}
	switch e.Type {
	case decode.TypeRetransmission, decode.TypeFastRetransmission, decode.TypeOutOfOrder,
		decode.TypeLostSegment, decode.TypeDupAck, decode.TypeZeroWindow, decode.TypeKeepAlive:
		return true
	}
	return false
}

// bulk reports an event of bulk transfer, folded when it comes in runs
// (layout.IsBulk: the same rule as the SVG's and the ladder's).
func bulk(e *decode.Event) bool { return layout.IsBulk(e) }

// carrier reports an event that only carried the next one (see
// layout.Carries). A QUIC packet that closes the connection or confirms
// the handshake is shown all the same.
func carrier(events []timeline.Event, i int) bool {
	return i+1 < len(events) && quicNote(&events[i].Event) == "" && layout.Carries(&events[i].Event, &events[i+1].Event)
}

// fold writes the steps, each run of at least minFold bulk events as one
// open arrow per direction that counts them.
func fold(steps []step) []line {
	var out []line
	for i := 0; i < len(steps); {
		if !steps[i].bulk {
			if n := findingRun(steps[i:]); n >= minFindingFold {
				first, last := &steps[i].ev.Event, &steps[i+n-1].ev.Event
				txt := strconv.Itoa(n) + "× " + layout.MarkerNote(first) + " … " + layout.MarkerNote(last) +
					" (frames " + strconv.FormatInt(first.Frame, 10) + "–" + strconv.FormatInt(last.Frame, 10) +
					", " + layout.Human(last.TS.Sub(first.TS)) + ")"
				out = append(out, line{text: arrow(first.Dir, opDotted, txt), frame: last.Frame})
				i += n
				continue
			}
			out = append(out, line{text: steps[i].text, frame: steps[i].ev.Frame})
			i++
			continue
		}
		j := i
		for j < len(steps) && steps[j].bulk {
			j++
		}
		run := steps[i:j]
		least := minFold
		if slices.ContainsFunc(run, func(s step) bool { return s.ev.Layer == decode.LayerWS }) {
			least = minFoldWS
		}
		if len(run) < least {
			for _, s := range run {
				out = append(out, line{text: arrow(s.ev.Dir, opSolid, layout.ArrowLabel(&s.ev.Event)), frame: s.ev.Frame})
			}
		} else {
			out = append(out, foldRun(run)...)
		}
		i = j
	}
	return out
}

// findingRun counts the leading steps that are the same TCP finding
// (duplicate ACKs, lost segments …) in the same direction.
func findingRun(steps []step) int {
	e := &steps[0].ev.Event
	if !finding(e) {
		return 0
	}
	n := 1
	for n < len(steps) && !steps[n].bulk && steps[n].ev.Layer == e.Layer && steps[n].ev.Type == e.Type && steps[n].ev.Dir == e.Dir {
		n++
	}
	return n
}

// foldRun sums up a run of bulk events: per direction, in the order the
// directions first appear, how many of each kind, the bytes, the frames
// and the time they span.
func foldRun(run []step) []line {
	type kind struct {
		name  string
		n     int
		bytes int64
	}
	type side struct {
		kinds       []kind
		first, last *timeline.Event
		n           int
	}
	var order []decode.Dir
	sides := map[decode.Dir]*side{}
	for _, s := range run {
		e := s.ev
		sd := sides[e.Dir]
		if sd == nil {
			sd = &side{first: e}
			sides[e.Dir] = sd
			order = append(order, e.Dir)
		}
		sd.last = e
		sd.n++
		name := layout.Clean(e.Layer.String()+" "+string(e.Type), 64)
		k := slices.IndexFunc(sd.kinds, func(k kind) bool { return k.name == name })
		if k < 0 {
			sd.kinds = append(sd.kinds, kind{name: name})
			k = len(sd.kinds) - 1
		}
		sd.kinds[k].n++
		if e.Len > 0 {
			sd.kinds[k].bytes += e.Len
		}
	}
	var out []line
	for _, dir := range order {
		sd := sides[dir]
		if sd.n == 1 {
			out = append(out, line{text: arrow(dir, opSolid, layout.ArrowLabel(&sd.first.Event)), frame: sd.first.Frame})
			continue
		}
		parts := make([]string, len(sd.kinds))
		for i, k := range sd.kinds {
			parts[i] = strconv.Itoa(k.n) + "× " + k.name
			if k.bytes > 0 {
				parts[i] += " " + layout.Grouped(k.bytes) + " B"
			}
		}
		txt := strings.Join(parts, " + ") + " (frames " + strconv.FormatInt(sd.first.Frame, 10) + "–" +
			strconv.FormatInt(sd.last.Frame, 10) + ", " + layout.Human(sd.last.TS.Sub(sd.first.TS)) + ")"
		out = append(out, line{text: arrow(dir, opOpen, txt), frame: sd.last.Frame})
	}
	return out
}

// placePhases puts each phase's note after the last statement of its end
// frame, so that it reads where the phase ended.
func placePhases(lines []line, phases []*timeline.Event) []line {
	if len(phases) == 0 {
		return lines
	}
	out := make([]line, 0, len(lines)+len(phases))
	p := 0
	for _, l := range lines {
		for p < len(phases) && phases[p].Frame < l.frame {
			out = append(out, phaseLine(phases[p]))
			p++
		}
		out = append(out, l)
	}
	for ; p < len(phases); p++ {
		out = append(out, phaseLine(phases[p]))
	}
	return out
}

func phaseLine(e *timeline.Event) line {
	lbl, _ := layout.PhaseLabel(&e.Event)
	return line{text: note("C,S", "phase "+lbl), frame: e.Frame}
}

// summaryNote sums up a connection on several lines (Mermaid breaks a
// note at <br/>, the only markup written unescaped).
func summaryNote(sum *decode.Event) string {
	var rows []string
	add := func(s string) { rows = append(rows, escape(layout.Cut(s, maxText))) }
	first := "summary"
	if v := layout.Field(sum, "handshake"); v != "" {
		first += ": " + v
	}
	for _, k := range [...]string{"sni", "alpn", "protocol"} {
		if v := layout.Field(sum, k); v != "" {
			first += " · " + k + " " + v
		}
	}
	add(first)
	var times []string
	if f, ok := sum.Info.Get("rtt_ms"); ok && f.Kind == decode.KindDuration {
		times = append(times, "RTT "+ms(f.Duration()))
	}
	if f, ok := sum.Info.Get("round_trips_before_data"); ok {
		times = append(times, plural(f.Int, "round trip")+" before data")
	}
	if f, ok := sum.Info.Get("ttfb_ms"); ok && f.Kind == decode.KindDuration {
		times = append(times, "first byte at "+ms(f.Duration()))
	}
	if f, ok := sum.Info.Get("duration_ms"); ok && f.Kind == decode.KindDuration {
		times = append(times, "lasted "+layout.Human(f.Duration()))
	}
	if len(times) > 0 {
		add(strings.Join(times, " · "))
	}
	var counts []string
	if f, ok := sum.Info.Get("requests"); ok && f.Int > 0 {
		counts = append(counts, plural(f.Int, "request"))
	}
	c2s, ok1 := sum.Info.Get("bytes_c2s")
	s2c, ok2 := sum.Info.Get("bytes_s2c")
	if ok1 && ok2 {
		pc, _ := sum.Info.Get("packets_c2s")
		ps, _ := sum.Info.Get("packets_s2c")
		counts = append(counts, "→ "+layout.Grouped(c2s.Int)+" B in "+plural(pc.Int, "packet"),
			"← "+layout.Grouped(s2c.Int)+" B in "+plural(ps.Int, "packet"))
	}
	if f, ok := sum.Info.Get("hol_stalls"); ok && f.Int > 0 {
		counts = append(counts, plural(f.Int, "HOL stall"))
	}
	if v := layout.Field(sum, "close"); v != "" {
		counts = append(counts, "close "+v)
	}
	if v := layout.Field(sum, "ended"); v != "" && v != "closed" {
		counts = append(counts, "ended "+v)
	}
	if len(counts) > 0 {
		add(strings.Join(counts, " · "))
	}
	// Each row is escaped; the <br/> between them is ours.
	return strings.Join(rows, "<br/>")
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}

// ms formats a duration in milliseconds: "10.567 ms".
func ms(d time.Duration) string { return string(decode.AppendMillis(nil, d)) + " ms" }

// bound keeps at most max statements and maxBytes bytes: the first and
// the last ones, with a note counting those left out between them.
func bound(lines []line, max, maxBytes int) []line {
	total := 0
	for _, l := range lines {
		total += len(l.text) + 5
	}
	if len(lines) <= max && total <= maxBytes {
		return lines
	}
	budget := maxBytes - 200 // room for the omission note
	var head, tail int
	used := 0
	for head+tail < len(lines) && head+tail < max-1 {
		// Alternate: one from the head, one from the tail.
		var l line
		if head <= tail {
			l = lines[head]
		} else {
			l = lines[len(lines)-1-tail]
		}
		if used+len(l.text)+5 > budget {
			break
		}
		used += len(l.text) + 5
		if head <= tail {
			head++
		} else {
			tail++
		}
	}
	omitted := lines[head : len(lines)-tail]
	out := append([]line(nil), lines[:head]...)
	if len(omitted) > 0 {
		txt := "… " + layout.Grouped(int64(len(omitted))) + " statements left out (frames " +
			strconv.FormatInt(omitted[0].frame, 10) + "–" + strconv.FormatInt(omitted[len(omitted)-1].frame, 10) + ") …"
		out = append(out, line{text: note("C,S", txt), frame: omitted[0].frame})
	}
	return append(out, lines[len(lines)-tail:]...)
}

// markdown escapes s for Markdown text: a backslash before every ASCII
// punctuation character, which CommonMark then shows as itself, so that
// nothing in s can start markup, a link or HTML.
func markdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
