package timeline

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
	"github.com/wiretrace/wiretrace/decode/tcpflow"
)

// endReason says why a connection's summary was emitted.
type endReason uint8

const (
	endClosed  endReason = iota + 1 // FIN both ways acknowledged, or RST
	endIdle                         // idle timeout
	endEvicted                      // connection table full
	endOfInput                      // the capture ended
	endReused                       // a new SYN on the same ports
)

var endNames = [...]string{endClosed: "closed", endIdle: "idle-timeout", endEvicted: "evicted", endOfInput: "end-of-input", endReused: "port-reused"}

// appState is the state of application-protocol attachment.
type appState uint8

const (
	appSniffing appState = iota
	appAttached
	appRaw // no decoder recognised the stream
	appFailed
)

// conn is everything wiretrace keeps about one connection. It is kept
// small: a scan or a SYN flood fills the table with connections that see
// one packet each, so what only connections carrying data need lives in
// x (allocated at their first stream bytes, gap or decoder), and a TCP
// connection that has seen a single segment without payload keeps that
// segment instead of its tcpflow state (see embryo.go).
type conn struct {
	b    *Builder
	info Conn

	tcp *tcpflow.Conn // nil while embryo
	// first is the only segment of an embryo connection, sent in
	// direction firstDir.
	first      firstSeg
	firstDir   decode.Dir
	firstClose tcpflow.Close
	embryo     bool

	dgSniffed bool // the first datagram was sniffed
	appState  appState
	finished  bool

	// Round trips before the client's first application byte.
	spoke      bool // the client sent a request and waits for a reply
	dataSeen   bool
	waits      int32
	dataRounds int32

	lastTS    time.Time
	lastFrame int64

	idleLink, closingLink link

	udp *udpFlow // UDP flows only

	phase phaseTracker

	x *connExtra
}

// udpFlow counts a UDP flow's datagrams and payload bytes per direction
// (a TCP connection's segments and stream bytes are tcpflow's Stats).
type udpFlow struct {
	packets, bytes [2]uint64
}

// connExtra is the state of a connection that carries stream bytes or
// datagrams for a decoder.
type connExtra struct {
	app       decode.StreamDecoder
	dgram     decode.DatagramDecoder // UDP flows: app stays nil
	appName   string
	sniffBuf  [2][]byte
	sniffHeld []heldChunk
	// sniffHeldLen is the bytes in sniffHeld (at most decode.MaxSniffHold).
	sniffHeldLen int

	// holTotal and flowControl total the connection's head-of-line and
	// flow-control stalls for its summary.
	holTotal, flowControl stallTotals

	// Head-of-line attribution (holstall.go): each direction's units,
	// the unit being fed, the gaps the current segment filled, and the
	// TCP stalls seen near the client and near the server.
	hol        [2]holDir
	emitFn     decode.Emit // c.emit, made once
	feeding    decode.Dir
	feedFrom   uint64 // stream offset of the bytes being fed
	feedUnit   unitRec
	hasStreams bool // an event carried a stream
	stalls     []stall
	scratch    []int64
	holSides   [2]int
}

// more returns c.x, allocating it the first time.
func (c *conn) more() *connExtra {
	if c.x == nil {
		c.x = &connExtra{}
	}
	return c.x
}

// key is the connection's key in the Builder's table (its first flow's,
// for a UDP connection that moved).
func (c *conn) key() flowKey {
	proto := netpkt.ProtoTCP
	if c.info.Transport == UDP {
		proto = netpkt.ProtoUDP
	}
	return makeKey(proto, c.info.Client, c.info.Server)
}

type heldChunk struct {
	dir  decode.Dir
	data []byte
	at   decode.Position
}

func (c *conn) dirOf(src netip.AddrPort) decode.Dir {
	if src == c.info.Client {
		return decode.C2S
	}
	return decode.S2C
}

func (c *conn) emit(e decode.Event) { c.b.emit(c, e) }

// observe follows the client's waits for replies until its first
// application byte: each reply flight after a request is one round trip.
func (c *conn) observe(e *decode.Event) {
	if c.dataSeen {
		return
	}
	switch e.Dir {
	case decode.C2S:
		if e.Flags&decode.FlagAppData != 0 {
			c.dataSeen, c.dataRounds = true, c.waits
		} else if e.Flags&decode.FlagRequest != 0 {
			c.spoke = true
		}
	case decode.S2C:
		if e.Flags&decode.FlagReply != 0 && c.spoke {
			c.waits++
			c.spoke = false
		}
	}
}

// tcpSegment decodes a segment and reports whether the connection is
// done (tcpflow.Conn.Done).
func (c *conn) tcpSegment(dir decode.Dir, p *capture.Packet, pk *netpkt.Packet) bool {
	c.b.seg = tcpflow.Segment{Frame: p.Frame, TS: p.TS, TCP: &pk.TCP, Payload: pk.Payload, PayloadLen: pk.PayloadLen}
	if c.tcp == nil && !c.embryo {
		if done, ok := c.firstSegment(dir, &c.b.seg); ok {
			return done // an embryo now
		}
	} else {
		c.hatch()
		c.tcp.Segment(dir, &c.b.seg, c.emit)
	}
	if c.x != nil && len(c.x.stalls) > 0 {
		c.flushStalls()
	}
	return c.tcp.Done()
}

func (c *conn) udpDatagram(dir decode.Dir, p *capture.Packet, pk *netpkt.Packet) {
	if c.udp == nil {
		c.udp = new(udpFlow)
	}
	c.udp.packets[dir.Index()]++
	c.udp.bytes[dir.Index()] += uint64(pk.PayloadLen)
	if !c.dgSniffed && len(pk.Payload) > 0 {
		c.dgSniffed = true
		if s := c.b.opts.Datagrams.Sniff(dir, pk.Payload); s != nil {
			x := c.more()
			x.dgram, x.appName, c.appState = s.New(), s.Name, appAttached
		}
	}
	e := decode.NewEvent(p.Frame, p.TS, dir, decode.LayerUDP, decode.TypeDatagram)
	e.Len = int64(pk.PayloadLen)
	dg := c.datagramDecoder()
	if dg == nil {
		// Without a decoder a datagram's payload is the application's:
		// the client's first one ends the round-trip count at zero (UDP
		// has no handshake). With one, its events say what is what.
		e.Flags = decode.FlagRequest | decode.FlagAppData
		if dir == decode.S2C {
			e.Flags = decode.FlagReply | decode.FlagAppData
		}
	}
	if c.b.opts.Segments {
		c.emit(e)
	} else {
		c.note(&e)
	}
	if dg != nil {
		at := decode.Position{Frame: p.Frame, TS: p.TS}
		// The payload may be cut by the snap length: the decoder gets
		// what was captured.
		c.guard(at, func() error { return dg.Datagram(dir, pk.Payload, at, c.emit) })
	}
}

// Data receives reassembled TCP bytes (tcpflow.Handler).
func (c *conn) Data(dir decode.Dir, ch *tcpflow.Chunk) {
	c.more()
	at := decode.Position{Frame: ch.Frame, TS: ch.TS}
	if ch.Held {
		at = decode.Position{Frame: ch.ReleasedFrame, TS: ch.Released}
	}
	c.streamData(dir, ch.Data, at)
}

func (c *conn) streamData(dir decode.Dir, data []byte, at decode.Position) {
	switch c.appState {
	case appSniffing:
		reg := c.b.opts.Registry
		if reg.Len() == 0 {
			c.appState = appRaw
			c.rawData(dir, data, at)
			return
		}
		i := dir.Index()
		room := decode.SniffBytes - len(c.x.sniffBuf[i])
		c.x.sniffBuf[i] = append(c.x.sniffBuf[i], data[:min(room, len(data))]...)
		verdict, s := reg.Sniff(dir, c.x.sniffBuf[i])
		switch {
		case verdict == decode.Match:
			c.x.app, c.x.appName, c.appState = s.New(), s.Name, appAttached
			c.setUnits(s.Name)
			held := c.x.sniffHeld
			c.x.sniffHeld, c.x.sniffHeldLen, c.x.sniffBuf = nil, 0, [2][]byte{}
			for _, h := range held {
				c.appData(h.dir, h.data, h.at)
			}
			c.appData(dir, data, at)
		case verdict == decode.NeedMore && c.x.sniffHeldLen+len(data) <= decode.MaxSniffHold &&
			(len(c.x.sniffBuf[0]) < decode.SniffBytes || len(c.x.sniffBuf[1]) < decode.SniffBytes):
			// Undecided: a server may speak first (an HTTP/2 server's
			// SETTINGS) and the client's bytes decide.
			c.x.sniffHeld = append(c.x.sniffHeld, heldChunk{dir, append([]byte(nil), data...), at})
			c.x.sniffHeldLen += len(data)
		default:
			c.appState = appRaw
			for _, h := range c.x.sniffHeld {
				c.rawData(h.dir, h.data, h.at)
			}
			c.x.sniffHeld, c.x.sniffHeldLen, c.x.sniffBuf = nil, 0, [2][]byte{}
			c.rawData(dir, data, at)
		}
	case appAttached:
		c.appData(dir, data, at)
	case appRaw, appFailed:
		c.rawData(dir, data, at)
	}
}

// rawData accounts for bytes no decoder claimed: the client's are its
// application data and requests, the server's its replies.
func (c *conn) rawData(dir decode.Dir, data []byte, at decode.Position) {
	if len(data) == 0 {
		return
	}
	e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerTCP, decode.TypeSegment)
	e.Flags = decode.FlagReply | decode.FlagAppData
	if dir == decode.C2S {
		e.Flags = decode.FlagRequest | decode.FlagAppData
	}
	c.note(&e)
}

// note follows an event, emitted or not, for the round-trip count, the
// phases, the stall totals and the streams of the bytes being decoded.
func (c *conn) note(e *decode.Event) {
	c.noteStream(e)
	c.observe(e)
	c.phase.observe(e)
	if e.Layer == decode.LayerAnalysis {
		switch e.Type {
		case typeHOLStall:
			c.more().holTotal.add(e)
		case typeFlowControlStall:
			c.more().flowControl.add(e)
		}
	}
}

// typeHOLStall is the analysis event of a head-of-line stall: the TCP ones
// come from GapFilled, per-stream ones from decoders (QUIC), pipeline
// ones from HTTP/1.1. typeFlowControlStall is HTTP/2's flow-control stall.
const (
	typeHOLStall         decode.Type = "hol-stall"
	typeFlowControlStall decode.Type = "flow-control-stall"
)

// stallTotals counts stall events and the time during which at least one
// was in progress (stalls that overlap count once). Stalls end in event
// order, so the union of their intervals grows only by the part of each
// after the latest end so far.
type stallTotals struct {
	n    int
	time time.Duration
	end  time.Time
}

func (s *stallTotals) add(e *decode.Event) {
	f, ok := e.Info.Get("duration_ms")
	if !ok || f.Kind != decode.KindDuration {
		return
	}
	end := e.TS
	start := end.Add(-f.Duration())
	s.n++
	if start.Before(s.end) {
		if end.After(s.end) {
			s.time += end.Sub(s.end)
		}
	} else {
		s.time += end.Sub(start)
	}
	if end.After(s.end) {
		s.end = end
	}
}

// datagramDecoder returns the decoder attached to a UDP flow, or nil.
func (c *conn) datagramDecoder() decode.DatagramDecoder {
	if c.x == nil {
		return nil
	}
	return c.x.dgram
}

// appData feeds the attached decoder, disabling it if it fails or panics.
func (c *conn) appData(dir decode.Dir, data []byte, at decode.Position) { c.feed(dir, data, at) }

// guard runs a call into the application decoder. A panic or an error
// becomes a decode-error event and the decoder is disabled for this
// connection; the stream is then only counted.
func (c *conn) guard(at decode.Position, call func() error) {
	if c.appState != appAttached {
		return
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%s: internal error: %v", c.x.appName, r)
			}
		}()
		err = call()
	}()
	if err == nil {
		return
	}
	c.appState = appFailed
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
	e.Info = decode.Info{decode.String("decoder", c.x.appName), decode.String("error", err.Error())}
	c.emit(e)
}

// GapFilled notes a head-of-line stall: bytes that arrived behind a hole
// waited for it (tcpflow.Handler). Its event goes out once the segment's
// bytes are decoded, so that it can name the streams that waited.
func (c *conn) GapFilled(dir decode.Dir, g *tcpflow.Gap) {
	if g.Blocked == 0 {
		return
	}
	x := c.more()
	x.stalls = append(x.stalls, stall{dir: dir, gap: *g})
}

// Skip tells the decoder that bytes will never arrive (tcpflow.Handler).
func (c *conn) Skip(dir decode.Dir, s *tcpflow.Skip) {
	at := decode.Position{Frame: s.Frame, TS: s.TS}
	c.more().hol[dir.Index()].lose(s.Len)
	switch c.appState {
	case appAttached:
		c.guard(at, func() error { c.x.app.Skip(dir, s.Len, at, c.emit); return nil })
	case appSniffing:
		if c.b.opts.Registry.Len() > 0 {
			// A hole before the protocol was recognised: give up on it.
			c.appState = appRaw
			c.x.sniffHeld, c.x.sniffHeldLen, c.x.sniffBuf = nil, 0, [2][]byte{}
		}
	}
}

// end flushes the connection's decoders and emits its summary.
func (c *conn) end(why endReason) {
	at := decode.Position{Frame: c.lastFrame, TS: c.lastTS}
	if c.tcp != nil {
		c.tcp.End(c.lastFrame, c.lastTS)
		c.flushStalls()
	}
	if c.appState == appAttached { // c.x is set
		if c.x.dgram != nil {
			c.guard(at, func() error { c.x.dgram.End(at, c.emit); return nil })
		} else {
			c.guard(at, func() error { c.x.app.End(at, c.emit); return nil })
		}
	}
	for _, ph := range c.phase.phases(c.info.Midstream) {
		c.emit(ph.event())
	}
	c.emit(c.summary(why))
}

// summary builds the conn/summary event (docs/events.md).
func (c *conn) summary(why endReason) decode.Event {
	e := decode.NewEvent(c.lastFrame, c.lastTS, decode.DirNone, decode.LayerConn, decode.TypeSummary)
	handshake := "UDP"
	var packets, bytes [2]uint64
	if c.udp != nil {
		packets, bytes = c.udp.packets, c.udp.bytes
	}
	tcp := c.tcpSummary()
	if tcp.ok {
		handshake = "TCP"
		packets, bytes = tcp.packets, tcp.bytes
	}
	x := c.x
	if x == nil {
		x = new(connExtra) // no stalls, no decoder
	}
	info := make(decode.Info, 0, 20)
	info = append(info, decode.String("handshake", handshake))
	if tcp.ok {
		if hs := tcp.hs; hs.Complete {
			info = append(info, decode.Millis("rtt_ms", hs.RTT()))
		}
	}
	if c.dataSeen && !c.info.Midstream {
		info = append(info, decode.Int("round_trips_before_data", int64(c.dataRounds)))
	}
	info = append(info,
		decode.String("tls_version", ""),
		decode.String("sni", ""),
		decode.String("alpn", ""),
		decode.Int("hol_stalls", int64(x.holTotal.n)),
		decode.Millis("hol_stall_ms", x.holTotal.time),
	)
	if x.flowControl.n > 0 {
		info = append(info, decode.Int("flow_control_stalls", int64(x.flowControl.n)),
			decode.Millis("flow_control_stall_ms", x.flowControl.time))
	}
	if p := c.capturePoint(); p != "" {
		info = append(info, decode.String("capture_point", p))
	}
	info = append(info,
		decode.Int("requests", 0),
		decode.Uint("bytes_c2s", bytes[0]),
		decode.Uint("bytes_s2c", bytes[1]),
		decode.Uint("packets_c2s", packets[0]),
		decode.Uint("packets_s2c", packets[1]),
		decode.Millis("duration_ms", c.lastTS.Sub(c.info.FirstTS)),
	)
	if fb, ok := c.phase.firstByte(c.info.Midstream); ok {
		info = append(info, decode.Millis("ttfb_ms", fb.time().Sub(c.info.FirstTS)))
	}
	if tcp.ok {
		info = append(info, decode.String("close", tcp.close.String()))
		if tcp.halfClosed {
			info = append(info, decode.Bool("half_close", true))
		}
	}
	info = append(info, decode.String("ended", endNames[why]))
	if x.appName != "" {
		info = append(info, decode.String("protocol", x.appName))
	}
	var dec any = x.app
	if x.dgram != nil {
		dec = x.dgram
	}
	if sum, ok := dec.(decode.Summarizer); ok && c.appState == appAttached {
		// Guarded like every call into a decoder: a panic here becomes a
		// decode-error event, not a crash.
		c.guard(decode.Position{Frame: c.lastFrame, TS: c.lastTS}, func() error {
			over := sum.Summary()
			if f, ok := over.Get("rtt_ms"); ok && !info.Has("rtt_ms") {
				// A decoder's RTT (QUIC's ACK samples) where the
				// transport had none: in rtt_ms's place, after handshake.
				info = slices.Insert(info, 1, f)
			}
			mergeSummary(info, over)
			return nil
		})
	}
	if c.info.Midstream {
		info = append(info, decode.Bool("midstream", true))
	}
	e.Info = info
	return e
}

// mergeSummary overwrites fields of info with the same-keyed fields of
// over, keeping info's order.
func mergeSummary(info, over decode.Info) {
	for _, f := range over {
		for i := range info {
			if info[i].Key == f.Key {
				info[i] = f
				break
			}
		}
	}
}
