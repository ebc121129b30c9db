package html_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/wiretrace/wiretrace/render/html"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
)

// A Writer is a timeline.Sink: give it every event, then Close it.
func ExampleWriter() {
	var out bytes.Buffer
	w := html.New(&out, html.Options{Title: "capture.pcapng"})
	c := layouttest.HandshakeDataFIN()
	for i := range c.Events {
		if err := w.Event(&c.Events[i]); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	fmt.Println(first)
	fmt.Println(strings.Count(out.String(), "<template id=\"wt-c-"), "connection section")
	// Output:
	// <!DOCTYPE html>
	// 1 connection section
}
