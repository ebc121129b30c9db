package tcpflow

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// dseg is a client data segment at stream offset off (sequence cISN+1+off).
func dseg(ms float64, off uint32, data string) seg {
	return seg{dir: c2s, ms: ms, flags: "PA", seq: cISN + 1 + off, ack: sISN + 1, data: data}
}

// sack is a server ACK of client stream offset off.
func sack(ms float64, off uint32) seg {
	return seg{dir: s2c, ms: ms, flags: "A", seq: sISN + 1, ack: cISN + 1 + off}
}

func TestReassembly(t *testing.T) {
	tests := []struct {
		name   string
		segs   []seg // after the handshake (frames 1-3)
		calls  []string
		stream string
	}{
		{
			name:   "in order",
			segs:   []seg{dseg(20, 0, "hello "), dseg(21, 6, "world")},
			calls:  []string{"data c2s 0+6 f4", "data c2s 6+5 f5"},
			stream: "hello world",
		},
		{
			name: "gap then fill",
			segs: []seg{dseg(20, 0, "aaaa"), dseg(21, 8, "cccc"), dseg(22, 12, "dd"), dseg(25, 4, "bbbb")},
			calls: []string{
				"data c2s 0+4 f4",
				"data c2s 4+4 f7",
				"gap c2s 4+4 f5>f7 blocked 6",
				"data c2s 8+4 f5 held>f7",
				"data c2s 12+2 f6 held>f7",
			},
			stream: "aaaabbbbccccdd",
		},
		{
			// The fill overlaps what is held: first copy wins.
			name: "overlapping fill",
			segs: []seg{dseg(20, 4, "BBBB"), dseg(21, 0, "aaaaXX")},
			calls: []string{
				"data c2s 0+4 f5",
				"gap c2s 0+4 f4>f5 blocked 4",
				"data c2s 4+4 f4 held>f5",
			},
			stream: "aaaaBBBB",
		},
		{
			// A retransmission spanning two held pieces keeps the bytes
			// between and around them, and nothing twice.
			name: "retransmission across held pieces",
			segs: []seg{
				dseg(20, 4, "bb"), dseg(21, 8, "dd"),
				dseg(22, 2, "XXXXXXXXXX"), // offsets 2..12: new at 2-4, 6-8, 10-12
				dseg(23, 0, "aa"),
			},
			calls: []string{
				"data c2s 0+2 f7",
				"gap c2s 0+2 f4>f7 blocked 10",
				"data c2s 2+2 f6 held>f7",
				"data c2s 4+2 f4 held>f7",
				"data c2s 6+2 f6 held>f7",
				"data c2s 8+2 f5 held>f7",
				"data c2s 10+2 f6 held>f7",
			},
			stream: "aaXXbbXXddXX",
		},
		{
			name:   "duplicates and old data",
			segs:   []seg{dseg(20, 0, "abc"), dseg(21, 0, "abc"), dseg(22, 1, "bcd"), dseg(23, 2, "c")},
			calls:  []string{"data c2s 0+3 f4", "data c2s 3+1 f6"},
			stream: "abcd",
		},
		{
			// The receiver acknowledged bytes the capture never saw.
			name: "acked but unseen",
			segs: []seg{dseg(20, 0, "aa"), dseg(21, 4, "cc"), dseg(22, 8, "ee"), sack(30, 10)},
			calls: []string{
				"data c2s 0+2 f4",
				"skip c2s 2+2 unseen f7",
				"gap c2s 2+2 f5>f7 blocked 2",
				"data c2s 4+2 f5 held>f7",
				"skip c2s 6+2 unseen f7",
				"gap c2s 6+2 f6>f7 blocked 2",
				"data c2s 8+2 f6 held>f7",
			},
			stream: "aa??cc??ee",
		},
		{
			name:   "acked beyond everything",
			segs:   []seg{dseg(20, 0, "aa"), sack(30, 5), dseg(31, 5, "ff")},
			calls:  []string{"data c2s 0+2 f4", "skip c2s 2+3 unseen f5", "data c2s 5+2 f6"},
			stream: "aa???ff",
		},
		{
			name: "snap length",
			segs: []seg{
				{dir: c2s, ms: 20, flags: "PA", seq: cISN + 1, ack: sISN + 1, data: "abc", wire: 10},
				dseg(21, 10, "kk"),
			},
			calls:  []string{"data c2s 0+3 f4", "skip c2s 3+7 snaplen f4", "data c2s 10+2 f5"},
			stream: "abc???????kk",
		},
		{
			// A cut segment that arrives out of order keeps its cut tail
			// as a hole to skip when reached.
			name: "snap length out of order",
			segs: []seg{
				{dir: c2s, ms: 20, flags: "PA", seq: cISN + 1 + 4, ack: sISN + 1, data: "ee", wire: 6},
				dseg(21, 10, "kk"),
				dseg(22, 0, "aaaa"),
			},
			calls: []string{
				"data c2s 0+4 f6",
				"gap c2s 0+4 f4>f6 blocked 8",
				"data c2s 4+2 f4 held>f6",
				"skip c2s 6+4 snaplen f4",
				"data c2s 10+2 f5 held>f6",
			},
			stream: "aaaaee????kk",
		},
		{
			name:   "fin does not count as data",
			segs:   []seg{{dir: c2s, ms: 20, flags: "FPA", seq: cISN + 1, ack: sISN + 1, data: "bye"}, sack(21, 4)},
			calls:  []string{"data c2s 0+3 f4"},
			stream: "bye",
		},
		{
			name:   "reset payload is not stream data",
			segs:   []seg{{dir: c2s, ms: 20, flags: "RA", seq: cISN + 1, ack: sISN + 1, data: "diag"}},
			calls:  nil,
			stream: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			_, _ = run(t, Options{}, rec, cat(hs(), tt.segs))
			if got := rec.kinds(); !slices.Equal(got, tt.calls) {
				t.Errorf("handler calls:\n got  %q\n want %q", got, tt.calls)
			}
			if got := string(rec.stream[0]); got != tt.stream {
				t.Errorf("stream = %q; want %q", got, tt.stream)
			}
		})
	}
}

func TestGapTimes(t *testing.T) {
	rec := newRecorder(t)
	run(t, Options{}, rec, cat(hs(), []seg{
		dseg(20, 0, "aa"),
		dseg(30, 4, "cc"), // the gap opens
		dseg(31, 6, "dd"),
		dseg(45, 2, "bb"), // and is filled
	}))
	var g Gap
	var held []Chunk
	for _, o := range rec.ops {
		if o.kind == "gap" {
			g = o.g
		}
		if o.kind == "data" && o.c.Held {
			held = append(held, o.c)
		}
	}
	want := Gap{Offset: 2, Len: 2, Opened: at(30), OpenedFrame: 5, Filled: at(45), FilledFrame: 7, Blocked: 4}
	if g != want {
		t.Errorf("gap = %+v; want %+v", g, want)
	}
	if len(held) != 2 {
		t.Fatalf("held chunks = %d; want 2", len(held))
	}
	for i, wantTS := range []float64{30, 31} {
		c := held[i]
		if !c.TS.Equal(at(wantTS)) || !c.Released.Equal(at(45)) || c.ReleasedFrame != 7 || c.Frame != int64(5+i) {
			t.Errorf("held chunk %d: frame %d at %v released f%d at %v; want f%d at %v released f7 at %v",
				i, c.Frame, c.TS, c.ReleasedFrame, c.Released, 5+i, at(wantTS), at(45))
		}
	}
}

// A second hole opens when the earliest byte behind it arrived, not when
// the first held piece after it did.
func TestSecondGapOpening(t *testing.T) {
	rec := newRecorder(t)
	run(t, Options{}, rec, cat(hs(), []seg{
		dseg(20, 8, "ee"),   // f4: behind the second hole, earliest
		dseg(21, 2, "bb"),   // f5: behind the first hole
		dseg(22, 0, "aa"),   // f6: fills the first hole
		dseg(23, 4, "cccc"), // f7: fills the second
	}))
	var gaps []Gap
	for _, o := range rec.ops {
		if o.kind == "gap" {
			gaps = append(gaps, o.g)
		}
	}
	if len(gaps) != 2 {
		t.Fatalf("gaps = %+v; want 2", gaps)
	}
	if g := gaps[1]; g.Offset != 4 || g.Len != 4 || g.OpenedFrame != 4 || !g.Opened.Equal(at(20)) || g.FilledFrame != 7 {
		t.Errorf("second gap = %+v; want offset 4 len 4 opened f4 at 20 ms filled f7", g)
	}
}

func TestSequenceWrap(t *testing.T) {
	var isn uint32 = 1<<32 - 5 // data crosses 2^32 after 4 bytes
	rec := newRecorder(t)
	segs := []seg{
		{dir: c2s, ms: 0, flags: "S", seq: isn},
		{dir: s2c, ms: 10, flags: "SA", seq: sISN, ack: isn + 1},
		{dir: c2s, ms: 11, flags: "A", seq: isn + 1, ack: sISN + 1},
		{dir: c2s, ms: 20, flags: "PA", seq: isn + 1 + 6, ack: sISN + 1, data: "ghij"}, // past the wrap, early
		{dir: c2s, ms: 21, flags: "PA", seq: isn + 1, ack: sISN + 1, data: "abcdef"},   // across the wrap
		{dir: s2c, ms: 30, flags: "A", seq: sISN + 1, ack: isn + 1 + 10},
		{dir: c2s, ms: 31, flags: "PA", seq: isn + 1 + 10, ack: sISN + 1, data: "k"},
	}
	_, evs := run(t, Options{}, rec, segs)
	if got := string(rec.stream[0]); got != "abcdefghijk" {
		t.Errorf("stream = %q; want %q", got, "abcdefghijk")
	}
	for _, e := range evs {
		if e.Frame == 7 || e.Frame == 6 {
			t.Errorf("frame %d: unexpected %s event after the wrap", e.Frame, e.Type)
		}
	}
	if e, ok := find(evs, 4, decode.TypeLostSegment); !ok || infoOf(e, "seq") != "seq=7" {
		t.Errorf("frame 4 lost-segment with seq=7 missing: %q", evStrings(evs))
	}
}

func TestCapLimit(t *testing.T) {
	lim := Limits{MaxBufferedBytes: 10, MaxBufferedSegments: 3}
	rec := newRecorder(t)
	c := New(Options{Limits: lim}, rec)
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	segs := cat(hs(), []seg{
		dseg(20, 0, "aa"),
		dseg(21, 4, "cccc"),                    // held: 4 bytes
		dseg(22, 10, "eeee"),                   // held: 8 bytes
		dseg(23, 16, "gggg"),                   // 12 bytes > 10: give up the first hole
		dseg(24, 22, "ii"),                     // held
		dseg(25, 26, "k"),                      // held
		dseg(26, 30, "m"),                      // 4 segments > 3: give up the next hole
		dseg(27, 100, strings.Repeat("z", 50)), // larger than the cap alone
	})
	for i, s := range segs {
		sg, _ := s.segment(int64(i + 1))
		c.Segment(s.dir, sg, emit)
		h := &c.half[0]
		if h.pendBytes > lim.MaxBufferedBytes || len(h.pending) > lim.MaxBufferedSegments {
			t.Fatalf("after frame %d: %d bytes in %d segments held; caps %d, %d",
				i+1, h.pendBytes, len(h.pending), lim.MaxBufferedBytes, lim.MaxBufferedSegments)
		}
		sum := 0
		for _, p := range h.pending {
			sum += len(p.data)
		}
		if sum != h.pendBytes {
			t.Fatalf("after frame %d: pendBytes %d; held %d", i+1, h.pendBytes, sum)
		}
	}
	var caps []string
	for _, e := range evs {
		if e.Type == decode.TypeCapLimit {
			if e.Layer != decode.LayerCapture || e.Dir != c2s {
				t.Errorf("cap-limit event layer %s dir %s; want capture c2s", e.Layer, e.Dir)
			}
			caps = append(caps, evString(e)+" "+infoOf(e, "limit", "max_bytes", "max_segments", "skipped"))
		}
	}
	// Each hole given up has its own event: f11 holds 50 bytes, more than
	// the cap alone, so every hole before it goes.
	wantCaps := []string{
		"f7 c2s cap-limit limit=reassembly max_bytes=10 max_segments=3 skipped=2",
		"f9 c2s cap-limit limit=reassembly max_bytes=10 max_segments=3 skipped=2",
		"f10 c2s cap-limit limit=reassembly max_bytes=10 max_segments=3 skipped=2",
		"f11 c2s cap-limit limit=reassembly max_bytes=10 max_segments=3 skipped=2",
		"f11 c2s cap-limit limit=reassembly max_bytes=10 max_segments=3 skipped=2",
		"f11 c2s cap-limit limit=reassembly max_bytes=10 max_segments=3 skipped=3",
		"f11 c2s cap-limit limit=reassembly max_bytes=10 max_segments=3 skipped=69",
	}
	if !slices.Equal(caps, wantCaps) {
		t.Errorf("cap-limit events:\n got  %q\n want %q", caps, wantCaps)
	}
	var skips []string
	for _, o := range rec.ops {
		if o.kind == "skip" {
			skips = append(skips, o.s.Reason.String())
		}
		if o.kind == "gap" {
			t.Errorf("gap reported filled although it was given up: %+v", o.g)
		}
	}
	if want := slices.Repeat([]string{"cap"}, 7); !slices.Equal(skips, want) {
		t.Errorf("skips = %q; want %q", skips, want)
	}
	if got, want := string(rec.stream[0]), "aa??cccc??eeee??gggg??ii??k???m"+strings.Repeat("?", 69)+strings.Repeat("z", 50); got != want {
		t.Errorf("stream = %q; want %q", got, want)
	}
}

func TestEnd(t *testing.T) {
	rec := newRecorder(t)
	c, _ := run(t, Options{}, rec, cat(hs(), []seg{
		dseg(20, 0, "aa"), dseg(21, 4, "cc"), dseg(22, 8, "ee"),
		{dir: s2c, ms: 23, flags: "PA", seq: sISN + 1 + 3, ack: cISN + 1, data: "late"},
	}))
	c.End(99, at(1000))
	want := []string{
		"data c2s 0+2 f4",
		"skip c2s 2+2 end f99",
		"data c2s 4+2 f5 held>f99",
		"skip c2s 6+2 end f99",
		"data c2s 8+2 f6 held>f99",
		"skip s2c 0+3 end f99",
		"data s2c 3+4 f7 held>f99",
	}
	if got := rec.kinds(); !slices.Equal(got, want) {
		t.Errorf("handler calls:\n got  %q\n want %q", got, want)
	}
	if h := &c.half[0]; len(h.pending) != 0 || h.pendBytes != 0 {
		t.Errorf("after End: %d pending, %d bytes", len(h.pending), h.pendBytes)
	}
	// Nothing left: a second End does nothing.
	n := len(rec.ops)
	c.End(100, at(2000))
	if len(rec.ops) != n {
		t.Errorf("second End made %d calls", len(rec.ops)-n)
	}
}

func TestSkipReasonString(t *testing.T) {
	for r, want := range map[SkipReason]string{SkipUnseen: "unseen", SkipSnaplen: "snaplen", SkipCap: "cap", SkipEnd: "end", 0: "SkipReason(0)", 9: "SkipReason(9)"} {
		if got := r.String(); got != want {
			t.Errorf("SkipReason(%d).String() = %q; want %q", r, got, want)
		}
	}
}

// TestReassemblyProperty cuts a known stream into random segments, sends
// them reordered and duplicated, and checks that exactly the original
// bytes come out, in order, with every gap reported filled.
func TestReassemblyProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 500 {
		n := 1 + rng.IntN(3000)
		stream := make([]byte, n)
		for i := range stream {
			stream[i] = byte(rng.IntN(256))
		}
		isn := rng.Uint32() // wraps 2^32 sometimes
		// Segments of 1..200 bytes, some overlapping the previous one.
		type piece struct{ off, end int }
		var pieces []piece
		for off := 0; off < n; {
			end := min(n, off+1+rng.IntN(200))
			start := off
			if rng.IntN(4) == 0 {
				start = max(0, off-rng.IntN(50))
			}
			pieces = append(pieces, piece{start, end})
			off = end
		}
		// Duplicate some, then shuffle locally (a window of 8) so that
		// holes are filled eventually, as in real reordering.
		for i := range pieces {
			if rng.IntN(5) == 0 {
				pieces = append(pieces, pieces[i])
			}
		}
		for i := range pieces {
			j := min(len(pieces)-1, i+rng.IntN(8))
			pieces[i], pieces[j] = pieces[j], pieces[i]
		}
		rec := newRecorder(t)
		c := New(Options{Limits: Limits{MaxBufferedBytes: 1 << 20, MaxBufferedSegments: 1 << 16}}, rec)
		emit := func(decode.Event) {}
		seg0 := seg{dir: c2s, flags: "S", seq: isn}
		sg, _ := seg0.segment(1)
		c.Segment(c2s, sg, emit)
		for i, p := range pieces {
			s := seg{dir: c2s, ms: float64(i), flags: "A", seq: isn + 1 + uint32(p.off), ack: 1, data: string(stream[p.off:p.end])}
			sg, _ := s.segment(int64(i + 2))
			c.Segment(c2s, sg, emit)
		}
		// Every byte was sent at least once, so nothing may be pending.
		if h := &c.half[0]; len(h.pending) != 0 {
			t.Fatalf("iteration %d: %d pieces still pending", iter, len(h.pending))
		}
		c.End(int64(len(pieces)+2), at(1e6))
		if !bytes.Equal(rec.stream[0], stream) {
			t.Fatalf("iteration %d (isn %d, %d pieces): delivered %d bytes, differ from the %d sent",
				iter, isn, len(pieces), len(rec.stream[0]), n)
		}
		for _, o := range rec.ops {
			if o.kind == "skip" {
				t.Fatalf("iteration %d: skip %+v though nothing was lost", iter, o.s)
			}
		}
	}
}
