package html

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/timeline"
)

// TestMemory checks what a Writer keeps: an open connection's events up
// to 2×Layout.MaxEvents, and after its summary only its table row.
func TestMemory(t *testing.T) {
	w := New(io.Discard, Options{Layout: layout.Options{MaxEvents: 100}})
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for id := 1; id <= 50; id++ {
		c := &timeline.Conn{ID: id, Transport: timeline.TCP, FirstTS: t0, FirstFrame: 1,
			Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("192.0.2.2:80")}
		for i := range 1000 {
			ev := timeline.Event{Event: decode.NewEvent(int64(i+1), t0.Add(time.Duration(i)*time.Millisecond), decode.C2S, decode.LayerTCP, decode.TypeSegment), Conn: c}
			if err := w.Event(&ev); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(w.open[id].held.Events()); n != 200 {
			t.Fatalf("open connection holds %d events; want 2×MaxEvents = 200", n)
		}
		sum := timeline.Event{Event: decode.NewEvent(1001, t0.Add(time.Second), decode.DirNone, decode.LayerConn, decode.TypeSummary), Conn: c}
		if err := w.Event(&sum); err != nil {
			t.Fatal(err)
		}
		if len(w.open) != 0 {
			t.Fatalf("%d connections still held after their summaries", len(w.open))
		}
	}
	if len(w.rows) != 50 {
		t.Errorf("%d rows; want 50", len(w.rows))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
