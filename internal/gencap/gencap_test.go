//go:build linux

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wiretrace/wiretrace/capture"
)

func TestResponseLength(t *testing.T) {
	for _, total := range []int{4000, 20000, 50000, 65536, 2 << 20} {
		r := response(total)
		if len(r) != total {
			t.Errorf("response(%d): %d bytes", total, len(r))
		}
		h := headerLen(total)
		want := "Content-Length: " + strconv.Itoa(total-h) + "\r\n"
		if !bytes.Contains(r[:h], []byte(want)) {
			t.Errorf("response(%d): header %q; want it to announce the %d-byte body", total, r[:h], total-h)
		}
	}
	if got := len(request("/basic")); got != 85 {
		t.Errorf("request(/basic) is %d bytes; cmd/wiretrace's e2e tests expect 85", got)
	}
}

// TestGenerateUDP runs the quickest scenario end to end into a temporary
// directory: namespaces, peers, live capture, pcapng writer.
func TestGenerateUDP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	var udp scenario
	for _, s := range scenarios {
		if s.name == "udp-basic" {
			udp = s
		}
	}
	dir := t.TempDir()
	files, _, err := runScenario(udp, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].packets != 6 {
		t.Fatalf("files %+v; want one with 6 packets", files)
	}
	src, err := capture.OpenFile(filepath.Join(dir, "udp-basic.pcapng"), 0, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	var p capture.Packet
	for {
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 6 {
		t.Errorf("read back %d packets; want 6", n)
	}
}
