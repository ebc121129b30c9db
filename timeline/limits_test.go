package timeline

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/tcpflow"
)

// TestReassemblyTotal opens many connections that each lose a segment and
// buffer what follows it, with a total cap that holds a few of them: the
// first ones keep their bytes until the retransmissions fill their holes;
// each later one gives up its own gap with a conn/cap-limit event
// ("reassembly_total") and its bytes go on at once. The per-connection cap
// is never hit.
func TestReassemblyTotal(t *testing.T) {
	const conns, room, held = 50, 4, 1000
	payload := []byte(strings.Repeat("x", held))
	var ps []tpkt
	for i := range conns {
		c := fmt.Sprintf("10.0.%d.%d:40000", i/200, 1+i%200)
		start := ms(float64(i))
		ps = append(ps, tcpConn(start, c, srv)...)
		// Bytes 100.. arrive; 0..100 are lost.
		ps = append(ps, tpkt{at: start + ms(20), src: c, dst: srv, flags: "PA", seq: cISN + 101, ack: sISN + 1, payload: payload})
	}
	for i := range conns {
		c := fmt.Sprintf("10.0.%d.%d:40000", i/200, 1+i%200)
		ps = append(ps, tpkt{at: ms(200 + float64(i)), src: c, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: payload[:100]})
	}
	opts := Options{MaxReassemblyTotal: room*(held+tcpflow.PendingCost) + 10}
	rec := run(t, opts, ps)

	var capped []int
	for _, e := range rec.ofType(decode.TypeCapLimit) {
		got := fmt.Sprintf("%s %s %s cap=%s limit=%s skipped=%s", e.Layer, e.Dir, infoString(e.Info, "decoder"),
			infoString(e.Info, "cap"), infoString(e.Info, "limit"), infoString(e.Info, "skipped"))
		want := fmt.Sprintf("conn c2s tcp cap=reassembly_total limit=%d skipped=100", opts.MaxReassemblyTotal)
		if got != want {
			t.Errorf("conn %d: cap-limit %q; want %q", e.conn.ID, got, want)
		}
		capped = append(capped, e.conn.ID)
	}
	if len(capped) != conns-room {
		t.Fatalf("%d connections gave up a gap (%v); want %d", len(capped), capped, conns-room)
	}
	for i, id := range capped {
		if id != room+1+i {
			t.Fatalf("connections %v gave up their gaps; want %d to %d", capped, room+1, conns)
		}
	}
	// The first ones waited for their retransmissions: head-of-line
	// stalls; the others did not.
	sums := rec.summaries()
	for id := 1; id <= conns; id++ {
		want := "0"
		if id <= room {
			want = "1"
		}
		if got := infoString(sums[id].Info, "hol_stalls"); got != want {
			t.Errorf("conn %d: hol_stalls=%s; want %s", id, got, want)
		}
		if got := infoString(sums[id].Info, "bytes_c2s"); got != fmt.Sprint(held+100) {
			t.Errorf("conn %d: bytes_c2s=%s; want %d", id, got, held+100)
		}
	}
}
