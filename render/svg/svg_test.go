package svg_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/svg"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// render lays out c and writes its SVG.
func render(t testing.TB, c layouttest.Case, opts layout.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := svg.Write(&b, layout.Sequence(c.Conn, c.Events, opts)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// parseXML fails unless b is one well-formed XML document, and returns
// the character data of its elements, by element name.
func parseXML(t testing.TB, b []byte) map[string][]string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	text := map[string][]string{}
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				text[n] = append(text[n], string(tok))
			}
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %v", stack)
	}
	return text
}

// TestGolden writes each test connection's SVG and compares it with
// testdata/<case>.svg.golden; every SVG must parse as XML.
func TestGolden(t *testing.T) {
	var files []string
	for _, c := range layouttest.Cases() {
		path := "testdata/" + c.Name + ".svg.golden"
		files = append(files, path)
		t.Run(c.Name, func(t *testing.T) {
			got := render(t, c, layout.Options{})
			parseXML(t, got)
			if again := render(t, c, layout.Options{}); !bytes.Equal(got, again) {
				t.Fatal("two writes of the same diagram differ")
			}
			layouttest.Golden(t, path, got, *update)
		})
	}
	layouttest.CheckGlob(t, "testdata/*.golden", files)
}

// TestHostile renders wire strings full of markup, quotes, ampersands,
// control characters and invalid UTF-8: the SVG must parse, contain no
// element or attribute they could inject, stay valid UTF-8 without raw
// control bytes, and encode the IDs and classes built from them.
func TestHostile(t *testing.T) {
	c := layouttest.Hostile()
	got := render(t, c, layout.Options{})
	text := parseXML(t, got)

	dec := xml.NewDecoder(bytes.NewReader(got))
	allowed := map[string]bool{"svg": true, "title": true, "desc": true, "style": true, "defs": true, "pattern": true,
		"rect": true, "line": true, "g": true, "text": true, "polygon": true, "circle": true, "path": true}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			if !allowed[se.Name.Local] {
				t.Errorf("unexpected element <%s>", se.Name.Local)
			}
			for _, a := range se.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || a.Name.Local == "href" {
					t.Errorf("unexpected attribute %s=%q on <%s>", a.Name.Local, a.Value, se.Name.Local)
				}
				if (a.Name.Local == "class" || a.Name.Local == "id") && strings.ContainsAny(a.Value, `<>"'&;()`) {
					t.Errorf("%s=%q on <%s> is not encoded", a.Name.Local, a.Value, se.Name.Local)
				}
			}
		}
	}
	if !utf8.Valid(got) {
		t.Error("output is not valid UTF-8")
	}
	for i, b := range got {
		if b < 0x20 && b != '\n' {
			t.Fatalf("raw control byte %#x at offset %d", b, i)
		}
	}
	if bytes.Contains(got, []byte("<script")) || bytes.Contains(got, []byte("<svg onload")) {
		t.Error("markup from the wire reached the output unescaped")
	}
	// The strings are still there, as text.
	joined := strings.Join(text["title"], "\n")
	for _, want := range []string{`<script>alert("x")</script>`, `"'><svg onload=alert(1)>`, `nul\x00 bell\x07`, `bad utf-8 \xff\xfe`, `bidi \u202egnp.exe`} {
		if !strings.Contains(joined, want) {
			t.Errorf("tooltips lack %q", want)
		}
	}
	if !bytes.Contains(got, []byte(`t-_3cscript_3ealert_28_22x_22_29_3c_2fscript_3e`)) {
		t.Error("type class not encoded as expected")
	}
	if len(got) > 2<<20 {
		t.Errorf("SVG is %d bytes; want the megabyte string cut", len(got))
	}
}

// TestBounded renders 100,000 events: the SVG parses and is no larger
// than for 10,000 events (both draw DefaultMaxEvents), so its size does
// not grow with the connection.
func TestBounded(t *testing.T) {
	big := render(t, layouttest.Bulk(100_000), layout.Options{})
	small := render(t, layouttest.Bulk(10_000), layout.Options{})
	parseXML(t, big)
	if len(big) > len(small)+len(small)/100 {
		t.Errorf("100,000 events: %d bytes; 10,000 events: %d bytes; want about equal", len(big), len(small))
	}
	if len(big) > 4<<20 {
		t.Errorf("SVG is %d bytes; want under 4 MiB", len(big))
	}
	if n := bytes.Count(big, []byte(`class="ev `)); n > layout.DefaultMaxEvents {
		t.Errorf("%d arrows; want at most %d", n, layout.DefaultMaxEvents)
	}
	if !bytes.Contains(big, []byte("98,003 events omitted")) {
		t.Error("no omitted band")
	}
}
