package tcpflow

import (
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
	// included; StreamBytes counts distinct stream bytes.
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
	// rtt is the handshake RTT once known; it sets the out-of-order
	// threshold as in Wireshark.
	rtt     time.Duration
	close   Close
	halfCl  bool // data flowed toward a side after it sent FIN
	aborted bool
}

// half is one direction, named by its sender.
type half struct {
	seen    bool
	synSeen bool
	isn     uint32
	// base is the sequence number of stream offset 0.
	base uint32

	haveNext  bool
	nextSeq   uint32 // highest sequence number sent plus one
	nextSeqTS time.Time

	haveAck   bool
	lastAck   uint32
	lastAckTS time.Time
	lastWin   uint32 // scaled, as Wireshark compares windows
	dupAcks   int
	wscale    int8

	fin    bool
	finSeq uint32
	rst    bool

	delivered uint64 // next stream offset to deliver
	pending   []pending
	pendBytes int
	gapOff    uint64    // stream offset where the current gap starts
	gapTS     time.Time // when the first byte behind the current gap arrived
	gapFrame  int64

	stats Stats
}

type pending struct {
	off   uint64
	data  []byte
	frame int64
	ts    time.Time
}

// New returns a Conn that hands reassembled bytes to h, which may be nil.
func New(opts Options, h Handler) *Conn {
	d := DefaultLimits()
	if opts.Limits.MaxBufferedBytes <= 0 {
		opts.Limits.MaxBufferedBytes = d.MaxBufferedBytes
	}
	if opts.Limits.MaxBufferedSegments <= 0 {
		opts.Limits.MaxBufferedSegments = d.MaxBufferedSegments
	}
	c := &Conn{opts: opts, handler: h}
	c.half[0].wscale, c.half[1].wscale = -1, -1
	return c
}

// SetHandler replaces the handler that receives reassembled bytes.
func (c *Conn) SetHandler(h Handler) { c.handler = h }

// Handshake returns what was seen of the three-way handshake.
func (c *Conn) Handshake() Handshake { return c.hs }

// CloseKind says how the connection ended so far.
func (c *Conn) CloseKind() Close { return c.close }

// HalfClosed reports that one side kept sending after the other's FIN.
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
	return a.fin && b.fin && b.haveAck && !seqLT(b.lastAck, a.finSeq+1) && a.haveAck && !seqLT(a.lastAck, b.finSeq+1)
}

// IsNewConnection reports whether a segment from dir starts a new
// connection on the same addresses and ports: a SYN (without ACK) with
// another initial sequence number after this one closed, or after the
// previous SYN's connection never got going.
func (c *Conn) IsNewConnection(dir decode.Dir, t *netpkt.TCP) bool {
	if t.Flags&(netpkt.FlagSYN|netpkt.FlagACK) != netpkt.FlagSYN {
		return false
	}
	h := &c.half[dir.Index()]
	if h.synSeen && h.isn == t.Seq {
		return false // a retransmitted SYN
	}
	return c.close != CloseOpen || h.synSeen
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

	if !h.seen {
		h.seen = true
		h.base = t.Seq
		if syn {
			h.base++
		}
	}
	if syn && !h.synSeen && (!h.haveNext || !hasAck || dir == decode.S2C) {
		h.synSeen, h.isn, h.base = true, t.Seq, t.Seq+1
		if t.WScale >= 0 {
			h.wscale = t.WScale
		}
	}
	seglen := uint32(s.PayloadLen)
	if syn {
		seglen++
	}
	if fin {
		seglen++
	}
	h.stats.Segments++
	h.stats.PayloadBytes += uint64(s.PayloadLen)

	an := c.analyze(h, r, s, seglen, syn, fin, rst, hasAck)

	// Flag events.
	ev := func(typ decode.Type) decode.Event {
		e := decode.NewEvent(s.Frame, s.TS, dir, decode.LayerTCP, typ)
		e.Len = int64(s.PayloadLen)
		e.Info = c.segmentInfo(h, s, an)
		return e
	}
	flagged := false
	if syn {
		flagged = true
		if hasAck {
			c.synAck = true
			if c.hs.ACK.IsZero() {
				c.hs.SYNACK = s.TS
			}
			e := ev(decode.TypeSYNACK)
			e.Flags |= decode.FlagReply
			e.Info = appendSYNOptions(e.Info, t)
			emit(e)
		} else {
			if !c.synAck {
				c.hs.SYN = s.TS
			}
			e := ev(decode.TypeSYN)
			e.Flags |= decode.FlagRequest
			e.Info = appendSYNOptions(e.Info, t)
			emit(e)
		}
	} else if hasAck && dir == decode.C2S && c.synAck && !c.hs.Complete && !rst &&
		r.synSeen && t.Ack == r.isn+1 && !c.hs.SYN.IsZero() {
		flagged = true
		c.hs.ACK, c.hs.Complete = s.TS, true
		c.rtt = c.hs.RTT()
		e := ev(decode.TypeACK)
		e.Info = append(e.Info,
			decode.Millis("rtt_ms", c.hs.RTT()),
			decode.Millis("syn_to_synack_ms", c.hs.SYNACK.Sub(c.hs.SYN)),
			decode.Millis("synack_to_ack_ms", c.hs.ACK.Sub(c.hs.SYNACK)))
		emit(e)
	}
	for _, a := range an.list() {
		e := decode.NewEvent(s.Frame, s.TS, dir, decode.LayerTCP, a)
		e.Len = int64(s.PayloadLen)
		e.Info = c.segmentInfo(h, s, analysis{})
		if a == decode.TypeDupAck {
			e.Info = append(e.Info, decode.Int("dup_ack_num", int64(h.dupAcks+1)))
		}
		if flagged && (a == decode.TypeRetransmission || a == decode.TypeFastRetransmission) {
			continue // already said by info.retransmission on the flag event
		}
		emit(e)
	}
	if fin {
		flagged = true
		e := ev(decode.TypeFIN)
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
		flagged = true
		e := ev(decode.TypeRST)
		if dir == decode.S2C && !c.synAck && !c.hs.SYN.IsZero() {
			e.Info = append(e.Info, decode.Bool("refused", true))
			c.close = CloseRefused
		} else if c.close != CloseRefused {
			c.close = CloseRST
		}
		emit(e)
		h.rst = true
	}
	if !flagged && c.opts.Segments {
		e := ev(decode.TypeSegment)
		if s.PayloadLen > 0 {
			e.Flags |= decode.FlagAppData
		}
		emit(e)
	}

	// Payload: a reset's payload is diagnostic text, not stream data.
	if s.PayloadLen > 0 && !rst {
		if r.fin && !h.fin {
			c.halfCl = true
		}
		dataSeq := t.Seq
		if syn {
			dataSeq++
		}
		c.receive(dir, h, dataSeq, s, emit)
	}
	// An acknowledgment beyond what we have seen means the bytes crossed
	// the capture point unseen: stop waiting for them.
	if hasAck && r.seen && !rst {
		c.ackedUnseen(dir.Reverse(), r, t.Ack, s, emit)
	}
	c.update(h, s, seglen, an.dupAck, hasAck)
}

// analysis holds the analysis verdicts for one segment.
type analysis struct {
	retrans, fastRetrans, spurious, outOfOrder, lost, dupAck, zeroWin, keepAlive bool
}

func (a analysis) list() []decode.Type {
	var out [4]decode.Type
	n := 0
	add := func(ok bool, t decode.Type) {
		if ok && n < len(out) {
			out[n] = t
			n++
		}
	}
	add(a.lost, decode.TypeLostSegment)
	add(a.keepAlive, decode.TypeKeepAlive)
	add(a.fastRetrans, decode.TypeFastRetransmission)
	add(a.retrans, decode.TypeRetransmission)
	add(a.outOfOrder, decode.TypeOutOfOrder)
	add(a.dupAck, decode.TypeDupAck)
	add(a.zeroWin, decode.TypeZeroWindow)
	return out[:n]
}

// fastRetransWindow and defaultOOOThreshold follow Wireshark's TCP analysis
// so that counts agree with tshark's tcp.analysis fields.
const (
	fastRetransWindow   = 20 * time.Millisecond
	defaultOOOThreshold = 3 * time.Millisecond
)

// analyze classifies a segment before the state is updated with it.
func (c *Conn) analyze(h, r *half, s *Segment, seglen uint32, syn, fin, rst, hasAck bool) analysis {
	var a analysis
	t := s.TCP
	if t.Window == 0 && !syn && !fin && !rst {
		a.zeroWin = true
	}
	if !h.haveNext {
		return a
	}
	if !rst && seqGT(t.Seq, h.nextSeq) {
		a.lost = true
	}
	if seglen <= 1 && !syn && !fin && !rst && t.Seq == h.nextSeq-1 {
		a.keepAlive = true
	}
	if seglen == 0 && !syn && !fin && !rst && hasAck && h.haveAck && t.Window != 0 &&
		c.scaledWindow(h, t) == h.lastWin && t.Seq == h.nextSeq && t.Ack == h.lastAck {
		a.dupAck = true
	}
	if !a.keepAlive && (seglen > 0) && seqLT(t.Seq, h.nextSeq) && !rst {
		since := s.TS.Sub(r.lastAckTS)
		switch {
		case r.dupAcks >= 2 && r.haveAck && r.lastAck == t.Seq && since < fastRetransWindow:
			a.fastRetrans = true
		default:
			thr := c.rtt
			if thr <= 0 {
				thr = defaultOOOThreshold
			}
			if s.TS.Sub(h.nextSeqTS) < thr && h.nextSeq != t.Seq+seglen {
				a.outOfOrder = true
			} else {
				a.retrans = true
			}
		}
	}
	return a
}

// update records the segment in the sender's sequence state.
func (c *Conn) update(h *half, s *Segment, seglen uint32, dup, hasAck bool) {
	t := s.TCP
	end := t.Seq + seglen
	if !h.haveNext || seqGT(end, h.nextSeq) {
		h.haveNext, h.nextSeq, h.nextSeqTS = true, end, s.TS
	}
	if hasAck {
		switch {
		case dup:
			h.dupAcks++
		case !h.haveAck || t.Ack != h.lastAck:
			h.dupAcks = 0
		}
		h.haveAck, h.lastAck, h.lastAckTS = true, t.Ack, s.TS
	}
	h.lastWin = c.scaledWindow(h, t)
}

// segmentInfo describes a segment for its events: relative sequence and
// acknowledgment numbers as Wireshark shows them, window, flags.
func (c *Conn) segmentInfo(h *half, s *Segment, an analysis) decode.Info {
	t := s.TCP
	r := &c.half[0]
	if h == &c.half[0] {
		r = &c.half[1]
	}
	info := make(decode.Info, 0, 8)
	info = append(info, decode.Uint("seq", uint64(t.Seq-(h.base-1))))
	if t.Flags&netpkt.FlagACK != 0 && r.seen {
		info = append(info, decode.Uint("ack", uint64(t.Ack-(r.base-1))))
	}
	info = append(info, decode.Uint("win", uint64(c.scaledWindow(h, t))), decode.String("flags", flagString(t.Flags)))
	if an.retrans || an.fastRetrans || an.outOfOrder {
		info = append(info, decode.Bool("retransmission", true))
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
