package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTMLReport writes --html for a decrypted HTTP/2 capture: the file is
// listed on stdout, and holds the connection's row, diagram and events.
func TestHTMLReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	r := e2eRun(t, nil, "pcap", filepath.Join(e2ePcapDir, "h2-tls.pcapng"), "--keylog", filepath.Join(e2ePcapDir, "h2-tls.keys"), "--html", out)
	if r.code != 0 || r.stdout != out+"\n" {
		t.Fatalf("exit %d, stdout %q; stderr %s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "server.test", "tls/http2", "<svg", "/h2/missing"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	r = e2eRun(t, nil, "pcap", filepath.Join(e2ePcapDir, "h2-tls.pcapng"), "--html", filepath.Join(t.TempDir(), "no", "such", "dir", "r.html"))
	if r.code != 1 || !strings.HasPrefix(r.stderr, "wiretrace: --html: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("unwritable --html: exit %d, stderr %q", r.code, r.stderr)
	}
}
