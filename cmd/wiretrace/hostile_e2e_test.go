package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileCapture runs the hostile capture (script tags, quotes and
// terminal escapes in paths, hosts, headers, reasons, SNI, ALPN and
// WebSocket close reasons; see testdata/pcaps/README.md) through every
// output and checks that the strings arrive, and arrive inert: no control
// character in the text view, valid JSON with the strings intact, SVG
// that parses with no element or attribute the strings could have made.
func TestHostileCapture(t *testing.T) {
	pcap := filepath.Join(e2ePcapDir, "hostile.pcapng")
	keys := filepath.Join(e2ePcapDir, "hostile.keys")

	text := e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--all")
	if text.code != 0 {
		t.Fatalf("text: exit %d: %s", text.code, text.stderr)
	}
	for i, r := range text.stdout {
		if r < 0x20 && r != '\n' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
			t.Fatalf("text: control character %U at byte %d", r, i)
		}
	}
	for _, want := range []string{"<script>alert(1)</script>", "<script>alert(4)</script>.test", "<svg onload=alert(3)>.test"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("text: %q not shown", want)
		}
	}

	js := e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--format", "json")
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSpace(js.stdout), "\n") {
		var ev e2eEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("json line %d: %v", i+1, err)
		}
		if strings.ContainsAny(line, "\x1b\x07") || strings.Contains(line, "<") {
			t.Fatalf("json line %d carries a raw control or markup character: %.120s", i+1, line)
		}
		b, _ := json.Marshal(ev.Info)
		var info map[string]any
		json.Unmarshal(b, &info)
		for _, v := range info {
			if s, ok := v.(string); ok {
				seen[s] = true
			}
		}
	}
	for _, want := range []string{"<script>alert(4)</script>.test", "bye \"now\" <i>-->\x1b[0m"} {
		if !seen[want] {
			t.Errorf("json: %q did not survive intact", want)
		}
	}

	dir := t.TempDir()
	svg := e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--svg", "-o", dir)
	if svg.code != 0 {
		t.Fatalf("svg: exit %d: %s", svg.code, svg.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	if len(files) != 3 {
		t.Fatalf("%d SVG files; want 3", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(b))
		dec.Strict = true
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed: %v", filepath.Base(f), err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				switch se.Name.Local {
				case "script", "img", "i", "b", "foreignObject", "iframe":
					t.Fatalf("%s: a <%s> element", filepath.Base(f), se.Name.Local)
				}
				for _, a := range se.Attr {
					if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || a.Name.Local == "href" {
						t.Fatalf("%s: attribute %s on <%s>", filepath.Base(f), a.Name.Local, se.Name.Local)
					}
				}
			}
		}
		if bytes.ContainsAny(b, "\x1b\x07") {
			t.Errorf("%s: raw control characters", filepath.Base(f))
		}
	}
}
