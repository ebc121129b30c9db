package tcpflow

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
)

const (
	c2s = decode.C2S
	s2c = decode.S2C
)

func TestHandshake(t *testing.T) {
	tests := []struct {
		name    string
		segs    []seg
		events  []string
		rtt     time.Duration
		ackInfo string // info of the ACK event
	}{
		{
			name:    "plain",
			segs:    hs(),
			events:  []string{"f1 c2s SYN", "f2 s2c SYN-ACK", "f3 c2s ACK"},
			rtt:     11 * time.Millisecond,
			ackInfo: "rtt_ms=11 syn_to_synack_ms=10 synack_to_ack_ms=1",
		},
		{
			// The RTT runs from the last SYN before the SYN-ACK, not the
			// first: the retransmitted SYN is what was answered.
			name: "syn retransmitted",
			segs: []seg{
				{dir: c2s, ms: 0, flags: "S", seq: cISN},
				{dir: c2s, ms: 1000, flags: "S", seq: cISN},
				{dir: s2c, ms: 1010, flags: "SA", seq: sISN, ack: cISN + 1},
				{dir: c2s, ms: 1020, flags: "A", seq: cISN + 1, ack: sISN + 1},
			},
			events:  []string{"f1 c2s SYN", "f2 c2s SYN", "f3 s2c SYN-ACK", "f4 c2s ACK"},
			rtt:     20 * time.Millisecond,
			ackInfo: "rtt_ms=20 syn_to_synack_ms=10 synack_to_ack_ms=10",
		},
		{
			// A SYN repeated after the SYN-ACK does not move the start.
			name: "syn repeated after syn-ack",
			segs: []seg{
				{dir: c2s, ms: 0, flags: "S", seq: cISN},
				{dir: s2c, ms: 10, flags: "SA", seq: sISN, ack: cISN + 1},
				{dir: c2s, ms: 500, flags: "S", seq: cISN},
				{dir: s2c, ms: 510, flags: "SA", seq: sISN, ack: cISN + 1},
				{dir: c2s, ms: 511, flags: "A", seq: cISN + 1, ack: sISN + 1},
			},
			events:  []string{"f1 c2s SYN", "f2 s2c SYN-ACK", "f3 c2s SYN", "f4 s2c SYN-ACK", "f5 c2s ACK"},
			rtt:     511 * time.Millisecond,
			ackInfo: "rtt_ms=511 syn_to_synack_ms=510 synack_to_ack_ms=1",
		},
		{
			// Data on the ACK completes the handshake just the same.
			name: "ack with data",
			segs: []seg{
				{dir: c2s, ms: 0, flags: "S", seq: cISN},
				{dir: s2c, ms: 10, flags: "SA", seq: sISN, ack: cISN + 1},
				{dir: c2s, ms: 12, flags: "PA", seq: cISN + 1, ack: sISN + 1, data: "GET"},
			},
			events:  []string{"f1 c2s SYN", "f2 s2c SYN-ACK", "f3 c2s ACK"},
			rtt:     12 * time.Millisecond,
			ackInfo: "rtt_ms=12 syn_to_synack_ms=10 synack_to_ack_ms=2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, evs := run(t, Options{}, nil, tt.segs)
			if got := evStrings(evs); !slices.Equal(got, tt.events) {
				t.Fatalf("events = %q; want %q", got, tt.events)
			}
			h := c.Handshake()
			if !h.Complete || h.RTT() != tt.rtt {
				t.Errorf("Handshake() = %+v, RTT %v; want complete, RTT %v", h, h.RTT(), tt.rtt)
			}
			ack := evs[len(evs)-1]
			if got := infoOf(ack, "rtt_ms", "syn_to_synack_ms", "synack_to_ack_ms"); got != tt.ackInfo {
				t.Errorf("ACK info = %q; want %q", got, tt.ackInfo)
			}
			if ack.Flags&(decode.FlagRequest|decode.FlagReply) != 0 {
				t.Errorf("ACK flags = %v; want neither request nor reply", ack.Flags)
			}
		})
	}
}

func TestHandshakeEventDetails(t *testing.T) {
	segs := []seg{
		{dir: c2s, ms: 0, flags: "S", seq: cISN, win: 64240, wscale: 8},
		{dir: c2s, ms: 1000, flags: "S", seq: cISN, win: 64240, wscale: 8},
		{dir: s2c, ms: 1010, flags: "SA", seq: sISN, ack: cISN + 1, win: 65535, wscale: 10},
	}
	_, evs := run(t, Options{}, nil, segs)
	want := []struct {
		info  string
		flags decode.Flags
	}{
		{"seq=0 win=64240 flags=SYN wscale=7", decode.FlagRequest},
		{"seq=0 win=64240 flags=SYN retransmission=true wscale=7", decode.FlagRequest},
		{"seq=0 ack=1 win=65535 flags=SYN|ACK wscale=9", decode.FlagReply},
	}
	for i, e := range evs {
		if got := infoOf(e, "seq", "ack", "win", "flags", "retransmission", "wscale"); got != want[i].info {
			t.Errorf("event %d info = %q; want %q", i, got, want[i].info)
		}
		if e.Flags != want[i].flags {
			t.Errorf("event %d flags = %v; want %v", i, e.Flags, want[i].flags)
		}
	}
}

func TestFastOpen(t *testing.T) {
	rec := newRecorder(t)
	segs := []seg{
		{dir: c2s, ms: 0, flags: "S", seq: cISN, data: "hello"},
		{dir: s2c, ms: 10, flags: "SA", seq: sISN, ack: cISN + 6},
		{dir: c2s, ms: 11, flags: "A", seq: cISN + 6, ack: sISN + 1},
		{dir: c2s, ms: 12, flags: "PA", seq: cISN + 6, ack: sISN + 1, data: " world"},
		{dir: s2c, ms: 20, flags: "PA", seq: sISN + 1, ack: cISN + 12, data: "hi"},
	}
	c, evs := run(t, Options{}, rec, segs)
	want := []string{"data c2s 0+5 f1", "data c2s 5+6 f4", "data s2c 0+2 f5"}
	if got := rec.kinds(); !slices.Equal(got, want) {
		t.Errorf("handler calls = %q; want %q", got, want)
	}
	if got := string(rec.stream[0]); got != "hello world" {
		t.Errorf("c2s stream = %q; want %q", got, "hello world")
	}
	if e := evs[0]; e.Type != decode.TypeSYN || e.Len != 5 {
		t.Errorf("first event = %s len %d; want SYN len 5", e.Type, e.Len)
	}
	if !c.Handshake().Complete {
		t.Error("handshake not complete")
	}
	if st := c.Stats(c2s); st.StreamBytes != 11 || st.PayloadBytes != 11 || st.Segments != 3 {
		t.Errorf("c2s stats = %+v; want 3 segments, 11 payload and stream bytes", st)
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name   string
		segs   []seg
		close  Close
		half   bool
		done   []bool // Done after each segment past the handshake
		events []string
		info   map[string]string // "f5 FIN" -> info
	}{
		{
			name: "fin both ways",
			segs: cat(hs(), []seg{
				{dir: c2s, ms: 20, flags: "FA", seq: cISN + 1, ack: sISN + 1},
				{dir: s2c, ms: 30, flags: "FA", seq: sISN + 1, ack: cISN + 2},
				{dir: c2s, ms: 31, flags: "A", seq: cISN + 2, ack: sISN + 2},
			}),
			close:  CloseFIN,
			done:   []bool{false, false, true},
			events: []string{"f4 c2s FIN", "f5 s2c FIN"},
			info:   map[string]string{"f4 FIN": "active_close=true", "f5 FIN": ""},
		},
		{
			name: "fin not yet acknowledged",
			segs: cat(hs(), []seg{
				{dir: c2s, ms: 20, flags: "FA", seq: cISN + 1, ack: sISN + 1},
				{dir: s2c, ms: 30, flags: "FA", seq: sISN + 1, ack: cISN + 1}, // does not ack the FIN
			}),
			close:  CloseFIN,
			done:   []bool{false, false},
			events: []string{"f4 c2s FIN", "f5 s2c FIN"},
		},
		{
			name: "half close",
			segs: cat(hs(), []seg{
				{dir: c2s, ms: 20, flags: "FA", seq: cISN + 1, ack: sISN + 1},
				{dir: s2c, ms: 30, flags: "PA", seq: sISN + 1, ack: cISN + 2, data: "late data"},
				{dir: c2s, ms: 31, flags: "A", seq: cISN + 2, ack: sISN + 10},
			}),
			close:  CloseHalf,
			half:   true,
			done:   []bool{false, false, false},
			events: []string{"f4 c2s FIN"},
		},
		{
			// Retransmitted data after the peer's FIN is not a half-close.
			name: "retransmission after fin",
			segs: cat(hs(), []seg{
				{dir: s2c, ms: 20, flags: "PA", seq: sISN + 1, ack: cISN + 1, data: "data"},
				{dir: c2s, ms: 30, flags: "FA", seq: cISN + 1, ack: sISN + 1},
				{dir: s2c, ms: 300, flags: "PA", seq: sISN + 1, ack: cISN + 2, data: "data"},
			}),
			close:  CloseHalf,
			done:   []bool{false, false, false},
			events: []string{"f5 c2s FIN", "f6 s2c retransmission"},
		},
		{
			name: "reset",
			segs: cat(hs(), []seg{
				{dir: s2c, ms: 20, flags: "RA", seq: sISN + 1, ack: cISN + 1},
			}),
			close:  CloseRST,
			done:   []bool{true},
			events: []string{"f4 s2c RST"},
			info:   map[string]string{"f4 RST": ""},
		},
		{
			name: "refused",
			segs: []seg{
				{dir: c2s, ms: 0, flags: "S", seq: cISN},
				{dir: s2c, ms: 1, flags: "RA", seq: 0, ack: cISN + 1},
			},
			close:  CloseRefused,
			done:   nil,
			events: []string{"f1 c2s SYN", "f2 s2c RST"},
			info:   map[string]string{"f2 RST": "refused=true"},
		},
		{
			// A SYN-ACK after the reset: it did not refuse the connection.
			name: "reset before syn-ack",
			segs: []seg{
				{dir: c2s, ms: 0, flags: "S", seq: cISN},
				{dir: s2c, ms: 1, flags: "RA", seq: 0, ack: cISN + 1},
				{dir: s2c, ms: 20, flags: "SA", seq: sISN, ack: cISN + 1},
			},
			close:  CloseRST,
			events: []string{"f1 c2s SYN", "f2 s2c RST", "f3 s2c SYN-ACK"},
			info:   map[string]string{"f2 RST": "refused=true"},
		},
		{
			name:   "open",
			segs:   hs(),
			close:  CloseOpen,
			events: []string{"f1 c2s SYN", "f2 s2c SYN-ACK", "f3 c2s ACK"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{}, nil)
			var evs []decode.Event
			emit := func(e decode.Event) { evs = append(evs, e) }
			var done []bool
			for i, s := range tt.segs {
				sg, _ := s.segment(int64(i + 1))
				c.Segment(s.dir, sg, emit)
				if i >= 3 {
					done = append(done, c.Done())
				}
			}
			if !slices.Equal(done, tt.done) {
				t.Errorf("Done after each segment = %v; want %v", done, tt.done)
			}
			if got := c.CloseKind(); got != tt.close {
				t.Errorf("CloseKind() = %v; want %v", got, tt.close)
			}
			if got := c.HalfClosed(); got != tt.half {
				t.Errorf("HalfClosed() = %v; want %v", got, tt.half)
			}
			got := evStrings(evs)
			if len(tt.segs) > 3 && slices.Equal(tt.segs[:3], hs()) {
				got = nil // only the events after the handshake
				for _, e := range evs[3:] {
					got = append(got, evString(e))
				}
			}
			if !slices.Equal(got, tt.events) {
				t.Errorf("events = %q; want %q", got, tt.events)
			}
			for key, want := range tt.info {
				var frame int64
				var typ string
				if _, err := fmt.Sscanf(key, "f%d %s", &frame, &typ); err != nil {
					t.Fatal(err)
				}
				e, ok := find(evs, frame, decode.Type(typ))
				if !ok {
					t.Errorf("no %s event", key)
					continue
				}
				if got := infoOf(e, "active_close", "refused", "retransmission"); got != want {
					t.Errorf("%s info = %q; want %q", key, got, want)
				}
			}
		})
	}
	if got := Close(9).String(); got != "Close(9)" {
		t.Errorf("Close(9).String() = %q", got)
	}
}

func TestIsNewConnection(t *testing.T) {
	syn := func(seq uint32) *netpkt.TCP { return &netpkt.TCP{Seq: seq, Flags: netpkt.FlagSYN, WScale: -1} }
	closed := cat(hs(), []seg{
		{dir: c2s, ms: 20, flags: "FA", seq: cISN + 1, ack: sISN + 1},
		{dir: s2c, ms: 30, flags: "FA", seq: sISN + 1, ack: cISN + 2},
		{dir: c2s, ms: 31, flags: "A", seq: cISN + 2, ack: sISN + 2},
	})
	midstream := []seg{
		{dir: s2c, ms: 0, flags: "PA", seq: sISN + 1, ack: cISN + 1, data: "x"},
		{dir: c2s, ms: 1, flags: "A", seq: cISN + 1, ack: sISN + 2},
	}
	tests := []struct {
		name string
		segs []seg
		dir  decode.Dir
		tcp  *netpkt.TCP
		want bool
	}{
		{"retransmitted syn", hs()[:1], c2s, syn(cISN), false},
		{"syn with another isn during the handshake", hs()[:2], c2s, syn(cISN + 77), true},
		{"syn after close", closed, c2s, syn(cISN + 100000), true},
		{"same isn after close", closed, c2s, syn(cISN), false},
		{"syn-ack is never new", closed, c2s, &netpkt.TCP{Seq: 1, Flags: netpkt.FlagSYN | netpkt.FlagACK}, false},
		{"bare ack", closed, c2s, &netpkt.TCP{Seq: 1, Flags: netpkt.FlagACK}, false},
		{"syn after reset", cat(hs(), []seg{{dir: s2c, ms: 20, flags: "R", seq: sISN + 1}}), c2s, syn(cISN + 9), true},
		{"midstream: the connection's own syn", midstream, c2s, syn(cISN), false},
		{"midstream: port reuse", midstream, c2s, syn(cISN + 123456), true},
		// The side not seen yet: its first byte is what the peer acknowledged.
		{"midstream: own syn of the side not seen", midstream[:1], c2s, syn(cISN), false},
		{"midstream: port reuse by the side not seen", midstream[:1], c2s, syn(cISN + 123456), true},
		{"syn-ack first: the client's own syn", hs()[1:], c2s, syn(cISN), false},
		{"syn-ack first: port reuse", hs()[1:], c2s, syn(cISN + 99), true},
		{"nothing known of the side", []seg{{dir: s2c, ms: 0, flags: "P", seq: 9, data: "x"}}, c2s, syn(cISN), false},
		// Split handshake: the server answers the SYN with a bare ACK,
		// then sends its own SYN; one connection.
		{"split handshake", []seg{
			{dir: c2s, ms: 0, flags: "S", seq: cISN},
			{dir: s2c, ms: 1, flags: "A", seq: sISN + 1, ack: cISN + 1},
		}, s2c, syn(sISN), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := run(t, Options{}, nil, tt.segs)
			if got := c.IsNewConnection(tt.dir, tt.tcp); got != tt.want {
				t.Errorf("IsNewConnection = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestAnalysis checks each sequence-analysis verdict on its edges. The
// same rules are cross-checked against tshark in the timeline tests.
func TestAnalysis(t *testing.T) {
	data100 := string(make([]byte, 100))
	d := func(dir decode.Dir, ms float64, seq, ack uint32) seg {
		return seg{dir: dir, ms: ms, flags: "A", seq: seq, ack: ack, data: data100}
	}
	ack := func(dir decode.Dir, ms float64, seq, ack uint32) seg {
		return seg{dir: dir, ms: ms, flags: "A", seq: seq, ack: ack}
	}
	c1, s1 := uint32(cISN+1), uint32(sISN+1)
	tests := []struct {
		name string
		segs []seg
		want []string // analysis and flag events after the handshake
		info map[int64]string
	}{
		{
			name: "retransmission after a timeout",
			segs: cat(hs(), []seg{d(c2s, 20, c1, s1), d(c2s, 300, c1, s1)}),
			want: []string{"f5 c2s retransmission"},
			info: map[int64]string{5: "retransmission=true"},
		},
		{
			name: "spurious retransmission",
			segs: cat(hs(), []seg{d(c2s, 20, c1, s1), ack(s2c, 30, s1, c1+100), d(c2s, 300, c1, s1)}),
			want: []string{"f6 c2s retransmission"},
			info: map[int64]string{6: "retransmission=true spurious=true"},
		},
		{
			name: "fast retransmission after two duplicate acks",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1), d(c2s, 20.1, c1+100, s1), d(c2s, 20.2, c1+200, s1),
				ack(s2c, 30, s1, c1+100), ack(s2c, 31, s1, c1+100), ack(s2c, 32, s1, c1+100),
				d(c2s, 40, c1+100, s1),
			}),
			want: []string{"f8 s2c dup-ack", "f9 s2c dup-ack", "f10 c2s fast-retransmission"},
			info: map[int64]string{8: "dup_ack_num=1", 9: "dup_ack_num=2", 10: "retransmission=true"},
		},
		{
			name: "too late for a fast retransmission",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1), d(c2s, 20.1, c1+100, s1),
				ack(s2c, 30, s1, c1+100), ack(s2c, 31, s1, c1+100), ack(s2c, 32, s1, c1+100),
				d(c2s, 52, c1+100, s1),
			}),
			want: []string{"f7 s2c dup-ack", "f8 s2c dup-ack", "f9 c2s retransmission"},
		},
		{
			name: "one duplicate ack is not enough",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1), d(c2s, 20.1, c1+100, s1),
				ack(s2c, 30, s1, c1+100), ack(s2c, 31, s1, c1+100),
				d(c2s, 35, c1+100, s1),
			}),
			want: []string{"f7 s2c dup-ack", "f8 c2s retransmission"},
		},
		{
			name: "out of order within the initial rtt",
			segs: cat(hs(), []seg{d(c2s, 20, c1+100, s1), d(c2s, 30, c1, s1)}),
			want: []string{"f4 c2s lost-segment", "f5 c2s out-of-order"},
		},
		{
			name: "reordered later than the initial rtt",
			segs: cat(hs(), []seg{d(c2s, 20, c1+100, s1), d(c2s, 32, c1, s1)}),
			want: []string{"f4 c2s lost-segment", "f5 c2s retransmission"},
		},
		{
			// Without a handshake the threshold is 3 ms.
			name: "out of order without handshake",
			segs: []seg{d(c2s, 0, c1, s1), d(c2s, 1, c1+200, s1), d(c2s, 3.9, c1+100, s1), d(c2s, 10, c1+300, s1), d(c2s, 20, c1+250, s1)},
			want: []string{"f2 c2s lost-segment", "f3 c2s out-of-order", "f5 c2s retransmission"},
		},
		{
			name: "lost segment",
			segs: cat(hs(), []seg{d(c2s, 20, c1, s1), d(c2s, 21, c1+300, s1)}),
			want: []string{"f5 c2s lost-segment"},
		},
		{
			name: "reset beyond the sequence is not a lost segment",
			segs: cat(hs(), []seg{{dir: c2s, ms: 20, flags: "R", seq: c1 + 999}}),
			want: []string{"f4 c2s RST"},
		},
		{
			name: "duplicate ack numbering restarts when the ack moves",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1),
				ack(s2c, 30, s1, c1+100), ack(s2c, 31, s1, c1+100), ack(s2c, 32, s1, c1+100),
				d(c2s, 33, c1+100, s1),
				ack(s2c, 40, s1, c1+200), ack(s2c, 41, s1, c1+200),
			}),
			want: []string{"f6 s2c dup-ack", "f7 s2c dup-ack", "f10 s2c dup-ack"},
			info: map[int64]string{6: "dup_ack_num=1", 7: "dup_ack_num=2", 10: "dup_ack_num=1"},
		},
		{
			name: "a window change is an update, not a duplicate",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1),
				{dir: s2c, ms: 30, flags: "A", seq: s1, ack: c1 + 100, win: 1000},
				{dir: s2c, ms: 31, flags: "A", seq: s1, ack: c1 + 100, win: 2000},
			}),
			want: nil,
		},
		{
			name: "zero window",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1),
				{dir: s2c, ms: 30, flags: "A", seq: s1, ack: c1 + 100, zero: true},
				{dir: s2c, ms: 31, flags: "FA", seq: s1, ack: c1 + 100, zero: true},
			}),
			want: []string{"f5 s2c zero-window", "f6 s2c FIN"},
		},
		{
			// A probe is one byte at the next sequence number while the
			// peer's window is closed; it is not a keep-alive, the probe's
			// ACK is not a duplicate, and the probe does not advance the
			// sequence.
			name: "zero-window probe",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1),
				{dir: s2c, ms: 30, flags: "A", seq: s1, ack: c1 + 100, zero: true},
				{dir: c2s, ms: 200, flags: "A", seq: c1 + 100, ack: s1, data: "x"},
				{dir: s2c, ms: 210, flags: "A", seq: s1, ack: c1 + 100, zero: true},
				{dir: c2s, ms: 600, flags: "A", seq: c1 + 100, ack: s1, data: "x"},
				{dir: s2c, ms: 700, flags: "A", seq: s1, ack: c1 + 100},
				d(c2s, 701, c1+100, s1),
			}),
			want: []string{"f5 s2c zero-window", "f7 s2c zero-window"},
		},
		{
			name: "keep-alive",
			segs: cat(hs(), []seg{
				d(c2s, 20, c1, s1),
				ack(s2c, 30, s1, c1+100),
				ack(c2s, 10000, c1+99, s1),
				ack(s2c, 10010, s1, c1+100), // keep-alive ACK, not a duplicate
				{dir: c2s, ms: 20000, flags: "A", seq: c1 + 99, ack: s1, data: "k"},
				ack(s2c, 20010, s1, c1+100),
			}),
			want: []string{"f6 c2s keep-alive", "f8 c2s keep-alive"},
		},
		{
			name: "retransmitted fin",
			segs: cat(hs(), []seg{
				{dir: c2s, ms: 20, flags: "FA", seq: c1, ack: s1},
				{dir: c2s, ms: 400, flags: "FA", seq: c1, ack: s1},
			}),
			want: []string{"f4 c2s FIN", "f5 c2s FIN"},
			info: map[int64]string{4: "", 5: "retransmission=true"},
		},
		{
			// FIN and RST in one segment: the verdict is said once.
			name: "fin and rst retransmitted together",
			segs: cat(hs(), []seg{
				{dir: c2s, ms: 20, flags: "FA", seq: c1, ack: s1},
				{dir: c2s, ms: 400, flags: "FRA", seq: c1, ack: s1},
			}),
			want: []string{"f4 c2s FIN", "f5 c2s FIN", "f5 c2s RST"},
			info: map[int64]string{5: "retransmission=true"},
		},
		{
			name: "out-of-order fin",
			segs: cat(hs(), []seg{
				{dir: c2s, ms: 20, flags: "FA", seq: c1 + 100, ack: s1},
				d(c2s, 21, c1, s1),
			}),
			want: []string{"f4 c2s FIN", "f5 c2s out-of-order"},
			info: map[int64]string{4: "lost_segment=true"},
		},
		{
			name: "new data one byte below the next sequence",
			segs: cat(hs(), []seg{
				{dir: c2s, ms: 20, flags: "PA", seq: c1, ack: s1, data: "x"},
				d(c2s, 21, c1, s1),
			}),
			want: nil,
		},
		{
			name: "reset with data repeated",
			segs: cat(hs(), []seg{
				{dir: s2c, ms: 20, flags: "RA", seq: s1, ack: c1, data: "bye"},
				{dir: s2c, ms: 21, flags: "RA", seq: s1, ack: c1, data: "bye"},
			}),
			want: []string{"f4 s2c RST", "f5 s2c RST"},
			info: map[int64]string{5: "retransmission=true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, evs := run(t, Options{}, nil, tt.segs)
			var got []string
			for _, e := range evs {
				if e.Type == decode.TypeSYN || e.Type == decode.TypeSYNACK || e.Type == decode.TypeACK {
					continue
				}
				got = append(got, evString(e))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %q; want %q", got, tt.want)
			}
			for frame, want := range tt.info {
				var e decode.Event
				for _, x := range evs {
					if x.Frame == frame {
						e = x
						break
					}
				}
				if got := infoOf(e, "retransmission", "spurious", "lost_segment", "dup_ack_num"); got != want {
					t.Errorf("frame %d %s info = %q; want %q", frame, e.Type, got, want)
				}
			}
		})
	}
}

func TestWindowScaling(t *testing.T) {
	tests := []struct {
		name         string
		cliWS, srvWS int8 // option plus one; 0 means absent
		want         []string
	}{
		// SYNs are never scaled; after the handshake, the sender's shift
		// applies (RFC 7323 section 2.2).
		{"both", 8, 10, []string{"win=64240", "win=65535", "win=64256", "win=262144"}},
		{"client only", 8, 0, []string{"win=64240", "win=65535", "win=502", "win=512"}},
		{"server only", 0, 10, []string{"win=64240", "win=65535", "win=502", "win=512"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := []seg{
				{dir: c2s, ms: 0, flags: "S", seq: cISN, win: 64240, wscale: tt.cliWS},
				{dir: s2c, ms: 10, flags: "SA", seq: sISN, ack: cISN + 1, win: 65535, wscale: tt.srvWS},
				{dir: c2s, ms: 11, flags: "A", seq: cISN + 1, ack: sISN + 1, win: 502},
				{dir: s2c, ms: 12, flags: "PA", seq: sISN + 1, ack: cISN + 1, win: 512, data: "x"},
			}
			_, evs := run(t, Options{Segments: true}, nil, segs)
			var got []string
			for _, e := range evs {
				got = append(got, infoOf(e, "win"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("windows = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestSegmentEvents(t *testing.T) {
	segs := cat(hs(), []seg{
		{dir: c2s, ms: 20, flags: "PA", seq: cISN + 1, ack: sISN + 1, data: "abc"},
		{dir: s2c, ms: 30, flags: "A", seq: sISN + 1, ack: cISN + 4},
		{dir: c2s, ms: 300, flags: "PA", seq: cISN + 1, ack: sISN + 1, data: "abc"},
		{dir: c2s, ms: 310, flags: "PA", seq: cISN + 4, ack: sISN + 1, data: "defg", wire: 40},
	})
	_, evs := run(t, Options{Segments: true}, nil, segs)
	want := []string{"f1 c2s SYN", "f2 s2c SYN-ACK", "f3 c2s ACK", "f4 c2s segment", "f5 s2c segment",
		"f6 c2s retransmission", "f7 c2s segment"}
	if got := evStrings(evs); !slices.Equal(got, want) {
		t.Fatalf("events = %q; want %q", got, want)
	}
	if e := evs[3]; e.Flags != decode.FlagAppData || e.Len != 3 || infoOf(e, "seq", "ack", "flags") != "seq=1 ack=1 flags=PSH|ACK" {
		t.Errorf("data segment = flags %v len %d info %q", e.Flags, e.Len, infoOf(e, "seq", "ack", "flags"))
	}
	if e := evs[4]; e.Flags != 0 || e.Len != 0 {
		t.Errorf("bare ACK segment = flags %v len %d; want no flags, len 0", e.Flags, e.Len)
	}
	if e := evs[6]; infoOf(e, "truncated") != "truncated=true" || e.Len != 40 {
		t.Errorf("cut segment: len %d info %q; want len 40, truncated", e.Len, infoOf(e, "truncated"))
	}
}

func TestRelativeNumbersMidstream(t *testing.T) {
	segs := []seg{
		{dir: s2c, ms: 0, flags: "PA", seq: 777, ack: 4242, data: "abc"},
		{dir: c2s, ms: 1, flags: "A", seq: 4242, ack: 780},
	}
	_, evs := run(t, Options{Segments: true}, nil, segs)
	want := []string{"seq=1 ack=1", "seq=1 ack=4"}
	for i, e := range evs {
		if got := infoOf(e, "seq", "ack"); got != want[i] {
			t.Errorf("event %d: %q; want %q", i, got, want[i])
		}
	}
}

func TestFlagString(t *testing.T) {
	tests := []struct {
		f    uint16
		want string
	}{
		{netpkt.FlagACK, "ACK"},
		{netpkt.FlagSYN | netpkt.FlagACK, "SYN|ACK"},
		{netpkt.FlagFIN | netpkt.FlagRST | netpkt.FlagURG, "FIN|RST|URG"},
		{netpkt.FlagSYN | netpkt.FlagECE | netpkt.FlagCWR | netpkt.FlagNS, "SYN|ECE|CWR|NS"},
		{0, "none"},
	}
	for _, tt := range tests {
		if got := flagString(tt.f); got != tt.want {
			t.Errorf("flagString(%#x) = %q; want %q", tt.f, got, tt.want)
		}
	}
}

// nopHandler discards the streams.
type nopHandler struct{ n int }

func (h *nopHandler) Data(dir decode.Dir, c *Chunk)    { h.n += len(c.Data) }
func (h *nopHandler) GapFilled(dir decode.Dir, g *Gap) {}
func (h *nopHandler) Skip(dir decode.Dir, s *Skip)     {}

// TestSegmentAllocs checks that in-order data and bare ACKs, which emit
// no event, allocate nothing.
func TestSegmentAllocs(t *testing.T) {
	h := &nopHandler{}
	c, _ := run(t, Options{}, h, hs())
	var events int
	emit := func(decode.Event) { events++ }
	payload := make([]byte, 1000)
	data := &netpkt.TCP{Seq: cISN + 1, Ack: sISN + 1, Flags: netpkt.FlagACK | netpkt.FlagPSH, Window: 65535, WScale: -1}
	ack := &netpkt.TCP{Seq: sISN + 1, Flags: netpkt.FlagACK, Window: 65535, WScale: -1}
	ds := &Segment{TCP: data, Payload: payload, PayloadLen: len(payload)}
	as := &Segment{TCP: ack}
	frame := int64(3)
	allocs := testing.AllocsPerRun(200, func() {
		frame++
		ds.Frame, ds.TS = frame, at(float64(frame))
		c.Segment(c2s, ds, emit)
		data.Seq += uint32(len(payload))
		frame++
		ack.Ack = data.Seq
		as.Frame, as.TS = frame, at(float64(frame)+0.5)
		c.Segment(s2c, as, emit)
	})
	if events != 0 {
		t.Fatalf("steady state emitted %d events", events)
	}
	if h.n != 201*len(payload) {
		t.Fatalf("delivered %d bytes; want %d", h.n, 201*len(payload))
	}
	if allocs != 0 {
		t.Errorf("allocations per data+ACK pair = %v; want 0", allocs)
	}
}
