package tcpflow

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
)

// The fuzz input drives a connection segment by segment:
//
//	header, 8 bytes: client ISN (4), server ISN (4), big-endian; shorter
//	input uses 1000 and 5000
//	then one record of 5 bytes per segment:
//	  [0] bit 0 sender (0 client, 1 server), bits 1-4 SYN ACK FIN RST,
//	      bit 5 the snap length keeps only half the payload,
//	      bits 6-7 time since the previous segment (0.1 ms, 1 ms, 30 ms, 1 s)
//	  [1] sequence number: the sender's ISN + [1] - 8
//	  [2] payload length, low 6 bits; bit 6: one SACK block, from the
//	      acknowledgment + 4*([4]&15) for 4*([4]>>4 + 1) bytes; bit 7:
//	      the SACK-permitted option (on a SYN)
//	  [3] acknowledgment: the peer's ISN + [3] - 8
//	  [4] window, shifted left by 4 (0 is a zero window)
//
// Every payload byte is a function of its sequence number, so any byte
// delivered at the wrong offset shows.
const fuzzRecord = 5

// fuzzLimits are small so that the caps are hit often.
var fuzzLimits = Limits{MaxBufferedBytes: 64, MaxBufferedSegments: 4}

func fuzzByte(seq uint32) byte { return byte(seq*31 + seq>>8) }

func fuzzSegments(b []byte) (isn [2]uint32, recs [][]byte) {
	isn = [2]uint32{1000, 5000}
	if len(b) >= 8 {
		isn[0], isn[1] = binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8])
		b = b[8:]
	}
	for len(b) >= fuzzRecord {
		recs = append(recs, b[:fuzzRecord])
		b = b[fuzzRecord:]
	}
	return isn, recs
}

// rec builds one record.
func rec(server bool, flags string, seqOff, n, ackOff, win byte, step byte, cut bool) []byte {
	var f byte
	if server {
		f |= 1
	}
	for _, c := range flags {
		switch c {
		case 'S':
			f |= 1 << 1
		case 'A':
			f |= 1 << 2
		case 'F':
			f |= 1 << 3
		case 'R':
			f |= 1 << 4
		}
	}
	if cut {
		f |= 1 << 5
	}
	f |= step << 6
	return []byte{f, seqOff, n, ackOff, win}
}

func fuzzInput(isn [2]uint32, recs ...[]byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, isn[0])
	b = binary.BigEndian.AppendUint32(b, isn[1])
	for _, r := range recs {
		b = append(b, r...)
	}
	return b
}

// fuzzChecker is a Handler that checks the delivery invariants.
type fuzzChecker struct {
	t      *testing.T
	c      *Conn
	frames int64 // highest frame given so far
	next   [2]uint64
	skips  map[uint64]uint64 // SkipCap offsets -> length, per event check
}

func (f *fuzzChecker) frame(what string, fr int64) {
	if fr < 1 || fr > f.frames {
		f.t.Fatalf("%s frame %d outside the input (1..%d)", what, fr, f.frames)
	}
}

func (f *fuzzChecker) at(dir decode.Dir, off uint64, n uint64, what string) {
	i := dir.Index()
	if off != f.next[i] {
		f.t.Fatalf("%s %s at offset %d; want %d (contiguous)", dir, what, off, f.next[i])
	}
	if n == 0 {
		f.t.Fatalf("%s empty %s at offset %d", dir, what, off)
	}
	f.next[i] += n
}

func (f *fuzzChecker) Data(dir decode.Dir, c *Chunk) {
	f.at(dir, c.Offset, uint64(len(c.Data)), "data")
	f.frame("chunk", c.Frame)
	if c.Held {
		f.frame("chunk released", c.ReleasedFrame)
	}
	base := f.c.half[dir.Index()].base
	for i, b := range c.Data {
		if want := fuzzByte(base + uint32(c.Offset) + uint32(i)); b != want {
			f.t.Fatalf("%s byte at offset %d = %#x; want %#x (misplaced data)", dir, c.Offset+uint64(i), b, want)
		}
	}
}

func (f *fuzzChecker) GapFilled(dir decode.Dir, g *Gap) {
	f.frame("gap opened", g.OpenedFrame)
	f.frame("gap filled", g.FilledFrame)
	if g.Downstream && (g.Offset+g.Len > f.next[dir.Index()] || g.Blocked == 0 || g.Len == 0 || g.OpenedFrame > g.FilledFrame) {
		f.t.Fatalf("%s downstream hole %+v; delivered %d", dir, *g, f.next[dir.Index()])
	}
	if g.Filled.Before(g.Opened) && g.FilledFrame >= g.OpenedFrame {
		f.t.Fatalf("%s gap filled at %v before it opened at %v", dir, g.Filled, g.Opened)
	}
}

func (f *fuzzChecker) Skip(dir decode.Dir, s *Skip) {
	f.at(dir, s.Offset, s.Len, "skip "+s.Reason.String())
	f.frame("skip", s.Frame)
	if s.Reason == SkipCap {
		f.skips[s.Len]++
	}
}

// checkHeld checks the buffered state of both directions.
func (f *fuzzChecker) checkHeld() {
	for i := range f.c.half {
		h := &f.c.half[i]
		if h.pendBytes > fuzzLimits.MaxBufferedBytes || len(h.pending) > fuzzLimits.MaxBufferedSegments {
			f.t.Fatalf("direction %d holds %d bytes in %d pieces; caps %d, %d", i, h.pendBytes, len(h.pending),
				fuzzLimits.MaxBufferedBytes, fuzzLimits.MaxBufferedSegments)
		}
		sum, prevEnd := 0, h.delivered
		for j, p := range h.pending {
			if p.off < prevEnd || (j == 0 && p.off <= h.delivered) {
				f.t.Fatalf("direction %d: piece %d at %d overlaps or precedes %d (delivered %d)", i, j, p.off, prevEnd, h.delivered)
			}
			if len(p.data) == 0 && p.cut == 0 {
				f.t.Fatalf("direction %d: empty piece %d", i, j)
			}
			sum += len(p.data)
			prevEnd = p.end()
		}
		if sum != h.pendBytes {
			f.t.Fatalf("direction %d: pendBytes %d, pieces hold %d", i, h.pendBytes, sum)
		}
		if h.delivered != f.next[i] {
			f.t.Fatalf("direction %d: delivered %d, handler saw %d", i, h.delivered, f.next[i])
		}
	}
}

// checkPool checks that the pool counts exactly what is held, within its
// cap.
func (f *fuzzChecker) checkPool(p *Pool) {
	sum := 0
	for i := range f.c.half {
		for j := range f.c.half[i].pending {
			sum += pendingCost(&f.c.half[i].pending[j])
		}
	}
	if p.Buffered() != sum || sum > p.Max() {
		f.t.Fatalf("pool counts %d, pieces cost %d; cap %d", p.Buffered(), sum, p.Max())
	}
}

func FuzzReassembly(f *testing.F) {
	isn := [2]uint32{1000, 5000}
	hsk := [][]byte{
		rec(false, "S", 8, 0, 0, 0xff, 0, false),
		rec(true, "SA", 8, 0, 9, 0xff, 1, false),
		rec(false, "A", 9, 0, 9, 0xff, 0, false),
	}
	// Handshake, then in-order data both ways and a FIN exchange.
	f.Add(fuzzInput(isn, append(hsk,
		rec(false, "A", 9, 20, 9, 0xff, 0, false),
		rec(true, "A", 9, 30, 29, 0xff, 1, false),
		rec(false, "FA", 29, 0, 39, 0xff, 0, false),
		rec(true, "FA", 39, 0, 30, 0xff, 0, false))...))
	// A gap filled late, with a duplicate of a held piece.
	f.Add(fuzzInput(isn, append(hsk,
		rec(false, "A", 29, 10, 9, 0xff, 0, false),
		rec(false, "A", 29, 10, 9, 0xff, 0, false),
		rec(false, "A", 9, 20, 9, 0xff, 1, false))...))
	// Overlapping retransmission spanning two held pieces.
	f.Add(fuzzInput(isn, append(hsk,
		rec(false, "A", 15, 4, 9, 0xff, 0, false),
		rec(false, "A", 25, 4, 9, 0xff, 0, false),
		rec(false, "A", 12, 30, 9, 0xff, 0, false),
		rec(false, "A", 9, 5, 9, 0xff, 0, false))...))
	// Sequence numbers that wrap past 2^32 during the stream.
	f.Add(fuzzInput([2]uint32{1<<32 - 20, 1<<32 - 3}, append(hsk,
		rec(false, "A", 9, 40, 9, 0xff, 0, false),
		rec(true, "A", 9, 40, 49, 0xff, 0, false))...))
	// Snap length cuts, in order and out of order.
	f.Add(fuzzInput(isn, append(hsk,
		rec(false, "A", 30, 20, 9, 0xff, 0, true),
		rec(false, "A", 9, 21, 9, 0xff, 0, true))...))
	// More held than the caps allow.
	f.Add(fuzzInput(isn, append(hsk,
		rec(false, "A", 20, 10, 9, 0xff, 0, false),
		rec(false, "A", 40, 30, 9, 0xff, 0, false),
		rec(false, "A", 80, 40, 9, 0xff, 0, false),
		rec(false, "A", 130, 3, 9, 0xff, 0, false),
		rec(false, "A", 140, 3, 9, 0xff, 0, false))...))
	// The server acknowledges bytes never seen.
	f.Add(fuzzInput(isn, append(hsk,
		rec(false, "A", 30, 10, 9, 0xff, 0, false),
		rec(true, "A", 9, 0, 60, 0xff, 1, false))...))
	// A reset with data, a zero window and a probe, a keep-alive.
	f.Add(fuzzInput(isn, append(hsk,
		rec(false, "A", 9, 10, 9, 0xff, 0, false),
		rec(true, "A", 9, 0, 19, 0, 1, false),
		rec(false, "A", 19, 1, 9, 0xff, 2, false),
		rec(false, "A", 18, 0, 9, 0xff, 3, false),
		rec(true, "RA", 9, 5, 19, 0xff, 0, false))...))
	// Data on the SYN (TCP Fast Open) and a SYN with another ISN.
	f.Add(fuzzInput(isn,
		rec(false, "S", 8, 10, 0, 0xff, 0, false),
		rec(true, "SA", 8, 0, 19, 0xff, 1, false),
		rec(false, "S", 100, 0, 0, 0xff, 3, false)))
	// SACK: a segment lost after the capture point, the receiver's
	// SACK, the retransmission, the acknowledgment passing the hole.
	f.Add(fuzzInput(isn,
		rec(false, "S", 8, 0x80, 0, 0xff, 0, false),
		rec(true, "SA", 8, 0x80, 9, 0xff, 1, false),
		rec(false, "A", 9, 0, 9, 0xff, 0, false),
		rec(false, "A", 9, 8, 9, 0xff, 0, false),
		rec(false, "A", 17, 8, 9, 0xff, 0, false),
		rec(false, "A", 25, 8, 9, 0xff, 0, false),
		rec(true, "A", 9, 0x40, 17, 0x12, 1, false),
		rec(false, "A", 17, 8, 9, 0xff, 1, false),
		rec(true, "A", 9, 0, 33, 0xff, 1, false)))
	// Garbage header only.
	f.Add([]byte{0xde, 0xad})

	f.Fuzz(func(t *testing.T, b []byte) {
		isn, recs := fuzzSegments(b)
		chk := &fuzzChecker{t: t, skips: map[uint64]uint64{}}
		// The pool has room for less than one direction's cap, so that
		// it is hit too.
		pool := NewPool(3*PendingCost + 40)
		c := New(Options{Limits: fuzzLimits, Segments: true, Pool: pool}, chk)
		chk.c = c
		capSkips := map[uint64]uint64{}
		emit := func(e decode.Event) {
			chk.frame(string(e.Type)+" event", e.Frame)
			// Every event renders.
			out := append([]byte(e.Dir.String()), e.Layer.String()...)
			for _, fl := range e.Info {
				out = fl.AppendValue(append(out, fl.Key...))
			}
			_ = out
			if e.Type == decode.TypeCapLimit {
				f, _ := e.Info.Get("skipped")
				capSkips[uint64(f.Int)]++
			}
		}
		ts := time.Unix(1e9, 0)
		steps := [4]time.Duration{100 * time.Microsecond, time.Millisecond, 30 * time.Millisecond, time.Second}
		for i, r := range recs {
			dir := decode.C2S
			if r[0]&1 != 0 {
				dir = decode.S2C
			}
			var flags uint16
			for bit, fl := range []uint16{netpkt.FlagSYN, netpkt.FlagACK, netpkt.FlagFIN, netpkt.FlagRST} {
				if r[0]&(1<<(bit+1)) != 0 {
					flags |= fl
				}
			}
			ts = ts.Add(steps[r[0]>>6])
			seq := isn[dir.Index()] + uint32(r[1]) - 8
			ack := isn[dir.Reverse().Index()] + uint32(r[3]) - 8
			n := int(r[2] & 0x3f)
			dataSeq := seq
			if flags&netpkt.FlagSYN != 0 {
				dataSeq++
			}
			payload := make([]byte, n)
			for j := range payload {
				payload[j] = fuzzByte(dataSeq + uint32(j))
			}
			if r[0]&(1<<5) != 0 {
				payload = payload[:n/2]
			}
			tcp := &netpkt.TCP{Seq: seq, Ack: ack, Flags: flags, Window: uint16(r[4]) << 4, WScale: -1,
				SACKPermitted: r[2]&0x80 != 0}
			if r[2]&0x40 != 0 {
				left := ack + 4*uint32(r[4]&15)
				tcp.SACK[0], tcp.NSACK = netpkt.SACKBlock{Left: left, Right: left + 4*uint32(r[4]>>4+1)}, 1
			}
			c.IsNewConnection(dir, tcp)
			chk.frames = int64(i + 1)
			c.Segment(dir, &Segment{Frame: int64(i + 1), TS: ts, TCP: tcp, Payload: payload, PayloadLen: n}, emit)
			chk.checkHeld()
			chk.checkPool(pool)
			c.Done()
		}
		chk.frames++
		c.End(chk.frames, ts)
		chk.checkHeld()
		if pool.Buffered() != 0 {
			t.Fatalf("pool holds %d after End", pool.Buffered())
		}
		for i := range c.half {
			if len(c.half[i].pending) != 0 {
				t.Fatalf("direction %d: %d pieces pending after End", i, len(c.half[i].pending))
			}
		}
		for n, k := range chk.skips {
			if capSkips[n] != k {
				t.Fatalf("%d cap skips of %d bytes, %d cap-limit events saying so", k, n, capSkips[n])
			}
		}
	})
}
