package quic

import (
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// TestTimeline runs shared captures through the timeline with the QUIC
// sniffer registered, as the command does, and checks what the flags
// make of them: the connection summary's handshake, sni and protocol,
// the round trips before the client's first application data (1 for a
// fresh handshake, 2 with a Retry, 0 with 0-RTT), and a quic phase that
// ends at the client's Finished.
func TestTimeline(t *testing.T) {
	for _, tc := range []struct {
		file       string
		conns, at  int // UDP connections in the capture, the one checked
		sni        string
		roundTrips int64
		phaseRT    int64 // the quic phase's round trips
		early      bool  // the request phase is early (0-RTT)
	}{
		{"quic/illustrated-quic.pcap", 1, 0, "example.ulfheim.net", 1, 1, false},
		{"quic/tcpdump-quic_handshake.pcap", 1, 0, "localhost", 1, 1, false},
		{"quic/sv-quic-v2.pcap", 1, 0, "", 1, 1, false},
		{"quic/tcpdump-quic_retry.pcap", 1, 0, "localhost", 2, 2, false},
		{"quic/tcpdump-quic_vn.pcap", 1, 0, "localhost", 2, 2, false},
		// The interop runner's 0-RTT test: a first connection gets a
		// ticket, the second sends its request in 0-RTT packets.
		{"quic/zeek-interop-quic-go-zerortt.pcap", 2, 0, "server4:443", 1, 1, false},
		{"quic/zeek-interop-quic-go-zerortt.pcap", 2, 1, "server4:443", 0, 1, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			reg := &decode.DatagramRegistry{}
			reg.Register(NewSniffer(Options{}))
			var sums []decode.Event
			var conns []*timeline.Conn
			phasesOf := map[*timeline.Conn][]decode.Event{}
			pcaptest.Run(t, pcaptest.Shared(t, tc.file), pcaptest.Options{Timeline: timeline.Options{Datagrams: reg}},
				func(ev *timeline.Event) {
					switch {
					case ev.Type == decode.TypeSummary && ev.Conn.Transport == timeline.UDP:
						sums = append(sums, ev.Event)
						conns = append(conns, ev.Conn)
					case ev.Type == timeline.TypePhase:
						phasesOf[ev.Conn] = append(phasesOf[ev.Conn], ev.Event)
					}
				})
			if len(sums) != tc.conns {
				t.Fatalf("%d UDP summaries; want %d", len(sums), tc.conns)
			}
			s := sums[tc.at].Info
			for key, want := range map[string]string{"handshake": "UDP+QUIC", "tls_version": "TLS1.3", "sni": tc.sni, "protocol": "quic"} {
				if key == "sni" && tc.sni == "" {
					continue
				}
				if f, _ := s.Get(key); f.Str != want {
					t.Errorf("summary %s = %q; want %q", key, f.Str, want)
				}
			}
			if f, ok := s.Get("round_trips_before_data"); !ok || f.Int != tc.roundTrips {
				t.Errorf("round_trips_before_data = %d (%v); want %d", f.Int, ok, tc.roundTrips)
			}
			found := false
			phases := phasesOf[conns[tc.at]]
			for _, p := range phases {
				switch f, _ := p.Info.Get("phase"); f.Str {
				case "quic":
					found = true
					if rt, _ := p.Info.Get("round_trips"); rt.Int != tc.phaseRT {
						t.Errorf("quic phase round_trips = %d; want %d", rt.Int, tc.phaseRT)
					}
				case "request":
					if early, _ := p.Info.Get("early"); early.Bool() != tc.early {
						t.Errorf("request phase early = %v; want %v", early.Bool(), tc.early)
					}
				}
			}
			if !found {
				t.Errorf("no quic phase among %d phases", len(phases))
			}
		})
	}
}
