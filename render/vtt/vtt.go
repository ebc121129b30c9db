package vtt

import (
	"bufio"
	"cmp"
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
	// DefaultMaxDuration is how long a caption stays when nothing follows
	// it on its connection.
	DefaultMaxDuration = 4 * time.Second
	// DefaultLines is how many of a connection's latest captions a cue
	// shows, newest last (roll-up captions).
	DefaultLines = 3
	// DefaultMaxCaptions bounds the captions held; later ones are counted
	// in a NOTE at the end.
	DefaultMaxCaptions = 100000
)

// maxCueLines bounds the lines of one cue: more captions at once are
// summed up in a line "… N more".
const maxCueLines = 6

// maxCaption is the longest caption, in characters: a subtitle line
// longer than this is not read in time.
const maxCaption = 100

// Options configure a Writer.
type Options struct {
	// TimeOrigin is the instant written as 00:00:00.000: the start of the
	// screen recording. Zero means the first packet of the capture (the
	// earliest first packet of a connection). Captions before the origin
	// are left out.
	TimeOrigin time.Time
	// TimeOffset moves the origin: -3 s says the recording started 3 s
	// before TimeOrigin (or before the first packet), so every cue comes
	// 3 s later.
	TimeOffset time.Duration
	// MaxDuration is how long a cue stays when its connection has no
	// later caption, or the next one comes later than that
	// (DefaultMaxDuration if ≤ 0).
	MaxDuration time.Duration
	// MinDuration merges the captions of a connection that come less than
	// this after the first of them into one cue, so that each cue stays
	// long enough to read (0: only those of the same millisecond).
	MinDuration time.Duration
	// Lines is how many of a connection's latest captions each cue shows
	// (DefaultLines if ≤ 0; 1 shows one caption at a time).
	Lines int
	// MaxCaptions bounds the captions held until Close, and the
	// connections remembered for the chapters (DefaultMaxCaptions if ≤ 0).
	MaxCaptions int
	// Chapters, when set, receives a WebVTT chapters file at Close: one
	// chapter per connection, or per group of connections that overlap
	// in time (chapters may not overlap).
	Chapters io.Writer
	// PhaseChapters adds, inside the chapter of a connection that has
	// one to itself, a nested chapter per phase of its start (TCP, TLS
	// or QUIC handshake, first request, first byte).
	PhaseChapters bool
}

// Writer is a timeline.Sink that writes WebVTT captions of the protocol
// events, for a screen recording of the traffic. It holds the captions
// until Close, since cues must be written in order of their start and
// some events (HTTP exchanges, stalls) are known only after the moment
// they caption. Call Close at the end of input. A Writer is not safe for
// concurrent use.
type Writer struct {
	opts    Options
	w       io.Writer
	conns   map[int]*connState
	order   []*connState // in order of first event
	dropped int64
	// droppedConns counts connections not followed at all, past
	// MaxCaptions connections.
	droppedConns int64
	held         int
}

// caption is one line of a connection's captions.
type caption struct {
	at    time.Time
	frame int64
	seq   int // order of arrival, to keep ties stable
	text  string
}

// connState is what a Writer keeps of one connection.
type connState struct {
	conn     *timeline.Conn
	caps     []caption
	last     time.Time // the connection's latest event
	synSeen  bool
	finSeen  [2]bool // a FIN was captioned, per direction
	rstSeen  [2]bool
	summary  *decode.Event
	phases   []phase
	quicSeen bool
}

type phase struct {
	start, end time.Time
	label      string
}

// New returns a Writer of captions on w.
func New(w io.Writer, opts Options) *Writer {
	if opts.MaxDuration <= 0 {
		opts.MaxDuration = DefaultMaxDuration
	}
	if opts.Lines <= 0 {
		opts.Lines = DefaultLines
	}
	if opts.MaxCaptions <= 0 {
		opts.MaxCaptions = DefaultMaxCaptions
	}
	return &Writer{opts: opts, w: w, conns: map[int]*connState{}}
}

// Event turns ev into a caption when it is one people watching a
// recording want to read. Events without a connection are not captioned.
func (w *Writer) Event(ev *timeline.Event) error {
	if ev.Conn == nil {
		return nil
	}
	c := w.conns[ev.Conn.ID]
	if c == nil {
		if len(w.order) >= w.opts.MaxCaptions {
			if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
				w.droppedConns++ // counted once, at its end
			}
			return nil
		}
		c = &connState{conn: ev.Conn}
		w.conns[ev.Conn.ID] = c
		w.order = append(w.order, c)
	}
	if ev.TS.After(c.last) {
		c.last = ev.TS
	}
	e := &ev.Event
	switch {
	case e.Layer == decode.LayerConn && e.Type == decode.TypeSummary:
		s := *e
		c.summary = &s
		return nil
	case layout.IsPhase(e):
		if w.opts.PhaseChapters {
			lbl, d := layout.PhaseLabel(e)
			c.phases = append(c.phases, phase{start: e.TS.Add(-d), end: e.TS, label: lbl})
		}
		return nil
	}
	at, text := c.caption(e)
	if text == "" {
		return nil
	}
	if w.held >= w.opts.MaxCaptions {
		w.dropped++
		return nil
	}
	w.held++
	c.caps = append(c.caps, caption{at: at, frame: e.Frame, seq: len(c.caps), text: layout.Cut(text, maxCaption)})
	return nil
}

// caption returns the caption of e and the moment it belongs to, or ""
// when e is not captioned.
func (c *connState) caption(e *decode.Event) (time.Time, string) {
	f := func(key string) string { return layout.Field(e, key) }
	side := "client"
	if e.Dir == decode.S2C {
		side = "server"
	}
	at := e.TS
	var s string
	switch e.Layer {
	case decode.LayerTCP:
		switch e.Type {
		case decode.TypeSYN:
			if c.synSeen {
				s = "TCP SYN again (retransmitted)"
			} else {
				s = "TCP SYN → " + layout.Clean(c.conn.Server.String(), 64)
			}
			c.synSeen = true
		case decode.TypeSYNACK:
			s = "TCP SYN-ACK"
		case decode.TypeACK:
			s = "TCP connected"
			if d, ok := duration(e, "rtt_ms"); ok {
				s += ", RTT " + layout.Human(d)
			}
		case decode.TypeFIN:
			if i := e.Dir.Index(); i >= 0 && !c.finSeen[i] {
				c.finSeen[i] = true
				s = "TCP FIN from " + side
			}
		case decode.TypeRST:
			if i := e.Dir.Index(); i >= 0 && !c.rstSeen[i] {
				c.rstSeen[i] = true
				s = "TCP reset by " + side
				if b, ok := e.Info.Get("refused"); ok && b.Kind == decode.KindBool && b.Bool() {
					s = "TCP connection refused"
				}
			}
		case decode.TypeRetransmission, decode.TypeFastRetransmission, decode.TypeLostSegment, decode.TypeZeroWindow:
			s = "TCP " + layout.MarkerNote(e) + " (" + side + ")"
		}
	case decode.LayerTLS:
		switch e.Type {
		case "ClientHello":
			s = "TLS ClientHello"
			if v := f("sni"); v != "" {
				s += " → " + v
			}
			if v := f("alpn"); v != "" {
				s += " (ALPN " + v + ")"
			}
		case "ServerHello":
			s = "TLS ServerHello " + strings.TrimSpace(f("version")+" "+f("cipher_suite"))
		case "HelloRetryRequest":
			s = "TLS HelloRetryRequest"
		case "Certificate":
			s = "TLS Certificate"
			if v := f("subjects"); v != "" {
				s += " " + v
			}
		case "Finished":
			s = "TLS Finished (" + side + ")"
		case "Alert":
			s = "TLS Alert from " + side + ": " + strings.TrimSpace(f("level")+" "+f("description"))
		}
	case decode.LayerQUIC:
		switch {
		case e.Type == "Initial" && e.Dir == decode.C2S && !c.quicSeen:
			c.quicSeen = true
			s = "QUIC Initial " + f("version") + " → " + layout.Clean(c.conn.Server.String(), 64)
		case e.Type == "Retry":
			s = "QUIC Retry"
		case e.Type == "VersionNegotiation":
			s = "QUIC Version Negotiation: " + f("versions")
		case layout.QUICFrame(e, "CONNECTION_CLOSE") != "":
			s = "QUIC " + layout.QUICFrame(e, "CONNECTION_CLOSE") + " from " + side
		case layout.QUICFrame(e, "HANDSHAKE_DONE") != "":
			s = "QUIC handshake confirmed (HANDSHAKE_DONE)"
		}
	case decode.LayerHTTP1, decode.LayerHTTP2, decode.LayerHTTP3:
		if e.Type == "exchange" {
			return exchange(e)
		}
	case decode.LayerWS:
		switch e.Type {
		case "handshake":
			s = "WebSocket open"
			if e.Info.Has("permessage_deflate") {
				s += " (permessage-deflate)"
			}
		case "text", "binary":
			if b, ok := e.Info.Get("fin"); ok && b.Kind == decode.KindBool && b.Bool() {
				s = "WebSocket " + string(e.Type) + " " + layout.Grouped(max(e.Len, 0)) + " B " + arrow(e.Dir)
			}
		case "message":
			s = "WebSocket " + f("opcode") + " message " + f("size") + " B in " + f("fragments") + " frames " + arrow(e.Dir)
		case "close":
			s = "WebSocket close from " + side + " " + strings.TrimSpace(f("code")+" "+f("code_name"))
			if v := f("reason"); v != "" {
				s += " “" + v + "”"
			}
		}
	case decode.LayerAnalysis:
		switch {
		case layout.Classify(e) == layout.KindStall:
			at = start(e)
			s = layout.StallNote(e)
		default:
			if d, ok := duration(e, "duration_ms"); ok {
				at = start(e)
				s = layout.Clean(strings.ReplaceAll(string(e.Type), "-stall", " stall"), 64) + " " + layout.Human(d)
				if v := f("stream"); v != "" {
					s += " (stream " + v + ")"
				}
			}
		}
	case decode.LayerConn:
		if e.Type == decode.TypeDecodeError {
			s = "decoder " + f("decoder") + " stopped: " + f("error")
		}
	}
	return at, s
}

// exchange captions an HTTP request and its response at the request's
// start: "HTTP/2 GET /index.html → 200, 12 ms".
func exchange(e *decode.Event) (time.Time, string) {
	name := map[decode.Layer]string{decode.LayerHTTP1: "HTTP/1.1", decode.LayerHTTP2: "HTTP/2", decode.LayerHTTP3: "HTTP/3"}[e.Layer]
	s := name + " " + layout.Field(e, "method") + " " + layout.Field(e, "path") + " → "
	st := layout.Field(e, "status")
	switch {
	case e.Info.Has("reset"):
		s += "reset"
	case st == "" || st == "0":
		s += "no response"
	default:
		s += st
	}
	if d, ok := duration(e, "duration_ms"); ok {
		s += ", " + layout.Human(d)
	}
	return start(e), s
}

func arrow(d decode.Dir) string {
	if d == decode.S2C {
		return "←"
	}
	return "→"
}

// duration reads a duration field.
func duration(e *decode.Event, key string) (time.Duration, bool) {
	f, ok := e.Info.Get(key)
	if !ok || f.Kind != decode.KindDuration {
		return 0, false
	}
	return f.Duration(), true
}

// start is when an event that spans time began: its "start" field, else
// its time less its duration_ms, else its time.
func start(e *decode.Event) time.Time {
	if f, ok := e.Info.Get("start"); ok && f.Kind == decode.KindString {
		if t, err := time.Parse(time.RFC3339Nano, f.Str); err == nil {
			return t
		}
	}
	if d, ok := duration(e, "duration_ms"); ok && d >= 0 {
		return e.TS.Add(-d)
	}
	return e.TS
}

// cue is one WebVTT cue.
type cue struct {
	start, end time.Duration // since the origin
	conn       int
	seq        int
	text       string
}

// Close writes the captions, and the chapters when Options.Chapters is
// set.
func (w *Writer) Close() error {
	origin := w.origin()
	var cues []cue
	for _, c := range w.order {
		cues = append(cues, c.cues(origin, w.opts)...)
	}
	slices.SortStableFunc(cues, func(a, b cue) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.conn, b.conn), cmp.Compare(a.seq, b.seq))
	})
	bw := bufio.NewWriter(w.w)
	bw.WriteString("WEBVTT\n\nNOTE\nwiretrace captions. 00:00:00.000 is " + origin.UTC().Format(time.RFC3339Nano))
	if w.opts.TimeOrigin.IsZero() {
		if w.opts.TimeOffset != 0 {
			bw.WriteString(", the capture's first packet " + signed(w.opts.TimeOffset))
		} else {
			bw.WriteString(", the capture's first packet")
		}
	}
	bw.WriteString(".\n#N is the connection number.\n")
	for _, q := range cues {
		bw.WriteString("\n" + stamp(q.start) + " --> " + stamp(q.end) + "\n" + q.text + "\n")
	}
	if w.dropped > 0 {
		bw.WriteString("\nNOTE\n" + strconv.FormatInt(w.dropped, 10) + " more captions left out (MaxCaptions).\n")
	}
	if w.droppedConns > 0 {
		bw.WriteString("\nNOTE\n" + strconv.FormatInt(w.droppedConns, 10) + " more connections left out (MaxCaptions).\n")
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if w.opts.Chapters != nil {
		return w.writeChapters(origin)
	}
	return nil
}

// origin is Options.TimeOrigin, or the earliest first packet of a
// connection, moved by Options.TimeOffset.
func (w *Writer) origin() time.Time {
	if !w.opts.TimeOrigin.IsZero() {
		return w.opts.TimeOrigin.Add(w.opts.TimeOffset)
	}
	var o time.Time
	for _, c := range w.order {
		if o.IsZero() || c.conn.FirstTS.Before(o) {
			o = c.conn.FirstTS
		}
	}
	return o.Add(w.opts.TimeOffset)
}

// cues turns a connection's captions into roll-up cues: each starts at
// its caption and shows it under the ones before it (Options.Lines in
// all), until the connection's next caption or for at most
// MaxDuration. Captions within MinDuration (at least of one millisecond)
// share a cue.
func (c *connState) cues(origin time.Time, opts Options) []cue {
	caps := slices.Clone(c.caps)
	slices.SortStableFunc(caps, func(a, b caption) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq))
	})
	prefix := "#" + strconv.Itoa(c.conn.ID) + " "
	var out []cue
	ms := func(k int) time.Duration { return caps[k].at.Sub(origin).Truncate(time.Millisecond) }
	window := max(opts.MinDuration, time.Millisecond)
	for i := 0; i < len(caps); i++ {
		at := ms(i)
		// The captions closer than the window to the first go out
		// together.
		j := i
		for j+1 < len(caps) && ms(j+1)-at < window {
			j++
		}
		end := at + max(opts.MaxDuration, window)
		if j+1 < len(caps) {
			end = min(end, ms(j+1))
		}
		if at >= 0 {
			from := min(i, max(0, j+1-opts.Lines))
			var lines []string
			if n := j + 1 - from; n > maxCueLines {
				lines = append(lines, escape(prefix+"… "+strconv.Itoa(n-maxCueLines+1)+" more"))
				from = j + 2 - maxCueLines
			}
			for _, cp := range caps[from : j+1] {
				lines = append(lines, escape(prefix+cp.text))
			}
			out = append(out, cue{start: at, end: end, conn: c.conn.ID, seq: i, text: strings.Join(lines, "\n")})
		}
		i = j
	}
	return out
}

// signed writes an offset as "+2.5s" or "-3s".
func signed(d time.Duration) string {
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}

// stamp formats a cue time as HH:MM:SS.mmm.
func stamp(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	ms := int64(d / time.Millisecond)
	h, m, s := ms/3600000, ms/60000%60, ms/1000%60
	b := make([]byte, 0, 12)
	b = append(b, pad2(h)...)
	b = append(b, ':')
	b = append(b, pad2(m)...)
	b = append(b, ':')
	b = append(b, pad2(s)...)
	b = append(b, '.')
	b = append(b, strconv.FormatInt(1000+ms%1000, 10)[1:]...)
	return string(b)
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
