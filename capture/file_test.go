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

// bw appends fields in one byte order; the fixture builders below write one
// commented field per line.
type bw struct {
	order binary.ByteOrder
	b     []byte
}

func (w *bw) u8(v uint8)   { w.b = append(w.b, v) }
func (w *bw) u16(v uint16) { w.b = w.order.(binary.AppendByteOrder).AppendUint16(w.b, v) }
func (w *bw) u32(v uint32) { w.b = w.order.(binary.AppendByteOrder).AppendUint32(w.b, v) }
func (w *bw) u64(v uint64) { w.b = w.order.(binary.AppendByteOrder).AppendUint64(w.b, v) }
func (w *bw) raw(b []byte) { w.b = append(w.b, b...) }
func (w *bw) pad4() {
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

// pcapFile builds a pcap file (draft-ietf-opsawg-pcap).
type pcapFile struct{ bw }

func newPcap(order binary.ByteOrder, nano bool, linkType uint32) *pcapFile {
	f := &pcapFile{bw{order: order}}
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	f.u32(magic)    // Magic Number, in the file's byte order
	f.u16(2)        // Major Version
	f.u16(4)        // Minor Version
	f.u32(0)        // Reserved1 (was thiszone)
	f.u32(0)        // Reserved2 (was sigfigs)
	f.u32(65535)    // SnapLen
	f.u32(linkType) // FCS, LinkType
	return f
}

func (f *pcapFile) record(sec, frac, origLen uint32, data []byte) *pcapFile {
	f.u32(sec)               // Timestamp (Seconds)
	f.u32(frac)              // Timestamp (Microseconds or nanoseconds)
	f.u32(uint32(len(data))) // Captured Packet Length
	f.u32(origLen)           // Original Packet Length
	f.raw(data)              // Packet Data
	return f
}

// ngFile builds a pcapng file (draft-ietf-opsawg-pcapng). Each section
// may use its own byte order.
type ngFile struct{ bw }

func newNg() *ngFile { return &ngFile{} }

// block writes one block around body.
func (f *ngFile) block(typ uint32, body []byte) *ngFile {
	n := uint32(12 + (len(body)+3)&^3)
	f.u32(typ) // Block Type
	f.u32(n)   // Block Total Length
	f.raw(body)
	f.pad4()
	f.u32(n) // Block Total Length, again
	return f
}

func (f *ngFile) body() *bw { return &bw{order: f.order} }

// shb starts a section in byte order order.
func (f *ngFile) shb(order binary.ByteOrder) *ngFile {
	f.order = order
	b := f.body()
	b.u32(0x1a2b3c4d)         // Byte-Order Magic
	b.u16(1)                  // Major Version
	b.u16(0)                  // Minor Version
	b.u64(0xffffffffffffffff) // Section Length: unknown
	return f.block(0x0a0d0d0a, b.b)
}

// opt encodes one option.
func (f *ngFile) opt(code uint16, v []byte) []byte {
	b := f.body()
	b.u16(code)           // Option Code
	b.u16(uint16(len(v))) // Option Length
	b.raw(v)              // Option Value
	b.pad4()
	return b.b
}

func (f *ngFile) idb(linkType uint16, snapLen uint32, opts ...[]byte) *ngFile {
	b := f.body()
	b.u16(linkType) // LinkType
	b.u16(0)        // Reserved
	b.u32(snapLen)  // SnapLen
	for _, o := range opts {
		b.raw(o) // Options
	}
	if len(opts) > 0 {
		b.u32(0) // opt_endofopt
	}
	return f.block(1, b.b)
}

func (f *ngFile) tsresol(v uint8) []byte { return f.opt(9, []byte{v}) }

func (f *ngFile) tsoffset(sec int64) []byte {
	b := f.body()
	b.u64(uint64(sec)) // if_tsoffset value
	return f.opt(14, b.b)
}

func (f *ngFile) epb(iface uint32, ts uint64, origLen uint32, data []byte) *ngFile {
	b := f.body()
	b.u32(iface)             // Interface ID
	b.u32(uint32(ts >> 32))  // Timestamp (High)
	b.u32(uint32(ts))        // Timestamp (Low)
	b.u32(uint32(len(data))) // Captured Packet Length
	b.u32(origLen)           // Original Packet Length
	b.raw(data)              // Packet Data
	b.pad4()
	b.raw(f.opt(1, []byte("c"))) // opt_comment, to be ignored
	b.u32(0)                     // opt_endofopt
	return f.block(6, b.b)
}

func (f *ngFile) pb(iface uint16, ts uint64, origLen uint32, data []byte) *ngFile {
	b := f.body()
	b.u16(iface)             // Interface ID
	b.u16(0)                 // Drops Count
	b.u32(uint32(ts >> 32))  // Timestamp (High)
	b.u32(uint32(ts))        // Timestamp (Low)
	b.u32(uint32(len(data))) // Captured Packet Length
	b.u32(origLen)           // Original Packet Length
	b.raw(data)              // Packet Data
	return f.block(2, b.b)
}

func (f *ngFile) spb(origLen uint32, data []byte) *ngFile {
	b := f.body()
	b.u32(origLen) // Original Packet Length
	b.raw(data)    // Packet Data
	return f.block(3, b.b)
}

func (f *ngFile) dsb(typ uint32, secrets []byte) *ngFile {
	b := f.body()
	b.u32(typ)                  // Secrets Type
	b.u32(uint32(len(secrets))) // Secrets Length
	b.raw(secrets)              // Secrets Data
	return f.block(0x0a, b.b)
}

// readResult is what readAll saw: packets (Data copied), the non-fatal
// errors, and the final error (nil at a clean io.EOF).
type readResult struct {
	pkts []Packet
	bad  []error
	err  error
}

// readAll reads src to the end, going on after ErrBadBlock.
func readAll(t testing.TB, src Source) readResult {
	t.Helper()
	var r readResult
	for i := 0; ; i++ {
		if i > 1<<20 {
			t.Fatal("readAll: no end after 2^20 calls")
		}
		var p Packet
		err := src.Next(&p)
		if err == io.EOF {
			return r
		}
		if errors.Is(err, ErrBadBlock) {
			r.bad = append(r.bad, err)
			continue
		}
		if err != nil {
			r.err = err
			if err := src.Next(&p); err != io.EOF {
				t.Errorf("Next after final error: got %v; want io.EOF", err)
			}
			return r
		}
		p.Data = bytes.Clone(p.Data)
		r.pkts = append(r.pkts, p)
	}
}

func readBytes(t testing.TB, name string, b []byte, opts FileOptions) (readResult, error) {
	t.Helper()
	s, err := NewReader(bytes.NewReader(b), name, 0, opts)
	if err != nil {
		return readResult{}, err
	}
	defer s.Close()
	r := readAll(t, s)
	if r.err == nil && s.Offset() != int64(len(b)) {
		t.Errorf("Offset at EOF: got %d; want %d", s.Offset(), len(b))
	}
	return r, nil
}

// pkt is the part of a Packet the tables compare.
type pkt struct {
	ts      time.Time
	link    int
	iface   int
	origLen int
	data    string
}

func comparePackets(t *testing.T, got []Packet, want []pkt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d packets; want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Frame != int64(i+1) {
			t.Errorf("packet %d: got Frame %d; want %d", i, g.Frame, i+1)
		}
		if !g.TS.Equal(w.ts) || g.TS.Location() != time.UTC {
			t.Errorf("packet %d: got TS %v; want %v", i, g.TS, w.ts)
		}
		if int(g.LinkType) != w.link {
			t.Errorf("packet %d: got LinkType %d; want %d", i, g.LinkType, w.link)
		}
		if g.Iface != w.iface {
			t.Errorf("packet %d: got Iface %d; want %d", i, g.Iface, w.iface)
		}
		if g.OrigLen != w.origLen {
			t.Errorf("packet %d: got OrigLen %d; want %d", i, g.OrigLen, w.origLen)
		}
		if string(g.Data) != w.data || g.CapLen != len(g.Data) {
			t.Errorf("packet %d: got Data %q (CapLen %d); want %q", i, g.Data, g.CapLen, w.data)
		}
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantMsg string // with the path as prefix
		wantIs  error
	}{
		{"html", write("x.pcap", []byte("<html><body>")), ": not a pcap or pcapng file (starts with 3c 68 74 6d)", ErrNotCapture},
		{"empty", write("empty.pcap", nil), ": not a pcap or pcapng file (empty)", ErrNotCapture},
		{"short", write("short.pcap", []byte{0xd4, 0xc3}), ": not a pcap or pcapng file (starts with d4 c3)", ErrNotCapture},
		{"gzip", write("x.pcap.gz", []byte{0x1f, 0x8b, 8, 0, 0}), ": not a pcap or pcapng file (starts with 1f 8b 08 00; gzip-compressed? decompress it first)", ErrNotCapture},
		{"pcap header cut", write("cut.pcap", newPcap(binary.LittleEndian, false, 1).b[:10]), ": file header at offset 0: truncated file: pcap file header needs 24 bytes, 10 left", ErrTruncatedFile},
		{"pcapng header cut", write("cut.pcapng", newNg().shb(binary.LittleEndian).b[:20]), ": section header block at offset 0: truncated file: block needs 28 bytes, 20 left", ErrTruncatedFile},
		{"pcap version", write("v3.pcap", func() []byte {
			b := newPcap(binary.BigEndian, false, 1).b
			b[5] = 3 // Major Version 3
			return b
		}()), ": file header at offset 0: unsupported pcap major version 3", nil},
		{"pcapng byte order", write("bom.pcapng", func() []byte {
			b := newNg().shb(binary.LittleEndian).b
			b[8] = 0 // break the Byte-Order Magic
			return b
		}()), ": section header block at offset 0: byte-order magic 00 3c 2b 1a is not 1a 2b 3c 4d in either byte order", nil},
		{"pcapng length", write("len.pcapng", func() []byte {
			b := newNg().shb(binary.LittleEndian).b
			b[4] = 8 // Block Total Length 8
			return b
		}()), ": block at offset 0: length 8 is too short", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenFile(tt.path, 0, FileOptions{})
			if err == nil {
				s.Close()
				t.Fatalf("got no error; want %q", tt.path+tt.wantMsg)
			}
			if got := err.Error(); got != tt.path+tt.wantMsg {
				t.Errorf("got %q; want %q", got, tt.path+tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("got %v; want it to wrap %v", err, tt.wantIs)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		p := filepath.Join(dir, "nope.pcap")
		_, err := OpenFile(p, 0, FileOptions{})
		want := "open " + p + ": no such file or directory"
		if err == nil || err.Error() != want {
			t.Errorf("got %v; want %q", err, want)
		}
	})
}

func TestOpenFileSizeOffset(t *testing.T) {
	b := newPcap(binary.LittleEndian, false, 1).record(1, 2, 3, []byte("abc")).b
	p := filepath.Join(t.TempDir(), "a.cap") // the extension does not matter
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(p, 3, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Size(); got != int64(len(b)) {
		t.Errorf("Size: got %d; want %d", got, len(b))
	}
	if got := s.Offset(); got != 24 {
		t.Errorf("Offset after open: got %d; want 24", got)
	}
	var pk Packet
	if err := s.Next(&pk); err != nil {
		t.Fatal(err)
	}
	if pk.Input != 3 || pk.Frame != 1 {
		t.Errorf("got Input %d Frame %d; want 3 1", pk.Input, pk.Frame)
	}
	if got := s.Offset(); got != int64(len(b)) {
		t.Errorf("Offset: got %d; want %d", got, len(b))
	}
	if err := s.Next(&pk); err != io.EOF {
		t.Errorf("got %v; want io.EOF", err)
	}
}

// TestStdin reads "-" from a pipe, as in "tcpdump -w - | wiretrace -r -".
func TestStdin(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		wantN   int
		wantErr string
	}{
		{"pcapng", newNg().shb(binary.BigEndian).idb(1, 0).epb(0, 5, 3, []byte("abc")).epb(0, 6, 1, []byte("d")).b, 2, ""},
		{"pcap truncated", func() []byte {
			b := newPcap(binary.LittleEndian, true, 1).record(1, 2, 3, []byte("abc")).record(1, 3, 3, []byte("def")).b
			return b[:len(b)-2]
		}(), 1, "<stdin>: packet record at offset 43: truncated file: record needs 19 bytes, 17 left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			go func() {
				w.Write(tt.file)
				w.Close()
			}()
			old := os.Stdin
			os.Stdin = r
			defer func() { os.Stdin = old }()

			s, err := OpenFile("-", 0, FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Size() != -1 || s.Name() != "<stdin>" {
				t.Errorf("got Size %d Name %q; want -1 %q", s.Size(), s.Name(), "<stdin>")
			}
			res := readAll(t, s)
			if len(res.pkts) != tt.wantN {
				t.Errorf("got %d packets; want %d", len(res.pkts), tt.wantN)
			}
			gotErr := ""
			if res.err != nil {
				gotErr = res.err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("got error %q; want %q", gotErr, tt.wantErr)
			}
		})
	}
}

// manyPackets builds captures of n packets of 60 to 1514 bytes.
func manyPackets(n int) (pcap, pcapng []byte) {
	pf := newPcap(binary.LittleEndian, false, 1)
	nf := newNg().shb(binary.LittleEndian).idb(1, 262144)
	data := bytes.Repeat([]byte{0xab}, 1514)
	for i := range n {
		size := 60 + i*97%1455
		pf.record(uint32(1e9+i/1000), uint32(i%1000*1000), uint32(size), data[:size])
		nf.epb(0, uint64(1e15+i*1000), uint32(size), data[:size])
	}
	return pf.b, nf.b
}

func TestNextAllocs(t *testing.T) {
	pcap, pcapng := manyPackets(400)
	merged := func() Source {
		a, _ := NewReader(bytes.NewReader(pcap), "a", 0, FileOptions{})
		b, _ := NewReader(bytes.NewReader(pcapng), "b", 1, FileOptions{})
		return Merge([]Source{a, b})
	}
	tests := []struct {
		name string
		open func() Source
	}{
		{"pcap", func() Source { s, _ := NewReader(bytes.NewReader(pcap), "a", 0, FileOptions{}); return s }},
		{"pcapng", func() Source { s, _ := NewReader(bytes.NewReader(pcapng), "b", 0, FileOptions{}); return s }},
		{"merge", merged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.open()
			defer s.Close()
			var p Packet
			// Warm up: the merge buffers grow to the largest packet.
			for range 20 {
				if err := s.Next(&p); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			allocs := testing.AllocsPerRun(300, func() {
				if e := s.Next(&p); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("got %v allocs per Next; want 0", allocs)
			}
		})
	}
}

// BenchmarkReadPcap reads an in-memory pcap of 10000 packets of 60 to 1514
// bytes per op.
func BenchmarkReadPcap(b *testing.B) {
	pcap, _ := manyPackets(10000)
	benchRead(b, pcap)
}

// BenchmarkReadPcapng is BenchmarkReadPcap for pcapng.
func BenchmarkReadPcapng(b *testing.B) {
	_, pcapng := manyPackets(10000)
	benchRead(b, pcapng)
}

func benchRead(b *testing.B, file []byte) {
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	var p Packet
	pkts := 0
	for b.Loop() {
		s, err := NewReader(bytes.NewReader(file), "bench", 0, FileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if err := s.Next(&p); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			pkts++
		}
	}
	// pkts/s: packets read per second of benchmark time.
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
}

// errLine checks that an error prints as one line.
func errLine(t testing.TB, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q: want one non-empty line", msg)
	}
}
