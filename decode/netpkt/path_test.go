package netpkt

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/capture"
)

// The L2–L4 path is what every packet goes through before reassembly:
// capture.FileSource.Next (pcap or pcapng, from a real file) and
// Decoder.Decode (link header, IPv4/IPv6, TCP/UDP). Issue 9 asks that it
// allocates nothing per packet in steady state.

// pathCaptures lists the real captures of at least minPackets packets in
// the collection (malformed/ left out: broken frames allocate one
// *decode.Error each, by design).
func pathCaptures(t testing.TB) []string {
	var files []string
	err := filepath.WalkDir(sharedPcaps, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "malformed" {
			return fs.SkipDir
		}
		if strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Skipf("no real captures in %s: %v", sharedPcaps, err)
	}
	return files
}

// readDecode reads src to its end, decoding each packet, and returns the
// packets read and the frames Decode rejected other than as unsupported
// (each such error is one allocation).
func readDecode(t testing.TB, src capture.Source, d *Decoder, p *capture.Packet, out *Packet) (n, bad int) {
	for {
		err := src.Next(p)
		if err == io.EOF {
			return n, bad
		}
		if errors.Is(err, capture.ErrBadBlock) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if err := d.Decode(p.LinkType, p.Data, p.OrigLen, out); err != nil && !errors.Is(err, ErrUnsupported) {
			bad++
		}
	}
}

// TestPathAllocs reads and decodes every packet of each real capture after
// a warm-up of the first warm packets (the reader's buffer grows to the
// largest block, pcapng interface blocks are kept) and counts the heap
// allocations of the rest: there must be none beyond one per malformed
// frame.
func TestPathAllocs(t *testing.T) {
	const warm = 32
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	total := 0
	for _, path := range pathCaptures(t) {
		name, _ := filepath.Rel(sharedPcaps, path)
		t.Run(name, func(t *testing.T) {
			src, err := capture.OpenFile(path, 0, capture.FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			d := NewDecoder()
			var p capture.Packet
			var out Packet
			for range warm {
				if err := src.Next(&p); err != nil {
					return // too short to have a steady state
				}
				d.Decode(p.LinkType, p.Data, p.OrigLen, &out)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n, bad := readDecode(t, src, d, &p, &out)
			runtime.ReadMemStats(&after)
			allocs := int(after.Mallocs - before.Mallocs)
			total += n
			if allocs > bad {
				t.Errorf("%d heap allocations reading and decoding %d packets (%d malformed); want at most %d", allocs, n, bad, bad)
			}
		})
	}
	t.Logf("%d packets read and decoded", total)
}

// BenchmarkPath reads and decodes the real captures, from files: one op is
// one packet, so allocs/op is allocations per packet (0 in steady state;
// the per-file opening is outside the timer) and MB/s is frame bytes.
func BenchmarkPath(b *testing.B) {
	files := pathCaptures(b)
	if path := os.Getenv("WIRETRACE_BENCH_PCAP"); path != "" {
		files = []string{path} // e.g. the bench-mix capture of scripts/bench.sh
	}
	d := NewDecoder()
	var p capture.Packet
	var out Packet
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	var src capture.Source
	next := 0
	for b.Loop() {
		for {
			if src == nil {
				b.StopTimer()
				s, err := capture.OpenFile(files[next%len(files)], 0, capture.FileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				next++
				src = s
				b.StartTimer()
			}
			err := src.Next(&p)
			if err == nil {
				break
			}
			if errors.Is(err, capture.ErrBadBlock) {
				continue
			}
			if err != io.EOF {
				b.Fatal(err)
			}
			b.StopTimer()
			src.Close()
			src = nil
			b.StartTimer()
		}
		bytes += int64(len(p.Data))
		d.Decode(p.LinkType, p.Data, p.OrigLen, &out)
	}
	if src != nil {
		src.Close()
	}
	b.SetBytes(bytes / int64(b.N))
}
