package quic

import (
	"strconv"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// maxStreamRanges bounds the holes one stream tracks.
const maxStreamRanges = 64

// streamKey names one direction of one QUIC stream.
type streamKey struct {
	id  uint64
	dir decode.Dir
}

// recvStream reassembles one stream direction's STREAM frames (RFC 9000
// §2.2) and hands its bytes on in order. It holds only the bytes after
// those handed on; a finished stream leaves only its length (streams.done).
type recvStream struct {
	base     uint64 // stream offset of buf[0]: the bytes before it were handed on
	buf      []byte // bytes from base to the highest end received
	ranges   []span // received ranges at or after base, sorted, disjoint, not adjacent
	final    uint64 // the final size, when finKnown
	finKnown bool

	// The open head-of-line gap: data waits behind the hole at base.
	gapOpen      bool
	gapStart     time.Time
	gapFrame     int64
	gapOff       uint64
	gapLen       uint64
	gapDelivered uint64 // bytes that had waited, handed on so far
}

// doneFactor is how many finished streams are remembered per stream
// tracked at once.
const doneFactor = 16

// streams is a connection's stream reassembly state.
type streams struct {
	m map[streamKey]*recvStream // streams not finished
	// done holds the bytes handed on of finished streams (fin, reset or
	// a cap), to tell their retransmissions; up to doneFactor times
	// MaxStreams of them.
	done     map[streamKey]uint64
	buffered int  // bytes held in all buffers
	capSaid  bool // the streams cap was reported
	next     decode.MultiStreamDecoder
	nextDead bool
	// retrans lists the packet's retransmitted STREAM ranges.
	retrans []string
}

// streamFrame adds a STREAM frame sent in dir to its stream, notes a
// retransmission, hands the bytes that became in order to the next
// decoder and reports a head-of-line stall that ended.
func (d *Decoder) streamFrame(dir decode.Dir, f *Frame, at decode.Position) {
	st := &d.streams
	k := streamKey{f.StreamID, dir}
	s := st.m[k]
	if s == nil {
		if base, ok := st.done[k]; ok {
			if f.Offset < base {
				st.addRetrans(f.StreamID, span{f.Offset, min(f.Offset+uint64(len(f.Data)), base)})
			}
			return
		}
		if len(st.m) >= d.opts.MaxStreams {
			if !st.capSaid {
				st.capSaid = true
				d.capLimit(dir, "streams", d.opts.MaxStreams, len(f.Data), at)
			}
			return
		}
		if st.m == nil {
			st.m = make(map[streamKey]*recvStream)
		}
		s = &recvStream{}
		st.m[k] = s
	}
	off, data := f.Offset, f.Data
	end := off + uint64(len(data))
	if dup := s.overlap(off, end); dup.hi > dup.lo {
		st.addRetrans(f.StreamID, dup)
	}
	if f.Fin && !s.finKnown {
		s.finKnown, s.final = true, end
	}
	if end <= s.base {
		d.deliverFin(k, s, at)
		return
	}
	if off < s.base {
		data = data[s.base-off:]
		off = s.base
	}
	if len(data) == 0 {
		return // a FIN beyond a hole: noted above
	}
	if end-s.base > uint64(d.opts.MaxStreamBuffer) {
		d.streamCap(k, s, "stream_buffer", d.opts.MaxStreamBuffer, len(data), at)
		return
	}
	need := int(end - s.base)
	if grow := need - len(s.buf); grow > 0 {
		if st.buffered+grow > d.opts.MaxStreamTotal {
			d.streamCap(k, s, "stream_total", d.opts.MaxStreamTotal, len(data), at)
			return
		}
		st.buffered += grow
		s.buf = append(s.buf, make([]byte, grow)...)
	}
	copy(s.buf[off-s.base:], data)
	s.ranges = insertSpan(s.ranges, span{off, end})
	if len(s.ranges) > maxStreamRanges {
		d.streamCap(k, s, "stream_ranges", maxStreamRanges, len(data), at)
		return
	}
	if s.ranges[0].lo > s.base {
		if !s.gapOpen {
			s.gapOpen, s.gapStart, s.gapFrame = true, at.TS, at.Frame
			s.gapOff, s.gapLen, s.gapDelivered = s.base, s.ranges[0].lo-s.base, 0
		}
		return
	}
	n := s.ranges[0].hi - s.base
	if s.gapOpen {
		// What this frame brought was not waiting; the rest was.
		if waited := n - min(n, uint64(len(data))); waited > 0 {
			s.gapDelivered += waited
		}
	}
	stalled := s.gapOpen
	d.deliver(k, s, n, at)
	if stalled && len(s.ranges) == 0 {
		s.gapOpen = false
		d.holStall(k, s, at)
	}
}

// addRetrans lists a retransmitted range of stream id on the packet.
func (st *streams) addRetrans(id uint64, r span) {
	if r.hi <= r.lo {
		return
	}
	st.retrans = append(st.retrans, "id="+strconv.FormatUint(id, 10)+" off="+
		strconv.FormatUint(r.lo, 10)+" len="+strconv.FormatUint(r.hi-r.lo, 10))
}

// overlap returns the part of [lo, hi) already received: before base or
// within one received range (the first overlap found, which is what a
// retransmission carries).
func (s *recvStream) overlap(lo, hi uint64) span {
	if lo < s.base {
		return span{lo, min(hi, s.base)}
	}
	for _, r := range s.ranges {
		if r.lo < hi && lo < r.hi {
			return span{max(lo, r.lo), min(hi, r.hi)}
		}
	}
	return span{}
}

// deliver hands the first n buffered bytes of s on, with fin when they
// end the stream.
func (d *Decoder) deliver(k streamKey, s *recvStream, n uint64, at decode.Position) {
	fin := s.finKnown && s.base+n == s.final
	d.toNext(k, s.buf[:n], fin, at)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	d.streams.buffered -= int(n)
	s.base += n
	j := 0
	for j < len(s.ranges) && s.ranges[j].hi <= s.base {
		j++
	}
	s.ranges = s.ranges[:copy(s.ranges, s.ranges[j:])]
	if fin {
		d.finish1(k, s)
	}
}

// deliverFin hands on a FIN that came after all the stream's bytes.
func (d *Decoder) deliverFin(k streamKey, s *recvStream, at decode.Position) {
	if s.finKnown && s.base == s.final {
		d.toNext(k, nil, true, at)
		d.finish1(k, s)
	}
}

// finish1 forgets a finished stream but for the bytes it handed on.
func (d *Decoder) finish1(k streamKey, s *recvStream) {
	st := &d.streams
	st.buffered -= len(s.buf)
	s.buf, s.ranges = nil, nil
	s.gapOpen = false
	delete(st.m, k)
	if st.done == nil {
		st.done = make(map[streamKey]uint64)
	}
	if len(st.done) < doneFactor*d.opts.MaxStreams {
		st.done[k] = s.base
	}
}

// resetStream follows a RESET_STREAM frame: the bytes not handed on will
// never come.
func (d *Decoder) resetStream(dir decode.Dir, id uint64, at decode.Position) {
	k := streamKey{id, dir}
	s := d.streams.m[k]
	if s == nil {
		return
	}
	d.finish1(k, s)
	if n := d.nextDecoder(at); n != nil {
		n.StreamReset(int64(id), dir, at, d.emitPending)
	}
}

// streamCap stops a stream at a cap: reported, and the next decoder told
// the rest will not come.
func (d *Decoder) streamCap(k streamKey, s *recvStream, cap string, limit, dropped int, at decode.Position) {
	d.capLimit(k.dir, cap, limit, dropped, at)
	d.finish1(k, s)
	if n := d.nextDecoder(at); n != nil {
		n.StreamReset(int64(k.id), k.dir, at, d.emitPending)
	}
}

func (d *Decoder) capLimit(dir decode.Dir, cap string, limit, dropped int, at decode.Position) {
	d.pending = append(d.pending, decode.CapLimit(at, dir, "quic", cap, int64(limit), decode.Int("dropped", int64(dropped))))
}

// emitPending queues an event after the current packet's.
func (d *Decoder) emitPending(e decode.Event) { d.pending = append(d.pending, e) }

// nextDecoder returns the connection's MultiStreamDecoder, made on first
// use with the negotiated ALPN (or the only one offered), or nil.
func (d *Decoder) nextDecoder(at decode.Position) decode.MultiStreamDecoder {
	st := &d.streams
	if d.opts.Next == nil || st.nextDead {
		return nil
	}
	if st.next == nil {
		alpn := d.alpn
		if alpn == "" {
			alpn = d.offered
		}
		st.next = d.opts.Next(alpn)
		if st.next == nil {
			st.nextDead = true
		}
	}
	return st.next
}

// toNext hands in-order stream bytes to the next decoder; an error
// switches it off for the connection, with a decode-error event.
func (d *Decoder) toNext(k streamKey, b []byte, fin bool, at decode.Position) {
	n := d.nextDecoder(at)
	if n == nil {
		return
	}
	if err := n.StreamData(int64(k.id), k.dir, b, fin, at, d.emitPending); err != nil {
		d.streams.nextDead = true
		name := "next"
		if nn, ok := n.(interface{ Name() string }); ok && nn.Name() != "" {
			name = nn.Name()
		}
		e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
		e.Info = decode.Info{decode.String("decoder", name), decode.String("error", err.Error())}
		d.pending = append(d.pending, e)
	}
}

// holStall reports that the bytes of one stream that waited behind a
// hole were handed on: only that stream waited (QUIC streams do not block
// each other, unlike TCP's one byte stream). The info keys are those of
// the timeline's TCP hol-stall, with scope "stream", the stream ID, and
// gap_offset for TCP's gap_seq.
func (d *Decoder) holStall(k streamKey, s *recvStream, at decode.Position) {
	if s.gapDelivered == 0 {
		return
	}
	e := decode.NewEvent(at.Frame, at.TS, k.dir, decode.LayerAnalysis, "hol-stall")
	e.Len = int64(s.gapDelivered)
	e.Info = decode.Info{
		decode.String("scope", "stream"),
		decode.Uint("stream", k.id),
		decode.String("start", s.gapStart.UTC().Format(time.RFC3339Nano)),
		decode.String("end", at.TS.UTC().Format(time.RFC3339Nano)),
		decode.Millis("duration_ms", at.TS.Sub(s.gapStart)),
		decode.Int("start_frame", s.gapFrame),
		decode.Uint("gap_offset", s.gapOff),
		decode.Uint("gap_len", s.gapLen),
		decode.Uint("blocked_bytes", s.gapDelivered),
	}
	d.pending = append(d.pending, e)
}
