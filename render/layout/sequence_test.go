package layout_test

import (
	"encoding/json"
	"flag"
	"testing"

	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden lays out each test connection and compares the diagram's
// JSON with testdata/<case>.json.golden.
func TestGolden(t *testing.T) {
	var files []string
	for _, c := range layouttest.Cases() {
		path := "testdata/" + c.Name + ".json.golden"
		files = append(files, path)
		t.Run(c.Name, func(t *testing.T) {
			d := layout.Sequence(c.Conn, c.Events, layout.Options{})
			got, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			layouttest.Golden(t, path, append(got, '\n'), *update)
		})
	}
	layouttest.CheckGlob(t, "testdata/*.golden", files)
}
