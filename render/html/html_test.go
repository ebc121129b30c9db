package html_test

import (
	"bytes"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/html"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/timeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// captures are the project's captures with a golden report each; TLS and
// QUIC ones are decrypted with their key logs. Between them they have
// TCP and UDP, every decoder, a refused and a reset connection, loss with
// a HOL stall, several connections per report (tcp-pipelined,
// tls13-resumed), an HTTP/2 flow-control stall, and hostile strings from a
// real peer in paths, headers, reasons, SNI, ALPN and a WebSocket close
// (hostile).
var captures = []string{
	"tcp-basic.pcapng", "tcp-refused.pcapng", "tcp-reset.pcapng", "tcp-loss-receiver.pcapng",
	"udp-basic.pcapng", "tls13-hrr.pcapng", "h2-tls.pcapng", "h2c-prior-knowledge.pcapng",
	"tcp-pipelined.pcapng", "tls13-resumed.pcapng", "ws-basic.pcapng", "h3-quic.pcapng",
	"hostile.pcapng",
}

// renderCapture writes the report of one capture.
func renderCapture(t testing.TB, name string, opts html.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	w := html.New(&b, opts)
	layouttest.RunCapture(t, name, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// renderCases writes the report of test connections.
func renderCases(t testing.TB, opts html.Options, cases ...layouttest.Case) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeCases(&b, opts, cases); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeCases writes the report of test connections to out.
func writeCases(out io.Writer, opts html.Options, cases []layouttest.Case) error {
	w := html.New(out, opts)
	for _, c := range cases {
		for i := range c.Events {
			if err := w.Event(&c.Events[i]); err != nil {
				return err
			}
		}
	}
	return w.Close()
}

// TestGolden writes each capture's report and compares it with
// testdata/<capture>.html.golden. Every report must be a well-formed
// document of our elements only, with one row and one section per
// connection, and the same bytes when written twice.
func TestGolden(t *testing.T) {
	var files []string
	for _, name := range captures {
		path := "testdata/" + strings.TrimSuffix(name, filepath.Ext(name)) + ".html.golden"
		files = append(files, path)
		t.Run(name, func(t *testing.T) {
			opts := html.Options{Title: name}
			got := renderCapture(t, name, opts)
			if again := renderCapture(t, name, opts); !bytes.Equal(got, again) {
				t.Fatal("two renderings of the same capture differ")
			}
			var summaries int
			layouttest.RunCapture(t, name, timeline.SinkFunc(func(ev *timeline.Event) error {
				if ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary {
					summaries++
				}
				return nil
			}))
			doc := checkDocument(t, got)
			if len(doc.rows) != summaries || len(doc.templates) != summaries {
				t.Errorf("%d rows and %d sections; want one each for the %d connections", len(doc.rows), len(doc.templates), summaries)
			}
			for i, id := range doc.rows {
				if doc.templates[id] == nil {
					t.Errorf("row %d: connection %s has no section", i, id)
				}
			}
			layouttest.Golden(t, path, got, *update)
		})
	}
	layouttest.CheckGlob(t, "testdata/*.html.golden", files)
}

// TestTableCells checks the connection table against what the captures
// are known to hold.
func TestTableCells(t *testing.T) {
	for _, tc := range []struct {
		capture string
		conn    string
		want    map[string]string // column → cell text
	}{
		{"h2-tls.pcapng", "1", map[string]string{"transport": "tcp", "protocols": "tcp/tls/http2 (TLS1.3)", "ALPN": "h2", "RTs": "2", "close": "rst"}},
		{"tcp-refused.pcapng", "1", map[string]string{"protocols": "tcp", "close": "refused", "bytes →": "0", "SNI": "–"}},
		{"tcp-loss-receiver.pcapng", "1", map[string]string{"RTs": "1"}},
		{"h3-quic.pcapng", "1", map[string]string{"transport": "udp", "protocols": "udp/quic/http3 (TLS1.3)", "ALPN": "h3", "close": "closed"}},
		{"h2c-prior-knowledge.pcapng", "1", map[string]string{"protocols": "tcp/http2"}},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			doc := checkDocument(t, renderCapture(t, tc.capture, html.Options{}))
			cells := doc.cells[tc.conn]
			if cells == nil {
				t.Fatalf("no row for connection %s", tc.conn)
			}
			for col, want := range tc.want {
				if got := cells[col]; got != want {
					t.Errorf("connection %s, %s: %q; want %q", tc.conn, col, got, want)
				}
			}
		})
	}
	// The loss capture has a HOL stall, h2c-prior-knowledge a flow-control
	// stall: the stalls column counts them.
	doc := checkDocument(t, renderCapture(t, "tcp-loss-receiver.pcapng", html.Options{}))
	if s := doc.cells["1"]["stalls"]; !strings.Contains(s, "HOL") {
		t.Errorf("tcp-loss-receiver stalls %q; want a HOL stall", s)
	}
	doc = checkDocument(t, renderCapture(t, "h2c-prior-knowledge.pcapng", html.Options{}))
	if s := doc.cells["1"]["stalls"]; !strings.Contains(s, "FC") {
		t.Errorf("h2c-prior-knowledge stalls %q; want a flow-control stall", s)
	}
}

// document is what checkDocument read from a report.
type document struct {
	rows      []string                     // connection numbers, in table order
	cells     map[string]map[string]string // connection → column → text
	templates map[string]*xhtml.Node       // connection → its template
	text      string                       // all text, template contents included
}

// allowed are the elements a report may hold: ours and render/svg's.
var allowed = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true,
	"h1": true, "h2": true, "h3": true, "p": true, "div": true, "span": true, "label": true, "input": true,
	"noscript": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
	"button": true, "a": true, "main": true, "template": true, "section": true, "script": true,
	// render/svg
	"svg": true, "desc": true, "defs": true, "pattern": true, "rect": true, "line": true, "g": true,
	"text": true, "polygon": true, "path": true, "circle": true,
}

// checkDocument fails unless b is a well-formed report: every element
// closed in order (void elements aside), only allowed elements, no
// event-handler attribute, no URL but #conn-N links, and exactly one
// script, ours.
func checkDocument(t testing.TB, b []byte) document {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>\n")) {
		t.Fatalf("report does not start with a doctype: %.40q", b)
	}
	wellFormed(t, b)
	root, err := xhtml.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	doc := document{cells: map[string]map[string]string{}, templates: map[string]*xhtml.Node{}}
	var heads []string
	var text strings.Builder
	scripts := 0
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		switch n.Type {
		case xhtml.TextNode:
			text.WriteString(n.Data)
		case xhtml.ElementNode:
			if !allowed[n.Data] {
				t.Errorf("element <%s> in the report", n.Data)
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				if strings.HasPrefix(k, "on") || k == "src" || k == "srcdoc" || k == "action" || k == "formaction" || k == "style" || strings.Contains(k, "href") && !strings.HasPrefix(a.Val, "#conn-") {
					t.Errorf("<%s %s=%q> in the report", n.Data, a.Key, a.Val)
				}
			}
			switch n.Data {
			case "script":
				scripts++
				if n.FirstChild == nil || n.FirstChild.Data != html.Script() || n.FirstChild.NextSibling != nil {
					t.Error("the report's script is not ours")
				}
			case "template":
				id := strings.TrimPrefix(attr(n, "id"), "wt-c-")
				doc.templates[id] = n
			case "th":
				if n.Parent != nil && n.Parent.Parent != nil && n.Parent.Parent.Data == "thead" && attr(n.Parent.Parent.Parent, "id") == "wt-table" {
					heads = append(heads, textOf(n))
				}
			case "tr":
				if id := attr(n, "data-conn"); id != "" {
					doc.rows = append(doc.rows, id)
					cells := map[string]string{}
					i := 0
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == xhtml.ElementNode && c.Data == "td" && i < len(heads) {
							cells[heads[i]] = textOf(c)
							i++
						}
					}
					doc.cells[id] = cells
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	if scripts != 1 {
		t.Errorf("%d scripts in the report; want 1", scripts)
	}
	doc.text = text.String()
	return doc
}

func attr(n *xhtml.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *xhtml.Node) string {
	var b strings.Builder
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// voids are the HTML elements without an end tag.
var voids = map[string]bool{"meta": true, "input": true, "br": true, "link": true, "img": true, "hr": true}

// wellFormed fails unless every start tag of b has its end tag, in order
// (SVG elements may close themselves), and the tokenizer meets nothing
// but tags, text, one doctype and our comment. x/net/html's parser
// repairs any input, so the tokens are checked.
func wellFormed(t testing.TB, b []byte) {
	t.Helper()
	z := xhtml.NewTokenizer(bytes.NewReader(b))
	var stack []string
	doctypes := 0
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			if len(stack) != 0 {
				t.Fatalf("unclosed elements at the end: %v", stack)
			}
			if doctypes != 1 {
				t.Fatalf("%d doctypes", doctypes)
			}
			return
		case xhtml.DoctypeToken:
			doctypes++
		case xhtml.CommentToken:
			if !strings.HasPrefix(string(z.Text()), " Each connection") {
				t.Fatalf("unexpected comment %q", z.Text())
			}
		case xhtml.StartTagToken:
			name, _ := z.TagName()
			if !voids[string(name)] {
				stack = append(stack, string(name))
			}
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		case xhtml.SelfClosingTagToken:
			name, _ := z.TagName()
			if !inSVG(stack) {
				t.Fatalf("self-closing <%s/> outside SVG", name)
			}
		}
	}
}

func inSVG(stack []string) bool {
	for _, s := range stack {
		if s == "svg" {
			return true
		}
	}
	return false
}
