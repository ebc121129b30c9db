package tcpflow

import (
	"slices"
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
	// Downstream reports a hole the capture did not have: it saw the
	// missing bytes go by, and the receiver's acknowledgments (SACK
	// blocks, or duplicate ACKs without SACK) showed them missing, from
	// the first acknowledgment that did (Opened) until the cumulative
	// acknowledgment passed the hole (Filled). The capture was taken
	// between the sender and the loss. Blocked is then how far that
	// acknowledgment jumped past the hole.
	Downstream bool
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

// Handler receives the reassembled streams of a connection. The *Chunk,
// *Gap and *Skip passed to it are reused: they, and Chunk.Data, are valid
// only during the call. A Handler must not call back into the Conn.
type Handler interface {
	// Data delivers the next in-order bytes of direction dir.
	Data(dir decode.Dir, c *Chunk)
	// GapFilled reports a hole that was filled; the bytes behind it are
	// delivered (Held) right after. A downstream hole (g.Downstream)
	// is in bytes delivered earlier: nothing follows it.
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
	if len(data) > s.PayloadLen {
		data = data[:s.PayloadLen]
	}
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
	cut := uint64(end-off) - uint64(len(data)) // lost to the snap length
	if uint64(off) != h.delivered {
		// Out of order: keep a copy until the gap before it fills.
		c.hold(dir, h, uint64(off), data, cut, s, emit)
		return
	}
	// In order up to the first held piece; what lies beyond it is merged
	// with the held pieces, where the first copy wins.
	limit := uint64(end)
	if len(h.pending) > 0 && h.pending[0].off < limit {
		limit = h.pending[0].off
	}
	n := min(limit-uint64(off), uint64(len(data)))
	if n > 0 {
		c.deliver(dir, h, Chunk{Offset: uint64(off), Data: data[:n], Frame: s.Frame, TS: s.TS})
	}
	if gone := limit - uint64(off) - n; gone > 0 {
		c.skip(dir, h, gone, SkipSnaplen, s.Frame, s.TS)
	}
	if limit < uint64(end) {
		// Either all the data was delivered (gone > 0) or the rest starts
		// at limit.
		data = data[n:]
		c.hold(dir, h, limit, data, uint64(end)-limit-uint64(len(data)), s, emit)
	}
	c.drain(dir, h, s, true)
}

// hold buffers out-of-order bytes: data at stream offset off, followed by
// cut bytes the snap length removed. pending stays sorted by offset and its
// entries disjoint: where the new bytes overlap what is already held, the
// first copy wins and only the new bytes around it are kept.
func (c *Conn) hold(dir decode.Dir, h *half, off uint64, data []byte, cut uint64, s *Segment, emit decode.Emit) {
	if len(h.pending) == 0 {
		h.gapOff, h.gapTS, h.gapFrame = h.delivered, s.TS, s.Frame
	}
	dataEnd := off + uint64(len(data))
	end := dataEnd + cut
	i := 0
	for i < len(h.pending) && h.pending[i].end() <= off {
		i++
	}
	for pos := off; pos < end; {
		if i < len(h.pending) && h.pending[i].off <= pos {
			pos = h.pending[i].end() // held already
			i++
			continue
		}
		next := end
		if i < len(h.pending) {
			next = min(end, h.pending[i].off)
		}
		p := pending{off: pos, frame: s.Frame, ts: s.TS}
		if pos < dataEnd {
			p.data = append([]byte(nil), data[pos-off:min(next, dataEnd)-off]...)
		}
		p.cut = next - pos - uint64(len(p.data))
		h.pending = slices.Insert(h.pending, i, p)
		h.pendBytes += len(p.data)
		c.opts.Pool.add(pendingCost(&p))
		i++
		pos = next
	}
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
		c.skip(dir, h, first-h.delivered, SkipCap, s.Frame, s.TS)
		c.drain(dir, h, s, false)
	}
	if c.opts.Pool.over() {
		c.fitPool(dir, s, emit)
	}
}

// drain delivers buffered bytes that have become contiguous; s is the
// segment that made them so. filled says the gap before them was filled
// (by data, or by bytes the receiver acknowledged unseen) rather than
// given up.
func (c *Conn) drain(dir decode.Dir, h *half, s *Segment, filled bool) {
	if len(h.pending) == 0 || h.pending[0].off > h.delivered {
		return
	}
	if c.handler != nil && filled {
		// Count the bytes that become readable now: the contiguous run.
		var blocked uint64
		pos := h.delivered
		for i := range h.pending {
			p := &h.pending[i]
			if p.off > pos {
				break
			}
			if e := p.end(); e > pos {
				blocked += e - pos
				pos = e
			}
		}
		gapOff := min(h.gapOff, h.pending[0].off)
		c.gap = Gap{
			Offset: gapOff, Len: h.pending[0].off - gapOff, Opened: h.gapTS, OpenedFrame: h.gapFrame,
			Filled: s.TS, FilledFrame: s.Frame, Blocked: blocked,
		}
		c.handler.GapFilled(dir, &c.gap)
	}
	n := 0
	for ; n < len(h.pending); n++ {
		p := &h.pending[n]
		if p.off > h.delivered {
			break
		}
		h.pendBytes -= len(p.data)
		c.opts.Pool.add(-pendingCost(p))
		pos := p.off
		data := p.data
		if pos < h.delivered {
			trim := h.delivered - pos
			if trim >= uint64(len(data)) {
				data = nil
			} else {
				data = data[trim:]
			}
			pos = h.delivered
		}
		if len(data) > 0 {
			c.deliver(dir, h, Chunk{Offset: pos, Data: data, Frame: p.frame, TS: p.ts,
				Held: true, Released: s.TS, ReleasedFrame: s.Frame})
		}
		if e := p.end(); e > h.delivered {
			c.skip(dir, h, e-h.delivered, SkipSnaplen, p.frame, p.ts)
		}
	}
	m := copy(h.pending, h.pending[n:])
	clear(h.pending[m:])
	h.pending = h.pending[:m]
	if len(h.pending) > 0 {
		// A later hole is now the first; it opened when the first of
		// the bytes behind it arrived.
		h.gapOff, h.gapTS, h.gapFrame = h.delivered, h.pending[0].ts, h.pending[0].frame
		for i := range h.pending[1:] {
			if p := &h.pending[i+1]; p.ts.Before(h.gapTS) {
				h.gapTS, h.gapFrame = p.ts, p.frame
			}
		}
	}
}

// deliver hands ch to the handler through the Conn's reused Chunk, so that
// delivering allocates nothing.
func (c *Conn) deliver(dir decode.Dir, h *half, ch Chunk) {
	h.delivered += uint64(len(ch.Data))
	h.stats.StreamBytes += uint64(len(ch.Data))
	if c.handler != nil {
		c.chunk = ch
		c.handler.Data(dir, &c.chunk)
		c.chunk.Data = nil
	}
}

func (c *Conn) skip(dir decode.Dir, h *half, n uint64, why SkipReason, frame int64, ts time.Time) {
	if n == 0 {
		return
	}
	if c.handler != nil {
		c.skipped = Skip{Offset: h.delivered, Len: n, Reason: why, Frame: frame, TS: ts}
		c.handler.Skip(dir, &c.skipped)
	}
	h.delivered += n
	h.stats.StreamBytes += n // they crossed the wire, though not the capture
}

// ackedUnseen gives up bytes of direction dir that the peer acknowledged
// although the capture never saw them, and delivers what was held behind
// them.
func (c *Conn) ackedUnseen(dir decode.Dir, h *half, ack uint32, s *Segment) {
	limit := ack
	if h.fin && seqGT(limit, h.finSeq) {
		limit = h.finSeq
	}
	if h.synSeen && limit == h.isn+1 && h.delivered == 0 {
		return
	}
	off := h.streamOffset(limit)
	if off-int64(h.delivered) > 1<<30 {
		return // not a plausible acknowledgment of this stream
	}
	for off > int64(h.delivered) {
		n := uint64(off) - h.delivered
		if len(h.pending) > 0 && h.pending[0].off < uint64(off) {
			n = h.pending[0].off - h.delivered
		}
		c.skip(dir, h, n, SkipUnseen, s.Frame, s.TS)
		c.drain(dir, h, s, true)
	}
}

// End gives up every open gap and delivers what is buffered, as when the
// connection closes or the input ends. frame and ts are the last packet's.
func (c *Conn) End(frame int64, ts time.Time) {
	s := &Segment{Frame: frame, TS: ts}
	for i := range c.half {
		h := &c.half[i]
		dir := decode.Dir(i + 1)
		for len(h.pending) > 0 {
			c.skip(dir, h, h.pending[0].off-h.delivered, SkipEnd, frame, ts)
			c.drain(dir, h, s, false)
		}
		h.pending, h.pendBytes = nil, 0
	}
}
