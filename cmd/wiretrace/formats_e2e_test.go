package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMermaidAndVTT runs --format mermaid and --format vtt (with
// --time-origin and --vtt-chapters) on a decrypted HTTP/2 capture, and
// the flag mistakes around them.
func TestMermaidAndVTT(t *testing.T) {
	pcap := filepath.Join(e2ePcapDir, "h2-tls.pcapng")
	keys := filepath.Join(e2ePcapDir, "h2-tls.keys")
	r := e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--format", "mermaid")
	if r.code != 0 || !strings.Contains(r.stdout, "```mermaid\nsequenceDiagram\n") || !strings.Contains(r.stdout, "GET /h2/missing") {
		t.Errorf("mermaid: exit %d:\n%.300s", r.code, r.stdout)
	}
	chapters := filepath.Join(t.TempDir(), "chapters.vtt")
	r = e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--format", "vtt", "--time-origin=-2s", "--vtt-chapters", chapters)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "WEBVTT\n") || !strings.Contains(r.stdout, "00:00:02.000 --> ") {
		t.Errorf("vtt: exit %d:\n%.300s", r.code, r.stdout)
	}
	if b, err := os.ReadFile(chapters); err != nil || !strings.HasPrefix(string(b), "WEBVTT\n") {
		t.Errorf("chapters: %v %.100q", err, b)
	}
	r = e2eRun(t, nil, "pcap", pcap, "--format", "vtt", "--time-origin", "2026-11-23T15:42:20Z")
	if r.code != 0 || !strings.Contains(r.stdout, "00:00:00.926 --> ") {
		t.Errorf("vtt with an RFC 3339 origin: exit %d:\n%.300s", r.code, r.stdout)
	}
	for _, args := range [][]string{
		{"--format", "json", "--time-origin", "-2s"},
		{"--format", "vtt", "--time-origin", "yesterday"},
		{"--vtt-chapters", "x.vtt"},
	} {
		r = e2eRun(t, nil, append([]string{"pcap", pcap}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "--time-origin") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, r.code, r.stderr)
		}
	}
}

// TestLadderAndOverview runs --format ladder (at the default width, no
// terminal) and --overview.
func TestLadderAndOverview(t *testing.T) {
	pcap := filepath.Join(e2ePcapDir, "h2-tls.pcapng")
	keys := filepath.Join(e2ePcapDir, "h2-tls.keys")
	r := e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--format", "ladder")
	if r.code != 0 || !strings.Contains(r.stdout, "──tls ClientHello") || !strings.Contains(r.stdout, "GET /h2/missing") {
		t.Errorf("ladder: exit %d:\n%.400s", r.code, r.stdout)
	}
	r = e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--format", "ladder", "--ascii")
	for i, c := range r.stdout {
		if c > 0x7e || c < 0x20 && c != '\n' {
			t.Fatalf("--ascii: %U at byte %d", c, i)
		}
	}
	svg := filepath.Join(t.TempDir(), "overview.svg")
	r = e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--overview", svg)
	if r.code != 0 || r.stdout != svg+"\n" {
		t.Fatalf("overview: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(svg); err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "198.18.2.2") {
		t.Errorf("overview file: %v %.200q", err, b)
	}
}

// TestOverviewDOT writes the overview as DOT when the file ends in .dot.
func TestOverviewDOT(t *testing.T) {
	dot := filepath.Join(t.TempDir(), "overview.dot")
	r := e2eRun(t, nil, "pcap", filepath.Join(e2ePcapDir, "h2-tls.pcapng"), "--overview", dot)
	b, err := os.ReadFile(dot)
	if r.code != 0 || err != nil || !strings.HasPrefix(string(b), "digraph overview {") {
		t.Fatalf("exit %d, %v: %.100q", r.code, err, b)
	}
}

// TestAnimatedSVG writes --svg --animate: every arrow fades in at its
// time; --animate alone is a usage error.
func TestAnimatedSVG(t *testing.T) {
	dir := t.TempDir()
	r := e2eRun(t, nil, "pcap", filepath.Join(e2ePcapDir, "tls13-full.pcapng"), "--svg", "-o", dir, "--animate", "--animate-speed", "4", "--slope")
	files, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	if r.code != 0 || len(files) != 1 {
		t.Fatalf("exit %d, %d files: %s", r.code, len(files), r.stderr)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "animation") || strings.Contains(string(b), "<script") {
		t.Errorf("no CSS animation (or a script) in the SVG")
	}
	r = e2eRun(t, nil, "pcap", filepath.Join(e2ePcapDir, "tls13-full.pcapng"), "--animate")
	if r.code != 2 || !strings.Contains(r.stderr, "--svg") {
		t.Errorf("--animate without --svg: exit %d, %q", r.code, r.stderr)
	}
}
