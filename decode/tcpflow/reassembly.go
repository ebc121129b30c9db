package tcpflow

import (
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Chunk is a run of in-order stream bytes. Data is valid only during the
// Handler call.
type Chunk struct {
	// Offset is the stream offset of Data[0]; offset 0 is the first byte
	// after the SYN (or the first byte seen, for a connection picked up
	// mid-stream).
	Offset uint64
	Data   []byte
	// Frame and TS say which packet carried the bytes and when it arrived.
	Frame int64
	TS    time.Time
	// Held reports that the bytes arrived behind a gap and could only be
	// read once it was filled, at Released by frame ReleasedFrame.
	Held          bool
	Released      time.Time
	ReleasedFrame int64
}

// Gap is a hole in a stream that was later filled.
type Gap struct {
	// Offset and Len locate the missing bytes in the stream.
	Offset, Len uint64
	// Opened is when the first byte behind the hole arrived.
	Opened      time.Time
	OpenedFrame int64
	// Filled is when the missing bytes arrived.
	Filled      time.Time
	FilledFrame int64
	// Blocked is how many bytes had arrived behind the hole and waited.
	Blocked uint64
}

// SkipReason says why bytes were skipped.
type SkipReason uint8

// Reasons for skipping stream bytes.
const (
	// SkipUnseen: the receiver acknowledged bytes the capture never saw.
	SkipUnseen SkipReason = iota + 1
	// SkipSnaplen: the snap length cut the segment's payload.
	SkipSnaplen
	// SkipCap: a buffering cap was hit and the gap was given up.
	SkipCap
	// SkipEnd: the connection ended with the gap still open.
	SkipEnd
)

var skipNames = [...]string{SkipUnseen: "unseen", SkipSnaplen: "snaplen", SkipCap: "cap", SkipEnd: "end"}

// String names the reason.
func (r SkipReason) String() string {
	if int(r) < len(skipNames) && skipNames[r] != "" {
		return skipNames[r]
	}
	return "SkipReason(" + string(decode.AppendInt(nil, int64(r))) + ")"
}

// Skip reports stream bytes that will never be delivered.
type Skip struct {
	Offset, Len uint64
	Reason      SkipReason
	Frame       int64
	TS          time.Time
}

// Handler receives the reassembled streams of a connection.
type Handler interface {
	// Data delivers the next in-order bytes of direction dir.
	Data(dir decode.Dir, c *Chunk)
	// GapFilled reports a hole that was filled; the bytes behind it are
	// delivered (Held) right after.
	GapFilled(dir decode.Dir, g *Gap)
	// Skip reports bytes of dir that will never arrive; the next Data
	// starts after them.
	Skip(dir decode.Dir, s *Skip)
}

// streamOffset maps a sequence number to a stream offset relative to what
// was delivered; negative results mean bytes before the delivered point.
func (h *half) streamOffset(seq uint32) int64 {
	return int64(h.delivered) + seqDiff(seq, h.base+uint32(h.delivered))
}

// receive places a segment's payload in the stream of direction dir.
func (c *Conn) receive(dir decode.Dir, h *half, seq uint32, s *Segment, emit decode.Emit) {
	data := s.Payload
	off := h.streamOffset(seq)
	end := off + int64(s.PayloadLen)
	if end <= int64(h.delivered) {
		return // entirely old: a retransmission or keep-alive
	}
	if off < int64(h.delivered) {
		trim := int64(h.delivered) - off
		if trim >= int64(len(data)) {
			data = nil
		} else {
			data = data[trim:]
		}
		off = int64(h.delivered)
	}
	missing := uint64(end-off) - uint64(len(data)) // cut by the snap length
	if uint64(off) == h.delivered {
		if len(data) > 0 {
			c.deliver(dir, h, &Chunk{Offset: uint64(off), Data: data, Frame: s.Frame, TS: s.TS})
		}
		if missing > 0 {
			c.skip(dir, h, missing, SkipSnaplen, s)
		}
		c.drain(dir, h, s)
		return
	}
	// Out of order: keep a copy until the gap before it fills.
	if len(data) > 0 {
		c.hold(dir, h, uint64(off), data, s, emit)
	}
}

// hold buffers out-of-order bytes, keeping pending sorted and disjoint.
func (c *Conn) hold(dir decode.Dir, h *half, off uint64, data []byte, s *Segment, emit decode.Emit) {
	if len(h.pending) == 0 {
		h.gapOff, h.gapTS, h.gapFrame = h.delivered, s.TS, s.Frame
	}
	// Find the insertion point; trim against neighbours (first copy wins).
	i := len(h.pending)
	for i > 0 && h.pending[i-1].off > off {
		i--
	}
	if i > 0 {
		prev := &h.pending[i-1]
		if pend := prev.off + uint64(len(prev.data)); pend > off {
			cut := pend - off
			if cut >= uint64(len(data)) {
				return
			}
			data, off = data[cut:], pend
		}
	}
	if i < len(h.pending) {
		next := h.pending[i].off
		if off+uint64(len(data)) > next {
			data = data[:next-off]
		}
	}
	if len(data) == 0 {
		return
	}
	p := pending{off: off, data: append([]byte(nil), data...), frame: s.Frame, ts: s.TS}
	h.pending = append(h.pending, pending{})
	copy(h.pending[i+1:], h.pending[i:])
	h.pending[i] = p
	h.pendBytes += len(data)
	lim := c.opts.Limits
	for len(h.pending) > 0 && (h.pendBytes > lim.MaxBufferedBytes || len(h.pending) > lim.MaxBufferedSegments) {
		first := h.pending[0].off
		e := decode.NewEvent(s.Frame, s.TS, dir, decode.LayerCapture, decode.TypeCapLimit)
		e.Info = decode.Info{
			decode.String("limit", "reassembly"),
			decode.Int("max_bytes", int64(lim.MaxBufferedBytes)),
			decode.Int("max_segments", int64(lim.MaxBufferedSegments)),
			decode.Uint("skipped", first-h.delivered),
		}
		emit(e)
		c.skip(dir, h, first-h.delivered, SkipCap, s)
		c.drain(dir, h, s)
	}
}

// drain delivers buffered bytes that have become contiguous; s is the
// segment that made them so.
func (c *Conn) drain(dir decode.Dir, h *half, s *Segment) {
	if len(h.pending) == 0 || h.pending[0].off > h.delivered {
		return
	}
	if c.handler != nil {
		// Count the bytes that become readable now: the contiguous run.
		var blocked uint64
		pos := h.delivered
		for _, p := range h.pending {
			end := p.off + uint64(len(p.data))
			if p.off > pos {
				break
			}
			if end > pos {
				blocked += end - pos
				pos = end
			}
		}
		gapOff := min(h.gapOff, h.pending[0].off)
		c.handler.GapFilled(dir, &Gap{
			Offset: gapOff, Len: h.pending[0].off - gapOff, Opened: h.gapTS, OpenedFrame: h.gapFrame,
			Filled: s.TS, FilledFrame: s.Frame, Blocked: blocked,
		})
	}
	n := 0
	for ; n < len(h.pending); n++ {
		p := &h.pending[n]
		if p.off > h.delivered {
			break
		}
		data := p.data
		if p.off < h.delivered {
			cut := h.delivered - p.off
			if cut >= uint64(len(data)) {
				h.pendBytes -= len(p.data)
				continue
			}
			data = data[cut:]
		}
		c.deliver(dir, h, &Chunk{Offset: h.delivered, Data: data, Frame: p.frame, TS: p.ts,
			Held: true, Released: s.TS, ReleasedFrame: s.Frame})
		h.pendBytes -= len(p.data)
	}
	clear(h.pending[:n])
	h.pending = append(h.pending[:0], h.pending[n:]...)
	if len(h.pending) > 0 {
		// A later hole is now the first; it opened when its first byte came.
		h.gapOff, h.gapTS, h.gapFrame = h.delivered, h.pending[0].ts, h.pending[0].frame
	}
}

func (c *Conn) deliver(dir decode.Dir, h *half, ch *Chunk) {
	h.delivered += uint64(len(ch.Data))
	h.stats.StreamBytes += uint64(len(ch.Data))
	if c.handler != nil {
		c.handler.Data(dir, ch)
	}
}

func (c *Conn) skip(dir decode.Dir, h *half, n uint64, why SkipReason, s *Segment) {
	if n == 0 {
		return
	}
	if c.handler != nil {
		c.handler.Skip(dir, &Skip{Offset: h.delivered, Len: n, Reason: why, Frame: s.Frame, TS: s.TS})
	}
	h.delivered += n
}

// ackedUnseen gives up bytes of direction dir that the peer acknowledged
// although the capture never saw them.
func (c *Conn) ackedUnseen(dir decode.Dir, h *half, ack uint32, s *Segment, emit decode.Emit) {
	limit := ack
	if h.fin && seqGT(limit, h.finSeq) {
		limit = h.finSeq
	}
	if h.synSeen && limit == h.isn+1 && h.delivered == 0 {
		return
	}
	off := h.streamOffset(limit)
	if off <= int64(h.delivered) || off-int64(h.delivered) > 1<<30 {
		return
	}
	n := uint64(off) - h.delivered
	if len(h.pending) > 0 && h.pending[0].off < uint64(off) {
		n = h.pending[0].off - h.delivered
	}
	c.skip(dir, h, n, SkipUnseen, s)
	c.drain(dir, h, s)
}

// End gives up every open gap and delivers what is buffered, as when the
// connection closes or the input ends. frame and ts are the last packet's.
func (c *Conn) End(frame int64, ts time.Time) {
	s := &Segment{Frame: frame, TS: ts}
	for i := range c.half {
		h := &c.half[i]
		dir := decode.Dir(i + 1)
		for len(h.pending) > 0 {
			c.skip(dir, h, h.pending[0].off-h.delivered, SkipEnd, s)
			c.drain(dir, h, s)
		}
		h.pending, h.pendBytes = nil, 0
	}
}
