package html

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/svg"
	"github.com/wiretrace/wiretrace/timeline"
)

// Defaults for Options.
const (
	// DefaultMaxTableEvents is how many of a connection's events its event
	// table lists.
	DefaultMaxTableEvents = 500
	// DefaultMaxConns is how many connections the report holds. A
	// section is about 20–60 kB (its diagram and event table), so a full
	// report is some tens of megabytes.
	DefaultMaxConns = 1000
)

// Bounds on the strings of one row or event, in bytes before escaping.
const (
	maxCell      = 256  // a table cell from the wire (SNI, ALPN, …)
	maxKey       = 64   // an Info key
	maxValue     = 512  // an Info value
	maxFields    = 64   // Info fields listed per event
	maxInfoBytes = 4096 // an event's Info text in all
)

// Types of the analysis events counted as stalls.
const (
	typeHOLStall         decode.Type = "hol-stall"
	typeFlowControlStall decode.Type = "flow-control-stall"
	typeProxyLink        decode.Type = "proxy-link"
)

// maxLinks bounds the proxy links a row names each way.
const maxLinks = 8

// Options configure a Writer. The zero value uses the defaults.
type Options struct {
	// Title names the input (a file name, an interface); it goes into the
	// page's title and heading, escaped.
	Title string
	// Layout holds the diagrams' layout options. Layout.MaxEvents also
	// bounds the events buffered per open connection (layout.Held).
	Layout layout.Options
	// MaxTableEvents bounds the rows of each connection's event table
	// (DefaultMaxTableEvents if ≤ 0; at most the events buffered, see
	// Layout.MaxEvents).
	MaxTableEvents int
	// MaxConns bounds the connections in the report: those numbered above
	// it are left out and counted (DefaultMaxConns if ≤ 0).
	MaxConns int
}

// Writer is a timeline.Sink that writes one self-contained HTML report.
// Each connection's section is written when the connection ends; Close
// writes the connection table and the end of the document and must be
// called once at the end of the input. A Writer is not safe for
// concurrent use.
type Writer struct {
	opts    Options
	x       writer
	started bool
	open    map[int]*pending
	done    map[int]bool
	rows    []row
	// links are the proxy links seen (timeline/proxylink), by connection.
	links  map[int]*links
	maxID  int // highest connection number seen
	closed bool
}

// pending is an open connection's buffered events and counts.
type pending struct {
	conn   *timeline.Conn
	held   layout.Held
	events int64
	hol    int64
	fc     int64
}

// New returns a Writer that writes the report to w.
func New(w io.Writer, opts Options) *Writer {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	held := opts.Layout.MaxEvents
	if held <= 0 {
		held = layout.DefaultMaxEvents
	}
	if opts.MaxTableEvents <= 0 {
		opts.MaxTableEvents = DefaultMaxTableEvents
	}
	opts.MaxTableEvents = min(opts.MaxTableEvents, held)
	return &Writer{
		opts:  opts,
		x:     writer{w: bufio.NewWriterSize(w, 64<<10)},
		open:  map[int]*pending{},
		done:  map[int]bool{},
		links: map[int]*links{},
	}
}

// Event buffers a copy of ev and writes the connection's section when ev
// is its summary. Capture-wide events, events of connections above
// MaxConns and events after a connection's summary are not shown.
func (w *Writer) Event(ev *timeline.Event) error {
	if w.x.err != nil {
		return w.x.err
	}
	if ev.Conn == nil {
		return nil
	}
	id := ev.Conn.ID
	w.maxID = max(w.maxID, id)
	if id > w.opts.MaxConns || w.done[id] {
		return nil
	}
	p := w.open[id]
	if p == nil {
		p = &pending{conn: ev.Conn, held: layout.Held{Max: w.opts.Layout.MaxEvents}}
		w.open[id] = p
	}
	p.events++
	if ev.Layer == decode.LayerAnalysis {
		switch ev.Type {
		case typeHOLStall:
			p.hol++
		case typeFlowControlStall:
			p.fc++
		case typeProxyLink:
			w.link(&ev.Event)
		}
	}
	p.held.Add(ev)
	if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
		delete(w.open, id)
		w.done[id] = true
		w.section(p, &ev.Event)
	}
	return w.x.err
}

// Flush writes what is buffered to the underlying writer (the sections
// of the connections that ended so far).
func (w *Writer) Flush() error {
	if w.x.err == nil {
		w.x.err = w.x.w.Flush()
	}
	return w.x.err
}

// Close writes the sections of connections that never got a summary, in
// connection order, then the connection table and the script, and
// flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.x.err
	}
	w.closed = true
	ids := make([]int, 0, len(w.open))
	for id := range w.open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		w.section(w.open[id], nil)
		delete(w.open, id)
	}
	w.start()
	w.table()
	return w.Flush()
}

// start writes the document's head once.
func (w *Writer) start() {
	if w.started {
		return
	}
	w.started = true
	x := &w.x
	x.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	x.raw(`<meta http-equiv="Content-Security-Policy" content="`)
	x.esc(csp)
	x.raw("\">\n")
	x.raw(`<meta name="viewport" content="width=device-width, initial-scale=1">` + "\n")
	x.raw(`<meta name="generator" content="wiretrace">` + "\n")
	x.raw("<title>")
	x.esc(w.title())
	x.raw("</title>\n<style>")
	x.raw(style)
	x.raw("</style>\n</head>\n<body>\n")
	x.raw("<!-- Each connection's section is a template, shown when the connection is opened. -->\n")
}

// title is the page title.
func (w *Writer) title() string {
	if w.opts.Title == "" {
		return "wiretrace report"
	}
	return "wiretrace: " + layout.Clean(w.opts.Title, maxCell)
}

// section writes one connection's template and records its table row.
// summary is nil for a connection that never ended.
func (w *Writer) section(p *pending, summary *decode.Event) {
	w.start()
	c := p.conn
	r := newRow(c, summary, p)
	w.rows = append(w.rows, r)

	events := p.held.Events()
	opts := w.opts.Layout
	if p.held.Omitted.Count > 0 {
		o := p.held.Omitted
		opts.Omitted = &o
	}
	d := layout.Sequence(c, events, opts)
	var buf bytes.Buffer
	if err := svg.Write(&buf, d); err != nil {
		w.x.err = err
		return
	}
	p.held = layout.Held{} // free the events once drawn
	pic := buf.Bytes()
	// The XML declaration has no place inside HTML.
	if i := bytes.Index(pic, []byte("?>\n")); bytes.HasPrefix(pic, []byte("<?xml")) && i > 0 {
		pic = pic[i+3:]
	}

	x := &w.x
	id := int64(c.ID)
	x.raw(`<template id="wt-c-`)
	x.num(id)
	x.raw(`"><section class="wt-conn" aria-labelledby="wt-h-`)
	x.num(id)
	x.raw(`">` + "\n" + `<h2 id="wt-h-`)
	x.num(id)
	x.raw(`">Connection `)
	x.num(id)
	x.raw(" · ")
	x.esc(c.Transport.String())
	x.raw(" · ")
	x.esc(addr(c.Client))
	x.raw(" → ")
	x.esc(addr(c.Server))
	x.raw("</h2>\n<p class=\"wt-meta\">first packet ")
	x.esc(c.FirstTS.UTC().Format(time.RFC3339Nano))
	x.raw(" (frame ")
	x.num(c.FirstFrame)
	x.raw(") · ")
	x.esc(layout.Grouped(p.events))
	x.raw(plural(p.events, " event", " events"))
	if c.Midstream {
		x.raw(" · picked up mid-stream")
	}
	if summary == nil {
		x.raw(" · no summary: the input ended before the connection did")
	}
	x.raw("</p>\n<div class=\"wt-diagram\">")
	x.bytes(pic)
	x.raw("</div>\n")
	w.events(c, events, p.events)
	x.raw("</section></template>\n")
}

// events writes a connection's event table: its first MaxTableEvents
// events, then a note counting the rest.
func (w *Writer) events(c *timeline.Conn, events []timeline.Event, total int64) {
	x := &w.x
	n := min(len(events), w.opts.MaxTableEvents)
	x.raw("<h3>Events</h3>\n<table class=\"wt-events\"><thead><tr>" +
		"<th class=\"wt-r\">ms</th><th class=\"wt-r\">frame</th><th>dir</th><th>layer</th><th>type</th><th>info</th>" +
		"</tr></thead>\n<tbody>\n")
	var b []byte
	for i := range events[:n] {
		e := &events[i].Event
		x.raw(`<tr class="wt-l-`)
		x.esc(e.Layer.String())
		x.raw(`"><td class="wt-r">+`)
		b = decode.AppendMillis(b[:0], e.TS.Sub(c.FirstTS))
		x.bytes(b)
		x.raw(`</td><td class="wt-r">`)
		x.num(e.Frame)
		x.raw("</td><td>")
		switch e.Dir {
		case decode.C2S:
			x.raw("c2s →")
		case decode.S2C:
			x.raw("s2c ←")
		}
		x.raw("</td><td>")
		x.esc(e.Layer.String())
		x.raw("</td><td>")
		x.text(string(e.Type), maxKey)
		x.raw(`</td><td class="wt-info">`)
		w.info(e)
		x.raw("</td></tr>\n")
	}
	x.raw("</tbody></table>\n")
	if rest := total - int64(n); rest > 0 {
		x.raw(`<p class="wt-more">… `)
		x.esc(layout.Grouped(rest))
		x.raw(plural(rest, " more event", " more events"))
		x.raw(" not listed: the table lists a connection's first ")
		x.esc(layout.Grouped(int64(n)))
		x.raw(" events (wiretrace --format json prints them all).</p>\n")
	}
}

// info writes an event's stream, length and Info fields as key value
// pairs, bounded in count and bytes.
func (w *Writer) info(e *decode.Event) {
	x := &w.x
	sep := false
	field := func(k string) {
		if sep {
			x.raw("  ")
		}
		sep = true
		x.raw(`<span class="wt-k">`)
		x.text(k, maxKey)
		x.raw("</span> ")
	}
	if e.Stream != decode.NoValue {
		field("stream")
		x.num(e.Stream)
	}
	if e.Len != decode.NoValue {
		field("len")
		x.num(e.Len)
	}
	var buf []byte
	size := 0
	for i, f := range e.Info {
		if i == maxFields || size > maxInfoBytes {
			x.raw("  … ")
			x.num(int64(len(e.Info) - i))
			x.raw(" more fields")
			break
		}
		field(f.Key)
		buf = appendValue(buf[:0], f)
		v := layout.Clean(string(buf), maxValue)
		size += len(f.Key) + len(v)
		x.esc(v)
	}
}

// appendValue appends a field's value as the event table shows it: as
// Field.AppendValue does, but an empty string as "" and list items
// separated by " | ", since header lists hold commas.
func appendValue(b []byte, f decode.Field) []byte {
	switch {
	case f.Kind == decode.KindString && f.Str == "":
		return append(b, `""`...)
	case f.Kind == decode.KindStrings:
		for i, s := range f.Strs {
			if i > 0 {
				b = append(b, " | "...)
			}
			b = append(b, s...)
		}
		return b
	}
	return f.AppendValue(b)
}

// links are the connections a connection is linked to as a proxy's
// front (its backs) or back (its fronts), in the order first linked, at
// most maxLinks each; more counts the rest.
type links struct {
	backs, fronts []int
	more          int
}

// link records a proxy-link event's front and back connections.
func (w *Writer) link(e *decode.Event) {
	f, ok1 := e.Info.Get("front")
	b, ok2 := e.Info.Get("back")
	if !ok1 || !ok2 || !isInt(f) || !isInt(b) || f.Int <= 0 || b.Int <= 0 || f.Int > int64(w.opts.MaxConns) || b.Int > int64(w.opts.MaxConns) {
		return
	}
	front, back := int(f.Int), int(b.Int)
	add := func(id int, list func(*links) *[]int, other int) {
		l := w.links[id]
		if l == nil {
			l = &links{}
			w.links[id] = l
		}
		s := list(l)
		switch {
		case slices.Contains(*s, other):
		case len(*s) < maxLinks:
			*s = append(*s, other)
		default:
			l.more++
		}
	}
	add(front, func(l *links) *[]int { return &l.backs }, back)
	add(back, func(l *links) *[]int { return &l.fronts }, front)
}

// plural returns one or many by n.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// table writes the page's visible part: heading, filter, the connection
// table, the view the script fills, and the script.
func (w *Writer) table() {
	x := &w.x
	slices.SortFunc(w.rows, func(a, b row) int { return a.id - b.id })
	x.raw("<header class=\"wt-top\">\n<h1>")
	x.esc(w.title())
	x.raw("</h1>\n<p class=\"wt-sub\">")
	x.esc(layout.Grouped(int64(len(w.rows))))
	x.raw(plural(int64(len(w.rows)), " connection", " connections"))
	if left := w.maxID - w.opts.MaxConns; left > 0 {
		x.raw(" (")
		x.esc(layout.Grouped(int64(left)))
		x.raw(plural(int64(left), " more connection", " more connections"))
		x.raw(" left out: the report holds the first ")
		x.esc(layout.Grouped(int64(w.opts.MaxConns)))
		x.raw(")")
	}
	x.raw(". Click a connection for its diagram and events; click a column to sort.</p>\n</header>\n")
	x.raw("<noscript><p class=\"wt-bar\">The diagrams and event tables need JavaScript.</p></noscript>\n")
	x.raw("<div class=\"wt-bar\"><label for=\"wt-filter\">Filter</label>" +
		"<input id=\"wt-filter\" type=\"search\" placeholder=\"address, protocol, SNI, ALPN …\" autocomplete=\"off\" spellcheck=\"false\">" +
		"<span id=\"wt-count\" aria-live=\"polite\"></span></div>\n")
	x.raw("<div class=\"wt-scroll\"><table id=\"wt-table\"><thead><tr>")
	for _, c := range columns {
		x.raw("<th")
		if c.num {
			x.raw(` class="wt-r" data-type="num"`)
		}
		x.raw(` scope="col"><button type="button" title="`)
		x.raw(c.tip)
		x.raw(`">`)
		x.raw(c.name)
		x.raw("</button></th>")
	}
	x.raw("</tr></thead>\n<tbody>\n")
	for i := range w.rows {
		w.rows[i].write(x, w.links[w.rows[i].id])
	}
	x.raw("</tbody></table></div>\n")
	x.raw("<main id=\"wt-view\" aria-live=\"polite\"><p class=\"wt-hint\">Click a connection to show its diagram and events.</p></main>\n")
	x.raw("<script>")
	x.raw(script)
	x.raw("</script>\n</body>\n</html>\n")
}
