package svg_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/svg"
	"github.com/wiretrace/wiretrace/timeline"
)

// BenchmarkDiagram100k draws one connection of 100,000 events (a bulk
// HTTP/2 download: DATA frames, window updates, retransmissions and
// stalls) into its SVG file, as --svg does: the whole DirWriter path.
func BenchmarkDiagram100k(b *testing.B) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	conn := &timeline.Conn{ID: 1, Transport: timeline.TCP, FirstTS: t0, FirstFrame: 1,
		Client: netip.MustParseAddrPort("198.18.1.2:40000"), Server: netip.MustParseAddrPort("198.18.2.2:443")}
	const n = 100_000
	evs := make([]timeline.Event, 0, n+1)
	for i := range n {
		ts := t0.Add(time.Duration(i) * 50 * time.Microsecond)
		var e decode.Event
		switch {
		case i%500 == 7:
			e = decode.NewEvent(int64(i+1), ts, decode.S2C, decode.LayerTCP, "retransmission")
			e.Info = decode.Info{decode.Uint("seq", uint64(i)*1448), decode.Bool("retransmission", true)}
		case i%500 == 8:
			e = decode.NewEvent(int64(i+1), ts, decode.S2C, decode.LayerAnalysis, "hol-stall")
			e.Info = decode.Info{decode.String("scope", "connection"), decode.Millis("duration_ms", 3*time.Millisecond), decode.Uint("gap_len", 1448)}
		case i%10 == 9:
			e = decode.NewEvent(int64(i+1), ts, decode.C2S, decode.LayerHTTP2, "WINDOW_UPDATE")
			e.Info = decode.Info{decode.Uint("increment", 65535)}
		default:
			e = decode.NewEvent(int64(i+1), ts, decode.S2C, decode.LayerHTTP2, "DATA")
			e.Stream = int64(1 + 2*(i%7))
			e.Len = 16384
		}
		evs = append(evs, timeline.Event{Event: e, Conn: conn})
	}
	sum := decode.NewEvent(n+1, t0.Add(5*time.Second), decode.DirNone, decode.LayerConn, decode.TypeSummary)
	sum.Info = decode.Info{decode.String("handshake", "TCP"), decode.String("ended", "closed")}
	evs = append(evs, timeline.Event{Event: sum, Conn: conn})
	b.ReportAllocs()
	for b.Loop() {
		w := svg.NewDirWriter(b.TempDir())
		for i := range evs {
			if err := w.Event(&evs[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
