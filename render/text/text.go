package text

import (
	"bufio"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// Options configure a Writer.
type Options struct {
	// Color adds ANSI colours.
	Color bool
	// Stream prints each event as it arrives, tagged with its connection,
	// instead of one block per connection.
	Stream bool
	// NoCollapse prints every event of a run; by default the grouped view
	// folds five or more consecutive events of one repetitive type (such
	// as a burst of duplicate ACKs) into first line, count, last line.
	NoCollapse bool
	// MaxHeldEvents bounds the events held per connection in grouped mode;
	// past it the block is printed early and continues later (default
	// 100000).
	MaxHeldEvents int
}

// Writer renders events as text. Call Close at the end of input.
type Writer struct {
	opts  Options
	w     *bufio.Writer
	held  map[int]*block
	buf   []byte
	conns int
}

type block struct {
	conn    *timeline.Conn
	events  []timeline.Event
	printed bool // the header was printed already
	// requests are the connection's HTTP exchanges, listed in a table
	// before its summary (at most maxRequestRows, then a count).
	requests     []requestRow
	moreRequests int
}

// requestRow is one line of a connection's requests table.
type requestRow struct {
	layer, method, path, status string
	stream                      int64
	start, firstByte, end       time.Duration // since the connection's first packet; -1: unknown
	note                        string
}

// maxRequestRows bounds a connection's requests table.
const maxRequestRows = 200

// New returns a Writer on w.
func New(w io.Writer, opts Options) *Writer {
	if opts.MaxHeldEvents <= 0 {
		opts.MaxHeldEvents = 100000
	}
	return &Writer{opts: opts, w: bufio.NewWriterSize(w, 64<<10), held: make(map[int]*block)}
}

// Event renders or holds one event.
func (t *Writer) Event(ev *timeline.Event) error {
	if ev.Conn == nil {
		t.buf = t.appendCaptureEvent(t.buf[:0], ev)
		_, err := t.w.Write(t.buf)
		return err
	}
	if t.opts.Stream {
		return t.streamEvent(ev)
	}
	bl := t.held[ev.Conn.ID]
	if bl == nil {
		bl = &block{conn: ev.Conn}
		t.held[ev.Conn.ID] = bl
	}
	bl.events = append(bl.events, *ev)
	if ev.Type == "exchange" {
		if len(bl.requests) < maxRequestRows {
			bl.requests = append(bl.requests, newRequestRow(ev))
		} else {
			bl.moreRequests++
		}
	}
	if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
		delete(t.held, ev.Conn.ID)
		return t.printBlock(bl)
	}
	if len(bl.events) >= t.opts.MaxHeldEvents {
		return t.printBlock(bl)
	}
	return nil
}

// Flush writes what is buffered to the underlying writer.
func (t *Writer) Flush() error { return t.w.Flush() }

// Close prints any connections still held (in connection order) and
// flushes.
func (t *Writer) Close() error {
	ids := make([]int, 0, len(t.held))
	for id := range t.held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := t.printBlock(t.held[id]); err != nil {
			return err
		}
	}
	clear(t.held)
	return t.w.Flush()
}

func (t *Writer) printBlock(bl *block) error {
	b := t.buf[:0]
	if !bl.printed {
		if t.conns > 0 {
			b = append(b, '\n')
		}
		t.conns++
		b = t.appendHeader(b, bl.conn)
		bl.printed = true
	}
	for i := 0; i < len(bl.events); i++ {
		ev := &bl.events[i]
		if (isPhase(ev) || ev.Type == decode.TypeSummary) && len(bl.requests) > 0 {
			b = t.appendRequests(b, bl)
		}
		if isPhase(ev) && (i == 0 || !isPhase(&bl.events[i-1])) {
			b = append(b, spaces(timeWidth+frameWidth+3)...)
			b = t.style(b, dim, "where the time went:")
			b = append(b, '\n')
		}
		if n := runLength(bl.events[i:]); !t.opts.NoCollapse && n >= collapseRun {
			// A run of the same repetitive event: its first line, one
			// line saying how many follow, and its last line.
			last := &bl.events[i+n-1]
			b = t.appendLine(b, ev, false)
			b = append(b, spaces(timeWidth+frameWidth+3)...)
			b = t.style(b, dim, "… "+strconv.Itoa(n-2)+" more "+ev.Layer.String()+" "+Sanitize(string(ev.Type))+
				" (frames #"+strconv.FormatInt(bl.events[i+1].Frame, 10)+"–#"+strconv.FormatInt(bl.events[i+n-2].Frame, 10)+
				" over "+fixedMillis(bl.events[i+n-2].TS.Sub(bl.events[i+1].TS))+" ms) …")
			b = append(b, '\n')
			b = t.appendLine(b, last, false)
			i += n - 1
		} else {
			b = t.appendLine(b, ev, false)
		}
		if len(b) > 32<<10 {
			if _, err := t.w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	clear(bl.events)
	bl.events = bl.events[:0]
	t.buf = b[:0]
	_, err := t.w.Write(b)
	return err
}

// collapseRun is the shortest run of one repetitive event type that the
// grouped view folds into first line, count, last line.
const collapseRun = 5

// repetitive lists the event types that come in long runs (a burst of
// duplicate ACKs, a zero-window episode) and may be folded.
var repetitive = map[decode.Type]bool{
	decode.TypeDupAck: true, decode.TypeZeroWindow: true, decode.TypeKeepAlive: true,
	decode.TypeRetransmission: true, decode.TypeOutOfOrder: true, decode.TypeLostSegment: true,
	decode.TypeSegment: true, decode.TypeDatagram: true,
	// HTTP/2 and HTTP/3 bulk transfer, TLS records carrying it.
	"DATA": true, "WINDOW_UPDATE": true, "ApplicationData": true, "1-RTT": true,
}

// runLength counts the leading events of the same repetitive layer, type
// and direction.
func runLength(evs []timeline.Event) int {
	first := &evs[0]
	if !repetitive[first.Type] {
		return 1
	}
	n := 1
	for n < len(evs) && evs[n].Layer == first.Layer && evs[n].Type == first.Type && evs[n].Dir == first.Dir {
		n++
	}
	return n
}

func (t *Writer) streamEvent(ev *timeline.Event) error {
	b := t.buf[:0]
	if _, seen := t.held[ev.Conn.ID]; !seen {
		t.held[ev.Conn.ID] = &block{conn: ev.Conn, printed: true}
		b = t.appendHeader(b, ev.Conn)
	}
	b = t.appendLine(b, ev, true)
	if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
		delete(t.held, ev.Conn.ID)
	}
	t.buf = b[:0]
	_, err := t.w.Write(b)
	return err
}

// ANSI styles.
const (
	reset  = "\x1b[0m"
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	blue   = "\x1b[34m"
	purple = "\x1b[35m"
	cyan   = "\x1b[36m"
)

func (t *Writer) style(b []byte, style string, s string) []byte {
	if !t.opts.Color || style == "" {
		return append(b, s...)
	}
	b = append(b, style...)
	b = append(b, s...)
	return append(b, reset...)
}

func (t *Writer) appendHeader(b []byte, c *timeline.Conn) []byte {
	head := "#" + strconv.Itoa(c.ID) + " " + upper(c.Transport.String()) + " " + c.Client.String() + " → " + c.Server.String()
	b = t.style(b, bold, head)
	b = append(b, "  "...)
	b = t.style(b, dim, c.FirstTS.UTC().Format("2006-01-02 15:04:05.000000 UTC"))
	if c.Midstream {
		b = append(b, "  "...)
		b = t.style(b, yellow, "(picked up mid-stream: client guessed from ports)")
	}
	return append(b, '\n')
}

func upper(s string) string {
	r := []byte(s)
	for i, c := range r {
		if 'a' <= c && c <= 'z' {
			r[i] = c - 'a' + 'A'
		}
	}
	return string(r)
}

// eventStyle picks the colour of an event's name.
func eventStyle(ev *timeline.Event) string {
	switch ev.Layer {
	case decode.LayerTCP:
		switch ev.Type {
		case decode.TypeSYN, decode.TypeSYNACK, decode.TypeACK:
			return green
		case decode.TypeFIN:
			return blue
		case decode.TypeRST:
			return red
		case decode.TypeSegment:
			return ""
		}
		return yellow
	case decode.LayerAnalysis:
		return red
	case decode.LayerConn, decode.LayerCapture:
		return purple
	}
	return cyan
}

// Column widths of an event line.
const (
	timeWidth  = 12 // "+12345.678" ms, right-aligned
	frameWidth = 7
	nameWidth  = 24 // layer and type: "tcp fast-retransmission"
)

func (t *Writer) appendLine(b []byte, ev *timeline.Event, tagged bool) []byte {
	if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
		return t.appendSummary(b, ev, tagged)
	}
	if isPhase(ev) {
		return t.appendPhase(b, ev, tagged)
	}
	if tagged {
		b = t.style(b, dim, pad("#"+strconv.Itoa(ev.Conn.ID), 5))
	}
	b = appendRight(b, "+"+fixedMillis(ev.TS.Sub(ev.Conn.FirstTS))+" ms", timeWidth)
	b = append(b, ' ')
	b = t.style(b, dim, right("#"+strconv.FormatInt(ev.Frame, 10), frameWidth))
	b = append(b, "  "...)
	switch ev.Dir {
	case decode.C2S:
		b = append(b, "C ───▶ S"...)
	case decode.S2C:
		b = append(b, "C ◀─── S"...)
	default:
		b = append(b, "   ══   "...)
	}
	b = append(b, "  "...)
	name := ev.Layer.String() + " " + Sanitize(string(ev.Type))
	b = t.style(b, eventStyle(ev), pad(name, nameWidth))
	if ev.Stream != decode.NoValue {
		b = append(b, " stream="...)
		b = strconv.AppendInt(b, ev.Stream, 10)
	}
	if ev.Len > 0 {
		b = append(b, " len="...)
		b = strconv.AppendInt(b, ev.Len, 10)
	}
	b = appendInfo(b, ev.Info, ev.Type == decode.TypeSegment)
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1] // the name column's padding, when nothing follows
	}
	b = append(b, '\n')
	if ev.Layer == decode.LayerAnalysis && (ev.Type == typeHOLStall || ev.Type == typeFlowControlStall) {
		if note := stallNote(ev); note != "" {
			if tagged {
				b = append(b, spaces(5)...)
			}
			b = append(b, spaces(timeWidth+frameWidth+3)...)
			b = t.style(b, dim, note)
			b = append(b, '\n')
		}
	}
	return b
}

const (
	typeHOLStall         decode.Type = "hol-stall"
	typeFlowControlStall decode.Type = "flow-control-stall"
)

// stallNote explains a stall in words: a TCP head-of-line stall (holNote),
// an HTTP/1.1 request queued behind an earlier answer ("request 3 waited
// 59 ms behind the answer to request 2"), an HTTP/2 sender out of window
// ("stream 5 waited 13.6 ms for the receiver's WINDOW_UPDATE").
func stallNote(ev *timeline.Event) string {
	in := ev.Info
	d, ok := in.Get("duration_ms")
	if !ok {
		return ""
	}
	scope, _ := in.Get("scope")
	str := func(k string) string {
		f, _ := in.Get(k)
		return Sanitize(string(f.AppendValue(nil)))
	}
	switch {
	case ev.Type == typeFlowControlStall && scope.Str == "connection":
		return "the connection's flow-control window was exhausted for " + formatDuration(d.Duration()) + ": the sender waited for the receiver's WINDOW_UPDATE"
	case ev.Type == typeFlowControlStall:
		return "stream " + str("stream") + " waited " + formatDuration(d.Duration()) + " for the receiver's WINDOW_UPDATE (its flow-control window was " + str("window") + ")"
	case scope.Str == "pipeline":
		return "request " + str("stream") + " waited " + formatDuration(d.Duration()) + " behind the answer to request " + str("blocked_by") + " (HTTP/1.1 answers in order)"
	}
	return holNote(ev)
}

// holNote explains a TCP head-of-line stall in words: "streams 3, 5, 9
// waited 212 ms for a lost segment of stream 7". Victims that were also
// culprits are not repeated; without stream information the bytes that
// waited stand in for the streams.
func holNote(ev *timeline.Event) string {
	in := ev.Info
	if f, _ := in.Get("scope"); f.Str != "connection" {
		return ""
	}
	d, ok := in.Get("duration_ms")
	if !ok {
		return ""
	}
	victims, _ := in.Get("streams")
	culprits, _ := in.Get("culprit_streams")
	var others []string
	for _, v := range victims.Strs {
		if !slices.Contains(culprits.Strs, v) {
			others = append(others, v)
		}
	}
	lost := "a lost segment"
	var who string
	switch {
	case len(others) > 0:
		who = streamNames(others)
		if len(culprits.Strs) > 0 {
			lost += " of " + streamNames(culprits.Strs)
		}
	case len(victims.Strs) > 0 && len(culprits.Strs) > 0:
		who = streamNames(victims.Strs)
		lost += " of its own"
		if len(victims.Strs) > 1 {
			lost = "a lost segment of their own"
		}
	default:
		// No complete frame waited (or no streams): the bytes did.
		who = formatBytes(max(ev.Len, 0))
		if len(culprits.Strs) > 0 {
			lost += " of " + streamNames(culprits.Strs)
		}
	}
	note := who + " waited " + formatDuration(d.Duration()) + " for " + lost
	if f, _ := in.Get("capture_point"); f.Str == "sender" {
		note += " (lost after the capture point: the receiver's ACKs show the hole)"
	}
	return note
}

// streamNames lists stream IDs as "stream 7" or "streams 3, 5, 9".
func streamNames(ids []string) string {
	if len(ids) == 1 {
		return "stream " + Sanitize(ids[0])
	}
	return "streams " + Sanitize(strings.Join(ids, ", "))
}

// hiddenKeys are Info fields the text view leaves out because the line
// already says them: absolute times (the line has a relative time) and the
// flags of a segment that its event name spells out.
var hiddenKeys = map[string]bool{"start": true, "end": true, "start_frame": true}

// appendInfo appends " key=value" pairs; true booleans print as the bare
// key, false ones are left out; durations print as "rtt=1.5ms".
func appendInfo(b []byte, info decode.Info, showFlags bool) []byte {
	for _, f := range info {
		if hiddenKeys[f.Key] || (f.Key == "flags" && !showFlags) {
			continue
		}
		switch f.Kind {
		case decode.KindBool:
			if f.Bool() {
				b = append(b, ' ')
				b = append(b, Sanitize(f.Key)...)
			}
			continue
		case decode.KindString:
			if f.Str == "" {
				continue
			}
		case decode.KindStrings:
			if len(f.Strs) == 0 {
				continue
			}
		}
		key := f.Key
		v := Sanitize(string(f.AppendValue(nil)))
		if f.Kind == decode.KindDuration {
			key = strings.TrimSuffix(key, "_ms")
			v += "ms"
		}
		b = append(b, ' ')
		b = append(b, Sanitize(key)...)
		b = append(b, '=')
		b = append(b, v...)
	}
	return b
}

// newRequestRow reads an exchange event (docs/events.md).
func newRequestRow(ev *timeline.Event) requestRow {
	r := requestRow{layer: ev.Layer.String(), stream: ev.Stream, start: -1, firstByte: -1, end: -1}
	str := func(k string) string {
		f, _ := ev.Info.Get(k)
		return Sanitize(string(f.AppendValue(nil)))
	}
	r.method, r.path, r.status = str("method"), str("path"), str("status")
	if r.status == "0" {
		r.status = "–"
	}
	if f, ok := ev.Info.Get("start"); ok {
		if st, err := time.Parse(time.RFC3339Nano, f.Str); err == nil {
			r.start = st.Sub(ev.Conn.FirstTS)
			if fb, ok := ev.Info.Get("first_byte_ms"); ok {
				r.firstByte = r.start + fb.Duration()
			}
			if d, ok := ev.Info.Get("duration_ms"); ok {
				r.end = r.start + d.Duration()
			}
		}
	}
	for _, k := range []string{"reset", "incomplete", "pushed", "upgrade", "unmatched"} {
		if f, ok := ev.Info.Get(k); ok && (f.Kind != decode.KindBool || f.Bool()) {
			if f.Kind == decode.KindBool {
				r.note += " " + k
			} else {
				r.note += " " + k + "=" + Sanitize(string(f.AppendValue(nil)))
			}
		}
	}
	return r
}

// appendRequests prints the table of a connection's HTTP exchanges:
// stream, request, status, and when it started, got its first byte and
// ended (ms since the connection's first packet). The rows are then
// forgotten, so a block printed in parts lists each once.
func (t *Writer) appendRequests(b []byte, bl *block) []byte {
	// In the order they started (they complete in any order).
	slices.SortStableFunc(bl.requests, func(a, b requestRow) int { return cmp.Compare(a.start, b.start) })
	ind := spaces(timeWidth + frameWidth + 3)
	b = append(b, ind...)
	b = t.style(b, dim, "requests:")
	b = append(b, '\n')
	pathW := len("request")
	for _, r := range bl.requests {
		pathW = max(pathW, min(utf8.RuneCountInString(r.method+" "+r.path), 60))
	}
	b = append(b, ind...)
	b = append(b, "  "...)
	b = t.style(b, dim, pad("stream", 7)+pad("request", pathW+2)+pad("status", 8)+right("start", 11)+right("first byte", 12)+right("end", 11))
	b = append(b, '\n')
	ms := func(d time.Duration) string {
		if d < 0 {
			return "–"
		}
		return "+" + fixedMillis(d)
	}
	for _, r := range bl.requests {
		stream := "–"
		if r.stream != decode.NoValue {
			stream = strconv.FormatInt(r.stream, 10)
		}
		req := r.method + " " + r.path
		if utf8.RuneCountInString(req) > 60 {
			req = string([]rune(req)[:59]) + "…"
		}
		b = append(b, ind...)
		b = append(b, "  "...)
		b = append(b, pad(stream, 7)...)
		b = append(b, pad(req, pathW+2)...)
		b = append(b, pad(r.status, 8)...)
		b = append(b, right(ms(r.start), 11)...)
		b = append(b, right(ms(r.firstByte), 12)...)
		b = append(b, right(ms(r.end), 11)...)
		b = append(b, r.note...)
		b = append(b, '\n')
	}
	if bl.moreRequests > 0 {
		b = append(b, ind...)
		b = append(b, "  … "...)
		b = strconv.AppendInt(b, int64(bl.moreRequests), 10)
		b = append(b, " more requests\n"...)
	}
	bl.requests, bl.moreRequests = nil, 0
	return b
}

func isPhase(ev *timeline.Event) bool {
	return ev.Layer == decode.LayerAnalysis && ev.Type == timeline.TypePhase
}

// phaseNames are the text view's names of analysis/phase events.
var phaseNames = map[string]string{
	timeline.PhaseTCP: "TCP handshake", "tls": "TLS handshake", "quic": "QUIC handshake",
	timeline.PhaseRequest: "first request", timeline.PhaseFirstByte: "first response byte",
}

// appendPhase prints an analysis/phase event as one row of the "where the
// time went" table: the phase, its duration, its round trips and the
// frames it spans.
func (t *Writer) appendPhase(b []byte, ev *timeline.Event, tagged bool) []byte {
	if tagged {
		b = t.style(b, dim, pad("#"+strconv.Itoa(ev.Conn.ID), 5))
	}
	b = appendRight(b, "+"+fixedMillis(ev.TS.Sub(ev.Conn.FirstTS))+" ms", timeWidth)
	b = append(b, ' ')
	b = t.style(b, dim, right("#"+strconv.FormatInt(ev.Frame, 10), frameWidth))
	b = append(b, "     ══     "...)
	f, _ := ev.Info.Get("phase")
	name, ok := phaseNames[f.Str]
	if !ok {
		name = Sanitize(f.Str)
	}
	b = t.style(b, green, pad(name, nameWidth))
	d, _ := ev.Info.Get("duration_ms")
	b = appendRight(b, string(decode.AppendMillis(nil, d.Duration()))+" ms", 11)
	if n, ok := ev.Info.Get("round_trips"); ok && n.Int > 0 {
		b = append(b, "  "...)
		b = append(b, plural(n.Int, "round trip")...)
	}
	if sf, ok := ev.Info.Get("start_frame"); ok {
		b = append(b, "  (#"...)
		b = strconv.AppendInt(b, sf.Int, 10)
		b = append(b, " → #"...)
		b = strconv.AppendInt(b, ev.Frame, 10)
		if l, ok := ev.Info.Get("layer"); ok && l.Str != "" {
			b = append(b, ", "...)
			b = append(b, Sanitize(l.Str)...)
		}
		b = append(b, ')')
	}
	if ev.Info.Has("early") {
		b = append(b, " sent before the handshake completed"...)
	}
	return append(b, '\n')
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}

func (t *Writer) appendSummary(b []byte, ev *timeline.Event, tagged bool) []byte {
	if tagged {
		b = t.style(b, dim, pad("#"+strconv.Itoa(ev.Conn.ID), 5))
	}
	in := ev.Info
	get := func(k string) (decode.Field, bool) { return in.Get(k) }
	var parts []string
	if f, ok := get("handshake"); ok {
		parts = append(parts, Sanitize(f.Str))
	}
	if f, ok := get("rtt_ms"); ok {
		parts = append(parts, "RTT "+string(decode.AppendMillis(nil, f.Duration()))+" ms")
	}
	if f, ok := get("round_trips_before_data"); ok {
		parts = append(parts, plural(f.Int, "round trip")+" before data")
	}
	if f, ok := get("ttfb_ms"); ok {
		parts = append(parts, "first response byte at "+string(decode.AppendMillis(nil, f.Duration()))+" ms")
	}
	if f, ok := get("requests"); ok && f.Int > 0 {
		parts = append(parts, plural(f.Int, "request"))
	}
	for _, k := range []string{"tls_version", "sni", "alpn", "protocol"} {
		if f, ok := get(k); ok && (f.Str != "" || len(f.Strs) > 0) {
			parts = append(parts, k+" "+Sanitize(string(f.AppendValue(nil))))
		}
	}
	c2s, _ := get("bytes_c2s")
	s2c, _ := get("bytes_s2c")
	pc, _ := get("packets_c2s")
	ps, _ := get("packets_s2c")
	parts = append(parts, formatBytes(c2s.Int)+" →, "+formatBytes(s2c.Int)+" ← in "+strconv.FormatInt(pc.Int+ps.Int, 10)+" packets")
	if f, ok := get("duration_ms"); ok {
		parts = append(parts, "lasted "+formatDuration(f.Duration()))
	}
	if f, ok := get("hol_stalls"); ok && f.Int > 0 {
		d, _ := get("hol_stall_ms")
		stalls := strconv.FormatInt(f.Int, 10) + " head-of-line stalls (" + string(decode.AppendMillis(nil, d.Duration())) + " ms"
		switch cp, _ := get("capture_point"); cp.Str {
		case "client", "server":
			stalls += ", captured near the " + cp.Str
		case "middle":
			stalls += ", captured between client and server"
		}
		parts = append(parts, stalls+")")
	}
	if f, ok := get("close"); ok {
		parts = append(parts, closeText(f.Str, in.Has("half_close")))
	}
	if f, ok := get("ended"); ok {
		switch f.Str {
		case "closed":
		case "end-of-input":
			if in.Has("close") {
				parts[len(parts)-1] += " at the end of the capture"
			} else {
				parts = append(parts, "still active at the end of the capture")
			}
		case "idle-timeout":
			parts = append(parts, "ended after the idle timeout")
		default:
			parts = append(parts, "ended: "+Sanitize(f.Str))
		}
	}
	b = append(b, "  "...)
	b = t.style(b, purple, "summary:")
	for i, p := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ' ')
		b = append(b, p...)
	}
	return append(b, '\n')
}

func closeText(kind string, half bool) string {
	s := ""
	switch kind {
	case "fin":
		s = "closed by FIN both ways"
	case "half-close":
		s = "one side sent FIN (half-closed)"
	case "rst":
		s = "reset (RST)"
	case "refused":
		s = "refused (RST answered the SYN)"
	case "open":
		s = "still open"
	default:
		s = Sanitize(kind)
	}
	if half && kind != "half-close" {
		s += ", after a half-close"
	}
	return s
}

// fixedMillis formats d as milliseconds with exactly three decimals, so
// the time column lines up. Like decode.AppendMillis it truncates to the
// microsecond, so a time and a duration computed from it agree.
func fixedMillis(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	us := int64(d / time.Microsecond)
	frac := strconv.FormatInt(1000+us%1000, 10)[1:]
	return sign + strconv.FormatInt(us/1000, 10) + "." + frac
}

func formatBytes(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
}

func formatDuration(d time.Duration) string {
	if d < time.Second {
		return string(decode.AppendMillis(nil, d)) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s"
}

func (t *Writer) appendCaptureEvent(b []byte, ev *timeline.Event) []byte {
	b = t.style(b, purple, "capture "+Sanitize(string(ev.Type)))
	b = append(b, " at frame "...)
	b = strconv.AppendInt(b, ev.Frame, 10)
	b = appendInfo(b, ev.Info, true)
	return append(b, '\n')
}

func pad(s string, n int) string {
	if w := utf8.RuneCountInString(s); w < n {
		return s + spaces(n-w)
	}
	return s
}

func right(s string, n int) string {
	if w := utf8.RuneCountInString(s); w < n {
		return spaces(n-w) + s
	}
	return s
}

func appendRight(b []byte, s string, n int) []byte { return append(b, right(s, n)...) }

func spaces(n int) string {
	const sp = "                                "
	for len(sp) < n {
		return sp + spaces(n-len(sp))
	}
	return sp[:n]
}

// Sanitize makes a wire string safe to print on a terminal: control
// characters (C0, DEL, C1, and bidi overrides) become "·", invalid UTF-8
// becomes U+FFFD. It returns s itself when nothing needs changing.
func Sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if unsafeRune(r) {
			r = '·'
		}
		out = append(out, r)
	}
	return string(out)
}

func unsafeRune(r rune) bool {
	if unicode.IsControl(r) {
		return true
	}
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embedding/override/isolate
		return true
	}
	return false
}
