package tcpflow

import (
	"slices"
	"strings"
	"testing"
)

// sackHS is a handshake in which both sides offer SACK.
func sackHS() []seg {
	h := hs()
	h[0].sackOK, h[1].sackOK = true, true
	return h
}

// ackS is a server ACK of client offset off with SACK blocks given as
// client stream offsets [left, right).
func ackS(ms float64, off uint32, blocks ...[2]uint32) seg {
	s := sack(ms, off)
	for i, b := range blocks {
		s.sacks[i] = [2]uint32{cISN + 1 + b[0], cISN + 1 + b[1]}
	}
	return s
}

func dupAck(ms float64, off uint32) seg { return sack(ms, off) }

// Holes downstream of the capture: the capture sees every byte, the
// receiver's ACKs say what it missed.
func TestDownstreamHoles(t *testing.T) {
	d := func(ms float64, off uint32) seg { return dseg(ms, off, "xxxx") }
	tests := []struct {
		name string
		hs   []seg
		segs []seg // after the handshake (frames 1-3)
		gaps []string
	}{
		{
			name: "SACK: lost, retransmitted, hole filled",
			hs:   sackHS(),
			segs: []seg{
				d(20, 0), d(20.1, 4), d(20.2, 8), d(20.3, 12), // f4-f7; f5 is lost downstream
				ackS(30, 4, [2]uint32{8, 12}),   // f8: hole 4+4 opens
				ackS(30.1, 4, [2]uint32{8, 16}), // f9
				ackS(30.2, 4, [2]uint32{8, 16}), // f10
				d(31, 4),                        // f11: fast retransmission
				sack(41, 16),                    // f12: the hole is filled, 8 bytes released
			},
			gaps: []string{"gap c2s 4+4 f8>f12 blocked 8 downstream"},
		},
		{
			name: "SACK: spurious retransmission, nothing missing",
			hs:   sackHS(),
			segs: []seg{
				d(20, 0), d(20.1, 4), // f4, f5
				sack(30, 8), // f6
				d(250, 4),   // f7: retransmitted after a timeout, already acknowledged
				{dir: s2c, ms: 260, flags: "A", seq: sISN + 1, ack: cISN + 9, sacks: [4][2]uint32{{cISN + 5, cISN + 9}}}, // f8: D-SACK
			},
			gaps: nil,
		},
		{
			name: "SACK: two holes one after the other",
			hs:   sackHS(),
			segs: []seg{
				d(20, 0), d(20.1, 4), d(20.2, 8), d(20.3, 12), d(20.4, 16), // f4-f8; 4 and 12 lost
				ackS(30, 4, [2]uint32{8, 12}),                      // f9: hole 4+4
				ackS(30.1, 4, [2]uint32{16, 20}, [2]uint32{8, 12}), // f10
				d(31, 4),                        // f11
				ackS(41, 12, [2]uint32{16, 20}), // f12: first filled (4 released), second hole 12+4
				d(42, 12),                       // f13
				sack(52, 20),                    // f14
			},
			gaps: []string{
				"gap c2s 4+4 f9>f12 blocked 4 downstream",
				// Open since the bytes above it were first reported.
				"gap c2s 12+4 f10>f14 blocked 4 downstream",
			},
		},
		{
			name: "SACK: partial fill keeps the hole open",
			hs:   sackHS(),
			segs: []seg{
				d(20, 0), d(20.1, 4), d(20.2, 8), d(20.3, 12), // f4-f7; 4 and 8 lost
				ackS(30, 4, [2]uint32{12, 16}), // f8: hole 4+8
				d(31, 4),                       // f9
				ackS(41, 8, [2]uint32{12, 16}), // f10: half filled
				d(42, 8),                       // f11
				sack(52, 16),                   // f12
			},
			gaps: []string{"gap c2s 4+8 f8>f12 blocked 4 downstream"},
		},
		{
			name: "no SACK: duplicate ACKs and the retransmission's length",
			hs:   hs(),
			segs: []seg{
				d(20, 0), d(20.1, 4), d(20.2, 8), d(20.3, 12), // f4-f7; f5 lost
				sack(30, 4),     // f8
				dupAck(30.1, 4), // f9: hole opens
				dupAck(30.2, 4), // f10
				d(31, 4),        // f11: 4 bytes retransmitted
				sack(41, 16),    // f12
			},
			gaps: []string{"gap c2s 4+4 f9>f12 blocked 8 downstream"},
		},
		{
			name: "loss before the capture: reassembly reports it, not the ACKs",
			hs:   sackHS(),
			segs: []seg{
				d(20, 0), d(20.2, 8), d(20.3, 12), // f4-f6; 4 never seen
				ackS(30, 4, [2]uint32{8, 16}), // f7
				d(31, 4),                      // f8: the hole fills at the capture
				sack(41, 16),                  // f9
			},
			gaps: []string{"gap c2s 4+4 f5>f8 blocked 8"},
		},
		{
			name: "SACK block beyond what was sent is ignored",
			hs:   sackHS(),
			segs: []seg{
				d(20, 0), d(20.1, 4),
				ackS(30, 4, [2]uint32{100, 104}),
				sack(40, 8),
			},
			gaps: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			run(t, Options{}, rec, cat(tt.hs, tt.segs))
			var gaps []string
			for _, k := range rec.kinds() {
				if strings.HasPrefix(k, "gap ") {
					gaps = append(gaps, k)
				}
			}
			if !slices.Equal(gaps, tt.gaps) {
				t.Errorf("gaps:\n got  %q\n want %q", gaps, tt.gaps)
			}
		})
	}
}

// A downstream hole's times are the ACKs' as the capture saw them.
func TestDownstreamHoleTimes(t *testing.T) {
	rec := newRecorder(t)
	run(t, Options{}, rec, cat(sackHS(), []seg{
		dseg(20, 0, "aaaa"), dseg(20.1, 4, "bbbb"), dseg(20.2, 8, "cccc"),
		ackS(30, 4, [2]uint32{8, 12}),
		dseg(31, 4, "bbbb"),
		sack(41.5, 12),
	}))
	var got []Gap
	for _, o := range rec.ops {
		if o.kind == "gap" {
			got = append(got, o.g)
		}
	}
	want := Gap{Offset: 4, Len: 4, Opened: at(30), OpenedFrame: 7, Filled: at(41.5), FilledFrame: 9, Blocked: 4, Downstream: true}
	if len(got) != 1 || got[0] != want {
		t.Errorf("gaps = %+v; want [%+v]", got, want)
	}
}
