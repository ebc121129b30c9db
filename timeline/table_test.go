package timeline

import (
	"fmt"
	"hash/maphash"
	"slices"
	"testing"
)

// TestTableCollisions runs connections that open, close, reuse ports,
// idle out and get evicted, with the table's hash as it is and with
// hashes that collide (all alike, and alike in pairs), and checks that
// the events are the same: colliding flows go to the spill map and are
// found there.
func TestTableCollisions(t *testing.T) {
	var ps []tpkt
	for i := range 12 {
		c := fmt.Sprintf("10.0.0.%d:%d", 1+i%5, 40000+i)
		start := ms(float64(30 * i))
		ps = append(ps, tcpConn(start, c, srv)...)
		if i%3 == 0 {
			ps = append(ps, closeConn(start+ms(15), c, srv, 0, 0)...)
		}
		ps = append(ps, tpkt{at: start + ms(1), src: c, dst: "10.0.0.9:53", udp: true, payload: []byte("q")})
	}
	// Port reuse of the first connection, and a flow after a long
	// silence that ends the idle ones.
	ps = append(ps, tcpConn(ms(400), "10.0.0.1:40000", srv)...)
	ps = append(ps, tcpConn(ms(400)+6*60e9, "10.0.0.7:40100", srv)...)

	record := func(hash func(maphash.Seed, flowKey) uint64, maxConns int) []string {
		rec := &recorder{}
		b := New(Options{MaxConns: maxConns}, rec)
		if hash != nil {
			b.table.hash = hash
		}
		for _, p := range packets(t, ps) {
			if err := b.Packet(&p); err != nil {
				t.Fatal(err)
			}
		}
		if n := b.tableLen(); n == 0 {
			t.Fatal("empty table before Close")
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if n := b.tableLen(); n != 0 {
			t.Errorf("%d keys left after Close", n)
		}
		var out []string
		for _, e := range rec.events {
			out = append(out, fmt.Sprintf("%d %d %s %s %s %v", e.Frame, e.conn.ID, e.Dir, e.Layer, e.Type, e.Info))
		}
		return out
	}
	same := func(maphash.Seed, flowKey) uint64 { return 7 }
	pairs := func(_ maphash.Seed, k flowKey) uint64 { return uint64(k.loPort / 2) }
	for _, maxConns := range []int{0, 5} {
		want := record(nil, maxConns)
		for name, h := range map[string]func(maphash.Seed, flowKey) uint64{"same": same, "pairs": pairs} {
			if got := record(h, maxConns); !slices.Equal(got, want) {
				t.Errorf("max %d, hash %s: events differ from the real hash's:\n%q\nwant\n%q", maxConns, name, got, want)
			}
		}
	}
}
