package proxylink

import (
	"net/netip"
	"slices"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// TypeProxyLink is the analysis event that links a front connection to a
// back connection (docs/events.md).
const TypeProxyLink decode.Type = "proxy-link"

// Options configure a Linker. Zero fields take the defaults shown.
type Options struct {
	// Proxies are the proxy's addresses, when the heuristics need help:
	// an address with a port is a listening address (front connections
	// go to it), one with port 0 any port of that address (its front
	// connections go to any port of it). Every address given is also one
	// the proxy may open back connections from. When set, only front
	// connections to these addresses are linked.
	Proxies []netip.AddrPort
	// MaxConns caps the connection records kept, open and ended (default
	// 16384). Ended ones are forgotten oldest first.
	MaxConns int
	// MaxExchanges caps the exchanges kept as possible back exchanges
	// (default 4096), oldest forgotten first.
	MaxExchanges int
	// MaxAge forgets a kept exchange once capture time is this far past
	// its end (default 2 minutes).
	MaxAge time.Duration
	// MaxHeld caps the front summaries held while a possible L4 back
	// connection is still open (default 1024); past it the oldest is
	// released.
	MaxHeld int
	// HoldTime is how long of capture time a summary may be held
	// (default 10 seconds).
	HoldTime time.Duration
	// Skew is how far apart the clocks of merged captures may be (taken
	// on different hosts): every timing rule tolerates it. Default 0.
	Skew time.Duration
}

func (o *Options) setDefaults() {
	if o.MaxConns <= 0 {
		o.MaxConns = 16384
	}
	if o.MaxExchanges <= 0 {
		o.MaxExchanges = 4096
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 2 * time.Minute
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = 1024
	}
	if o.HoldTime <= 0 {
		o.HoldTime = 10 * time.Second
	}
}

// Stats counts what a Linker did.
type Stats struct {
	// L7 counts proxy-link events of mode l7 (matched requests), L4 those
	// of mode l4 (connection pairs).
	L7, L4 int64
	// Untracked counts connections not analysed because MaxConns records
	// were all open connections.
	Untracked int64
}

// Linker is a timeline.Sink that passes every event on to the next sink
// and adds proxy-link events. Call Close after the Builder's Close.
type Linker struct {
	opts Options
	next timeline.Sink

	conns map[int]*connRec
	byID  []*connRec // every record, by connection number (and forgotten ones)
	// forgotten counts the forgotten records still in byID.
	forgotten int
	last      *connRec   // the last looked up
	ended     []*connRec // ended records, oldest first

	exch   map[exchKey]*exList
	exq    []*exchange // kept exchanges in order of arrival
	nexch  int         // live entries in exq
	edges  map[[2]netip.AddrPort]bool
	held   []*heldSummary
	now    time.Time
	out    timeline.Event
	err    error
	stats  Stats
	closed bool
}

// connRec is what the Linker keeps about one connection.
type connRec struct {
	conn     *timeline.Conn
	open     bool
	end      time.Time
	bytes    [2]uint64
	hello    string // ClientHello identity: length, SNI, JA3, JA4
	sni      string
	protocol string       // the summary's
	firstMsg [2]time.Time // first decoded message each way
	requests int
	l7Front  bool // linked as the front of an L7 request
	l7Back   bool // served an L7 request as the back
	l4Front  bool
	l4Back   bool
	relayTo  *connRec // its first request looked relayed unchanged to this one
	// connect is the target of a CONNECT tunnel opened by the
	// connection's first request; tunnel the bytes each way before it.
	connect string
	tunnel  [2]int64
	// headLen is the length of the first request head (HTTP/1.x) or
	// request HEADERS frame, and of the first response's; 0 until seen.
	headLen [2]int64
	forgot  bool // dropped from the table
}

// heldSummary is a front connection's summary waiting for a possible L4
// back connection to end.
type heldSummary struct {
	rec   *connRec
	ev    timeline.Event
	since time.Time
}

// New returns a Linker that sends every event, and the links it finds, to
// next.
func New(next timeline.Sink, opts Options) *Linker {
	opts.setDefaults()
	return &Linker{
		opts:  opts,
		next:  next,
		conns: make(map[int]*connRec),
		exch:  make(map[exchKey]*exList),
		edges: make(map[[2]netip.AddrPort]bool),
	}
}

// Stats returns the counters so far.
func (l *Linker) Stats() Stats { return l.stats }

// Event implements timeline.Sink.
func (l *Linker) Event(ev *timeline.Event) error {
	if l.err != nil {
		return l.err
	}
	if ev.TS.After(l.now) {
		l.now = ev.TS
	}
	if len(l.held) > 0 && l.now.Sub(l.held[0].since) >= l.opts.HoldTime {
		l.releaseHeld(false)
	}
	if ev.Conn == nil {
		return l.pass(ev)
	}
	r := l.record(ev.Conn)
	if r == nil {
		return l.pass(ev)
	}
	switch {
	case ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary:
		l.summary(r, ev)
		return l.err
	case ev.Type == "exchange" && (ev.Layer == decode.LayerHTTP1 || ev.Layer == decode.LayerHTTP2 || ev.Layer == decode.LayerHTTP3):
		r.requests++
		if err := l.pass(ev); err != nil {
			return err
		}
		if r.requests == 1 && ev.Layer == decode.LayerHTTP1 && isConnect(ev) {
			// A tunnel: what follows is relayed bytes, checked by the
			// L4 rules without the CONNECT heads, and first messages
			// count from here.
			a, _ := ev.Info.Get("authority")
			r.connect, r.tunnel, r.firstMsg = a.Str, r.headLen, [2]time.Time{}
			return nil
		}
		if r.connect == "" {
			l.exchange(r, ev)
		}
		return l.err
	}
	if ev.Dir == decode.C2S || ev.Dir == decode.S2C {
		switch ev.Layer {
		case decode.LayerTLS, decode.LayerHTTP1, decode.LayerHTTP2, decode.LayerHTTP3, decode.LayerWS:
			if i := ev.Dir.Index(); r.firstMsg[i].IsZero() {
				r.firstMsg[i] = ev.TS
			}
		}
		if i := ev.Dir.Index(); r.headLen[i] == 0 && ev.Len > 0 && isHead(ev) {
			r.headLen[i] = ev.Len
		}
		if ev.Layer == decode.LayerTLS && ev.Type == "ClientHello" && ev.Dir == decode.C2S && r.hello == "" {
			r.hello, r.sni = helloID(ev)
		}
	}
	return l.pass(ev)
}

// Advance tells the Linker that capture time has reached now without an
// event (a live capture's quiet wire), so that summaries held past
// HoldTime go out.
func (l *Linker) Advance(now time.Time) error {
	if l.err != nil {
		return l.err
	}
	if now.After(l.now) {
		l.now = now
	}
	l.releaseHeld(false)
	return l.err
}

// early reports whether a comes before b by more than Options.Skew.
func (l *Linker) early(a, b time.Time) bool { return a.Add(l.opts.Skew).Before(b) }

// isConnect reports whether an HTTP/1.1 exchange opened a CONNECT tunnel.
func isConnect(ev *timeline.Event) bool {
	up, _ := ev.Info.Get("upgrade")
	return up.Str == "connect"
}

// isHead reports whether ev is an HTTP request or response head: an
// HTTP/1.x request or response, an HTTP/2 or HTTP/3 HEADERS frame.
func isHead(ev *timeline.Event) bool {
	switch ev.Layer {
	case decode.LayerHTTP1:
		return ev.Type == "request" || ev.Type == "response"
	case decode.LayerHTTP2, decode.LayerHTTP3:
		return ev.Type == "HEADERS"
	}
	return false
}

// Close releases the summaries still held, each with the L4 link its
// ended connections allow. Call it after the Builder's Close, before
// closing the renderers.
func (l *Linker) Close() error {
	if l.closed {
		return l.err
	}
	l.closed = true
	l.releaseHeld(true)
	return l.err
}

func (l *Linker) pass(ev *timeline.Event) error {
	if l.err != nil {
		return l.err
	}
	if err := l.next.Event(ev); err != nil {
		l.err = err
	}
	return l.err
}

// emit sends a proxy-link event on front's connection.
func (l *Linker) emit(front *connRec, at decode.Position, stream int64, info decode.Info) {
	if l.err != nil {
		return
	}
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerAnalysis, TypeProxyLink)
	e.Stream = stream
	e.Info = info
	l.out = timeline.Event{Event: e, Conn: front.conn}
	if err := l.next.Event(&l.out); err != nil {
		l.err = err
	}
}

// record returns the connection's record, making one on its first event;
// nil when the table is full of open connections.
func (l *Linker) record(c *timeline.Conn) *connRec {
	if l.last != nil && l.last.conn == c && !l.last.forgot {
		return l.last
	}
	if r := l.conns[c.ID]; r != nil {
		l.last = r
		return r
	}
	if len(l.conns) >= l.opts.MaxConns {
		if len(l.ended) == 0 {
			l.stats.Untracked++
			return nil
		}
		l.forget(l.ended[0])
		l.ended = l.ended[1:]
	}
	r := &connRec{conn: c, open: true}
	l.conns[c.ID] = r
	l.last = r
	i, _ := slices.BinarySearchFunc(l.byID, c.ID, func(x *connRec, id int) int { return x.conn.ID - id })
	l.byID = slices.Insert(l.byID, i, r)
	return r
}

// forget drops r from the table. It leaves byID until forgotten records
// are half of it, then compacts: the oldest go first, so deleting each at
// once would move the whole slice every time.
func (l *Linker) forget(r *connRec) {
	r.forgot = true
	delete(l.conns, r.conn.ID)
	if l.forgotten++; l.forgotten > len(l.byID)/2 {
		l.byID = slices.DeleteFunc(l.byID, func(x *connRec) bool { return x.forgot })
		l.forgotten = 0
	}
}

// summary ends a connection: it may link it as an L4 front now, hold its
// summary for a back connection still open, and lets held summaries that
// waited for this connection go.
func (l *Linker) summary(r *connRec, ev *timeline.Event) {
	r.open = false
	r.end = ev.TS
	if f, ok := ev.Info.Get("bytes_c2s"); ok {
		r.bytes[0] = uint64(f.Int)
	}
	if f, ok := ev.Info.Get("bytes_s2c"); ok {
		r.bytes[1] = uint64(f.Int)
	}
	if f, ok := ev.Info.Get("protocol"); ok {
		r.protocol = f.Str
	}
	l.ended = append(l.ended, r)
	back, evidence, wait := l.l4Find(r, false)
	if wait {
		if len(l.held) >= l.opts.MaxHeld {
			l.release(0, true)
		}
		l.held = append(l.held, &heldSummary{rec: r, ev: *ev, since: l.now})
	} else {
		if back != nil {
			l.emitL4(r, back, evidence, ev)
		}
		l.pass(ev)
	}
	l.releaseHeld(false)
}

// releaseHeld lets held summaries go whose back connection is decided, and
// those held longer than HoldTime; with force, every one.
func (l *Linker) releaseHeld(force bool) {
	for i := 0; i < len(l.held); {
		if !l.release(i, force || l.now.Sub(l.held[i].since) >= l.opts.HoldTime) {
			i++
		}
	}
}

// release emits held summary i, with its L4 link if one is found, unless
// (without force) a possible back connection is still open.
func (l *Linker) release(i int, force bool) bool {
	h := l.held[i]
	back, evidence, wait := l.l4Find(h.rec, force)
	if wait {
		return false
	}
	l.held = slices.Delete(l.held, i, i+1)
	if back != nil {
		l.emitL4(h.rec, back, evidence, &h.ev)
	}
	l.pass(&h.ev)
	return true
}
