package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMerge merges two files, and a third cut short, by timestamp.
func TestMerge(t *testing.T) {
	// a.pcap: packets at 1, 3, 3, 5 s; b.pcapng: at 2, 3, 4 s; c.pcap: at
	// 3 s, then a cut record.
	a := newPcap(binary.LittleEndian, false, 1).
		record(1, 0, 2, []byte("a1")).record(3, 0, 2, []byte("a3")).
		record(3, 0, 3, []byte("a3b")).record(5, 0, 2, []byte("a5"))
	b := newNg().shb(binary.BigEndian).idb(101, 0).
		epb(0, 2e6, 2, []byte("b2")).epb(0, 3e6, 2, []byte("b3")).epb(0, 4e6, 2, []byte("b4"))
	c := newPcap(binary.BigEndian, true, 1).record(3, 0, 2, []byte("c3")).record(4, 0, 5, []byte("c4"))
	c.b = c.b[:len(c.b)-2]

	open := func(name string, file []byte, input int) Source {
		s, err := NewReader(bytes.NewReader(file), name, input, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name    string
		sources func() []Source
		want    string // data in output order
		wantErr string
	}{
		{
			name:    "two files",
			sources: func() []Source { return []Source{open("a.pcap", a.b, 0), open("b.pcapng", b.b, 1)} },
			want:    "a1 b2 a3 a3b b3 b4 a5",
		},
		{
			name: "input order breaks ties",
			// b is given first on the command line.
			sources: func() []Source { return []Source{open("a.pcap", a.b, 1), open("b.pcapng", b.b, 0)} },
			want:    "a1 b2 b3 a3 a3b b4 a5",
		},
		{
			name: "truncated input is dropped, the others go on",
			sources: func() []Source {
				return []Source{open("a.pcap", a.b, 0), open("b.pcapng", b.b, 1), open("c.pcap", c.b, 2)}
			},
			want:    "a1 b2 a3 a3b b3 c3 b4 a5",
			wantErr: "c.pcap: packet record at offset 42: truncated file: record needs 18 bytes, 16 left",
		},
		{
			name:    "no sources",
			sources: func() []Source { return nil },
			want:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs := tt.sources()
			m := Merge(srcs)
			defer m.Close()
			r := readAllMerged(t, m)
			var got []string
			for i, p := range r.pkts {
				got = append(got, string(p.Data))
				if p.Frame != int64(i+1) {
					t.Errorf("packet %d: got Frame %d; want %d", i, p.Frame, i+1)
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %q; want %q", g, tt.want)
			}
			gotErr := ""
			if len(r.bad) > 0 {
				gotErr = r.bad[0].Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("got error %q; want %q", gotErr, tt.wantErr)
			}
			pr := m.(Progress)
			var size int64
			for _, s := range srcs {
				size += int64(s.(*FileSource).Offset())
			}
			if pr.Offset() != size {
				t.Errorf("got Offset %d; want %d", pr.Offset(), size)
			}
			if pr.Size() != -1 && len(srcs) > 0 {
				t.Errorf("got Size %d; want -1 (NewReader sizes are unknown)", pr.Size())
			}
		})
	}
}

// readAllMerged reads a merged source to io.EOF, going on after every
// error.
func readAllMerged(t *testing.T, m Source) readResult {
	var r readResult
	for range 1000 {
		var p Packet
		err := m.Next(&p)
		if err == io.EOF {
			return r
		}
		if err != nil {
			r.bad = append(r.bad, err)
			continue
		}
		p.Data = bytes.Clone(p.Data)
		r.pkts = append(r.pkts, p)
	}
	t.Fatal("no io.EOF after 1000 calls")
	return r
}

// reuser is a Source that overwrites its one buffer on every Next, as live
// capture may.
type reuser struct {
	n, max int
	buf    [1]byte
	ts     int64
}

func (r *reuser) Next(p *Packet) error {
	if r.n == r.max {
		return io.EOF
	}
	r.buf[0] = byte('a' + r.n)
	r.n++
	*p = Packet{Data: r.buf[:], CapLen: 1, TS: unixTime(r.ts+int64(r.n), 0)}
	return nil
}
func (r *reuser) Close() error { return nil }

// TestMergeCopies checks that a pending packet survives its source's
// reuse of Data, and that sizes add up.
func TestMergeCopies(t *testing.T) {
	m := Merge([]Source{&reuser{max: 3}, &reuser{max: 3, ts: 10}})
	r := readAllMerged(t, m)
	var got []string
	for _, p := range r.pkts {
		got = append(got, string(p.Data))
	}
	if g := strings.Join(got, ""); g != "abcabc" {
		t.Errorf("got %q; want %q", g, "abcabc")
	}
	if s := m.(Progress).Size(); s != -1 {
		t.Errorf("got Size %d; want -1 for sources without Progress", s)
	}
}

func TestMergeSize(t *testing.T) {
	dir := t.TempDir()
	var srcs []Source
	var want int64
	for i, b := range [][]byte{
		newPcap(binary.LittleEndian, false, 1).record(1, 0, 1, []byte("x")).b,
		newNg().shb(binary.LittleEndian).idb(1, 0).epb(0, 1, 1, []byte("y")).b,
	} {
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := OpenFile(p, i, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
		want += int64(len(b))
	}
	m := Merge(srcs)
	defer m.Close()
	readAllMerged(t, m)
	pr := m.(Progress)
	if pr.Size() != want || pr.Offset() != want {
		t.Errorf("got Size %d Offset %d; want %d %d", pr.Size(), pr.Offset(), want, want)
	}
}

// TestSharedPcaps reads every file under shared/pcaps and, where tshark
// is installed, compares the packet count with tshark's.
func TestSharedPcaps(t *testing.T) {
	var names []string
	err := filepath.WalkDir(sharedPcaps, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not found", sharedPcaps)
	}
	if err != nil {
		t.Fatal(err)
	}
	tshark, _ := exec.LookPath("tshark")
	if testing.Short() {
		tshark = ""
	}
	if tshark == "" {
		t.Log("tshark not on PATH or -short: packet counts not compared")
	}
	if len(names) == 0 {
		t.Fatalf("no files under %s", sharedPcaps)
	}
	for _, name := range names {
		t.Run(strings.TrimPrefix(name, sharedPcaps+"/"), func(t *testing.T) {
			t.Parallel()
			s, err := OpenFile(name, 0, FileOptions{})
			if errors.Is(err, ErrNotCapture) && !strings.Contains(filepath.Base(name), ".pcap") {
				t.Skip("not a capture")
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			for {
				var p Packet
				err := s.Next(&p)
				if err == io.EOF {
					break
				}
				if err != nil {
					errLine(t, err)
					t.Logf("%v", err)
					if errors.Is(err, ErrBadBlock) {
						continue
					}
					if !errors.Is(err, ErrTruncatedFile) {
						t.Errorf("got %v; want no error but truncation", err)
					}
					break
				}
				if p.CapLen != len(p.Data) {
					t.Fatalf("frame %d: got CapLen %d, len(Data) %d", p.Frame, p.CapLen, len(p.Data))
				}
				n++
			}
			if tshark == "" {
				return
			}
			out, _ := exec.Command(tshark, "-n", "-r", name, "-T", "fields", "-e", "frame.number").Output()
			want := strings.Count(string(out), "\n")
			if n != want {
				t.Errorf("got %d packets; tshark reads %d", n, want)
			}
		})
	}
}
