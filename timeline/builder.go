package timeline

import (
	"errors"
	"net/netip"
	"time"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
	"github.com/wiretrace/wiretrace/decode/tcpflow"
)

// Options configure a Builder. Zero fields take the defaults shown.
type Options struct {
	// Segments emits an event for every plain TCP data/ACK segment and
	// every UDP datagram.
	Segments bool
	// TCPLimits bound per-connection reassembly buffers.
	TCPLimits tcpflow.Limits
	// MaxReassemblyTotal caps the out-of-order data all TCP connections
	// buffer together, each held segment counting its bytes plus
	// tcpflow.PendingCost (default 256 MiB). The connection whose segment
	// goes past it gives up its oldest gaps (tcpflow.Pool).
	MaxReassemblyTotal int
	// IdleTimeout ends a TCP connection after this much capture time
	// without a packet (default 5 minutes).
	IdleTimeout time.Duration
	// UDPIdleTimeout ends a UDP flow likewise (default 1 minute).
	UDPIdleTimeout time.Duration
	// CloseLinger keeps a finished TCP connection in the table until it
	// has been quiet this long, so that stray segments (a last ACK, a
	// repeated FIN) and traffic after an injected reset join it rather
	// than start a new one (default 2 seconds).
	CloseLinger time.Duration
	// MaxConns caps the connection table; when full, the least recently
	// active connection is ended (default 262144).
	MaxConns int
	// Registry holds the application protocols that may attach to TCP
	// streams; nil means none.
	Registry *decode.Registry
	// Datagrams holds the protocols that may attach to UDP flows (QUIC),
	// recognised from a flow's first datagram; nil means none.
	Datagrams *decode.DatagramRegistry
}

func (o *Options) setDefaults() {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.UDPIdleTimeout <= 0 {
		o.UDPIdleTimeout = time.Minute
	}
	if o.CloseLinger <= 0 {
		o.CloseLinger = 2 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 262144
	}
	if o.MaxReassemblyTotal <= 0 {
		o.MaxReassemblyTotal = 256 << 20
	}
}

// Stats counts what the Builder saw.
type Stats struct {
	Packets int64
	// Unsupported counts frames that are not TCP or UDP over IP.
	Unsupported int64
	// Malformed counts frames whose headers could not be decoded.
	Malformed int64
	// Fragments counts IP fragments (not reassembled).
	Fragments int64
	// Conns counts connections seen; Evicted those ended because the
	// table was full.
	Conns, Evicted int64
}

// Builder turns packets into per-connection events.
type Builder struct {
	opts Options
	sink Sink
	dec  *netpkt.Decoder
	pkt  netpkt.Packet
	seg  tcpflow.Segment
	// spare decodes the first segment of each TCP connection and stays
	// here when the connection becomes an embryo (embryo.go).
	spare *tcpflow.Conn
	pool  *tcpflow.Pool // the reassembly buffers' total
	ev    Event

	table   connTable
	paths   map[*conn]*connPaths // migrated UDP connections' extra flows (paths.go)
	idle    [2]connList          // TCP and UDP connections, least recently active first
	closing connList             // finished TCP connections, in order of finishing
	nextID  int

	now      time.Time
	nowFrame int64
	sweptAt  time.Time

	err   error
	stats Stats
}

// flowKey identifies a flow regardless of direction: lo < hi. The
// addresses are kept as 16 bytes (IPv4 ones mapped, told apart by v4) so
// that the key holds no pointers: the table of a SYN flood is smaller and
// the garbage collector need not scan it. Packets carry no IPv6 zones.
type flowKey struct {
	lo, hi         [16]byte
	loPort, hiPort uint16
	proto          netpkt.Proto
	v4             uint8 // bit 0: lo is IPv4; bit 1: hi is
}

func makeKey(proto netpkt.Proto, a, b netip.AddrPort) flowKey {
	if compareAddrPort(a, b) > 0 {
		a, b = b, a
	}
	k := flowKey{lo: a.Addr().As16(), hi: b.Addr().As16(), loPort: a.Port(), hiPort: b.Port(), proto: proto}
	if a.Addr().Is4() {
		k.v4 |= 1
	}
	if b.Addr().Is4() {
		k.v4 |= 2
	}
	return k
}

func compareAddrPort(a, b netip.AddrPort) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return int(a.Port()) - int(b.Port())
}

// New returns a Builder that sends events to sink.
func New(opts Options, sink Sink) *Builder {
	opts.setDefaults()
	return &Builder{
		opts:  opts,
		sink:  sink,
		dec:   netpkt.NewDecoder(),
		pool:  tcpflow.NewPool(opts.MaxReassemblyTotal),
		table: newConnTable(),
	}
}

// Stats returns the counters so far.
func (b *Builder) Stats() Stats { return b.stats }

// Packet decodes one captured packet and emits its events. It returns the
// sink's first error; after that the Builder stops.
func (b *Builder) Packet(p *capture.Packet) error {
	if b.err != nil {
		return b.err
	}
	b.stats.Packets++
	b.nowFrame = p.Frame
	if p.TS.After(b.now) {
		b.now = p.TS
	}
	// End what has expired first, so that a packet after a long silence
	// finds its old connection gone rather than joining it.
	if err := b.maybeSweep(); err != nil {
		return err
	}
	err := b.dec.Decode(p.LinkType, p.Data, p.OrigLen, &b.pkt)
	pk := &b.pkt
	if pk.Fragment && pk.Proto == netpkt.ProtoNone {
		b.stats.Fragments++
		return nil
	}
	if err != nil {
		if errors.Is(err, netpkt.ErrUnsupported) {
			b.stats.Unsupported++
		} else {
			b.stats.Malformed++
		}
		return nil
	}
	src := netip.AddrPortFrom(pk.Src, pk.SrcPort)
	dst := netip.AddrPortFrom(pk.Dst, pk.DstPort)
	key := makeKey(pk.Proto, src, dst)
	c := b.lookup(key)
	switch pk.Proto {
	case netpkt.ProtoTCP:
		if c != nil {
			c.hatch() // its TCP state, to tell
			dir := c.dirOf(src)
			if c.tcp.IsNewConnection(dir, &pk.TCP) {
				b.finish(c, endReused)
				c = nil
			}
		}
		if c == nil {
			c = b.newConn(key, pk, p)
		}
		b.touch(c, p)
		if c.tcpSegment(c.dirOf(src), p, pk) {
			// Finished: it lingers until CloseLinger passes without a
			// packet, so the closing list stays in order of last
			// activity.
			b.closing.moveToBack(c, closingLink)
		}
	case netpkt.ProtoUDP:
		if c == nil {
			c = b.claimPath(key, src, dst, pk, p)
		}
		if c == nil {
			c = b.newConn(key, pk, p)
		}
		b.touch(c, p)
		c.udpDatagram(b.udpDir(c, src), p, pk)
		if cl, ok := c.datagramDecoder().(decode.Closer); ok && cl.Closed() {
			// Closed: it lingers like a finished TCP connection.
			b.closing.moveToBack(c, closingLink)
		}
	}
	return b.err
}

// Advance tells the Builder that capture time has reached now without a
// packet, so idle and finished connections can end. Live captures call it
// while the wire is quiet.
func (b *Builder) Advance(now time.Time) error {
	if now.After(b.now) {
		b.now = now
	}
	return b.sweep()
}

// Close ends every connection still open, in connection order, and emits
// their summaries.
func (b *Builder) Close() error {
	for _, c := range b.tableConns() {
		reason := endOfInput
		if b.closing.has(c, closingLink) {
			reason = endClosed
		}
		b.finish(c, reason)
	}
	return b.err
}

func (b *Builder) newConn(key flowKey, pk *netpkt.Packet, p *capture.Packet) *conn {
	if b.tableLen() >= b.opts.MaxConns {
		b.evictOne(p)
	}
	b.nextID++
	b.stats.Conns++
	src := netip.AddrPortFrom(pk.Src, pk.SrcPort)
	dst := netip.AddrPortFrom(pk.Dst, pk.DstPort)
	c := &conn{b: b}
	c.info = Conn{ID: b.nextID, FirstTS: p.TS, FirstFrame: p.Frame}
	client, server, midstream := src, dst, false
	switch pk.Proto {
	case netpkt.ProtoTCP:
		c.info.Transport = TCP
		t := &pk.TCP
		switch {
		case t.Flags&(netpkt.FlagSYN|netpkt.FlagACK) == netpkt.FlagSYN:
		case t.Flags&(netpkt.FlagSYN|netpkt.FlagACK) == netpkt.FlagSYN|netpkt.FlagACK:
			client, server = dst, src
		default:
			midstream = true
			if guessServer(src.Port(), dst.Port()) {
				client, server = dst, src
			}
		}
	case netpkt.ProtoUDP:
		c.info.Transport = UDP
		if guessServer(src.Port(), dst.Port()) && src.Port() < 1024 {
			client, server = dst, src
		}
	}
	c.info.Client, c.info.Server, c.info.Midstream = client, server, midstream
	b.insert(key, c)
	b.idleList(c).pushBack(c, idleLink)
	return c
}

func (b *Builder) idleList(c *conn) *connList { return &b.idle[c.info.Transport-1] }

// evictOne ends the least recently active connection to make room.
func (b *Builder) evictOne(p *capture.Packet) {
	victim := b.idle[0].head
	if u := b.idle[1].head; victim == nil || (u != nil && u.lastTS.Before(victim.lastTS)) {
		victim = u
	}
	if victim == nil {
		return
	}
	b.stats.Evicted++
	e := decode.NewEvent(p.Frame, p.TS, decode.DirNone, decode.LayerCapture, decode.TypeCapLimit)
	e.Info = decode.Info{decode.String("limit", "connections"), decode.Int("max_conns", int64(b.opts.MaxConns)),
		decode.Int("evicted_conn", int64(victim.info.ID))}
	b.emit(nil, e)
	b.finish(victim, endEvicted)
}

// guessServer reports whether port a looks more like the server's port
// than port b: a well-known port against another, or a port below the
// ephemeral range against one inside it, else the lower port.
func guessServer(a, b uint16) bool {
	const ephemeral = 32768
	switch {
	case (a < 1024) != (b < 1024):
		return a < 1024
	case (a < ephemeral) != (b < ephemeral):
		return a < ephemeral
	}
	return a < b
}

func (b *Builder) touch(c *conn, p *capture.Packet) {
	c.lastTS, c.lastFrame = p.TS, p.Frame
	b.idleList(c).moveToBack(c, idleLink)
}

// maybeSweep ends idle and lingering connections once per second of
// capture time.
func (b *Builder) maybeSweep() error {
	if b.now.Sub(b.sweptAt) < time.Second {
		return b.err
	}
	return b.sweep()
}

func (b *Builder) sweep() error {
	b.sweptAt = b.now
	for c := b.closing.head; c != nil && b.now.Sub(c.lastTS) >= b.opts.CloseLinger; c = b.closing.head {
		b.finish(c, endClosed)
	}
	for i, timeout := range [2]time.Duration{b.opts.IdleTimeout, b.opts.UDPIdleTimeout} {
		l := &b.idle[i]
		for c := l.head; c != nil && b.now.Sub(c.lastTS) >= timeout; c = l.head {
			b.finish(c, endIdle)
		}
	}
	return b.err
}

// emit sends an event to the sink, noting it for the round-trip count.
func (b *Builder) emit(c *conn, e decode.Event) {
	if b.err != nil {
		return
	}
	if c != nil {
		c.note(&e)
	}
	b.ev.Event = e
	b.ev.Conn = nil
	if c != nil {
		b.ev.Conn = &c.info
	}
	if err := b.sink.Event(&b.ev); err != nil {
		b.err = err
	}
}

// finish ends a connection: it flushes its decoders, emits its summary and
// frees its state.
func (b *Builder) finish(c *conn, why endReason) {
	if c.finished {
		return
	}
	c.finished = true
	c.end(why)
	b.remove(c.key(), c)
	b.dropPaths(c)
	b.idleList(c).remove(c, idleLink)
	b.closing.remove(c, closingLink)
}
