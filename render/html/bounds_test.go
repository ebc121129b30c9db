package html_test

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/html"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/timeline"
)

// bulk returns a connection numbered id with n data segments and a
// summary.
func bulk(id, n int) layouttest.Case {
	c := &timeline.Conn{
		ID: id, Transport: timeline.TCP, FirstTS: layouttest.Epoch, FirstFrame: 1,
		Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("192.0.2.2:80"),
	}
	evs := make([]timeline.Event, 0, n+1)
	for i := range n {
		dir := decode.C2S
		if i%2 == 1 {
			dir = decode.S2C
		}
		e := decode.NewEvent(int64(i+1), layouttest.Epoch.Add(time.Duration(i)*time.Millisecond), dir, decode.LayerTCP, decode.TypeSegment)
		e.Len = 1000
		e.Info = decode.Info{decode.Uint("seq", uint64(i/2*1000+1)), decode.String("flags", "ACK")}
		evs = append(evs, timeline.Event{Event: e, Conn: c})
	}
	s := decode.NewEvent(int64(n), layouttest.Epoch.Add(time.Duration(n)*time.Millisecond), decode.DirNone, decode.LayerConn, decode.TypeSummary)
	s.Info = decode.Info{decode.String("handshake", "TCP"), decode.Millis("duration_ms", time.Duration(n)*time.Millisecond)}
	evs = append(evs, timeline.Event{Event: s, Conn: c})
	return layouttest.Case{Name: "bulk", Conn: c, Events: evs}
}

// TestBigConnection checks that a connection of 100,000 events gives a
// bounded section: the event table lists MaxTableEvents of them and
// counts the rest, the diagram draws Layout.MaxEvents with a band.
func TestBigConnection(t *testing.T) {
	const n = 100_000
	out := renderCases(t, html.Options{}, bulk(1, n))
	doc := checkDocument(t, out)
	tmpl := doc.templates["1"]
	if tmpl == nil {
		t.Fatal("no section")
	}
	// The section's rows: a header row and one per event listed.
	if rows := countTag(tmpl, "tr") - 1; rows != html.DefaultMaxTableEvents {
		t.Errorf("event table lists %d events; want %d", rows, html.DefaultMaxTableEvents)
	}
	if want := "… 99,501 more events not listed"; !strings.Contains(doc.text, want) {
		t.Errorf("report lacks %q", want)
	}
	if !strings.Contains(doc.text, "events omitted") {
		t.Error("diagram has no omitted band")
	}
	if len(out) > 4<<20 {
		t.Errorf("report of one 100,000-event connection is %d bytes; want it bounded", len(out))
	}
	t.Logf("100,000 events: %d bytes", len(out))
}

// TestMaxConns checks that connections numbered above MaxConns are left
// out and counted.
func TestMaxConns(t *testing.T) {
	var cases []layouttest.Case
	for id := 1; id <= 5; id++ {
		cases = append(cases, bulk(id, 4))
	}
	out := renderCases(t, html.Options{MaxConns: 3}, cases...)
	doc := checkDocument(t, out)
	if got := strings.Join(doc.rows, ","); got != "1,2,3" {
		t.Errorf("rows %s; want 1,2,3", got)
	}
	if want := "3 connections (2 more connections left out: the report holds the first 3)"; !strings.Contains(doc.text, want) {
		t.Errorf("report lacks %q", want)
	}
}

// TestOrder checks that sections go out as connections end, that the
// table is in connection order whatever the end order, and that a
// connection without a summary still gets its section at Close.
func TestOrder(t *testing.T) {
	a, b, c := bulk(1, 4), bulk(2, 4), bulk(3, 4)
	var buf bytes.Buffer
	w := html.New(&buf, html.Options{})
	feed := func(evs []timeline.Event) {
		for i := range evs {
			if err := w.Event(&evs[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	feed(c.Events[:1])
	feed(b.Events)
	feed(a.Events)
	feed(c.Events[1:4]) // no summary
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mid := buf.String()
	if i, j := strings.Index(mid, `id="wt-c-2"`), strings.Index(mid, `id="wt-c-1"`); i < 0 || j < i {
		t.Errorf("sections 2 then 1 not written as they ended (at %d, %d)", i, j)
	}
	if strings.Contains(mid, `id="wt-c-3"`) {
		t.Error("section 3 written before its connection ended")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	doc := checkDocument(t, buf.Bytes())
	if got := strings.Join(doc.rows, ","); got != "1,2,3" {
		t.Errorf("rows %s; want 1,2,3", got)
	}
	if got := doc.cells["3"]["close"]; got != "no summary" {
		t.Errorf("connection 3 close %q; want no summary", got)
	}
}

// countTag counts the elements named tag under n.
func countTag(n *xhtml.Node, tag string) int {
	k := 0
	if n.Type == xhtml.ElementNode && n.Data == tag {
		k++
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		k += countTag(c, tag)
	}
	return k
}

// BenchmarkWriter writes reports of 200 connections of 40 events each.
// B/conn is the report's size per connection; conns/s the rate.
func BenchmarkWriter(b *testing.B) {
	const conns = 200
	var cases []layouttest.Case
	for id := 1; id <= conns; id++ {
		cases = append(cases, bulk(id, 40))
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		var n counter
		if err := writeCases(&n, html.Options{}, cases); err != nil {
			b.Fatal(err)
		}
		size = int(n)
	}
	b.ReportMetric(float64(size)/conns, "B/conn")
	b.ReportMetric(float64(conns*b.N)/b.Elapsed().Seconds(), "conns/s")
}

// counter is an io.Writer that counts bytes.
type counter int64

func (c *counter) Write(b []byte) (int, error) {
	*c += counter(len(b))
	return len(b), nil
}

// TestProxyLinks checks the proxy column: a front connection names its
// back connections and each back its front, as links.
func TestProxyLinks(t *testing.T) {
	front, back1, back2, other := bulk(1, 4), bulk(2, 4), bulk(3, 4), bulk(4, 4)
	for _, b := range []int64{2, 3, 2} {
		e := decode.NewEvent(3, layouttest.Epoch, decode.DirNone, decode.LayerAnalysis, "proxy-link")
		e.Info = decode.Info{decode.Int("front", 1), decode.Int("back", b), decode.String("mode", "l7")}
		n := len(front.Events)
		front.Events = append(front.Events[:n-1:n-1], timeline.Event{Event: e, Conn: front.Conn}, front.Events[n-1])
	}
	doc := checkDocument(t, renderCases(t, html.Options{}, back1, front, back2, other))
	for id, want := range map[string]string{"1": "→ 2 3", "2": "← 1", "3": "← 1", "4": "–"} {
		if got := doc.cells[id]["proxy"]; got != want {
			t.Errorf("connection %s proxy %q; want %q", id, got, want)
		}
	}
}
