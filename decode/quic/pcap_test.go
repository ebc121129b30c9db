package quic

import (
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// flowEvent is a decoder event with the UDP flow it came from.
type flowEvent struct {
	flow string // "client server", as ip:port
	ev   decode.Event
}

// runPcap drives a capture through the timeline with the QUIC sniffer
// registered for UDP flows, as the command does, and returns the events
// of the UDP flows' decoders: quic and tls, and the conn events that say
// a decoder failed or hit a cap. opts.Keys, when set, receives the
// capture's key log and Decryption Secrets Blocks. A decode-error (the timeline's guard
// turns a decoder's panic into one) fails the test.
func runPcap(t testing.TB, path string, opts Options) []flowEvent {
	t.Helper()
	reg := &decode.DatagramRegistry{}
	reg.Register(NewSniffer(opts))
	var out []flowEvent
	pcaptest.Run(t, path, pcaptest.Options{Keys: opts.Keys, Timeline: timeline.Options{Datagrams: reg}}, func(ev *timeline.Event) {
		if ev.Conn == nil || ev.Conn.Transport != timeline.UDP {
			return
		}
		switch {
		case ev.Layer == decode.LayerQUIC, ev.Layer == decode.LayerTLS, ev.Type == decode.TypeCapLimit:
		case ev.Type == decode.TypeDecodeError:
			t.Errorf("%s: frame %d: decode-error %v", path, ev.Frame, ev.Info)
		default:
			return
		}
		out = append(out, flowEvent{ev.Conn.Client.String() + " " + ev.Conn.Server.String(), ev.Event})
	})
	return out
}
