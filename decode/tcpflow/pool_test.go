package tcpflow

import (
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// TestPool runs connections that each leave a hole and buffer the bytes
// behind it, sharing a Pool with room for a little more than two of them.
// The third goes past the cap and gives up its own gap: its held bytes are
// delivered after a skip, with a cap-limit event, and the total stays
// within the cap throughout. Filling the first connections' holes later
// gives their bytes back to the Pool, and End gives back the rest.
func TestPool(t *testing.T) {
	const held = 100 // bytes each connection holds behind its hole
	cost := held + PendingCost
	pool := NewPool(2*cost + cost/2)
	type connRun struct {
		c   *Conn
		rec *recorder
		evs []decode.Event
	}
	var conns []*connRun
	payload := strings.Repeat("x", held)
	for i := range 4 {
		r := &connRun{rec: newRecorder(t)}
		r.c = New(Options{Pool: pool}, r.rec)
		emit := func(e decode.Event) { r.evs = append(r.evs, e) }
		// Bytes 10.. arrive; 0..10 are missing.
		for j, s := range cat(hs(), []seg{{dir: decode.C2S, ms: 20, flags: "PA", seq: cISN + 11, ack: sISN + 1, data: payload}}) {
			sg, _ := s.segment(int64(j + 1))
			r.c.Segment(s.dir, sg, emit)
			if pool.Buffered() > pool.Max() {
				t.Fatalf("conn %d frame %d: pool holds %d; cap %d", i, j+1, pool.Buffered(), pool.Max())
			}
		}
		conns = append(conns, r)
	}
	for i, r := range conns {
		var caps []string
		for _, e := range r.evs {
			if e.Type == decode.TypeCapLimit {
				caps = append(caps, infoOf(e, "decoder", "cap", "limit", "skipped")+" "+e.Layer.String())
			}
		}
		want := 0
		if i >= 2 {
			want = 1 // no room left: it gave up its gap at once
		}
		if len(caps) != want {
			t.Fatalf("conn %d: cap-limit events %q; want %d", i, caps, want)
		}
		if want == 1 {
			wantInfo := "decoder=tcp cap=reassembly_total limit=" + itoa(pool.Max()) + " skipped=10 conn"
			if caps[0] != wantInfo {
				t.Errorf("conn %d: cap-limit %q; want %q", i, caps[0], wantInfo)
			}
			if got := strings.Join(r.rec.kinds(), "; "); got != "skip c2s 0+10 cap f4; data c2s 10+100 f4 held>f4" {
				t.Errorf("conn %d: handler calls %s", i, got)
			}
		}
	}
	if got := pool.Buffered(); got != 2*cost {
		t.Fatalf("pool holds %d; want %d (two connections' bytes)", got, 2*cost)
	}
	// The first connection's hole fills: its bytes leave the pool.
	r := conns[0]
	sg, _ := seg{dir: decode.C2S, ms: 30, flags: "PA", seq: cISN + 1, ack: sISN + 1, data: "0123456789"}.segment(5)
	r.c.Segment(decode.C2S, sg, func(decode.Event) {})
	if got := pool.Buffered(); got != cost {
		t.Errorf("after a fill the pool holds %d; want %d", got, cost)
	}
	conns[1].c.End(6, at(40))
	if got := pool.Buffered(); got != 0 {
		t.Errorf("after End the pool holds %d; want 0", got)
	}
}

func itoa(n int) string { return string(decode.AppendInt(nil, int64(n))) }

// TestResetReturnsToPool checks that a Conn reset while holding bytes
// gives them back to its Pool.
func TestResetReturnsToPool(t *testing.T) {
	pool := NewPool(1 << 20)
	c, _ := run(t, Options{Pool: pool}, nil, cat(hs(), []seg{{dir: decode.C2S, ms: 20, flags: "PA", seq: cISN + 11, ack: sISN + 1, data: "held"}}))
	if pool.Buffered() == 0 {
		t.Fatal("nothing buffered")
	}
	c.Reset(nil)
	if got := pool.Buffered(); got != 0 {
		t.Errorf("after Reset the pool holds %d; want 0", got)
	}
}
