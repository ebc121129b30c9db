package timeline_test

import (
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// connEvents runs a capture through the timeline with the TLS decoder and
// its keys, and returns the phase events and summary of connection conn.
func connEvents(t *testing.T, path string, conn int) (phases []timeline.Event, sum timeline.Event, first timeline.Conn) {
	t.Helper()
	keys := &keylog.Store{}
	reg := &decode.Registry{}
	reg.Register(tlsmsg.NewSniffer(tlsmsg.Options{Keys: keys}))
	pcaptest.Run(t, path, pcaptest.Options{Registry: reg, Keys: keys}, func(ev *timeline.Event) {
		if ev.Conn == nil || ev.Conn.ID != conn {
			return
		}
		switch {
		case ev.Layer == decode.LayerAnalysis && ev.Type == timeline.TypePhase:
			phases = append(phases, *ev)
		case ev.Type == decode.TypeSummary:
			sum, first = *ev, *ev.Conn
		}
	})
	return phases, sum, first
}

func str(in decode.Info, key string) string {
	f, ok := in.Get(key)
	if !ok {
		return "<absent>"
	}
	return string(f.AppendValue(nil))
}

// phaseList renders phase events as "tcp:1 tls:2 request:0
// first-byte:1@tls" (round trips; the layer the first byte was counted
// at), with "!" after an early request.
func phaseList(phases []timeline.Event) string {
	var parts []string
	for _, e := range phases {
		s := str(e.Info, "phase") + ":" + str(e.Info, "round_trips")
		if e.Info.Has("early") {
			s += "!"
		}
		if str(e.Info, "phase") == timeline.PhaseFirstByte {
			s += "@" + str(e.Info, "layer")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestPhases checks where the time went for handshakes whose round trips
// are known: the phases, their round trips, and that they add up (each
// phase starts where the one before it ended, and ttfb_ms is their sum).
func TestPhases(t *testing.T) {
	tests := []struct {
		file string // under the shared captures, or "project:" and a file of testdata/pcaps
		conn int
		want string
	}{
		// TLS 1.2 full handshake: two round trips, then the request.
		{"tls/illustrated-tls12.pcap", 1, "tcp:1 tls:2 request:0 first-byte:1@tls"},
		{"project:tls12-full.pcapng", 1, "tcp:1 tls:2 request:0 first-byte:1@tls"},
		// TLS 1.2 resumed: one.
		{"project:tls12-resumed.pcapng", 2, "tcp:1 tls:1 request:0 first-byte:1@tls"},
		// TLS 1.3: one round trip.
		{"tls/illustrated-tls13.pcap", 1, "tcp:1 tls:1 request:0 first-byte:1@tls"},
		{"project:tls13-full.pcapng", 1, "tcp:1 tls:1 request:0 first-byte:1@tls"},
		{"project:tls13-resumed.pcapng", 2, "tcp:1 tls:1 request:0 first-byte:1@tls"},
		// Keys from a Decryption Secrets Block: the same phases.
		{"project:tls13-chacha-dsb.pcapng", 1, "tcp:1 tls:1 request:0 first-byte:1@tls"},
		{"tls/gopacket-test301-tls12-dsb.pcapng", 1, "tcp:1 tls:2 request:0 first-byte:1@tls"},
		// TLS 1.3 with a HelloRetryRequest: two.
		{"project:tls13-hrr.pcapng", 1, "tcp:1 tls:2 request:0 first-byte:1@tls"},
		// (The client sends 19 bytes and closes: no response.)
		{"tls/zeek-tls13-hrr.pcap", 1, "tcp:1 tls:2 request:0"},
		// Plain TCP: the request goes right after the handshake.
		{"project:tcp-basic.pcapng", 1, "tcp:1 request:0 first-byte:1@tcp"},
		// TCP Fast Open: the request rides on the SYN.
		{"tcp/sv-tcp-fastopen.pcap", 2, "tcp:1 request:0! first-byte:1@tcp"},
		// Picked up mid-stream: no phases.
		{"tcp/tcpdump-ipv4_tcp_http_xml.pcap", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path, ok := strings.CutPrefix(tt.file, "project:")
			if ok {
				path = pcaptest.Project(path)
			} else {
				path = pcaptest.Shared(t, tt.file)
			}
			phases, sum, conn := connEvents(t, path, tt.conn)
			if got := phaseList(phases); got != tt.want {
				t.Errorf("phases = %q; want %q", got, tt.want)
			}
			checkPhasesAddUp(t, phases, sum, conn)
		})
	}
}

// checkPhasesAddUp checks that consecutive phases touch and that ttfb_ms
// is the time from the first packet to the end of the first-byte phase.
func checkPhasesAddUp(t *testing.T, phases []timeline.Event, sum timeline.Event, conn timeline.Conn) {
	t.Helper()
	var prevEnd int64 = -1
	for _, e := range phases {
		start, _ := e.Info.Get("start_frame")
		if prevEnd >= 0 && start.Int != prevEnd && !e.Info.Has("early") {
			t.Errorf("phase %s starts at frame %d; the previous ended at %d", str(e.Info, "phase"), start.Int, prevEnd)
		}
		if d, _ := e.Info.Get("duration_ms"); d.Duration() < 0 {
			t.Errorf("phase %s has a negative duration", str(e.Info, "phase"))
		}
		prevEnd = e.Frame
	}
	f, ok := sum.Info.Get("ttfb_ms")
	if n := len(phases); n == 0 || str(phases[n-1].Info, "phase") != timeline.PhaseFirstByte {
		if ok {
			t.Errorf("ttfb_ms without a first-byte phase")
		}
		return
	}
	if want := phases[len(phases)-1].TS.Sub(conn.FirstTS); !ok || f.Duration() != want {
		t.Errorf("ttfb_ms = %v; want %v", f.Duration(), want)
	}
}
