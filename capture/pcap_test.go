package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPcap(t *testing.T) {
	tests := []struct {
		name  string
		order binary.ByteOrder
		nano  bool
		want  []pkt
	}{
		{"little-endian usec", binary.LittleEndian, false, []pkt{
			{ts: time.Unix(1700000000, 123456000), link: 1, origLen: 3, data: "abc"},
			{ts: time.Unix(1700000001, 999999000), link: 1, origLen: 1500, data: "snap"}, // snaplen cut
		}},
		{"big-endian usec", binary.BigEndian, false, []pkt{
			{ts: time.Unix(1700000000, 123456000), link: 1, origLen: 3, data: "abc"},
			{ts: time.Unix(1700000001, 999999000), link: 1, origLen: 1500, data: "snap"},
		}},
		{"little-endian nsec", binary.LittleEndian, true, []pkt{
			{ts: time.Unix(1700000000, 123456789), link: 1, origLen: 3, data: "abc"},
			{ts: time.Unix(1700000001, 999999999), link: 1, origLen: 1500, data: "snap"},
		}},
		{"big-endian nsec", binary.BigEndian, true, []pkt{
			{ts: time.Unix(1700000000, 123456789), link: 1, origLen: 3, data: "abc"},
			{ts: time.Unix(1700000001, 999999999), link: 1, origLen: 1500, data: "snap"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPcap(tt.order, tt.nano, 1)
			div := int64(1)
			if !tt.nano {
				div = 1000
			}
			for _, w := range tt.want {
				f.record(uint32(w.ts.Unix()), uint32(int64(w.ts.Nanosecond())/div), uint32(w.origLen), []byte(w.data))
			}
			r, err := readBytes(t, "x.pcap", f.b, FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			comparePackets(t, r.pkts, tt.want)
		})
	}
}

// TestPcapLinkTypes checks that link types pass through, and that the FCS
// bits above them do not leak in.
func TestPcapLinkTypes(t *testing.T) {
	tests := []struct {
		name    string
		network uint32
		want    int
	}{
		{"null", 0, 0},
		{"ethernet", 1, 1},
		{"raw", 101, 101},
		{"linux sll", 113, 113},
		{"ipv4", 228, 228},
		{"ipv6", 229, 229},
		{"linux sll2", 276, 276},
		{"ethernet with fcs bits", 1 | 0x1<<26 | 0x4<<28, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newPcap(binary.LittleEndian, false, tt.network).record(0, 0, 1, []byte{1}).b
			r, err := readBytes(t, "x.pcap", b, FileOptions{})
			if err != nil || r.err != nil || len(r.pkts) != 1 {
				t.Fatalf("got %d packets, %v, %v; want 1 packet", len(r.pkts), err, r.err)
			}
			if got := int(r.pkts[0].LinkType); got != tt.want {
				t.Errorf("got LinkType %d; want %d", got, tt.want)
			}
		})
	}
}

// TestPcapModified reads Kuznetzov's modified pcap, whose record headers
// have 8 more bytes.
func TestPcapModified(t *testing.T) {
	f := newPcap(binary.LittleEndian, false, 1)
	f.b[0], f.b[1], f.b[2], f.b[3] = 0x34, 0xcd, 0xb2, 0xa1 // Magic Number 0xa1b2cd34
	f.u32(7)                                                // Timestamp (Seconds)
	f.u32(8)                                                // Timestamp (Microseconds)
	f.u32(2)                                                // Captured Packet Length
	f.u32(2)                                                // Original Packet Length
	f.u32(3)                                                // ifindex
	f.u16(0x0800)                                           // protocol
	f.u8(0)                                                 // pkt_type
	f.u8(0)                                                 // pad
	f.raw([]byte("hi"))                                     // Packet Data
	r, err := readBytes(t, "m.pcap", f.b, FileOptions{})
	if err != nil || r.err != nil {
		t.Fatal(err, r.err)
	}
	comparePackets(t, r.pkts, []pkt{{ts: time.Unix(7, 8000), link: 1, origLen: 2, data: "hi"}})
}

// TestPcapLying reads records whose captured length exceeds the original
// length or the snap length: passed on as they are.
func TestPcapLying(t *testing.T) {
	f := newPcap(binary.LittleEndian, false, 1)
	binary.LittleEndian.PutUint32(f.b[16:20], 2) // SnapLen 2
	f.record(1, 0, 1, []byte("abcd"))
	r, err := readBytes(t, "x.pcap", f.b, FileOptions{})
	if err != nil || r.err != nil {
		t.Fatal(err, r.err)
	}
	comparePackets(t, r.pkts, []pkt{{ts: time.Unix(1, 0), link: 1, origLen: 1, data: "abcd"}})
}

func TestPcapTooLarge(t *testing.T) {
	f := newPcap(binary.LittleEndian, false, 1).record(1, 0, 4, []byte("ok"))
	f.u32(2)       // Timestamp (Seconds)
	f.u32(0)       // Timestamp (Microseconds)
	f.u32(1 << 30) // Captured Packet Length: 1 GiB
	f.u32(1 << 30) // Original Packet Length
	r, err := readBytes(t, "big.pcap", f.b, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "big.pcap: packet record at offset 42: too large: captured length 1073741824 exceeds the limit of 16777216 bytes per record"
	if len(r.pkts) != 1 || r.err == nil || r.err.Error() != want || !errors.Is(r.err, ErrTooLarge) {
		t.Errorf("got %d packets, %v; want 1, %q", len(r.pkts), r.err, want)
	}
}

// TestPcapTruncated cuts a three-packet file at every length: each cut
// yields the packets before it, then ErrTruncatedFile unless the cut falls
// between records.
func TestPcapTruncated(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		f := newPcap(order, false, 1)
		ends, npk := []int{24}, []int{0}
		for i, d := range []string{"first", "second packet", "3"} {
			f.record(uint32(i), 0, uint32(len(d)), []byte(d))
			ends, npk = append(ends, len(f.b)), append(npk, i+1)
		}
		t.Run(order.String(), func(t *testing.T) {
			testTruncated(t, f.b, ends, npk)
		})
	}
}

// testTruncated reads every prefix of file. ends are the offsets where the
// file header and then each record or block end; npk[i] is the number of
// packets complete at ends[i].
func testTruncated(t *testing.T, file []byte, ends, npk []int) {
	for cut := 0; cut <= len(file); cut++ {
		r, err := readBytes(t, "x", file[:cut], FileOptions{})
		if cut < 4 {
			if !errors.Is(err, ErrNotCapture) {
				t.Errorf("cut %d: got %v; want ErrNotCapture", cut, err)
			}
			continue
		}
		if cut < ends[0] {
			if !errors.Is(err, ErrTruncatedFile) {
				t.Errorf("cut %d: got %v; want ErrTruncatedFile", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		i := 0 // the last end at or before cut
		for j, e := range ends {
			if e <= cut {
				i = j
			}
		}
		if len(r.pkts) != npk[i] {
			t.Errorf("cut %d: got %d packets; want %d", cut, len(r.pkts), npk[i])
		}
		switch {
		case cut == ends[i] && r.err != nil:
			t.Errorf("cut %d: got %v; want io.EOF", cut, r.err)
		case cut != ends[i] && !errors.Is(r.err, ErrTruncatedFile):
			t.Errorf("cut %d: got %v; want ErrTruncatedFile", cut, r.err)
		case cut != ends[i]:
			errLine(t, r.err)
			var fe *FileError
			if !errors.As(r.err, &fe) || fe.Offset != int64(ends[i]) {
				t.Errorf("cut %d: got %v; want a FileError at offset %d", cut, r.err, ends[i])
			}
		}
	}
}

// checkFile reads a fuzzed or real file and checks the invariants every
// input must keep.
func checkFile(t testing.TB, b []byte) {
	const maxBlock = 1 << 20
	s, err := NewReader(bytes.NewReader(b), "fuzz", 0, FileOptions{
		MaxBlockSize:  maxBlock,
		MaxInterfaces: 64,
		OnSecrets: func(typ uint32, data []byte) {
			if len(data) > maxBlock {
				t.Fatalf("secrets of %d bytes exceed MaxBlockSize", len(data))
			}
		},
	})
	if err != nil {
		if s != nil {
			t.Fatal("NewReader returned a source and an error")
		}
		errLine(t, err)
		return
	}
	defer s.Close()
	var p Packet
	var frame, last int64
	for range len(b)/12 + 2 { // every block or record takes >= 12 bytes
		p = Packet{}
		err := s.Next(&p)
		if off := s.Offset(); off < last || off > int64(len(b)) {
			t.Fatalf("Offset %d: want in [%d, %d]", off, last, len(b))
		}
		last = s.Offset()
		if err == io.EOF {
			return
		}
		if err != nil {
			errLine(t, err)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %T %v; want a *FileError", err, err)
			}
			continue
		}
		frame++
		if p.Frame != frame {
			t.Fatalf("got Frame %d; want %d", p.Frame, frame)
		}
		if p.CapLen != len(p.Data) || len(p.Data) > maxBlock {
			t.Fatalf("got CapLen %d, len(Data) %d; want equal and <= %d", p.CapLen, len(p.Data), maxBlock)
		}
		_ = p.TS.String()
	}
	t.Fatalf("no io.EOF after %d calls", len(b)/12+2)
}

// realSeeds adds the first 4 KiB of up to n files from shared/pcaps whose
// names end in ext.
func realSeeds(f *testing.F, ext string, n int) {
	var names []string
	filepath.WalkDir(sharedPcaps, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			names = append(names, p)
		}
		return nil
	})
	for i, name := range names {
		if i >= n {
			break
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		f.Add(b[:min(len(b), 4096)]) // a real file's first records, cut mid-record
	}
}

func FuzzPcap(f *testing.F) {
	f.Add(newPcap(binary.LittleEndian, false, 1).record(1, 2, 3, []byte("abc")).b) // little-endian usec
	f.Add(newPcap(binary.BigEndian, true, 113).record(1, 2, 9, []byte("ab")).b)    // big-endian nsec, snaplen cut
	f.Add(newPcap(binary.LittleEndian, true, 1).b)                                 // header only
	b := newPcap(binary.BigEndian, false, 1).record(1, 2, 3, []byte("abc")).b
	f.Add(b[:len(b)-1]) // cut in the last record
	realSeeds(f, ".pcap", 6)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFile(t, b)
	})
}
