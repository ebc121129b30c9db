package svg

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/timeline"
)

// DirWriter is a timeline.Sink that writes one SVG sequence diagram per
// connection into a directory, named
// conn-0001-<client>-<server>.svg.
//
// It buffers a copy of each connection's events until the connection's
// summary arrives, then lays the diagram out, writes the file and frees
// the buffer. The buffer is bounded: past 2×MaxEvents events a connection
// keeps its first MaxEvents and its last MaxEvents events and only counts
// those in between, which the diagram shows as omitted.
//
// A DirWriter is not safe for concurrent use.
type DirWriter struct {
	// Layout holds the layout options. Set it before the first Event.
	Layout layout.Options
	// SVG holds the output options (Options.Animate). Set it before the
	// first Event.
	SVG Options

	dir   string
	made  bool
	conns map[int]*pending
	done  map[int]bool
	paths []string
}

// pending is one connection's buffered events.
type pending struct {
	conn *timeline.Conn
	head []timeline.Event
	// tail is a ring of the latest events once head is full; next is
	// where the next one goes when it is full too.
	tail    []timeline.Event
	next    int
	omitted layout.Omission
}

// NewDirWriter returns a DirWriter that writes into dir, creating it when
// the first file is written.
func NewDirWriter(dir string) *DirWriter {
	return &DirWriter{dir: dir, conns: map[int]*pending{}, done: map[int]bool{}}
}

// Event buffers a copy of ev (the caller may reuse *ev) and writes the
// connection's diagram when ev is its summary. Events without a
// connection, and events after a connection's summary, are not drawn.
func (w *DirWriter) Event(ev *timeline.Event) error {
	if ev.Conn == nil || w.done[ev.Conn.ID] {
		return nil
	}
	id := ev.Conn.ID
	p := w.conns[id]
	if p == nil {
		p = &pending{conn: ev.Conn}
		w.conns[id] = p
	}
	if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
		delete(w.conns, id)
		w.done[id] = true
		return w.write(p, ev)
	}
	p.add(ev, w.maxEvents())
	return nil
}

func (w *DirWriter) maxEvents() int {
	if w.Layout.MaxEvents > 0 {
		return w.Layout.MaxEvents
	}
	return layout.DefaultMaxEvents
}

// add keeps the first max events and a ring of the last max.
func (p *pending) add(ev *timeline.Event, max int) {
	switch {
	case len(p.head) < max:
		p.head = append(p.head, *ev)
	case len(p.tail) < max:
		p.tail = append(p.tail, *ev)
	default:
		old := &p.tail[p.next]
		p.omitted.Add(old.Frame, old.TS)
		*old = *ev
		p.next = (p.next + 1) % max
	}
}

// events returns the buffered events in order, then summary if not nil.
func (p *pending) events(summary *timeline.Event) []timeline.Event {
	out := make([]timeline.Event, 0, len(p.head)+len(p.tail)+1)
	out = append(out, p.head...)
	out = append(out, p.tail[p.next:]...)
	out = append(out, p.tail[:p.next]...)
	if summary != nil {
		out = append(out, *summary)
	}
	return out
}

// Close writes the diagrams of connections that never got a summary, in
// connection order, and reports the first errors.
func (w *DirWriter) Close() error {
	ids := make([]int, 0, len(w.conns))
	for id := range w.conns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	for _, id := range ids {
		p := w.conns[id]
		delete(w.conns, id)
		w.done[id] = true
		if err := w.write(p, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Paths returns the files written so far, in the order they were written.
func (w *DirWriter) Paths() []string { return slices.Clone(w.paths) }

// write lays out and writes one connection's diagram.
func (w *DirWriter) write(p *pending, summary *timeline.Event) error {
	opts := w.Layout
	if p.omitted.Count > 0 {
		o := p.omitted
		o.After = len(p.head)
		opts.Omitted = &o
	}
	conn := p.conn
	d := layout.Sequence(conn, p.events(summary), opts)
	*p = pending{} // free the buffer before writing

	if !w.made {
		if err := os.MkdirAll(w.dir, 0o755); err != nil {
			return errors.New("svg: " + err.Error())
		}
		w.made = true
	}
	path := filepath.Join(w.dir, FileName(conn))
	f, err := os.Create(path)
	if err != nil {
		return errors.New("svg: " + err.Error())
	}
	bw := bufio.NewWriter(f)
	err = WriteOptions(bw, d, w.SVG)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.New("svg: " + path + ": " + err.Error())
	}
	w.paths = append(w.paths, path)
	return nil
}

// FileName returns the file name DirWriter gives a connection's diagram:
// conn-0001-192.0.2.10_51234-198.51.100.20_443.svg. Addresses keep only
// characters that are safe in file names on every common system: IPv6
// colons become '-', the port follows '_'.
func FileName(c *timeline.Conn) string {
	id := strconv.Itoa(c.ID)
	for len(id) < 4 {
		id = "0" + id
	}
	return "conn-" + id + "-" + safeAddr(c.Client) + "-" + safeAddr(c.Server) + ".svg"
}

// safeAddr spells ap with letters, digits, '.', '-' and '_' only.
func safeAddr(ap netip.AddrPort) string {
	a := ap.Addr().String()
	b := make([]byte, 0, len(a)+6)
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.':
			b = append(b, c)
		case c == ':':
			b = append(b, '-')
		default:
			b = append(b, '_')
		}
	}
	b = append(b, '_')
	return string(strconv.AppendUint(b, uint64(ap.Port()), 10))
}
