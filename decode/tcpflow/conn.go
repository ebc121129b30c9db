package tcpflow

import (
	"math/bits"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
)

// Limits bound what one connection may buffer.
type Limits struct {
	// MaxBufferedBytes caps out-of-order bytes held per direction.
	MaxBufferedBytes int
	// MaxBufferedSegments caps out-of-order segments held per direction.
	MaxBufferedSegments int
}

// DefaultLimits are the limits used when a field is zero: 4 MiB and 4096
// segments per direction, enough for a lost segment on a fast long path.
func DefaultLimits() Limits { return Limits{MaxBufferedBytes: 4 << 20, MaxBufferedSegments: 4096} }

// Options configure a Conn.
type Options struct {
	Limits Limits
	// Segments asks for a segment event for every data or bare ACK
	// segment that no other event names.
	Segments bool
	// Pool, when set, caps what this Conn and the others sharing the
	// Pool buffer together.
	Pool *Pool
}

// Segment is one TCP segment handed to Conn.Segment. Payload is only read
// during the call.
type Segment struct {
	Frame int64
	TS    time.Time
	TCP   *netpkt.TCP
	// Payload holds the captured payload bytes.
	Payload []byte
	// PayloadLen is the payload length on the wire; it exceeds
	// len(Payload) when the snap length cut the segment.
	PayloadLen int
}

// Handshake records the three-way handshake as seen at the capture point.
type Handshake struct {
	// SYN is the last SYN sent before the first SYN-ACK (so that a
	// retransmitted SYN does not inflate the RTT); SYNACK the last SYN-ACK
	// before the ACK; ACK the segment that completed the handshake.
	SYN, SYNACK, ACK time.Time
	// Complete reports that all three were seen.
	Complete bool
}

// RTT returns the handshake round-trip time, SYN to ACK.
func (h Handshake) RTT() time.Duration { return h.ACK.Sub(h.SYN) }

// Close says how a connection ended, as far as the segments tell.
type Close uint8

// How a connection ended.
const (
	// CloseOpen: neither FIN nor RST was seen.
	CloseOpen Close = iota
	// CloseFIN: both sides sent FIN.
	CloseFIN
	// CloseHalf: one side sent FIN, the other did not (yet).
	CloseHalf
	// CloseRST: a reset ended the connection.
	CloseRST
	// CloseRefused: the server answered the SYN with a reset.
	CloseRefused
)

var closeNames = [...]string{CloseOpen: "open", CloseFIN: "fin", CloseHalf: "half-close", CloseRST: "rst", CloseRefused: "refused"}

// String names the close kind as the summary event does.
func (c Close) String() string {
	if int(c) < len(closeNames) {
		return closeNames[c]
	}
	return "Close(" + string(decode.AppendInt(nil, int64(c))) + ")"
}

// Stats counts one direction's traffic.
type Stats struct {
	Segments uint64
	// PayloadBytes counts payload bytes on the wire, retransmissions
	// included; StreamBytes is the length of the stream so far: distinct
	// bytes, including those the capture did not hold (cut by the snap
	// length, or acknowledged without being seen).
	PayloadBytes, StreamBytes uint64
}

// Conn is the TCP state of one connection. The zero value is not usable;
// call New.
type Conn struct {
	opts    Options
	handler Handler
	half    [2]half
	hs      Handshake
	synAck  bool // a SYN-ACK was seen
	// lastSYN and irtt set the out-of-order threshold as Wireshark does:
	// irtt runs from the most recent SYN to the first segment with ACK
	// and without SYN that follows it, in either direction.
	lastSYN time.Time
	irtt    time.Duration
	close   Close
	halfCl  bool // data flowed toward a side after it sent FIN

	// Reused for Handler calls (valid only during the call).
	chunk   Chunk
	gap     Gap
	skipped Skip
}

// half is one direction, named by its sender.
type half struct {
	seen    bool // a segment was sent this way
	synSeen bool
	synACK  bool // the SYN that set isn had ACK set
	isn     uint32
	// base is the sequence number of stream offset 0: one past the SYN,
	// else the first sequence number seen, or acknowledged by the peer
	// before this side sent anything (so relative numbers agree with
	// Wireshark's on connections picked up mid-stream).
	base    uint32
	baseSet bool

	// Sequence analysis state, as Wireshark keeps it (packet-tcp.c,
	// tcp_analyze_sequence_number).
	haveNext  bool
	nextSeq   uint32 // highest sequence number sent plus one
	nextSeqTS time.Time
	// lastAck is the acknowledgment field of the last segment and
	// lastAckSet whether that segment had ACK set.
	lastAck    uint32
	lastAckSet bool
	lastAckTS  time.Time
	haveWin    bool
	lastWin    uint16 // raw window of the last segment
	dupAcks    int
	lastVerd   verdict // verdicts of the last segment
	wscale     int8

	// highAck is the highest acknowledgment sent (ACK set).
	haveHighAck bool
	highAck     uint32

	fin    bool
	finSeq uint32
	rst    bool

	delivered uint64 // next stream offset to deliver
	pending   []pending
	pendBytes int
	gapOff    uint64    // stream offset where the current gap starts
	gapTS     time.Time // when the first byte behind the current gap arrived
	gapFrame  int64

	// hole is a gap the receiver reported in this direction's stream
	// although the capture saw its bytes (see sack.go).
	hole     ackHole
	edges    sackEdges
	sackPerm bool // this side's SYN offered SACK

	stats Stats
}

// pending is buffered out-of-order stream data: data covers [off,
// off+len(data)) and the cut bytes after it were lost to the snap length.
type pending struct {
	off   uint64
	data  []byte
	cut   uint64
	frame int64
	ts    time.Time
}

func (p *pending) end() uint64 { return p.off + uint64(len(p.data)) + p.cut }

// New returns a Conn that hands reassembled bytes to h, which may be nil.
func New(opts Options, h Handler) *Conn {
	d := DefaultLimits()
	if opts.Limits.MaxBufferedBytes <= 0 {
		opts.Limits.MaxBufferedBytes = d.MaxBufferedBytes
	}
	if opts.Limits.MaxBufferedSegments <= 0 {
		opts.Limits.MaxBufferedSegments = d.MaxBufferedSegments
	}
	c := &Conn{opts: opts}
	c.Reset(h)
	return c
}

// Reset makes c a new connection with the same options, handing its
// bytes to h, so that a caller can reuse a Conn. What c still buffered is
// dropped (and returned to its Pool).
func (c *Conn) Reset(h Handler) {
	for i := range c.half {
		for j := range c.half[i].pending {
			c.opts.Pool.add(-pendingCost(&c.half[i].pending[j]))
		}
	}
	*c = Conn{opts: c.opts, handler: h}
	c.half[0].wscale, c.half[1].wscale = -1, -1
}

// SetHandler replaces the handler that receives reassembled bytes.
func (c *Conn) SetHandler(h Handler) { c.handler = h }

// Handshake returns what was seen of the three-way handshake.
func (c *Conn) Handshake() Handshake { return c.hs }

// CloseKind says how the connection ended so far.
func (c *Conn) CloseKind() Close { return c.close }

// HalfClosed reports that one side kept sending new data after the other's
// FIN.
func (c *Conn) HalfClosed() bool { return c.halfCl }

// Stats returns the counters of one direction.
func (c *Conn) Stats(d decode.Dir) Stats { return c.half[d.Index()].stats }

// Done reports that the connection is over: reset, or both FINs sent and
// acknowledged.
func (c *Conn) Done() bool {
	if c.close == CloseRST || c.close == CloseRefused {
		return true
	}
	a, b := &c.half[0], &c.half[1]
	return a.fin && b.fin && b.acked(a.finSeq+1) && a.acked(b.finSeq+1)
}

// acked reports that h acknowledged everything before seq.
func (h *half) acked(seq uint32) bool { return h.haveHighAck && !seqLT(h.highAck, seq) }

// IsNewConnection reports whether a segment from dir starts a new
// connection on the same addresses and ports: a SYN (without ACK) after
// this connection closed, or with another initial sequence number than an
// earlier SYN of dir, or, on a connection picked up mid-stream or at its
// SYN-ACK, at another sequence number than the one just before dir's first
// byte (as tshark decides port reuse). A SYN with the same sequence number
// is a retransmission, and a SYN from the side that has not sent one yet,
// answering the peer's plain SYN (a split or simultaneous open), belongs to
// this connection.
func (c *Conn) IsNewConnection(dir decode.Dir, t *netpkt.TCP) bool {
	if t.Flags&(netpkt.FlagSYN|netpkt.FlagACK) != netpkt.FlagSYN {
		return false
	}
	h := &c.half[dir.Index()]
	r := &c.half[dir.Reverse().Index()]
	switch {
	case h.synSeen:
		return h.isn != t.Seq
	case c.close != CloseOpen:
		return true
	case h.baseSet && (!r.synSeen || r.synACK):
		// Picked up mid-stream or at the SYN-ACK: a SYN just before the
		// first byte seen (or acknowledged) is that connection's own
		// SYN, captured late. (After the peer's plain SYN it is a split
		// or simultaneous open.)
		return t.Seq != h.base-1
	}
	return false
}

// Segment processes one segment sent in direction dir and emits its events.
func (c *Conn) Segment(dir decode.Dir, s *Segment, emit decode.Emit) {
	t := s.TCP
	h := &c.half[dir.Index()]
	r := &c.half[dir.Reverse().Index()]
	syn := t.Flags&netpkt.FlagSYN != 0
	fin := t.Flags&netpkt.FlagFIN != 0
	rst := t.Flags&netpkt.FlagRST != 0
	hasAck := t.Flags&netpkt.FlagACK != 0

	h.seen = true
	if !h.baseSet {
		h.baseSet, h.base = true, t.Seq
		if syn {
			h.base++
		}
	}
	if hasAck && !r.baseSet {
		r.baseSet, r.base = true, t.Ack
	}
	// The first SYN of a direction fixes its sequence space, unless
	// stream bytes were already placed in the old one.
	if syn && !h.synSeen && h.delivered == 0 && len(h.pending) == 0 {
		h.synSeen, h.synACK, h.isn, h.base = true, hasAck, t.Seq, t.Seq+1
		h.haveNext = false
		if t.WScale >= 0 {
			h.wscale = t.WScale
		}
		h.sackPerm = t.SACKPermitted
	}
	if syn && !hasAck {
		c.lastSYN = s.TS
	} else if hasAck && !syn && c.irtt == 0 && !c.lastSYN.IsZero() {
		c.irtt = s.TS.Sub(c.lastSYN)
	}
	h.stats.Segments++
	h.stats.PayloadBytes += uint64(s.PayloadLen)

	v := c.analyze(h, r, s)

	// Flag events carry the segment's verdicts as info (the first of
	// them, when a segment has several flags); the other segments get
	// analysis events.
	flagSeg := syn || fin || rst
	fv := v
	named := false
	if syn {
		named = true
		if hasAck {
			c.synAck = true
			if c.hs.ACK.IsZero() {
				c.hs.SYNACK = s.TS
			}
			if c.close == CloseRefused {
				// The reset did not refuse the connection after all.
				c.close = CloseRST
			}
			e := c.event(dir, h, s, decode.TypeSYNACK, fv, 4)
			e.Flags |= decode.FlagReply
			e.Info = appendSYNOptions(e.Info, t)
			emit(e)
		} else {
			if !c.synAck {
				c.hs.SYN = s.TS
			}
			e := c.event(dir, h, s, decode.TypeSYN, fv, 4)
			e.Flags |= decode.FlagRequest
			e.Info = appendSYNOptions(e.Info, t)
			emit(e)
		}
		fv = 0
	} else if hasAck && dir == decode.C2S && c.synAck && !c.hs.Complete && !rst &&
		r.synSeen && t.Ack == r.isn+1 && !c.hs.SYN.IsZero() {
		named = true
		c.hs.ACK, c.hs.Complete = s.TS, true
		e := c.event(dir, h, s, decode.TypeACK, 0, 3)
		e.Info = append(e.Info,
			decode.Millis("rtt_ms", c.hs.RTT()),
			decode.Millis("syn_to_synack_ms", c.hs.SYNACK.Sub(c.hs.SYN)),
			decode.Millis("synack_to_ack_ms", c.hs.ACK.Sub(c.hs.SYNACK)))
		emit(e)
	}
	if !flagSeg {
		for _, a := range analysisTypes {
			if v&a.v == 0 {
				continue
			}
			named = true
			e := c.event(dir, h, s, a.typ, 0, 2)
			switch a.typ {
			case decode.TypeRetransmission, decode.TypeFastRetransmission:
				e.Info = append(e.Info, decode.Bool("retransmission", true))
				if v&vSpurious != 0 {
					e.Info = append(e.Info, decode.Bool("spurious", true))
				}
			case decode.TypeDupAck:
				e.Info = append(e.Info, decode.Int("dup_ack_num", int64(h.dupAcks+1)))
			}
			emit(e)
		}
	}
	if !named && c.opts.Segments {
		e := c.event(dir, h, s, decode.TypeSegment, 0, 0)
		if s.PayloadLen > 0 {
			e.Flags |= decode.FlagAppData
		}
		emit(e)
	}
	if fin {
		e := c.event(dir, h, s, decode.TypeFIN, fv, 1)
		fv = 0
		if !r.fin {
			e.Info = append(e.Info, decode.Bool("active_close", true))
		}
		emit(e)
		if !h.fin {
			h.fin, h.finSeq = true, t.Seq+uint32(s.PayloadLen)
			if syn {
				h.finSeq++
			}
		}
		if c.close == CloseOpen {
			c.close = CloseHalf
		}
		if r.fin && c.close == CloseHalf {
			c.close = CloseFIN
		}
	}
	if rst {
		e := c.event(dir, h, s, decode.TypeRST, fv, 1)
		if dir == decode.S2C && !c.synAck && !c.hs.SYN.IsZero() {
			e.Info = append(e.Info, decode.Bool("refused", true))
			c.close = CloseRefused
		} else if c.close != CloseRefused {
			c.close = CloseRST
		}
		emit(e)
		h.rst = true
	}

	// Payload: a reset's payload is diagnostic text, not stream data.
	if s.PayloadLen > 0 && !rst {
		dataSeq := t.Seq
		if syn {
			dataSeq++
		}
		if r.fin && !h.fin && (!h.haveNext || seqGT(dataSeq+uint32(s.PayloadLen), h.nextSeq)) {
			c.halfCl = true // new data toward a side that sent FIN
		}
		c.noteRetransmit(h, dataSeq, s)
		c.receive(dir, h, dataSeq, s, emit)
	}
	// An acknowledgment beyond what we have seen means the bytes crossed
	// the capture point unseen: stop waiting for them.
	if hasAck && r.seen && !rst {
		c.ackedUnseen(dir.Reverse(), r, t.Ack, s)
		c.ackHole(dir.Reverse(), r, t, s, v&vDupAck != 0)
	}
	c.update(h, s, v)
}

// verdict is a set of sequence-analysis results for one segment.
type verdict uint16

const (
	vRetrans verdict = 1 << iota
	vFastRetrans
	vSpurious
	vOutOfOrder
	vLost
	vDupAck
	vZeroWin
	vKeepAlive
	// Verdicts that only steer later analysis; they have no events.
	vZeroWinProbe
	vKeepAliveAck
	vZeroWinProbeAck
)

// analysisTypes maps verdicts to event types in emission order.
var analysisTypes = [...]struct {
	v   verdict
	typ decode.Type
}{
	{vLost, decode.TypeLostSegment},
	{vKeepAlive, decode.TypeKeepAlive},
	{vFastRetrans, decode.TypeFastRetransmission},
	{vRetrans, decode.TypeRetransmission},
	{vOutOfOrder, decode.TypeOutOfOrder},
	{vDupAck, decode.TypeDupAck},
	{vZeroWin, decode.TypeZeroWindow},
}

// fastRetransWindow and defaultOOOThreshold follow Wireshark's TCP analysis
// so that counts agree with tshark's tcp.analysis fields.
const (
	fastRetransWindow   = 20 * time.Millisecond
	defaultOOOThreshold = 3 * time.Millisecond
)

// analyze classifies a segment before the state is updated with it. The
// rules and their order are Wireshark's (packet-tcp.c,
// tcp_analyze_sequence_number); windows are compared unscaled, as there.
func (c *Conn) analyze(h, r *half, s *Segment) verdict {
	t := s.TCP
	seq, payload := t.Seq, uint32(s.PayloadLen)
	synFin := t.Flags&(netpkt.FlagSYN|netpkt.FlagFIN) != 0
	plain := t.Flags&(netpkt.FlagSYN|netpkt.FlagFIN|netpkt.FlagRST) == 0
	var v verdict

	// A zero-window probe: one byte at the next sequence number while the
	// peer's window is closed. It skips the checks below and does not
	// advance the sequence.
	if payload == 1 && h.haveNext && seq == h.nextSeq && r.haveWin && r.lastWin == 0 {
		v |= vZeroWinProbe
	} else {
		if t.Window == 0 && plain {
			v |= vZeroWin
		}
		if h.haveNext && seqGT(seq, h.nextSeq) && t.Flags&netpkt.FlagRST == 0 {
			v |= vLost
		}
		if payload <= 1 && h.haveNext && seq == h.nextSeq-1 && plain {
			v |= vKeepAlive
		}
		sameAck := payload == 0 && plain && h.haveNext && seq == h.nextSeq &&
			h.haveWin && t.Window == h.lastWin && t.Ack == h.lastAck
		switch {
		case sameAck && t.Window != 0 && r.lastVerd&vKeepAlive != 0:
			v |= vKeepAliveAck
		case sameAck && t.Window == 0 && r.lastVerd&vZeroWinProbe != 0:
			v |= vZeroWinProbeAck
		case sameAck && t.Window != 0:
			v |= vDupAck
		}
	}

	if (payload == 0 && !synFin) || v&vKeepAlive != 0 {
		return v
	}
	notAdvanced := h.haveNext && seqLT(seq, h.nextSeq)
	if payload > 1 && h.haveNext && seq == h.nextSeq-1 {
		notAdvanced = false // new data after a zero-window probe
	}
	switch {
	case payload > 0 && r.lastAckSet && !seqGT(seq+payload, r.lastAck):
		// The receiver had acknowledged all of it already.
		v |= vRetrans | vSpurious
	case notAdvanced && r.dupAcks >= 2 && r.lastAck == seq && s.TS.Sub(r.lastAckTS) < fastRetransWindow:
		v |= vFastRetrans
	case notAdvanced && s.TS.Sub(h.nextSeqTS) < c.oooThreshold() && h.nextSeq != seq+payload+b2u(synFin):
		v |= vOutOfOrder
	case notAdvanced:
		v |= vRetrans
	}
	return v
}

// oooThreshold is how soon after the highest segment a lower one counts as
// reordered rather than retransmitted: the initial RTT, or 3 ms.
func (c *Conn) oooThreshold() time.Duration {
	if c.irtt > 0 {
		return c.irtt
	}
	return defaultOOOThreshold
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// update records the segment in the sender's sequence state.
func (c *Conn) update(h *half, s *Segment, v verdict) {
	t := s.TCP
	end := t.Seq + uint32(s.PayloadLen)
	if t.Flags&(netpkt.FlagSYN|netpkt.FlagFIN) != 0 {
		end++
	}
	if (!h.haveNext || seqGT(end, h.nextSeq)) && v&vZeroWinProbe == 0 {
		h.haveNext, h.nextSeq, h.nextSeqTS = true, end, s.TS
	}
	switch {
	case v&vDupAck != 0:
		h.dupAcks++
	case t.Ack != h.lastAck:
		h.dupAcks = 0
	}
	hasAck := t.Flags&netpkt.FlagACK != 0
	h.lastAck, h.lastAckSet, h.lastAckTS = t.Ack, hasAck, s.TS
	if hasAck && (!h.haveHighAck || seqGT(t.Ack, h.highAck)) {
		h.haveHighAck, h.highAck = true, t.Ack
	}
	h.haveWin, h.lastWin = true, t.Window
	h.lastVerd = v
}

// event builds a TCP event for the segment. v is given for flag events,
// which carry the segment's verdicts as info; extra is room for the fields
// the caller adds.
func (c *Conn) event(dir decode.Dir, h *half, s *Segment, typ decode.Type, v verdict, extra int) decode.Event {
	e := decode.NewEvent(s.Frame, s.TS, dir, decode.LayerTCP, typ)
	e.Len = int64(s.PayloadLen)
	e.Info = c.segmentInfo(h, s, v, extra)
	return e
}

// segmentInfo describes a segment for its events: relative sequence and
// acknowledgment numbers as Wireshark shows them, window, flags, and for
// flag events the retransmission verdict.
func (c *Conn) segmentInfo(h *half, s *Segment, v verdict, extra int) decode.Info {
	t := s.TCP
	r := &c.half[0]
	if h == &c.half[0] {
		r = &c.half[1]
	}
	// One field per verdict, two for a fast retransmission.
	n := 4 + extra + bits.OnesCount16(uint16(v&(vRetrans|vFastRetrans|vSpurious|vOutOfOrder|vLost))) +
		bits.OnesCount16(uint16(v&vFastRetrans))
	if len(s.Payload) < s.PayloadLen {
		n++
	}
	info := make(decode.Info, 0, n)
	info = append(info, decode.Uint("seq", uint64(t.Seq-(h.base-1))))
	if t.Flags&netpkt.FlagACK != 0 && r.baseSet {
		info = append(info, decode.Uint("ack", uint64(t.Ack-(r.base-1))))
	}
	info = append(info, decode.Uint("win", uint64(c.scaledWindow(h, t))), decode.String("flags", flagString(t.Flags)))
	if v&(vRetrans|vFastRetrans) != 0 {
		info = append(info, decode.Bool("retransmission", true))
	}
	if v&vFastRetrans != 0 {
		info = append(info, decode.Bool("fast_retransmission", true))
	}
	if v&vSpurious != 0 {
		info = append(info, decode.Bool("spurious", true))
	}
	if v&vOutOfOrder != 0 {
		info = append(info, decode.Bool("out_of_order", true))
	}
	if v&vLost != 0 {
		info = append(info, decode.Bool("lost_segment", true))
	}
	if len(s.Payload) < s.PayloadLen {
		info = append(info, decode.Bool("truncated", true))
	}
	return info
}

// scaledWindow applies the window scale (RFC 7323 section 2.2) when both
// SYNs carried the option; SYN segments are never scaled.
func (c *Conn) scaledWindow(h *half, t *netpkt.TCP) uint32 {
	w := uint32(t.Window)
	if t.Flags&netpkt.FlagSYN != 0 || c.half[0].wscale < 0 || c.half[1].wscale < 0 {
		return w
	}
	return w << uint(h.wscale)
}

func appendSYNOptions(info decode.Info, t *netpkt.TCP) decode.Info {
	if t.MSS != 0 {
		info = append(info, decode.Int("mss", int64(t.MSS)))
	}
	if t.WScale >= 0 {
		info = append(info, decode.Int("wscale", int64(t.WScale)))
	}
	if t.SACKPermitted {
		info = append(info, decode.Bool("sack_perm", true))
	}
	if t.HasTimestamps {
		info = append(info, decode.Bool("timestamps", true))
	}
	return info
}

var flagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"}

// flagString joins the set flags with "|" in the order tcpdump prints them.
func flagString(f uint16) string {
	switch f {
	case netpkt.FlagACK:
		return "ACK"
	case netpkt.FlagSYN:
		return "SYN"
	case netpkt.FlagSYN | netpkt.FlagACK:
		return "SYN|ACK"
	case netpkt.FlagPSH | netpkt.FlagACK:
		return "PSH|ACK"
	case netpkt.FlagFIN | netpkt.FlagACK:
		return "FIN|ACK"
	case netpkt.FlagRST | netpkt.FlagACK:
		return "RST|ACK"
	}
	var b []byte
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, n...)
		}
	}
	if b == nil {
		return "none"
	}
	return string(b)
}
