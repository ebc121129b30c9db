package mermaid_test

import (
	"bytes"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/mermaid"
	"github.com/wiretrace/wiretrace/timeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// captures are the project's captures with a golden diagram each; TLS and
// QUIC ones are decrypted with their key logs.
var captures = []string{
	"tcp-basic.pcapng", "tcp-refused.pcapng", "tcp-reset.pcapng", "tcp-loss-receiver.pcapng",
	"tcp-zero-window.pcapng", "udp-basic.pcapng", "tls12-full.pcapng", "tls13-hrr.pcapng",
	"h2-tls.pcapng", "h2c-upgrade.pcapng", "http1-pipelined.pcapng", "ws-basic.pcapng", "h3-quic.pcapng",
	"hostile.pcapng", // script tags, quotes, escapes from real peers: SNI, ALPN, path, Host, reason, WebSocket close
}

func renderCapture(t testing.TB, name string, opts mermaid.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	w := mermaid.New(&b, opts)
	layouttest.RunCapture(t, name, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden writes each capture as Markdown with Mermaid blocks and
// compares it with testdata/<capture>.md.golden. Every diagram must pass
// the structural check, and Mermaid's own parser where it is installed
// (TestMermaidParses).
func TestGolden(t *testing.T) {
	var files []string
	for _, name := range captures {
		path := "testdata/" + strings.TrimSuffix(name, filepath.Ext(name)) + ".md.golden"
		files = append(files, path)
		t.Run(name, func(t *testing.T) {
			got := renderCapture(t, name, mermaid.Options{})
			if again := renderCapture(t, name, mermaid.Options{}); !bytes.Equal(got, again) {
				t.Fatal("two renderings of the same capture differ")
			}
			for _, d := range blocks(t, got) {
				checkDiagram(t, d)
			}
			layouttest.Golden(t, path, got, *update)
		})
	}
	layouttest.CheckGlob(t, "testdata/*.md.golden", files)
}

// blocks returns the text of each ```mermaid block of a Markdown output.
func blocks(t testing.TB, md []byte) []string {
	t.Helper()
	var out []string
	s := string(md)
	for {
		i := strings.Index(s, "```mermaid\n")
		if i < 0 {
			break
		}
		s = s[i+len("```mermaid\n"):]
		j := strings.Index(s, "```\n")
		if j < 0 {
			t.Fatalf("unterminated mermaid block")
		}
		out = append(out, s[:j])
		s = s[j+4:]
	}
	if len(out) == 0 {
		t.Fatalf("no mermaid block in:\n%s", md)
	}
	return out
}

// checkDiagram checks what Mermaid's grammar requires of every line we
// write: a known statement, two participants, and no character that ends
// or comments a text early or starts a directive.
func checkDiagram(t testing.TB, d string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(d, "\n"), "\n")
	if lines[0] != "sequenceDiagram" {
		t.Fatalf("first line %q; want sequenceDiagram", lines[0])
	}
	if len(d) > mermaid.DefaultMaxBytes+4096 {
		t.Errorf("diagram is %d bytes; want at most about %d", len(d), mermaid.DefaultMaxBytes)
	}
	prefixes := []string{"title ", "participant C as ", "participant S as ", "C->>S: ", "S->>C: ", "C-->>S: ", "S-->>C: ",
		"C-xS: ", "S-xC: ", "C-)S: ", "S-)C: ", "Note over C: ", "Note over S: ", "Note over C,S: "}
	for n, l := range lines[1:] {
		l = strings.TrimPrefix(l, "    ")
		var text string
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				text = l[len(p):]
				break
			}
		}
		if text == "" && l != "" {
			t.Errorf("line %d: unknown statement %q", n+2, l)
			continue
		}
		text = strings.ReplaceAll(text, "<br/>", "")
		for i := 0; i < len(text); i++ {
			switch c := text[i]; {
			case c == '#':
				// Only entity codes: #123;
				j := i + 1
				for j < len(text) && text[j] >= '0' && text[j] <= '9' {
					j++
				}
				if j == i+1 || j >= len(text) || text[j] != ';' {
					t.Errorf("line %d: '#' that is not an entity code in %q", n+2, l)
				}
				i = j
			case c == ';' || c == '%' || c == '<' || c == '>' || c == '"' || c == '&' || c == ':' || c == '{' || c == '}' || c == '$' || c == '`' || c == '\\':
				t.Errorf("line %d: raw %q in text %q", n+2, c, l)
			case c < 0x20 || c == 0x7f:
				t.Errorf("line %d: control byte %#x", n+2, c)
			}
		}
	}
}

// TestBounded renders connections of 100,000 segments: folded into one
// arrow per run, and, with folding defeated by alternating findings, cut
// to the statement and byte limits with a note, under GitHub's limit.
func TestBounded(t *testing.T) {
	c := layouttest.Bulk(100_000)
	d := mermaid.Diagram(c.Conn, c.Events, mermaid.Options{})
	checkDiagram(t, d)
	if !strings.Contains(d, "100000× tcp segment") && !strings.Contains(d, "50000× tcp segment") {
		t.Errorf("bulk run not folded:\n%.2000s", d)
	}

	// Through the Writer, whose buffer keeps the first and last
	// MaxEvents events of a connection.
	var b bytes.Buffer
	w := mermaid.New(&b, mermaid.Options{MaxEvents: 1000, Bare: true})
	for i := range c.Events {
		if err := w.Event(&c.Events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkDiagram(t, b.String())
	if !strings.Contains(b.String(), "98,004 events left out to bound the diagram") {
		t.Errorf("no note for the events the buffer dropped:\n%.3000s", b.String())
	}

	// Statements that cannot fold: every event a different finding.
	l := layouttest.Loss()
	var evs []timeline.Event
	for i := 0; i < 3000; i++ {
		for _, e := range l.Events[:len(l.Events)-1] {
			e.Frame += int64(i * 100)
			evs = append(evs, e)
		}
	}
	evs = append(evs, l.Events[len(l.Events)-1])
	d = mermaid.Diagram(l.Conn, evs, mermaid.Options{})
	checkDiagram(t, d)
	if n := strings.Count(d, "\n"); n > mermaid.DefaultMaxLines+8 {
		t.Errorf("%d lines; want at most about %d", n, mermaid.DefaultMaxLines)
	}
	if len(d) > 50000 || !strings.Contains(d, "statements left out (frames") {
		t.Errorf("%d bytes, or no omission note", len(d))
	}
	if !strings.Contains(d, "summary") {
		t.Error("the summary must stay")
	}
}

// TestStalls notes head-of-line and flow-control stalls.
func TestStalls(t *testing.T) {
	for _, tt := range []struct {
		c    layouttest.Case
		want string
	}{
		{layouttest.Loss(), "Note over S: HOL stall 48.68 ms, 2,856 B blocked"},
		{layouttest.FlowControlStall(), "Note over S: flow-control stall 12.5 ms stream 3"},
	} {
		d := mermaid.Diagram(tt.c.Conn, tt.c.Events, mermaid.Options{})
		checkDiagram(t, d)
		if !strings.Contains(d, tt.want) {
			t.Errorf("diagram lacks %q:\n%s", tt.want, d)
		}
	}
}
