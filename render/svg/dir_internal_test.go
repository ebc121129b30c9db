package svg

import (
	"testing"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
)

// TestDirWriterMemory checks that a connection's buffer never holds more
// than 2×MaxEvents events, however many arrive.
func TestDirWriterMemory(t *testing.T) {
	w := NewDirWriter(t.TempDir())
	w.Layout.MaxEvents = 64
	c := layouttest.Bulk(10_000)
	for i := range c.Events[:len(c.Events)-1] { // all but the summary
		if err := w.Event(&c.Events[i]); err != nil {
			t.Fatal(err)
		}
		p := w.conns[c.Conn.ID]
		if n := len(p.head) + len(p.tail); n > 128 || cap(p.head) > 128 || cap(p.tail) > 128 {
			t.Fatalf("after %d events: %d buffered (caps %d, %d); want at most 128", i+1, n, cap(p.head), cap(p.tail))
		}
	}
	if got := w.conns[c.Conn.ID].omitted.Count; got != int64(len(c.Events)-1-128) {
		t.Errorf("omitted count %d; want %d", got, len(c.Events)-1-128)
	}
}
