package svg_test

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/svg"
)

var delayRE = regexp.MustCompile(`<g class="ev [^"]*" id="(a[0-9]+)" style="animation:wt-in 0\.25s ease-out ([0-9.]+)ms both">`)

// TestAnimate checks that an animated diagram fades each arrow in at its
// time divided by the speed, stays well-formed and deterministic, and
// that a still diagram has no animation at all.
func TestAnimate(t *testing.T) {
	c := layouttest.Loss()
	d := layout.Sequence(c.Conn, c.Events, layout.Options{})
	write := func(o svg.Options) []byte {
		var b bytes.Buffer
		if err := svg.WriteOptions(&b, d, o); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	still := write(svg.Options{})
	if bytes.Contains(still, []byte("animation")) || bytes.Contains(still, []byte("@keyframes")) {
		t.Error("a still diagram has animation markup")
	}
	for _, speed := range []float64{0, 1, 10, 0.5} {
		out := write(svg.Options{Animate: true, Speed: speed})
		parseXML(t, out)
		if !bytes.Equal(out, write(svg.Options{Animate: true, Speed: speed})) {
			t.Errorf("speed %v: output differs between runs", speed)
		}
		if !bytes.Contains(out, []byte("@keyframes wt-in")) || !bytes.Contains(out, []byte("prefers-reduced-motion")) {
			t.Errorf("speed %v: no keyframes or reduced-motion rule", speed)
		}
		div := speed
		if div <= 0 {
			div = 1
		}
		got := map[string]float64{}
		for _, m := range delayRE.FindAllSubmatch(out, -1) {
			v, err := strconv.ParseFloat(string(m[2]), 64)
			if err != nil {
				t.Fatal(err)
			}
			got[string(m[1])] = v
		}
		n := 0
		for _, a := range d.Arrows {
			if a.At == 0 {
				continue
			}
			n++
			want := a.At / div
			if v, ok := got[a.ID]; !ok || v < want-0.001 || v > want+0.001 {
				t.Errorf("speed %v: arrow %s (at %v ms) delay %v ms (found %v); want %v", speed, a.ID, a.At, v, ok, want)
			}
		}
		if n < 10 {
			t.Errorf("only %d arrows with a time", n)
		}
	}
	// The last arrow (the RST at 520 ms) comes last.
	last := d.Arrows[len(d.Arrows)-1]
	if last.At != 520 {
		t.Errorf("last arrow at %v ms; want 520", last.At)
	}
}

// TestDirWriterAnimate checks that DirWriter.SVG reaches the files.
func TestDirWriterAnimate(t *testing.T) {
	c := layouttest.Loss()
	for _, animate := range []bool{false, true} {
		w := svg.NewDirWriter(t.TempDir())
		w.SVG = svg.Options{Animate: animate, Speed: 2}
		feed(t, w, c.Events)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(w.Paths()[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte("@keyframes wt-in")) && bytes.Contains(b, []byte(" 260ms both")); got != animate {
			t.Errorf("Animate %v: animated file %v (the RST at 520 ms should appear at 260 ms)", animate, got)
		}
	}
}
