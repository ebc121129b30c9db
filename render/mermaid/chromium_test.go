package mermaid_test

import (
	"html"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/mermaid"
)

// TestRenderInChromium renders the goldens' diagrams and the hostile ones
// with Mermaid in headless Chromium, as GitHub does (strict security
// level): each must become an SVG sequence diagram, no error may be
// reported, and nothing from the wire may run (alert is trapped) or
// become an element. It is skipped unless Chromium and
// $WIRETRACE_MERMAID_DIR (see parseWithMermaid) are there.
func TestRenderInChromium(t *testing.T) {
	_, dir, ok := layouttest.NodeModules(t, "WIRETRACE_MERMAID_DIR", "WIRETRACE_REQUIRE_MERMAID", "mermaid")
	if !ok {
		t.Skip("needs WIRETRACE_MERMAID_DIR with node_modules/mermaid, and chromium")
	}
	browser := layouttest.Chromium(t)
	js, err := os.ReadFile(filepath.Join(dir, "node_modules", "mermaid", "dist", "mermaid.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	var diagrams []string
	for _, name := range captures {
		diagrams = append(diagrams, blocks(t, renderCapture(t, name, mermaid.Options{}))...)
	}
	for _, c := range []layouttest.Case{layouttest.HostileWire(), layouttest.Hostile()} {
		diagrams = append(diagrams, mermaid.Diagram(c.Conn, c.Events, mermaid.Options{}))
	}

	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "mermaid.min.js"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	page.WriteString(`<!doctype html><html><head><meta charset="utf-8"><script src="mermaid.min.js"></script></head><body>` + "\n")
	for _, d := range diagrams {
		page.WriteString(`<pre class="mermaid">` + html.EscapeString(d) + "</pre>\n")
	}
	page.WriteString(`<div id="result"></div><script>
window.alert = window.confirm = window.prompt = function () { document.body.setAttribute('data-pwned', 'yes'); };
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
mermaid.run({ querySelector: '.mermaid' })
  .then(() => { document.getElementById('result').textContent = 'rendered'; })
  .catch((e) => { document.getElementById('result').textContent = 'ERROR ' + e; });
</script></body></html>`)
	pagePath := filepath.Join(tmp, "page.html")
	if err := os.WriteFile(pagePath, []byte(page.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := layouttest.DumpDOM(t, pagePath, 30*time.Second)
	if !strings.Contains(dom, `<div id="result">rendered</div>`) {
		i := strings.Index(dom, `<div id="result">`)
		t.Fatalf("Mermaid did not render: %.300s", dom[max(i, 0):])
	}
	if n := strings.Count(dom, `aria-roledescription="sequence"`); n != len(diagrams) {
		t.Errorf("%d sequence diagrams rendered; want %d", n, len(diagrams))
	}
	if strings.Contains(dom, `data-pwned="yes"`) {
		t.Error("a wire string ran script")
	}
	if n := strings.Count(dom, "<script"); n != 2 {
		t.Errorf("%d <script> elements in the rendered page; want our 2", n)
	}
	for _, bad := range []string{"<b>", "<svg onload", "<script>alert"} {
		if strings.Contains(dom, bad) {
			t.Errorf("rendered page contains %q", bad)
		}
	}
	// The hostile strings show as themselves.
	for _, want := range []string{`SNI &lt;script&gt;alert("x")&lt;/script&gt;`, `%%{init: {"securityLevel":"loose"}}%%`, `#hash #59; &amp;amp; &amp;lt;b&amp;gt;`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks the text %q", want)
		}
	}
	t.Logf("%d diagrams rendered by %s (%s bytes of DOM)", len(diagrams), filepath.Base(browser), strconv.Itoa(len(dom)))
}
