package timeline

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiretrace/wiretrace/capture"
)

// synFlood returns n SYNs from distinct sources in 10.0.0.0/8 to
// 198.18.2.2:443, 10 µs apart, none answered: a SYN flood or a scan's
// backscatter. The frames share one template with the source address and
// port patched (netpkt does not check checksums).
func synFlood(tb testing.TB, n int) []capture.Packet {
	tb.Helper()
	tmpl := tpkt{src: "10.0.0.1:40000", dst: "198.18.2.2:443", flags: "S", seq: 1000,
		opts: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}}}.frame(tb)
	const ipSrc, tcpSrc = 14 + 12, 14 + 20 // Ethernet, then IPv4 without options
	arena := make([]byte, 0, n*len(tmpl))
	pkts := make([]capture.Packet, n)
	for i := range pkts {
		start := len(arena)
		arena = append(arena, tmpl...)
		f := arena[start:]
		binary.BigEndian.PutUint32(f[ipSrc:], 0x0a000001+uint32(i))
		binary.BigEndian.PutUint16(f[tcpSrc:], uint16(40000+i%20000))
		binary.BigEndian.PutUint32(f[tcpSrc+4:], uint32(i)*7919)
		pkts[i] = capture.Packet{Frame: int64(i + 1), TS: t0.Add(time.Duration(i) * 10 * time.Microsecond),
			LinkType: layers.LinkTypeEthernet, CapLen: len(f), OrigLen: len(f), Data: f}
	}
	return pkts
}

// BenchmarkSYNFlood feeds 100,000 unanswered SYNs from distinct sources
// (all of them tracked at once with the default --max-conns) and ends
// them. Reported besides time and allocations: B/conn, the heap the
// connections hold before they end (live heap after a collection, per
// connection), and allocs/conn.
func BenchmarkSYNFlood(b *testing.B) {
	const n = 100000
	pkts := synFlood(b, n)
	sink := SinkFunc(func(*Event) error { return nil })
	var perConn, allocs float64
	var ms runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before, mallocs := ms.HeapAlloc, ms.Mallocs
		bl := New(Options{}, sink)
		for i := range pkts {
			if err := bl.Packet(&pkts[i]); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		perConn = float64(ms.HeapAlloc-before) / n
		allocs = float64(ms.Mallocs-mallocs) / n
		if err := bl.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perConn, "B/conn")
	b.ReportMetric(allocs, "allocs/conn")
}

// TestSYNOnlyAllocs checks that a connection that sees only a SYN costs
// two allocations: the connection and its SYN event's info (the table's
// growth, amortised, stays below one). Its TCP state is not allocated
// (embryo.go); it used to be, a third.
func TestSYNOnlyAllocs(t *testing.T) {
	const runs = 2000
	pkts := synFlood(t, runs+1)
	b := New(Options{}, SinkFunc(func(*Event) error { return nil }))
	next := 0
	allocs := testing.AllocsPerRun(runs, func() {
		if err := b.Packet(&pkts[next]); err != nil {
			t.Fatal(err)
		}
		next++
	})
	if allocs > 2 {
		t.Errorf("allocations per SYN-only connection = %v; want at most 2", allocs)
	}
}
