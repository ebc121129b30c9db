package tcpflow

import (
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
)

// Holes downstream of the capture point.
//
// A capture taken at the sender (or anywhere between the sender and the
// loss) sees every byte go by and reassembles the stream without a gap;
// the receiver's acknowledgments tell what it was missing. An ACK whose
// SACK blocks (RFC 2018) lie above its cumulative acknowledgment says the
// receiver holds bytes beyond a hole [ack, first block); the hole is
// filled when a later cumulative acknowledgment reaches its end, and the
// bytes the receiver held behind it become readable at once. Without SACK
// a duplicate ACK says the same with an unknown hole length; the first
// retransmission from the hole's start gives it. A spurious retransmission
// (the receiver had the bytes) produces no SACK hole and so no stall; a
// D-SACK block (RFC 2883) lies at or below the cumulative acknowledgment
// and is ignored.

// ackHole is a hole in one direction's stream as its receiver reported it.
type ackHole struct {
	open bool
	// noSACK: opened by a duplicate ACK without SACK blocks; end is not
	// known until a retransmission from off or the fill.
	noSACK bool
	off    uint64 // stream offset of the first missing byte
	end    uint64 // one past the last missing byte (SACK)
	retx   uint64 // length of the first retransmission from off (no SACK)
	opened time.Time
	frame  int64
}

// maxHoleSpan bounds how far above the cumulative acknowledgment a SACK
// block may lie and still be believed.
const maxHoleSpan = 1 << 30

// ackHole follows the holes that the acknowledgment t, sent toward the
// sender of direction dir (whose state is h), reports in dir's stream,
// and reports each one filled through the handler as a downstream Gap.
// dup says the segment was a duplicate ACK.
func (c *Conn) ackHole(dir decode.Dir, h *half, t *netpkt.TCP, s *Segment, dup bool) {
	if !h.baseSet || !h.haveNext {
		return
	}
	ackOff := h.streamOffset(t.Ack)
	if ackOff < 0 || ackOff > h.streamOffset(h.nextSeq) {
		return // not an acknowledgment of this stream's bytes
	}
	ack := uint64(ackOff)
	ho := &h.hole
	// The SACK blocks above the acknowledgment: the lowest left edge,
	// and when each left edge was first reported.
	var left uint64
	for i := range min(int(t.NSACK), len(t.SACK)) {
		b := t.SACK[i]
		if !seqGT(b.Left, t.Ack) || !seqGT(b.Right, b.Left) || seqGT(b.Right, h.nextSeq) ||
			seqDiff(b.Left, t.Ack) > maxHoleSpan {
			continue
		}
		l := uint64(h.streamOffset(b.Left))
		if left == 0 || l < left {
			left = l
		}
		h.edges.note(l, s)
	}
	h.edges.prune(ack)
	if ho.open && ack > ho.off {
		end := ho.end
		if ho.noSACK {
			end = ho.off + ho.retx
			if ho.retx == 0 || end > ack {
				end = ack
			}
		}
		if ack >= end {
			if blocked := ack - end; blocked > 0 && c.handler != nil {
				c.gap = Gap{Offset: ho.off, Len: end - ho.off, Opened: ho.opened, OpenedFrame: ho.frame,
					Filled: s.TS, FilledFrame: s.Frame, Blocked: blocked, Downstream: true}
				c.handler.GapFilled(dir, &c.gap)
			}
			ho.open = false
		}
	}
	if ho.open {
		return
	}
	// A new hole: below the lowest SACK block above the acknowledgment.
	// It opened when that block was first reported: a hole behind one
	// just filled has been open since the bytes above it arrived.
	switch {
	case left > 0:
		if h.delivered < left || len(h.pending) > 0 && h.pending[0].off < left {
			// The capture lacks bytes of the hole too: the loss was
			// before it, and reassembly reports the stall.
			return
		}
		// One ACK lists only the latest three or four blocks: the
		// lowest edge reported since is the hole's end.
		left = h.edges.lowest(left)
		ts, frame := h.edges.first(left, s)
		*ho = ackHole{open: true, off: ack, end: left, opened: ts, frame: frame}
	case dup && t.NSACK == 0 && !(c.half[0].sackPerm && c.half[1].sackPerm):
		if h.delivered <= ack || len(h.pending) > 0 && h.pending[0].off <= ack {
			return
		}
		*ho = ackHole{open: true, noSACK: true, off: ack, opened: s.TS, frame: s.Frame}
	}
}

// noteRetransmit records the length of the first retransmission from the
// start of a hole reported without SACK.
func (c *Conn) noteRetransmit(h *half, seq uint32, s *Segment) {
	ho := &h.hole
	if ho.open && ho.noSACK && ho.retx == 0 && h.streamOffset(seq) == int64(ho.off) {
		ho.retx = uint64(s.PayloadLen)
	}
}

// sackEdges remembers when the left edges of SACK blocks were first
// reported, for the holes below them: an ACK lists only the three or four
// newest blocks, so an edge is seen once and then only remembered. At
// most maxSACKEdges are kept, the lowest; the list is allocated with the
// first hole.
type sackEdges struct {
	edges []sackEdge
}

type sackEdge struct {
	left  uint64
	ts    time.Time
	frame int64
}

// maxSACKEdges bounds the edges remembered per direction: as many holes
// as a receiver can report at once on a long fat path.
const maxSACKEdges = 64

func (e *sackEdges) note(left uint64, s *Segment) {
	hi := -1
	for i := range e.edges {
		if e.edges[i].left == left {
			return
		}
		if hi < 0 || e.edges[i].left > e.edges[hi].left {
			hi = i
		}
	}
	edge := sackEdge{left: left, ts: s.TS, frame: s.Frame}
	if len(e.edges) < maxSACKEdges {
		e.edges = append(e.edges, edge)
	} else if e.edges[hi].left > left {
		e.edges[hi] = edge // full: forget the highest, the last to matter
	}
}

// prune forgets the edges at or below the acknowledgment.
func (e *sackEdges) prune(ack uint64) {
	n := 0
	for i := range e.edges {
		if e.edges[i].left > ack {
			e.edges[n] = e.edges[i]
			n++
		}
	}
	e.edges = e.edges[:n]
}

// first returns when the edge left was first reported, or s's time.
func (e *sackEdges) first(left uint64, s *Segment) (time.Time, int64) {
	for i := range e.edges {
		if e.edges[i].left == left {
			return e.edges[i].ts, e.edges[i].frame
		}
	}
	return s.TS, s.Frame
}

// lowest returns the lowest remembered edge below left, or left.
func (e *sackEdges) lowest(left uint64) uint64 {
	for i := range e.edges {
		left = min(left, e.edges[i].left)
	}
	return left
}
