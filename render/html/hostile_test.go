package html_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/render/html"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
)

// hostileTitle is an input name built to break out of the title, the
// heading and an attribute.
const hostileTitle = `x.pcap</title><script>alert(1)</script>" onmouseover="alert(2)`

// hostileReport is a report of the two hostile test connections: wire
// strings with markup, quotes, `</script>`, entities, control characters,
// invalid UTF-8 and bidirectional overrides in SNI, ALPN, paths, headers,
// reasons, close reasons, decoder errors, event types and Info keys.
func hostileReport(t testing.TB) []byte {
	t.Helper()
	return renderCases(t, html.Options{Title: hostileTitle}, layouttest.HostileWire(), layouttest.Hostile())
}

// TestHostile checks that hostile wire strings come out as inert text:
// the report holds only our elements and our one script (checkDocument),
// no raw markup or control character from the wire, and the strings
// themselves as text where they belong.
func TestHostile(t *testing.T) {
	out := hostileReport(t)
	if again := hostileReport(t); !bytes.Equal(out, again) {
		t.Fatal("two renderings differ")
	}
	doc := checkDocument(t, out)
	for _, bad := range []string{
		"<script>alert", "</script><script", "<svg onload", "<b>", "<br/>", "<![CDATA[", `" onmouseover=`,
		"\x00", "\x07", "\x1b", "\x7f", "\u0085", "\u202e", "\u2066", "\ufffe", "\xff",
	} {
		if i := bytes.Index(out, []byte(bad)); i >= 0 {
			t.Errorf("report contains %q: …%q…", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	if n := bytes.Count(out, []byte("<script")); n != 1 {
		t.Errorf("%d <script in the report; want our 1", n)
	}
	if len(doc.rows) != 2 || doc.cells["9"] == nil || doc.cells["7"] == nil {
		t.Fatalf("rows %v; want connections 9 and 7", doc.rows)
	}
	// The strings are there as text (cleaned: control characters as
	// escapes), in the table, the diagrams and the event tables.
	sni := `<script>alert("x")</script>`
	if got := doc.cells["9"]["SNI"]; got != sni {
		t.Errorf("SNI cell %q; want %q", got, sni)
	}
	if got := doc.cells["9"]["close"]; !strings.Contains(got, `esc \x1b[31mred\x1b]0;title\x07 nul\x00 del\x7f`) {
		t.Errorf("close cell %q; want the close value with its control characters escaped", got)
	}
	for _, want := range []string{
		hostileTitle,
		`sni ` + sni, // event table
		`reason wrap:x $$\sqrt{x}$$ ` + "`tick`" + ` {brace} <br/> <b>bold</b>`, // a close reason
		`x-evil: "quoted" 'single' ;semi; #hash #59; &amp; &lt;b&gt;`,           // a header
		`path /end\nNote over C,S: injected\nclick C call alert()`,              // a path
		`bidi \u202egnp.exe\u202c`,
		`bad utf-8 \xff\xfe\xc0\x80 end`,
	} {
		if !strings.Contains(doc.text, want) {
			t.Errorf("report text lacks %q", want)
		}
	}
	// The megabyte string is cut everywhere it appears.
	if len(out) > 2<<20 {
		t.Errorf("report is %d bytes; hostile strings should be cut", len(out))
	}
}

// TestHostileCapture checks the project's hostile capture end to end:
// its strings, sent by real peers, come out as inert text.
func TestHostileCapture(t *testing.T) {
	out := renderCapture(t, "hostile.pcapng", html.Options{})
	doc := checkDocument(t, out)
	for _, bad := range []string{"<script>", "</script><", "<img", "\x1b[", "\x00"} {
		if bytes.Count(out, []byte(bad)) > map[string]int{"<script>": 1, "</script><": 0}[bad] {
			t.Errorf("report contains %q", bad)
		}
	}
	if len(doc.rows) != 3 {
		t.Fatalf("rows %v; want 3 connections", doc.rows)
	}
	if got, want := doc.cells["2"]["SNI"], "<script>alert(4)</script>.test"; got != want {
		t.Errorf("SNI %q; want %q", got, want)
	}
	for _, want := range []string{`alpn \x1b[31mh2 | </script> | http/1.1`, "<img"} {
		if !strings.Contains(doc.text, want) {
			t.Errorf("report text lacks %q", want)
		}
	}
}

// TestScriptConstant checks that the script cannot end early or open a
// comment that swallows the page, and that the policy allows it by hash.
func TestScriptConstant(t *testing.T) {
	s := strings.ToLower(html.Script())
	for _, bad := range []string{"</script", "<script", "<!--", "-->", "innerhtml", "outerhtml", "eval(", "document.write", "new function"} {
		if strings.Contains(s, bad) {
			t.Errorf("script contains %q", bad)
		}
	}
	if !strings.Contains(html.CSP(), "default-src 'none'") || !strings.Contains(html.CSP(), "script-src 'sha256-") {
		t.Errorf("policy %q", html.CSP())
	}
}
