package capture

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestTrimPcapng cuts a pcapng file at every length and checks that the
// trimmed file reads back as whole packets, as many as were whole.
func TestTrimPcapng(t *testing.T) {
	var buf bytes.Buffer
	pw, err := NewPcapngWriter(&buf, layers.LinkTypeEthernet, "eth0", 0)
	if err != nil {
		t.Fatal(err)
	}
	const packets = 5
	for i := range packets {
		data := bytes.Repeat([]byte{byte(i)}, 60+i*7)
		if err := pw.WritePacket(&Packet{Frame: int64(i + 1), TS: time.Unix(1, int64(i)), LinkType: layers.LinkTypeEthernet, Data: data, OrigLen: len(data)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	path := filepath.Join(t.TempDir(), "cut.pcapng")
	prevKept := int64(-1)
	for cut := 28; cut <= len(full); cut++ {
		if err := os.WriteFile(path, full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		kept, err := TrimPcapng(f)
		f.Close()
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if kept > int64(cut) || kept < prevKept {
			t.Fatalf("cut %d: kept %d (before: %d)", cut, kept, prevKept)
		}
		prevKept = kept
		src, err := OpenFile(path, 0, FileOptions{})
		if err != nil {
			continue // only the section header survived: no interface yet
		}
		var p Packet
		n := 0
		for {
			err := src.Next(&p)
			if err != nil {
				if err != io.EOF {
					t.Fatalf("cut %d: trimmed file: %v", cut, err)
				}
				break
			}
			n++
		}
		src.Close()
		if cut == len(full) && n != packets {
			t.Fatalf("whole file: %d packets", n)
		}
	}
}
