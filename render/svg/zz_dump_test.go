package svg_test

import (
	"os"
	"testing"

	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
)

func TestZZDump(t *testing.T) {
	dir := os.Getenv("DUMP")
	if dir == "" {
		t.Skip()
	}
	for _, c := range append(layouttest.Cases(), layouttest.Hostile(), layouttest.Bulk(100000)) {
		os.WriteFile(dir+"/"+c.Name+".svg", render(t, c, layout.Options{}), 0o644)
	}
}
