package layout_test

import (
	"encoding/json"
	"flag"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/timeline"
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

// jsonStrings returns every string in d's JSON form, with its path.
func jsonStrings(t *testing.T, d *layout.Diagram) map[string]string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case string:
			out[path] = v
		case []any:
			for i, e := range v {
				walk(path+"["+strconv.Itoa(i)+"]", e)
			}
		case map[string]any:
			for k, e := range v {
				walk(path+"."+k, e)
			}
		}
	}
	walk("", v)
	return out
}

// TestHostile checks that wire strings reach the diagram cleaned: valid
// UTF-8, no control or bidirectional characters (tooltips keep their own
// line breaks), and bounded.
func TestHostile(t *testing.T) {
	c := layouttest.Hostile()
	d := layout.Sequence(c.Conn, c.Events, layout.Options{})
	for path, s := range jsonStrings(t, d) {
		if !utf8.ValidString(s) {
			t.Errorf("%s: invalid UTF-8 %q", path, s)
		}
		for _, r := range s {
			if r == '\n' && strings.HasSuffix(path, ".tip") {
				continue
			}
			if unicode.IsControl(r) || r == '\u202e' || r == '\u2066' {
				t.Errorf("%s: contains %U: %q", path, r, s)
				break
			}
		}
		if len(s) > 16<<10 {
			t.Errorf("%s: %d bytes, want a bounded string", path, len(s))
		}
	}
	b, _ := json.Marshal(d)
	if len(b) > 1<<20 {
		t.Errorf("diagram JSON is %d bytes for %d events; want it bounded", len(b), len(c.Events))
	}
}

// TestBounded lays out 100,000 events: only MaxEvents are drawn, the rest
// are counted in one omitted band, and the diagram stays the same size as
// with a tenth of the events.
func TestBounded(t *testing.T) {
	big := layouttest.Bulk(100_000)
	d := layout.Sequence(big.Conn, big.Events, layout.Options{})
	if d.Stats.Drawn != layout.DefaultMaxEvents {
		t.Errorf("drawn %d events; want %d", d.Stats.Drawn, layout.DefaultMaxEvents)
	}
	if want := int64(100_000 + 3 - layout.DefaultMaxEvents); d.Stats.Omitted != want {
		t.Errorf("omitted %d; want %d", d.Stats.Omitted, want)
	}
	var omitted []layout.Band
	for _, b := range d.Bands {
		if b.Class == layout.ClassOmitted {
			omitted = append(omitted, b)
		}
	}
	if len(omitted) != 1 || !strings.Contains(omitted[0].Label.S, "98,003 events omitted") {
		t.Errorf("omitted bands %+v; want one counting 98,003 events", omitted)
	}
	if len(d.Arrows) > layout.DefaultMaxEvents {
		t.Errorf("%d arrows; want at most %d", len(d.Arrows), layout.DefaultMaxEvents)
	}
	small := layouttest.Bulk(10_000)
	ds := layout.Sequence(small.Conn, small.Events, layout.Options{})
	if d.Height > ds.Height+layout.FontTitle || len(d.Arrows) != len(ds.Arrows) {
		t.Errorf("100,000 events: height %v, %d arrows; 10,000 events: height %v, %d arrows; want equal",
			d.Height, len(d.Arrows), ds.Height, len(ds.Arrows))
	}
}

// TestCallerOmission checks that a run the caller dropped (as DirWriter
// does) and the run Sequence drops become one band with the total count.
func TestCallerOmission(t *testing.T) {
	c := layouttest.Bulk(1000)
	events := append(append([]timeline.Event{}, c.Events[:400]...), c.Events[700:]...)
	o := &layout.Omission{After: 400}
	for _, e := range c.Events[400:700] {
		o.Add(e.Frame, e.TS)
	}
	d := layout.Sequence(c.Conn, events, layout.Options{MaxEvents: 200, Omitted: o})
	if d.Stats.Events != 1003 || d.Stats.Drawn != 200 {
		t.Errorf("stats %+v; want 1003 events, 200 drawn", d.Stats)
	}
	var labels []string
	for _, b := range d.Bands {
		if b.Class == layout.ClassOmitted {
			labels = append(labels, b.Label.S)
		}
	}
	if len(labels) != 1 || !strings.Contains(labels[0], "803 events omitted (frames 101–903") {
		t.Errorf("omitted bands %q; want one of 803 events, frames 101–903", labels)
	}

	// Within MaxEvents, the caller's run still shows.
	d = layout.Sequence(c.Conn, events, layout.Options{Omitted: o})
	labels = labels[:0]
	for _, b := range d.Bands {
		if b.Class == layout.ClassOmitted {
			labels = append(labels, b.Label.S)
		}
	}
	if len(labels) != 1 || !strings.Contains(labels[0], "300 events omitted (frames 401–700") {
		t.Errorf("omitted bands %q; want one of 300 events, frames 401–700", labels)
	}
}

// TestIdleBreak checks that a gap of IdleBreak or more is cut and
// labelled, and a shorter one is not.
func TestIdleBreak(t *testing.T) {
	c := layouttest.HandshakeDataFIN() // 2.5 s idle before the FIN
	for _, tc := range []struct {
		idle time.Duration
		want string
	}{
		{0, "… 2.5 s idle …"},
		{3 * time.Second, ""},
		{100 * time.Millisecond, "… 2.5 s idle …"},
	} {
		d := layout.Sequence(c.Conn, c.Events, layout.Options{IdleBreak: tc.idle})
		got := ""
		for _, b := range d.Bands {
			if b.Class == layout.ClassIdle {
				got = b.Label.S
			}
		}
		if got != tc.want {
			t.Errorf("IdleBreak %v: idle label %q; want %q", tc.idle, got, tc.want)
		}
	}
}

// TestGeometry checks invariants on every test case: rows go down, texts
// of one row never share a y with another row's, arrows end on the
// lifelines, and everything lies inside the canvas.
func TestGeometry(t *testing.T) {
	cases := append(layouttest.Cases(), layouttest.Hostile(), layouttest.Bulk(3000))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			d := layout.Sequence(c.Conn, c.Events, layout.Options{})
			cx, sx := d.Heads[0].Role.X, d.Heads[1].Role.X
			last := -1.0
			for _, a := range d.Arrows {
				if a.Line.Y1 <= last {
					t.Errorf("arrow %s at y %v after y %v", a.ID, a.Line.Y1, last)
				}
				last = a.Line.Y1
				if a.Line.X1 != cx && a.Line.X1 != sx || a.Head[0].X != cx && a.Head[0].X != sx || a.Line.X1 == a.Head[0].X {
					t.Errorf("arrow %s from %v to %v; want between lifelines %v and %v", a.ID, a.Line.X1, a.Head[0].X, cx, sx)
				}
			}
			in := func(what string, x, y float64) {
				if x < 0 || x > d.Width || y < 0 || y > d.Height {
					t.Errorf("%s at (%v, %v) outside the %vx%v canvas", what, x, y, d.Width, d.Height)
				}
			}
			for _, n := range d.Notes {
				in("note "+n.Text.S, n.Text.X, n.Text.Y)
				w := float64(utf8.RuneCountInString(n.Text.S)) * layout.FontNote * 0.62
				switch n.Text.Anchor {
				case layout.End:
					in("note start "+n.Text.S, n.Text.X-w, n.Text.Y)
				case layout.Start:
					in("note end "+n.Text.S, n.Text.X+w, n.Text.Y)
				}
			}
			for _, c := range d.Footer.Cells {
				in("cell "+c.Key.S, c.Key.X, c.Value.Y)
			}
			for _, l := range d.Legend {
				in("legend "+l.Label.S, l.Label.X, l.Label.Y)
			}
		})
	}
}

// TestFlight checks that the arrow events of one packet become one arrow
// with stacked labels, in order, without the record that carries them,
// and that a long stack ends in "+N more".
func TestFlight(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	conn := &timeline.Conn{ID: 1, FirstTS: t0, FirstFrame: 1}
	ev := func(frame int64, layer decode.Layer, typ decode.Type, stream int64) timeline.Event {
		e := decode.NewEvent(frame, t0.Add(time.Duration(frame)*time.Millisecond), decode.C2S, layer, typ)
		e.Stream = stream
		return timeline.Event{Event: e, Conn: conn}
	}
	events := []timeline.Event{
		ev(1, decode.LayerTLS, "ApplicationData", decode.NoValue),
		ev(1, decode.LayerHTTP2, "PREFACE", decode.NoValue),
		ev(1, decode.LayerHTTP2, "SETTINGS", 0),
		ev(1, decode.LayerHTTP2, "WINDOW_UPDATE", 0),
	}
	for i := range 10 {
		events = append(events, ev(2, decode.LayerHTTP2, "HEADERS", int64(1+2*i)))
	}
	d := layout.Sequence(conn, events, layout.Options{})
	if len(d.Arrows) != 2 {
		t.Fatalf("%d arrows; want 2", len(d.Arrows))
	}
	var got [2][]string
	for i, a := range d.Arrows {
		for _, l := range a.Labels {
			got[i] = append(got[i], l.S)
		}
		for k := 1; k < len(a.Labels); k++ {
			if a.Labels[k].Y <= a.Labels[k-1].Y {
				t.Errorf("arrow %d: label %d at y %v above label %d at %v", i, k, a.Labels[k].Y, k-1, a.Labels[k-1].Y)
			}
		}
		if last := a.Labels[len(a.Labels)-1]; last.Y >= a.Line.Y1 {
			t.Errorf("arrow %d: last label at y %v; want above the line at %v", i, last.Y, a.Line.Y1)
		}
		if a.Hit.Y > a.Labels[0].Y-layout.FontLabel {
			t.Errorf("arrow %d: hit area from y %v misses the top label at %v", i, a.Hit.Y, a.Labels[0].Y)
		}
	}
	want0 := []string{"http2 PREFACE", "http2 SETTINGS stream=0", "http2 WINDOW_UPDATE stream=0"}
	if strings.Join(got[0], "|") != strings.Join(want0, "|") {
		t.Errorf("first arrow labels %q; want %q", got[0], want0)
	}
	if len(got[1]) != 6 || got[1][5] != "+5 more" || got[1][0] != "http2 HEADERS stream=1" {
		t.Errorf("second arrow labels %q; want 5 HEADERS and +5 more", got[1])
	}
	if !strings.Contains(d.Arrows[1].Tip, "stream: 19") || !strings.Contains(d.Arrows[0].Tip, "ApplicationData") {
		t.Errorf("tooltips do not list every event: %q / %q", d.Arrows[0].Tip, d.Arrows[1].Tip)
	}
	if d.Arrows[1].Line.Y1-d.Arrows[0].Line.Y1 < 5*14 {
		t.Errorf("rows %v apart; want room for 6 label lines", d.Arrows[1].Line.Y1-d.Arrows[0].Line.Y1)
	}
}

// TestStreamColours checks that HTTP/2 frames take their stream's colour
// class by order of first appearance, cycling, that stream 0 keeps the
// layer's, and that the legend lists the streams of each colour.
func TestStreamColours(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	conn := &timeline.Conn{ID: 1, FirstTS: t0, FirstFrame: 1}
	var events []timeline.Event
	for i, st := range []int64{0, 3, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19} {
		// 5 ms apart: separate flights.
		e := decode.NewEvent(int64(i+1), t0.Add(time.Duration(i)*5*time.Millisecond), decode.S2C, decode.LayerHTTP2, "HEADERS")
		e.Stream = st
		events = append(events, timeline.Event{Event: e, Conn: conn})
	}
	d := layout.Sequence(conn, events, layout.Options{})
	want := []string{"http2", "stream-0", "stream-1", "stream-0", "stream-2", "stream-3", "stream-4", "stream-5", "stream-6", "stream-7", "stream-0", "stream-1"}
	for i, a := range d.Arrows {
		if a.Class != want[i] {
			t.Errorf("arrow %d (%s): class %q; want %q", i, a.Labels[0].S, a.Class, want[i])
		}
	}
	legend := map[string]string{}
	for _, l := range d.Legend {
		legend[l.Class] = l.Label.S
	}
	if legend["stream-0"] != "streams 3, 17" || legend["stream-2"] != "stream 5" || legend["http2"] != "http2" {
		t.Errorf("legend %q; want stream-0 as streams 3, 17, stream-2 as stream 5 and http2", legend)
	}
}

// TestBulkFold checks that a long run of bulk transfer becomes one thick
// arrow per direction on a band, labelled with counts, bytes and times,
// and that a short run stays as it is.
func TestBulkFold(t *testing.T) {
	c := layouttest.Bulk(100)
	d := layout.Sequence(c.Conn, c.Events, layout.Options{})
	var bulk []layout.Arrow
	for _, a := range d.Arrows {
		if a.Bulk {
			bulk = append(bulk, a)
		}
	}
	if len(bulk) != 2 || len(d.Arrows) != 5 {
		t.Fatalf("%d arrows, %d bulk; want 5 arrows (handshake, 2 folded)", len(d.Arrows), len(bulk))
	}
	if got := bulk[0].Labels[0].S; got != "tcp segment ×50 · 50.0 kB · 0.071–98.071 ms" {
		t.Errorf("bulk label %q", got)
	}
	if !strings.Contains(bulk[1].Tip, "50 packets folded · server → client") {
		t.Errorf("bulk tip %q", bulk[1].Tip)
	}
	bands := 0
	for _, b := range d.Bands {
		if b.Class == layout.ClassBulk {
			bands++
			if b.Box.Y > bulk[0].Labels[0].Y-layout.FontLabel || b.Box.Y+b.Box.H < bulk[1].Line.Y1 {
				t.Errorf("bulk band %+v does not cover the arrows", b.Box)
			}
		}
	}
	if bands != 1 {
		t.Errorf("%d bulk bands; want 1", bands)
	}
	c = layouttest.Bulk(5)
	d = layout.Sequence(c.Conn, c.Events, layout.Options{})
	if len(d.Arrows) != 8 {
		t.Errorf("a run of 5: %d arrows; want 8 (none folded)", len(d.Arrows))
	}
}

// TestStallNotes checks that a head-of-line stall's note names the lost
// bytes, and that a flow-control stall gets its own band and note.
func TestStallNotes(t *testing.T) {
	notes := func(d *layout.Diagram, class string) []string {
		var out []string
		for _, n := range d.Notes {
			if n.Class == class {
				out = append(out, n.Text.S)
			}
		}
		return out
	}
	bands := func(d *layout.Diagram, class string) int {
		n := 0
		for _, b := range d.Bands {
			if b.Class == class {
				n++
			}
		}
		return n
	}
	c := layouttest.Loss()
	d := layout.Sequence(c.Conn, c.Events, layout.Options{})
	if got := notes(d, layout.ClassStall); len(got) != 2 || got[1] != "lost seq=1429 len=1428" || bands(d, layout.ClassStall) != 1 {
		t.Errorf("HOL stall notes %q, %d bands; want the stall and its lost segment, one band", got, bands(d, layout.ClassStall))
	}
	c = layouttest.FlowControlStall()
	d = layout.Sequence(c.Conn, c.Events, layout.Options{})
	if got := notes(d, layout.ClassFlowStall); len(got) != 1 || got[0] != "flow-control stall 12.5 ms, stream 3" || bands(d, layout.ClassFlowStall) != 1 {
		t.Errorf("flow-control stall notes %q, %d bands; want one note and one band", got, bands(d, layout.ClassFlowStall))
	}
	if len(d.Markers) != 0 {
		t.Errorf("%d markers; a flow-control stall is a band, not a marker", len(d.Markers))
	}

	t0 := c.Conn.FirstTS
	e := decode.NewEvent(9, t0.Add(20*time.Millisecond), decode.S2C, decode.LayerAnalysis, "hol-stall")
	e.Info = decode.Info{decode.String("scope", "connection"), decode.Millis("duration_ms", 5*time.Millisecond),
		decode.Uint("gap_seq", 1), decode.Uint("gap_len", 1448),
		decode.Strings("streams", []string{"1", "3"}), decode.Strings("culprit_streams", []string{"5"})}
	d = layout.Sequence(c.Conn, []timeline.Event{{Event: e, Conn: c.Conn}}, layout.Options{})
	if got := notes(d, layout.ClassStall); strings.Join(got, "|") != "HOL stall 5 ms|lost seq=1 len=1448|victims: streams 1, 3|culprits: stream 5" {
		t.Errorf("HOL stall notes %q; want the lost bytes, victims and culprits", got)
	}
}

// TestSlope checks that Options.Slope tilts arrows by the one-way times
// the TCP handshake gives (halves of its legs), downward from sender to
// receiver, and leaves connections without a handshake horizontal.
func TestSlope(t *testing.T) {
	c := layouttest.Loss() // legs 48.2 ms and 0.15 ms: captured at the client
	flat := layout.Sequence(c.Conn, c.Events, layout.Options{})
	d := layout.Sequence(c.Conn, c.Events, layout.Options{Slope: true})
	syn, synack := d.Arrows[0], d.Arrows[1]
	if syn.Line.Y1 != flat.Arrows[0].Line.Y1 || syn.Head[0].Y <= syn.Line.Y1+20 {
		t.Errorf("SYN from y %v to %v; want it to leave at its row (%v) and land well below", syn.Line.Y1, syn.Head[0].Y, flat.Arrows[0].Line.Y1)
	}
	if synack.Line.Y1 >= flat.Arrows[1].Line.Y1 || synack.Head[0].Y < flat.Arrows[1].Line.Y1 || synack.Head[0].Y > flat.Arrows[2].Line.Y1 {
		t.Errorf("SYN-ACK from y %v to %v; want it to start above its row %v and reach the client before the next row %v",
			synack.Line.Y1, synack.Head[0].Y, flat.Arrows[1].Line.Y1, flat.Arrows[2].Line.Y1)
	}
	for _, a := range d.Arrows {
		if a.Hit.Y > math.Min(a.Line.Y1, a.Head[0].Y) || a.Hit.Y+a.Hit.H < math.Max(a.Line.Y1, a.Head[0].Y) {
			t.Errorf("arrow %s: hit area %+v misses its line", a.ID, a.Hit)
		}
	}
	c = layouttest.Midstream()
	d = layout.Sequence(c.Conn, c.Events, layout.Options{Slope: true})
	for _, a := range d.Arrows {
		if a.Line.Y1 != a.Head[0].Y {
			t.Errorf("midstream arrow %s sloped (%v → %v); want horizontal without a handshake", a.ID, a.Line.Y1, a.Head[0].Y)
		}
	}
}

// TestBulkCarriers checks that a folded run names the HTTP/2 DATA it
// carried, not the TLS records around it, which its tooltip counts.
func TestBulkCarriers(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	conn := &timeline.Conn{ID: 1, FirstTS: t0, FirstFrame: 1}
	var events []timeline.Event
	for i := range 10 {
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		rec := decode.NewEvent(int64(i+1), ts, decode.S2C, decode.LayerTLS, "ApplicationData")
		rec.Len = 1000
		data := decode.NewEvent(int64(i+1), ts, decode.S2C, decode.LayerHTTP2, "DATA")
		data.Stream, data.Len = 1+2*int64(i%2), 900
		events = append(events, timeline.Event{Event: rec, Conn: conn}, timeline.Event{Event: data, Conn: conn})
	}
	d := layout.Sequence(conn, events, layout.Options{})
	if len(d.Arrows) != 1 || !d.Arrows[0].Bulk {
		t.Fatalf("%d arrows; want one folded run", len(d.Arrows))
	}
	a := d.Arrows[0]
	if got := a.Labels[0].S; got != "http2 DATA ×10 on streams 1, 3 · 9.0 kB · 0–9 ms" {
		t.Errorf("label %q", got)
	}
	if !strings.Contains(a.Tip, "carried in tls ApplicationData: 10, 10,000 B") {
		t.Errorf("tooltip %q does not count the records", a.Tip)
	}
	if a.Class != "http2" {
		t.Errorf("class %q; want the layer's for a run of several streams", a.Class)
	}
}

// TestFlights checks that packets of one direction less than a
// millisecond apart make one arrow, with the frames named on the axis,
// and that a phase's end keeps its packet apart from the next.
func TestFlights(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	conn := &timeline.Conn{ID: 1, FirstTS: t0, FirstFrame: 1}
	ev := func(frame int64, us int, typ decode.Type) timeline.Event {
		e := decode.NewEvent(frame, t0.Add(time.Duration(us)*time.Microsecond), decode.S2C, decode.LayerTLS, typ)
		return timeline.Event{Event: e, Conn: conn}
	}
	events := []timeline.Event{
		ev(1, 0, "ServerHello"), ev(1, 0, "EncryptedExtensions"),
		ev(2, 300, "Certificate"), ev(2, 300, "Finished"),
		ev(3, 5000, "NewSessionTicket"),
	}
	d := layout.Sequence(conn, events, layout.Options{})
	if len(d.Arrows) != 2 || len(d.Arrows[0].Labels) != 4 {
		t.Fatalf("%d arrows; want the flight of frames 1–2 as one with 4 labels and frame 3 apart", len(d.Arrows))
	}
	if d.Axis.Frames[0].S != "#1–2" || !strings.Contains(d.Arrows[0].Tip, "4 events in 2 packets") {
		t.Errorf("flight frame label %q, tip %q", d.Axis.Frames[0].S, d.Arrows[0].Tip)
	}
	// A phase ending at frame 1 keeps frame 2 apart.
	ph := decode.NewEvent(1, t0, decode.DirNone, decode.LayerAnalysis, timeline.TypePhase)
	ph.Info = decode.Info{decode.String("phase", "tls"), decode.Millis("duration_ms", 0)}
	events = append(events, timeline.Event{Event: ph, Conn: conn})
	d = layout.Sequence(conn, events, layout.Options{})
	if len(d.Arrows) != 3 {
		t.Errorf("%d arrows with a phase ending at frame 1; want 3", len(d.Arrows))
	}
}
