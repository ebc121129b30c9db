package svg_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/svg"
	"github.com/wiretrace/wiretrace/timeline"
)

// feed sends events through one reused *Event, as timeline.Builder does.
func feed(t *testing.T, w *svg.DirWriter, events []timeline.Event) {
	t.Helper()
	var ev timeline.Event
	for i := range events {
		ev = events[i]
		if err := w.Event(&ev); err != nil {
			t.Fatal(err)
		}
		ev = timeline.Event{} // the caller reuses the struct
	}
}

// TestDirWriter interleaves the test connections' events, checks that
// each file is written when its summary arrives (and those without one at
// Close, in connection order), and that each file equals a direct
// layout and Write of the same events.
func TestDirWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w := svg.NewDirWriter(dir)
	cases := layouttest.Cases()
	// Interleave: one event from each connection in turn.
	var all []timeline.Event
	for i := 0; ; i++ {
		more := false
		for _, c := range cases {
			if i < len(c.Events) {
				all = append(all, c.Events[i])
				more = true
			}
		}
		if !more {
			break
		}
	}
	feed(t, w, all)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"conn-0002-192.0.2.10_51236-198.51.100.20_8080.svg",
		"conn-0004-10.1.2.3_40000-10.9.8.7_5432.svg",
		"conn-0001-192.0.2.10_51234-198.51.100.20_443.svg",
		"conn-0003-2001-db8--10_50522-2001-db8-ffff--443_443.svg",
		"conn-0005-192.0.2.10_51300-198.51.100.20_443.svg", // no summary: written by Close
	}
	var got []string
	for _, p := range w.Paths() {
		got = append(got, filepath.Base(p))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paths\n%q\nwant\n%q", got, want)
	}
	for _, c := range cases {
		path := filepath.Join(dir, svg.FileName(c.Conn))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		parseXML(t, b)
		if direct := render(t, c, layout.Options{}); !bytes.Equal(b, direct) {
			t.Errorf("%s differs from a direct render", path)
		}
	}
}

// TestDirWriterBounded feeds 100,000 events of one connection: the file
// matches a direct render of the same events whose middle was dropped, so
// the writer kept only 2×MaxEvents of them.
func TestDirWriterBounded(t *testing.T) {
	dir := t.TempDir()
	w := svg.NewDirWriter(dir)
	w.Layout.MaxEvents = 100
	c := layouttest.Bulk(100_000)
	feed(t, w, c.Events)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(w.Paths()) != 1 {
		t.Fatalf("paths %q; want one", w.Paths())
	}
	b, err := os.ReadFile(w.Paths()[0])
	if err != nil {
		t.Fatal(err)
	}
	parseXML(t, b)
	if !bytes.Contains(b, []byte("99,903 events omitted (frames 51–99953")) {
		t.Error("the omitted band does not count the events DirWriter dropped")
	}
	if direct := render(t, c, layout.Options{MaxEvents: 100}); !bytes.Equal(b, direct) {
		t.Error("file differs from a direct render of all events")
	}
}

// TestDirWriterError reports a directory that cannot be created.
func TestDirWriterError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := svg.NewDirWriter(filepath.Join(file, "sub"))
	c := layouttest.Refused()
	var err error
	for i := range c.Events {
		if err = w.Event(&c.Events[i]); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("no error writing under a file")
	}
	if len(w.Paths()) != 0 {
		t.Errorf("paths %q; want none", w.Paths())
	}
}
