package ladder_test

import (
	"bytes"
	"io"
	"net/netip"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/ladder"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/timeline"
)

// feed draws events with opts and returns the output.
func feed(t testing.TB, opts ladder.Options, evs ...[]timeline.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	w := ladder.New(&b, opts)
	for _, list := range evs {
		for i := range list {
			if err := w.Event(&list[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sgr matches the colour sequences the writer emits, and nothing else.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestWidth draws captures at many widths: no line is wider, labels are
// cut with "…" rather than wrapped (the row count does not change), and
// the right lifeline stays in one column.
func TestWidth(t *testing.T) {
	for _, name := range []string{"h2-tls.pcapng", "tcp-loss-receiver.pcapng", "h3-quic.pcapng"} {
		var rows int
		for _, width := range []int{1, 40, 57, 80, 133, 250} {
			out := renderCapture(t, name, ladder.Options{Width: width})
			want := max(width, ladder.MinWidth)
			checkWidth(t, out, want)
			n := 0
			col := -1
			for _, l := range strings.Split(string(out), "\n") {
				if !strings.HasPrefix(strings.TrimLeft(l, " "), "+") {
					continue
				}
				n++
				// The right lifeline, beside a client's arrow head.
				if i := slices.Index([]rune(l), '▶'); i >= 0 {
					if col < 0 {
						col = i
					} else if i != col {
						t.Errorf("%s width %d: arrow head at column %d, first at %d:\n%s", name, width, i, col, l)
					}
				}
			}
			if rows == 0 {
				rows = n
			} else if n != rows {
				t.Errorf("%s width %d: %d rows; %d at another width", name, width, n, rows)
			}
			if width <= 80 && !strings.Contains(string(out), "…") {
				t.Errorf("%s width %d: nothing cut", name, width)
			}
		}
	}
}

// TestHostile draws connections carrying hostile strings (escape
// sequences, control characters, bidi overrides, markup, wide and
// combining characters) in every mode: no control character or bidi
// override reaches the terminal, lines keep the width, and the colours
// written are only the writer's own.
func TestHostile(t *testing.T) {
	cases := []layouttest.Case{layouttest.Hostile(), layouttest.HostileWire(), wide()}
	for _, opts := range []ladder.Options{
		{Width: 80}, {Width: 80, Color: true}, {Width: 50, ASCII: true}, {Width: 72, Stream: true, Color: true},
	} {
		var evs [][]timeline.Event
		for _, c := range cases {
			evs = append(evs, c.Events)
		}
		out := feed(t, opts, evs...)
		out = append(out, renderCapture(t, "hostile.pcapng", opts)...)
		plain := sgr.ReplaceAll(out, nil)
		if !opts.Color && len(plain) != len(out) {
			t.Errorf("%+v: colour without Options.Color", opts)
		}
		if opts.Color && len(plain) == len(out) {
			t.Errorf("%+v: no colour with Options.Color", opts)
		}
		checkWidth(t, plain, opts.Width)
		for _, r := range string(plain) {
			if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f {
				t.Errorf("%+v: bidi control %U in output", opts, r)
			}
		}
		if !utf8.Valid(out) {
			t.Errorf("%+v: invalid UTF-8 in output", opts)
		}
		if opts.ASCII {
			for i, c := range plain {
				if c >= 0x80 {
					t.Fatalf("ASCII output has byte %#x at %d: %q", c, i, plain[max(0, i-40):min(len(plain), i+40)])
				}
			}
		}
		// The strings are shown, escaped: the ESC of a colour change
		// in an SNI becomes the four characters \x1b.
		if !opts.ASCII && !bytes.Contains(plain, []byte(`esc \x1b[31mred`)) {
			t.Errorf("%+v: escaped SNI not shown", opts)
		}
	}
}

// wide is a connection whose server name and path have East Asian wide,
// combining and emoji characters, which take 2 or 0 columns.
func wide() layouttest.Case {
	c := conn(11, "192.0.2.11:40000", "198.51.100.11:443")
	s := strings.Repeat("例え.テスト/e\u0301\u0301🙂", 12)
	return layouttest.Case{Conn: c, Events: []timeline.Event{
		ev(c, 1, 0, decode.C2S, decode.LayerTLS, "ClientHello", decode.String("sni", s)),
		ev(c, 2, 1000, decode.C2S, decode.LayerHTTP1, "request", decode.String("method", "GET"), decode.String("path", "/"+s)),
		ev(c, 3, 2000, decode.S2C, decode.LayerHTTP1, "response", decode.Int("status", 200), decode.String("reason", s)),
		ev(c, 4, 3000, decode.DirNone, decode.LayerConn, decode.TypeSummary, decode.String("sni", s)),
	}}
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func conn(id int, client, server string) *timeline.Conn {
	return &timeline.Conn{ID: id, Transport: timeline.TCP, Client: netip.MustParseAddrPort(client),
		Server: netip.MustParseAddrPort(server), FirstTS: epoch, FirstFrame: 1}
}

func ev(c *timeline.Conn, frame int64, us int, dir decode.Dir, layer decode.Layer, typ decode.Type, info ...decode.Field) timeline.Event {
	e := decode.NewEvent(frame, epoch.Add(time.Duration(us)*time.Microsecond), dir, layer, typ)
	e.Info = info
	return timeline.Event{Event: e, Conn: c}
}

// exchange is a TCP connection with one HTTP/1.1 request, its events
// from frame f on at time us on.
func exchange(c *timeline.Conn, f int64, us int, path string) []timeline.Event {
	return []timeline.Event{
		ev(c, f, us, decode.C2S, decode.LayerTCP, decode.TypeSYN, decode.Uint("seq", 0)),
		ev(c, f+1, us+100, decode.S2C, decode.LayerTCP, decode.TypeSYNACK, decode.Uint("seq", 0), decode.Uint("ack", 1)),
		ev(c, f+2, us+200, decode.C2S, decode.LayerTCP, decode.TypeACK, decode.Uint("seq", 1), decode.Uint("ack", 1)),
		ev(c, f+3, us+300, decode.C2S, decode.LayerHTTP1, "request", decode.String("method", "GET"), decode.String("path", path)),
		ev(c, f+4, us+900, decode.S2C, decode.LayerHTTP1, "response", decode.Int("status", 200), decode.String("reason", "OK")),
	}
}

func summary(c *timeline.Conn, frame int64, us int) timeline.Event {
	return ev(c, frame, us, decode.DirNone, decode.LayerConn, decode.TypeSummary, decode.String("handshake", "TCP"),
		decode.Uint("bytes_c2s", 100), decode.Uint("bytes_s2c", 200))
}

// TestProxy: a back connection that ends while its front is open is held
// and drawn on a third lifeline in the front's block; one from another
// address is its own block, and the front's note names it.
func TestProxy(t *testing.T) {
	front := conn(1, "192.0.2.1:50000", "10.0.0.10:443")
	back := conn(2, "10.0.0.10:40000", "10.0.2.20:8080")
	link := func(f *timeline.Conn, b int, frame int64, us int) timeline.Event {
		return ev(f, frame, us, decode.DirNone, decode.LayerAnalysis, "proxy-link",
			decode.Int("front", int64(f.ID)), decode.Int("back", int64(b)), decode.String("mode", "l7"),
			decode.String("method", "GET"), decode.String("path", "/x"), decode.Int("status", 200))
	}
	var evs []timeline.Event
	f := exchange(front, 1, 0, "/x")
	b := exchange(back, 10, 400, "/x")
	// A pooled back connection served another front before this one.
	evs = append(evs, ev(back, 9, -500, decode.DirNone, decode.LayerHTTP1, "exchange", decode.String("path", "/earlier")))
	evs = append(evs, f[:4]...) // the front's handshake and request
	evs = append(evs, b...)     // the back's whole exchange
	evs = append(evs, summary(back, 20, 1400))
	evs = append(evs, f[4], link(front, 2, 5, 900), summary(front, 21, 2000))
	out := string(feed(t, ladder.Options{Width: 90}, evs))
	layouttest.Golden(t, "testdata/proxy.txt.golden", []byte(out), *update)
	if n := strings.Count(out, "conn 1 via proxy, conn 2"); n != 1 {
		t.Errorf("%d merged blocks; want 1", n)
	}
	if strings.Contains(out, "/earlier") {
		t.Error("a back row from before the front began is drawn")
	}
	if strings.Contains(out, "\nconn 2 ·") {
		t.Error("the back connection has a block of its own too")
	}
	for _, want := range []string{"client 192.0.2.1:50000", "proxy 10.0.0.10", "server 10.0.2.20:8080", "conn 2: summary",
		"conn 2: 1 row outside this connection's time left out"} {
		if !strings.Contains(out, want) {
			t.Errorf("merged block lacks %q", want)
		}
	}
	// Every row has three lifelines.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "+") {
			if n := strings.Count(l, "│") + strings.Count(l, "▶") + strings.Count(l, "◀"); n < 3 {
				t.Errorf("row without three lifelines: %s", l)
			}
		}
	}
	// Its rows are in time order: the back's request between the front's
	// request and response.
	i, j, k := strings.Index(out, "+0.300"), strings.Index(out, "+0.700"), strings.Index(out, "+0.900")
	if i < 0 || j < i || k < j {
		t.Errorf("rows out of time order (%d %d %d)", i, j, k)
	}

	// A back from another address cannot be told: two blocks.
	back2 := conn(2, "10.0.1.10:40000", "10.0.2.20:8080")
	b = exchange(back2, 10, 400, "/x")
	evs = append(append(append([]timeline.Event{}, f[:4]...), b...), summary(back2, 20, 1400), f[4], link(front, 2, 5, 900), summary(front, 21, 2000))
	out = string(feed(t, ladder.Options{Width: 90}, evs))
	if strings.Contains(out, "via proxy") || !strings.Contains(out, "proxy link → conn 2 (l7 GET /x 200)") {
		t.Errorf("unlinked back drawn wrong:\n%s", out)
	}
}

// TestStream: rows are written as events arrive, tagged with their
// connection, while other connections interleave; Flush ends a bulk run.
func TestStream(t *testing.T) {
	c1 := conn(1, "192.0.2.1:50000", "198.51.100.1:80")
	c2 := conn(2, "192.0.2.2:50000", "198.51.100.1:80")
	var b bytes.Buffer
	w := ladder.New(&b, ladder.Options{Width: 80, Stream: true})
	e1, e2 := exchange(c1, 1, 0, "/one"), exchange(c2, 10, 50, "/two")
	for i := range e1 {
		for _, e := range []*timeline.Event{&e1[i], &e2[i]} {
			before := b.Len()
			if err := w.Event(e); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.Len() == before {
				t.Fatalf("event %d of conn %d: nothing written at once", i, e.Conn.ID)
			}
		}
	}
	// Bulk: held as a run until Flush.
	for i := range 5 {
		d := ev(c1, int64(100+i), 2000+i, decode.S2C, decode.LayerHTTP2, "DATA")
		d.Len = 1000
		if err := w.Event(&d); err != nil {
			t.Fatal(err)
		}
	}
	before := b.Len()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String()[before:], "http2 DATA ×5, 5,000 B") {
		t.Errorf("Flush did not write the run folded:\n%s", b.String()[before:])
	}
	s1, s2 := summary(c1, 200, 3000), summary(c2, 201, 3000)
	w.Event(&s1)
	w.Event(&s2)
	w.Close()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	var tags []string
	for _, l := range lines {
		tag, _, _ := strings.Cut(l, " ")
		if tag != "#1" && tag != "#2" {
			t.Errorf("line without its connection's tag: %q", l)
		}
		if len(tags) == 0 || tags[len(tags)-1] != tag {
			tags = append(tags, tag)
		}
	}
	if len(tags) < 6 {
		t.Errorf("connections did not interleave: %v", tags)
	}
}

// TestBounded: a connection with many events that do not fold keeps at
// most MaxRows rows, with a note counting the rest.
func TestBounded(t *testing.T) {
	c := conn(1, "192.0.2.1:50000", "198.51.100.1:80")
	var evs []timeline.Event
	for i := range 20000 {
		evs = append(evs, ev(c, int64(i+1), i*10, decode.DirNone, decode.LayerHTTP1, "exchange",
			decode.String("method", "GET"), decode.String("path", "/"), decode.Int("status", 200)))
	}
	evs = append(evs, summary(c, 20001, 300000))
	out := string(feed(t, ladder.Options{Width: 80, MaxRows: 100}, evs))
	rows := strings.Count(out, "\n")
	if rows > 110 {
		t.Errorf("%d lines for MaxRows 100", rows)
	}
	if !strings.Contains(out, "… 19,900 rows left out …") {
		t.Errorf("no omission note:\n%s", out)
	}
}

// TestEventsUnchanged: drawing does not change the events it is given.
func TestEventsUnchanged(t *testing.T) {
	for _, c := range append(layouttest.Cases(), layouttest.Hostile(), layouttest.HostileWire(), layouttest.Bulk(300)) {
		before := deepCopy(c.Events)
		for _, opts := range []ladder.Options{{}, {Stream: true}} {
			feed(t, opts, c.Events)
			if !reflect.DeepEqual(before, c.Events) {
				t.Fatalf("%s: events changed by drawing", c.Name)
			}
		}
	}
}

// deepCopy copies events with their Info and Conn.
func deepCopy(evs []timeline.Event) []timeline.Event {
	out := make([]timeline.Event, len(evs))
	for i, e := range evs {
		out[i] = e
		out[i].Info = append(decode.Info(nil), e.Info...)
		for j := range out[i].Info {
			out[i].Info[j].Strs = append([]string(nil), e.Info[j].Strs...)
		}
		if e.Conn != nil {
			c := *e.Conn
			out[i].Conn = &c
		}
	}
	return out
}

// TestMemory: 300,000 open connections of one SYN each (a SYN flood) take
// a few hundred bytes each, their timeline.Conn included.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n = 300_000
	h0 := heap()
	w := ladder.New(io.Discard, ladder.Options{})
	for i := range n {
		c := &timeline.Conn{ID: i + 1, Transport: timeline.TCP,
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000),
			Server: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 200, 0, byte(i % 40)}), 443), FirstTS: epoch}
		e := ev(c, int64(i+1), i, decode.C2S, decode.LayerTCP, decode.TypeSYN, decode.Uint("seq", 0), decode.String("flags", "SYN"))
		if err := w.Event(&e); err != nil {
			t.Fatal(err)
		}
	}
	per := (int64(heap()) - int64(h0)) / n
	t.Logf("%d bytes per open connection", per)
	if per > 500 {
		t.Errorf("%d bytes per open connection; want at most 500", per)
	}
	runtime.KeepAlive(w)
}
