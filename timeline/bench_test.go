package timeline

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/wiretrace/wiretrace/capture"
)

// largestCapture returns the largest pcap or pcapng file under the shared
// corpus or testdata/pcaps, or "" if there is none.
func largestCapture(tb testing.TB) string {
	tb.Helper()
	best, size := "", int64(-1)
	for _, root := range []string{sharedPcaps, filepath.Join("..", "testdata", "pcaps")} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // a missing root
			}
			if ext := filepath.Ext(p); d.IsDir() || (ext != ".pcap" && ext != ".pcapng") {
				return nil
			}
			if fi, err := d.Info(); err == nil && fi.Size() > size {
				best, size = p, fi.Size()
			}
			return nil
		})
	}
	return best
}

// loadCapture reads every packet of a file into memory.
func loadCapture(tb testing.TB, path string) (pkts []capture.Packet, bytes int64) {
	tb.Helper()
	src, err := capture.OpenFile(path, 0, capture.FileOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	for {
		var p capture.Packet
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, capture.ErrBadBlock) {
				continue
			}
			tb.Fatal(err)
		}
		p.Data = append([]byte(nil), p.Data...)
		pkts = append(pkts, p)
		bytes += int64(len(p.Data))
	}
	return pkts, bytes
}

// BenchmarkPipeline runs the largest capture through the Builder into a
// sink that only counts. Reported: bytes/s of captured data (SetBytes),
// allocations, pkts/s (packets per second of wall time) and events/op
// (events the capture produces, the same each run).
func BenchmarkPipeline(b *testing.B) {
	path := largestCapture(b)
	if path == "" {
		b.Skip("no capture under " + sharedPcaps + " or testdata/pcaps")
	}
	pkts, size := loadCapture(b, path)
	b.Logf("%s: %d packets, %d bytes", path, len(pkts), size)
	var events int
	sink := SinkFunc(func(*Event) error { events++; return nil })
	b.SetBytes(size)
	b.ReportAllocs()
	runs := 0
	for b.Loop() {
		bl := New(Options{}, sink)
		for i := range pkts {
			if err := bl.Packet(&pkts[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := bl.Close(); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	b.ReportMetric(float64(len(pkts)*runs)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(events)/float64(runs), "events/op")
}

// TestSteadyStateAllocs checks that an established connection's ordinary
// packets (in-order data without events, bare ACKs) allocate nothing.
func TestSteadyStateAllocs(t *testing.T) {
	const runs = 200
	var ps []tpkt
	ps = append(ps, tcpConn(0, cli, srv)...)
	payload := make([]byte, 1000)
	for i := range runs + 2 {
		off := uint32(i * len(payload))
		ps = append(ps,
			tpkt{at: ms(20 + float64(i)), src: cli, dst: srv, flags: "PA", seq: cISN + 1 + off, ack: sISN + 1, payload: payload},
			tpkt{at: ms(20.5 + float64(i)), src: srv, dst: cli, flags: "A", seq: sISN + 1, ack: cISN + 1 + off + uint32(len(payload))},
		)
	}
	pkts := packets(t, ps)
	var events int
	b := New(Options{}, SinkFunc(func(*Event) error { events++; return nil }))
	next := 0
	feed := func() {
		if err := b.Packet(&pkts[next]); err != nil {
			t.Fatal(err)
		}
		next++
	}
	for range 3 + 2 { // handshake and the first data/ACK pair
		feed()
	}
	before := events
	allocs := testing.AllocsPerRun(runs, func() {
		feed() // data
		feed() // ACK
	})
	if events != before {
		t.Fatalf("steady-state packets emitted %d events; want none", events-before)
	}
	if allocs != 0 {
		t.Errorf("allocations per data+ACK pair = %v; want 0", allocs)
	}
}
