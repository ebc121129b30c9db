package timeline

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Synthetic conversations that exercise each rule of the sequence analysis
// on its edges, checked against tshark frame by frame. Each scenario runs
// on its own ports, 100 s after the previous one, so one capture (one
// tshark start) holds them all.

// spkt is one segment of a scenario. Sequence and acknowledgment numbers
// are relative to the sender's and receiver's initial sequence numbers.
type spkt struct {
	ms       float64 // since the scenario's start
	c2s      bool
	flags    string // as tpkt.flags
	seq, ack uint32
	n        int    // payload bytes
	win      uint16 // raw window; 0 means 65535 unless zero
	zero     bool
	wscale   int // window scale option on SYNs; 0 means none, else shift+1
	ipID     uint16
}

type scenario struct {
	name string
	pkts []spkt
}

const (
	synthClientISN = 1_000_000
	synthServerISN = 7_000_000
)

// handshake returns a three-way handshake with the given RTT halves.
func handshake(synMs, synAckMs, ackMs float64) []spkt {
	return []spkt{
		{ms: synMs, c2s: true, flags: "S", seq: 0},
		{ms: synAckMs, flags: "SA", seq: 0, ack: 1},
		{ms: ackMs, c2s: true, flags: "A", seq: 1, ack: 1},
	}
}

func cat(parts ...[]spkt) []spkt { return slices.Concat(parts...) }

var synthScenarios = []scenario{
	{"syn-retransmitted", []spkt{
		{ms: 0, c2s: true, flags: "S"},
		{ms: 1000, c2s: true, flags: "S"},
		{ms: 1010, flags: "SA", ack: 1},
		{ms: 1011, c2s: true, flags: "A", seq: 1, ack: 1},
	}},
	{"fin-retransmitted", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101},
		{ms: 40, c2s: true, flags: "FA", seq: 101, ack: 1},
		{ms: 400, c2s: true, flags: "FA", seq: 101, ack: 1},
		{ms: 410, flags: "FA", seq: 1, ack: 102},
		{ms: 411, c2s: true, flags: "A", seq: 102, ack: 2},
	})},
	{"timeout-retransmission", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 300, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 310, flags: "A", seq: 1, ack: 101},
	})},
	{"spurious-retransmission", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101},
		{ms: 300, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
	})},
	{"spurious-unseen", cat(handshake(0, 10, 11), []spkt{
		// The server acknowledges bytes the capture has not seen yet;
		// they arrive afterwards, in order.
		{ms: 20, flags: "A", seq: 1, ack: 101},
		{ms: 21, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
	})},
	{"out-of-order", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "A", seq: 101, ack: 1, n: 100},
		{ms: 21, c2s: true, flags: "A", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 201},
	})},
	{"late-segment-past-rtt", cat(handshake(0, 10, 11), []spkt{
		// Reordered, but later than the 11 ms initial RTT: tshark calls
		// it a retransmission.
		{ms: 20, c2s: true, flags: "A", seq: 101, ack: 1, n: 100},
		{ms: 40, c2s: true, flags: "A", seq: 1, ack: 1, n: 100},
	})},
	{"out-of-order-fin", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "FA", seq: 101, ack: 1},
		{ms: 21, c2s: true, flags: "A", seq: 1, ack: 1, n: 100},
	})},
	{"retransmitted-fin-with-data", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "FA", seq: 1, ack: 1, n: 100},
		{ms: 21, c2s: true, flags: "FA", seq: 1, ack: 1, n: 100},
	})},
	{"fast-retransmission", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "A", seq: 1, ack: 1, n: 100},
		{ms: 20.1, c2s: true, flags: "A", seq: 101, ack: 1, n: 100},
		{ms: 20.2, c2s: true, flags: "A", seq: 201, ack: 1, n: 100},
		{ms: 20.3, c2s: true, flags: "A", seq: 301, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101},
		{ms: 31, flags: "A", seq: 1, ack: 101},
		{ms: 32, flags: "A", seq: 1, ack: 101},
		{ms: 33, flags: "A", seq: 1, ack: 101},
		{ms: 40, c2s: true, flags: "A", seq: 101, ack: 1, n: 100},
		{ms: 50, flags: "A", seq: 1, ack: 401},
	})},
	{"dup-acks-too-late-for-fast", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "A", seq: 1, ack: 1, n: 100},
		{ms: 20.1, c2s: true, flags: "A", seq: 101, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101},
		{ms: 31, flags: "A", seq: 1, ack: 101},
		{ms: 32, flags: "A", seq: 1, ack: 101},
		{ms: 60, c2s: true, flags: "A", seq: 101, ack: 1, n: 100},
	})},
	{"dup-ack-counter-and-data", cat(handshake(0, 10, 11), []spkt{
		// Server data with the same ack between duplicate ACKs: the
		// count goes on (it resets only when the ack moves).
		{ms: 20, c2s: true, flags: "A", seq: 1, ack: 1, n: 100},
		{ms: 20.1, c2s: true, flags: "A", seq: 101, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101},
		{ms: 31, flags: "A", seq: 1, ack: 101},
		{ms: 31.5, flags: "PA", seq: 1, ack: 101, n: 10},
		{ms: 32, flags: "A", seq: 11, ack: 101},
		{ms: 32.5, flags: "A", seq: 11, ack: 101},
		{ms: 33, c2s: true, flags: "A", seq: 101, ack: 11, n: 100},
	})},
	{"lost-segment", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "A", seq: 1, ack: 1, n: 100},
		{ms: 21, c2s: true, flags: "A", seq: 201, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101},
		{ms: 31, flags: "A", seq: 1, ack: 301},
	})},
	{"keep-alive", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101},
		{ms: 10000, c2s: true, flags: "A", seq: 100, ack: 1},
		{ms: 10010, flags: "A", seq: 1, ack: 101},
		{ms: 20000, c2s: true, flags: "A", seq: 100, ack: 1, n: 1},
		{ms: 20010, flags: "A", seq: 1, ack: 101},
		{ms: 20011, flags: "A", seq: 1, ack: 101},
	})},
	{"zero-window-probe", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101, zero: true},
		{ms: 230, c2s: true, flags: "A", seq: 101, ack: 1, n: 1},
		{ms: 240, flags: "A", seq: 1, ack: 101, zero: true},
		{ms: 640, c2s: true, flags: "A", seq: 101, ack: 1, n: 1},
		{ms: 650, flags: "A", seq: 1, ack: 101, zero: true},
		{ms: 700, flags: "A", seq: 1, ack: 101},
		{ms: 701, c2s: true, flags: "PA", seq: 101, ack: 1, n: 100},
		{ms: 710, flags: "A", seq: 1, ack: 201},
	})},
	{"data-after-probe", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101, zero: true},
		{ms: 230, c2s: true, flags: "A", seq: 101, ack: 1, n: 1},
		{ms: 240, flags: "A", seq: 1, ack: 101},
		// The probe did not advance the sequence: new data may start
		// one below what was sent.
		{ms: 241, c2s: true, flags: "PA", seq: 101, ack: 1, n: 100},
	})},
	{"window-scale", []spkt{
		{ms: 0, c2s: true, flags: "S", win: 64240, wscale: 8},
		{ms: 10, flags: "SA", ack: 1, win: 65535, wscale: 8},
		{ms: 11, c2s: true, flags: "A", seq: 1, ack: 1, win: 502},
		{ms: 12, flags: "A", seq: 1, ack: 1, win: 512},
		{ms: 13, flags: "A", seq: 1, ack: 1, win: 512},
		{ms: 14, c2s: true, flags: "PA", seq: 1, ack: 1, n: 50, win: 502},
		{ms: 20, flags: "A", seq: 1, ack: 51, zero: true},
	}},
	{"synack-window-then-ack", []spkt{
		// The server's first ACK repeats the SYN-ACK's unscaled window.
		{ms: 0, c2s: true, flags: "S", win: 8192, wscale: 6},
		{ms: 1, flags: "SA", ack: 1, win: 4096, wscale: 6},
		{ms: 2, c2s: true, flags: "A", seq: 1, ack: 1, win: 4096},
		{ms: 3, flags: "A", seq: 1, ack: 1, win: 4096},
	}},
	{"rst-with-data-repeated", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "RA", seq: 1, ack: 101, n: 20},
		{ms: 31, flags: "RA", seq: 1, ack: 101, n: 20},
	})},
	{"refused", []spkt{
		{ms: 0, c2s: true, flags: "S"},
		{ms: 1, flags: "RA", ack: 1},
		{ms: 1000, c2s: true, flags: "S"},
		{ms: 1001, flags: "RA", ack: 1},
	}},
	{"half-close", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "FA", seq: 1, ack: 1},
		{ms: 30, flags: "PA", seq: 1, ack: 2, n: 100},
		{ms: 31, c2s: true, flags: "A", seq: 2, ack: 101},
		{ms: 40, flags: "FA", seq: 101, ack: 2},
		{ms: 41, c2s: true, flags: "A", seq: 2, ack: 102},
	})},
	{"tfo", []spkt{
		{ms: 0, c2s: true, flags: "S", n: 50},
		{ms: 10, flags: "SA", ack: 51},
		{ms: 11, c2s: true, flags: "A", seq: 51, ack: 1},
		{ms: 20, flags: "PA", seq: 1, ack: 51, n: 10},
	}},
	{"data-one-below-next", cat(handshake(0, 10, 11), []spkt{
		// A one-byte segment (not a probe: the window is open), then new
		// data starting at that byte: not a retransmission.
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 1},
		{ms: 21, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
	})},
	{"syn-retransmitted-after-synack", []spkt{
		{ms: 0, c2s: true, flags: "S"},
		{ms: 10, flags: "SA", ack: 1},
		{ms: 1000, c2s: true, flags: "S"},
		{ms: 1010, flags: "SA", ack: 1},
		{ms: 1011, c2s: true, flags: "A", seq: 1, ack: 1},
	}},
	{"window-update-not-dup", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 30, flags: "A", seq: 1, ack: 101, win: 1000},
		{ms: 31, flags: "A", seq: 1, ack: 101, win: 2000},
		{ms: 32, flags: "A", seq: 1, ack: 101, win: 2000},
	})},
	{"rst-repeated", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, flags: "R", seq: 1},
		{ms: 21, flags: "R", seq: 1},
	})},
	{"port-reuse", cat(handshake(0, 10, 11), []spkt{
		{ms: 20, c2s: true, flags: "FA", seq: 1, ack: 1},
		{ms: 30, flags: "FA", seq: 1, ack: 2},
		{ms: 31, c2s: true, flags: "A", seq: 2, ack: 2},
		// Within the close linger, and again after it.
		{ms: 500, c2s: true, flags: "S", seq: 50000},
		{ms: 510, flags: "SA", seq: 90000, ack: 50001},
		{ms: 511, c2s: true, flags: "A", seq: 50001, ack: 90001},
		{ms: 520, c2s: true, flags: "RA", seq: 50001, ack: 90001},
		{ms: 9000, c2s: true, flags: "S", seq: 60000},
		{ms: 9010, flags: "SA", seq: 95000, ack: 60001},
	})},
	{"data-after-fin-rst", cat(handshake(0, 10, 11), []spkt{
		// New data at the FIN's sequence number, then duplicate ACKs:
		// the reset does not stop the analysis.
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 10},
		{ms: 30, flags: "A", seq: 1, ack: 11},
		{ms: 40, c2s: true, flags: "FR", seq: 11},
		{ms: 50, c2s: true, flags: "PA", seq: 11, ack: 1, n: 13},
		{ms: 60, flags: "PA", seq: 1, ack: 24, n: 54},
		{ms: 61, c2s: true, flags: "A", seq: 24, ack: 55},
		{ms: 62, c2s: true, flags: "A", seq: 24, ack: 55},
		{ms: 63, c2s: true, flags: "A", seq: 24, ack: 55},
	})},
	{"identical-dup-acks", cat(handshake(0, 10, 11), []spkt{
		// Byte-identical duplicate ACKs (same IP ID) are duplicates too.
		{ms: 20, c2s: true, flags: "PA", seq: 1, ack: 1, n: 13},
		{ms: 60, flags: "PA", seq: 1, ack: 14, n: 54},
		{ms: 61, c2s: true, flags: "A", seq: 14, ack: 55, ipID: 0x1a0},
		{ms: 62, c2s: true, flags: "A", seq: 14, ack: 55, ipID: 0x1a0},
		{ms: 63, c2s: true, flags: "A", seq: 14, ack: 55, ipID: 0x1a1},
	})},
	{"midstream", []spkt{
		{ms: 0, flags: "PA", seq: 1, ack: 1, n: 100},
		{ms: 1, c2s: true, flags: "A", seq: 1, ack: 101},
		{ms: 2, c2s: true, flags: "A", seq: 1, ack: 101},
		{ms: 3, flags: "PA", seq: 1, ack: 1, n: 100},
	}},
}

// synthPackets lays the scenarios out on separate ports and times.
func synthPackets(t testing.TB) []tpkt {
	var out []tpkt
	for i, sc := range synthScenarios {
		cli := fmt.Sprintf("10.0.%d.1:%d", i, 40000+i)
		srv := fmt.Sprintf("10.0.%d.2:80", i)
		start := time.Duration(i) * 100 * time.Second
		for _, p := range sc.pkts {
			tp := tpkt{at: start + time.Duration(p.ms*float64(time.Millisecond)), flags: p.flags,
				win: p.win, zeroWin: p.zero, ipID: p.ipID}
			if p.n > 0 {
				tp.payload = make([]byte, p.n)
				for j := range tp.payload {
					tp.payload[j] = byte('a' + j%26)
				}
			}
			myISN, peerISN := uint32(synthServerISN), uint32(synthClientISN)
			tp.src, tp.dst = srv, cli
			if p.c2s {
				myISN, peerISN = synthClientISN, synthServerISN
				tp.src, tp.dst = cli, srv
			}
			tp.seq = myISN + p.seq
			if strings.Contains(p.flags, "A") {
				tp.ack = peerISN + p.ack
			}
			if p.wscale > 0 {
				tp.opts = []layers.TCPOption{
					{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(p.wscale - 1)}},
					{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
				}
			}
			out = append(out, tp)
		}
	}
	return out
}

func TestTsharkSynthetic(t *testing.T) {
	tshark := tsharkPath(t)
	path := filepath.Join(t.TempDir(), "synthetic.pcap")
	writePcap(t, path, synthPackets(t))
	ours, _ := ourFlows(t, path)
	theirs, _, _ := tsharkFlows(t, tshark, path)
	groups := groupFlows(ours, theirs)
	seen := map[int]bool{}
	for _, g := range groups {
		name := g.name()
		if len(g.ours) != 1 || len(g.theirs) != 1 {
			t.Errorf("%s: %d connections, %d tshark streams", name, len(g.ours), len(g.theirs))
			continue
		}
		// The client's port says which scenario this is.
		i := int(g.ours[0].ep.a.Port()) - 40000
		seen[i] = true
		sc := synthScenarios[i].name
		o, th := g.ours[0].frames, g.theirs[0].frames
		frames := slices.Sorted(maps.Keys(o))
		for fr := range th {
			if !slices.Contains(frames, fr) {
				frames = append(frames, fr)
			}
		}
		slices.Sort(frames)
		for _, fr := range frames {
			ol, tl := slices.Clone(o[fr]), slices.Clone(th[fr])
			slices.Sort(ol)
			slices.Sort(tl)
			if !slices.Equal(ol, tl) {
				t.Errorf("%s: frame %d: got %q; tshark %q", sc, fr, ol, tl)
			} else if len(ol) > 0 {
				t.Logf("%s: frame %d: %q", sc, fr, ol)
			}
		}
	}
	for i, sc := range synthScenarios {
		if !seen[i] {
			t.Errorf("%s: no connection", sc.name)
		}
	}
}
