package svg_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"testing"

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
