package tlsmsg_test

import (
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// summaries runs a capture through the timeline with the tls decoder and
// returns each connection's summary info.
func summaries(t *testing.T, path string) []decode.Info {
	t.Helper()
	reg := &decode.Registry{}
	reg.Register(tlsmsg.Sniffer())
	var out []decode.Info
	pcaptest.Run(t, path, pcaptest.Options{Registry: reg}, func(ev *timeline.Event) {
		if ev.Type == decode.TypeSummary {
			out = append(out, ev.Info)
		}
	})
	return out
}

// TestSummaryThroughTimeline checks the summary fields the decoder fills
// (merged in timeline/conn.go) and round_trips_before_data on captures of
// known handshakes, and that the summary's key order is unchanged.
func TestSummaryThroughTimeline(t *testing.T) {
	tests := []struct {
		file string
		want string // handshake round_trips tls_version sni
	}{
		{"illustrated-tls12.pcap", "TCP+TLS1.2 3 TLS1.2 example.ulfheim.net"},
		{"illustrated-tls13.pcap", "TCP+TLS1.3 2 TLS1.3 example.ulfheim.net"},
		{"zeek-tls13-hrr.pcap", "TCP+TLS1.3 3 TLS1.3 "}, // the client sent no server_name,
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sums := summaries(t, pcaptest.Shared(t, "tls/"+tt.file))
			if len(sums) == 0 {
				t.Fatal("no summary")
			}
			s := sums[0]
			get := func(k string) string {
				f, _ := s.Get(k)
				return string(f.AppendValue(nil))
			}
			got := strings.Join([]string{get("handshake"), get("round_trips_before_data"), get("tls_version"), get("sni")}, " ")
			if got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
			var keys []string
			for _, f := range s {
				keys = append(keys, f.Key)
			}
			order := strings.Join(keys, ",")
			if !strings.HasPrefix(order, "handshake,rtt_ms,round_trips_before_data,tls_version,sni,alpn,hol_stalls,") ||
				!strings.HasSuffix(order, ",protocol") {
				t.Errorf("summary key order: %s", order)
			}
			if get("protocol") != "tls" {
				t.Errorf("protocol: got %q", get("protocol"))
			}
		})
	}
}
