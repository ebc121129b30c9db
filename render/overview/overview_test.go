package overview_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/overview"
	"github.com/wiretrace/wiretrace/timeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// captures are the project's captures drawn as one overview (a fixed
// list, so that a capture added later does not change the golden).
var captures = []string{
	"h2-tls.pcapng", "h2c-prior-knowledge.pcapng", "h2c-upgrade.pcapng", "h3-0rtt.pcapng", "h3-migration.pcapng",
	"h3-quic.pcapng", "hostile.pcapng", "http1-keepalive.pcapng", "http1-pipelined.pcapng", "tcp-basic-ipv6.pcapng",
	"tcp-basic.pcapng", "tcp-half-close.pcapng", "tcp-keepalive.pcapng", "tcp-loss-receiver.pcapng",
	"tcp-loss-sender.pcapng", "tcp-pipelined.pcapng", "tcp-refused.pcapng", "tcp-reset.pcapng",
	"tcp-zero-window.pcapng", "tls12-full.pcapng", "tls12-resumed.pcapng", "tls13-chacha-dsb.pcapng",
	"tls13-full.pcapng", "tls13-hrr.pcapng", "tls13-resumed.pcapng", "udp-basic.pcapng", "ws-basic.pcapng",
	"ws-deflate.pcapng",
}

// render feeds events to a new Writer and returns its DOT and SVG.
func render(t testing.TB, opts overview.Options, feed func(w *overview.Writer)) (dot, svg []byte) {
	t.Helper()
	var b bytes.Buffer
	w := overview.New(&b, opts)
	feed(w)
	dot = w.DOT()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dot, b.Bytes()
}

// TestGolden draws every project capture in one overview, and a proxy
// scene with several clients and servers; DOT and SVG are goldens.
func TestGolden(t *testing.T) {
	cases := map[string]func(w *overview.Writer){
		"captures": func(w *overview.Writer) {
			for _, name := range captures {
				layouttest.RunCapture(t, name, w)
			}
		},
		"proxy": func(w *overview.Writer) { feed(t, w, proxyScene()) },
	}
	var files []string
	for _, name := range []string{"captures", "proxy"} {
		for _, ext := range []string{".dot", ".svg"} {
			files = append(files, "testdata/"+name+ext+".golden")
		}
		t.Run(name, func(t *testing.T) {
			dot, svg := render(t, overview.Options{Title: name}, cases[name])
			dot2, svg2 := render(t, overview.Options{Title: name}, cases[name])
			if !bytes.Equal(dot, dot2) || !bytes.Equal(svg, svg2) {
				t.Fatal("two renderings of the same input differ")
			}
			texts := parseSVG(t, svg)
			if !strings.Contains(strings.Join(texts, "\n"), "overview: "+name) {
				t.Errorf("caption missing from the SVG's text: %q", texts)
			}
			rsvg(t, svg, name)
			layouttest.Golden(t, "testdata/"+name+".dot.golden", dot, *update)
			layouttest.Golden(t, "testdata/"+name+".svg.golden", svg, *update)
		})
	}
	layouttest.CheckGlob(t, "testdata/*.golden", files)
}

// TestProxy checks the scene's graph: the proxy found both ways (by its
// roles and by proxy-link events, through a back address of its own),
// edges aggregated per client, server, port and protocol.
func TestProxy(t *testing.T) {
	dot, _ := render(t, overview.Options{}, func(w *overview.Writer) { feed(t, w, proxyScene()) })
	s := string(dot)
	for _, want := range []string{
		`label="proxy\n10.0.0.10\nport 443\nshop.example"`,               // front address: server and linked
		`label="proxy\n10.0.1.10"`,                                       // back address: linked only
		`label="10.0.2.20\nports 5432, 8080"`,                            // a server
		`label=":443 tcp/tls/http2\n3 conns · 3.0 kB → 60.0 kB ←"`,       // client 1's three connections
		`label=":8080 tcp/http1\n2 conns · 2.0 kB → 40.0 kB ←\n1 reset"`, // the back pool
		`label="proxy link (l7)\n2 links", style=dashed`,
		`label=":5432 tcp\n1 conn · 0 B → 0 B ←\n1 reset\n1 without handshake"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("DOT lacks %s:\n%s", want, s)
		}
	}
	if n := strings.Count(s, `class="proxy"`); n != 2 {
		t.Errorf("%d proxy nodes; want 2:\n%s", n, s)
	}

	// By roles alone: 10.0.5.5 serves one host and calls another; two
	// hosts that call each other are not proxies.
	dot, _ = render(t, overview.Options{}, func(w *overview.Writer) {
		feed(t, w, []timeline.Event{
			summary(conn(1, "192.0.2.9:40000", "10.0.5.5:80", timeline.TCP), 1, 1),
			summary(conn(2, "10.0.5.5:40000", "10.0.6.6:80", timeline.TCP), 1, 1),
			summary(conn(3, "192.0.2.7:40000", "192.0.2.8:80", timeline.TCP), 1, 1),
			summary(conn(4, "192.0.2.8:40000", "192.0.2.7:80", timeline.TCP), 1, 1),
		})
	})
	s = string(dot)
	if n := strings.Count(s, `class="proxy"`); n != 1 || !strings.Contains(s, `label="proxy\n10.0.5.5\nport 80"`) {
		t.Errorf("want 10.0.5.5 alone as a proxy:\n%s", s)
	}
}

// TestHostile puts hostile strings in server names, protocols and the
// title: the SVG stays well-formed, the strings come out as text.
func TestHostile(t *testing.T) {
	strs := append(append([]string{}, layouttest.HostileStrings...), layouttest.WireStrings...)
	var evs []timeline.Event
	for i, s := range strs {
		c := conn(i+1, "192.0.2."+strconv.Itoa(i+1)+":40000", "198.51.100.1:443", timeline.TCP)
		evs = append(evs, summary(c, 100, 200,
			decode.String("handshake", "TCP+TLS1.3"), decode.Millis("rtt_ms", time.Millisecond),
			decode.String("sni", s), decode.String("protocol", s)))
	}
	_, svg := render(t, overview.Options{Title: `<script>alert(1)</script> "x" & \N`}, func(w *overview.Writer) { feed(t, w, evs) })
	texts := strings.Join(parseSVG(t, svg), "\n")
	for _, bad := range []string{"<script", "onload", "\x1b", "\x00", "\u202e"} {
		if bytes.Contains(elementsOnly(svg), []byte(bad)) {
			t.Errorf("%q outside text in the SVG", bad)
		}
	}
	for _, want := range []string{`<script>alert("x")</script>`, `"'><svg onload=alert(1)>`, `\x1b[31m`,
		`<script>alert(1)</script> "x" & \N`, `%%{init: {"securityLevel":"loose"}}%%`} {
		if !strings.Contains(texts, want) {
			t.Errorf("text %q not shown as itself; texts:\n%s", want, texts)
		}
	}
	// The project's hostile capture: its SNI shows as text.
	_, svg2 := render(t, overview.Options{}, func(w *overview.Writer) { layouttest.RunCapture(t, "hostile.pcapng", w) })
	if !strings.Contains(strings.Join(parseSVG(t, svg2), "\n"), "<script>alert(4)</script>.test") {
		t.Error("the hostile capture's SNI is not shown as text")
	}
	if bytes.Contains(elementsOnly(svg2), []byte("<script")) {
		t.Error("<script outside text in the hostile capture's SVG")
	}
	if len(svg) > 1<<20 {
		t.Errorf("SVG is %d bytes for %d connections", len(svg), len(strs))
	}
	rsvg(t, svg, "hostile")
}

// TestBounds: edges beyond MaxEdges are only counted, beyond MaxDrawn
// not drawn, and both are said in the caption.
func TestBounds(t *testing.T) {
	var evs []timeline.Event
	for i := range 500 {
		c := conn(i+1, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 40000).String(), "10.9.9.9:80", timeline.TCP)
		evs = append(evs, summary(c, 10, 10, decode.Millis("rtt_ms", time.Millisecond)))
	}
	dot, svg := render(t, overview.Options{MaxEdges: 100, MaxDrawn: 20}, func(w *overview.Writer) { feed(t, w, evs) })
	s := string(dot)
	if n := strings.Count(s, " -> "); n != 20 {
		t.Errorf("%d edges drawn; want 20", n)
	}
	for _, want := range []string{"500 connections between 101 hosts", "80 more edges (80 connections) not drawn",
		"400 connections (8,000 B) past the edge limit, counted only"} {
		if !strings.Contains(s, want) {
			t.Errorf("caption lacks %q:\n%s", want, s)
		}
	}
	parseSVG(t, svg)
}

// feed sends events to w.
func feed(t testing.TB, w timeline.Sink, evs []timeline.Event) {
	t.Helper()
	for i := range evs {
		if err := w.Event(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func conn(id int, client, server string, tr timeline.Transport) *timeline.Conn {
	return &timeline.Conn{ID: id, Transport: tr, Client: netip.MustParseAddrPort(client),
		Server: netip.MustParseAddrPort(server), FirstTS: epoch, FirstFrame: 1}
}

func summary(c *timeline.Conn, c2s, s2c uint64, info ...decode.Field) timeline.Event {
	e := decode.NewEvent(int64(c.ID)*10, epoch.Add(time.Duration(c.ID)*time.Second), decode.DirNone, decode.LayerConn, decode.TypeSummary)
	e.Info = append(info, decode.Uint("bytes_c2s", c2s), decode.Uint("bytes_s2c", s2c))
	return timeline.Event{Event: e, Conn: c}
}

func proxyLink(front *timeline.Conn, back int, mode string) timeline.Event {
	e := decode.NewEvent(int64(front.ID)*10, epoch, decode.DirNone, decode.LayerAnalysis, "proxy-link")
	e.Info = decode.Info{decode.Int("front", int64(front.ID)), decode.Int("back", int64(back)), decode.String("mode", mode)}
	return timeline.Event{Event: e, Conn: front}
}

// proxyScene: two clients reach a proxy (10.0.0.10:443, TLS, HTTP/2)
// whose back address 10.0.1.10 opens connections to an HTTP/1.1 server;
// one back connection ends before its link, one after. A third client
// talks to the server directly, and one to a closed port.
func proxyScene() []timeline.Event {
	tlsInfo := []decode.Field{decode.String("handshake", "TCP+TLS1.3"), decode.Millis("rtt_ms", time.Millisecond),
		decode.String("sni", "shop.example"), decode.String("protocol", "tls/http2")}
	plain := []decode.Field{decode.String("handshake", "TCP"), decode.Millis("rtt_ms", time.Millisecond), decode.String("protocol", "http1")}
	f1 := conn(1, "192.0.2.1:50000", "10.0.0.10:443", timeline.TCP)
	b2 := conn(2, "10.0.1.10:33000", "10.0.2.20:8080", timeline.TCP)
	f3 := conn(3, "192.0.2.1:50001", "10.0.0.10:443", timeline.TCP)
	b4 := conn(4, "10.0.1.10:33001", "10.0.2.20:8080", timeline.TCP)
	f5 := conn(5, "192.0.2.1:50002", "10.0.0.10:443", timeline.TCP)
	d6 := conn(6, "192.0.2.7:41000", "10.0.2.20:8080", timeline.UDP)
	r7 := conn(7, "192.0.2.7:41001", "10.0.2.20:5432", timeline.TCP)
	return []timeline.Event{
		summary(b2, 1000, 20000, append(plain, decode.String("close", "rst"))...),
		proxyLink(f1, 2, "l7"),
		summary(f1, 1000, 20000, tlsInfo...),
		proxyLink(f3, 4, "l7"),
		summary(f3, 1000, 20000, tlsInfo...),
		summary(b4, 1000, 20000, plain...),
		summary(f5, 1000, 20000, tlsInfo...),
		summary(d6, 300, 300, decode.String("handshake", "UDP")),
		summary(r7, 0, 0, decode.String("handshake", "TCP"), decode.String("close", "rst")),
	}
}

// parseSVG fails unless b is one well-formed XML document with an svg
// root, and returns its character data.
func parseSVG(t testing.TB, b []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			if tok.Name.Local == "script" || tok.Name.Local == "foreignObject" {
				t.Errorf("SVG has a <%s> element", tok.Name.Local)
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					t.Errorf("SVG has an event handler attribute %s", a.Name.Local)
				}
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q; want svg", root)
	}
	return texts
}

// elementsOnly returns b with the character data and attribute values of
// its elements blanked, so what is left is markup.
func elementsOnly(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inTag, quote := false, byte(0)
	for _, c := range b {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
				out = append(out, c)
			}
		case inTag && (c == '"' || c == '\''):
			quote = c
			out = append(out, c)
		case c == '<':
			inTag = true
			out = append(out, c)
		case c == '>':
			inTag = false
			out = append(out, c)
		case inTag:
			out = append(out, c)
		}
	}
	return out
}

// rsvg renders the SVG to PNG with rsvg-convert (skipped when it is not
// installed) and keeps the PNG in the test's temporary directory, or in
// $WIRETRACE_PNG_DIR to look at.
func rsvg(t *testing.T, svg []byte, name string) {
	t.Helper()
	bin, err := exec.LookPath("rsvg-convert")
	if err != nil {
		t.Log("rsvg-convert not installed; render check skipped")
		return
	}
	dir := os.Getenv("WIRETRACE_PNG_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	out := filepath.Join(dir, "overview-"+name+".png")
	cmd := exec.Command(bin, "-f", "png", "-o", out)
	cmd.Stdin = bytes.NewReader(svg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("rsvg-convert: %v\n%s", err, stderr.Bytes())
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("rsvg-convert wrote no PNG: %v", err)
	}
}

// TestEventsUnchanged: the overview does not change the events it reads.
func TestEventsUnchanged(t *testing.T) {
	evs := proxyScene()
	render(t, overview.Options{}, func(w *overview.Writer) { feed(t, w, evs) })
	if !reflect.DeepEqual(proxyScene(), evs) {
		t.Fatal("events changed by the overview")
	}
}

// TestMemory: 300,000 connections from distinct clients (a SYN flood's
// worth) keep the aggregates within a few megabytes: DefaultMaxEdges
// edges, the rest only counted.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var b bytes.Buffer
	w := overview.New(&b, overview.Options{})
	for i := range 300_000 {
		c := &timeline.Conn{ID: i + 1, Transport: timeline.TCP,
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000),
			Server: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 200, 0, byte(i % 40)}), 443), FirstTS: epoch}
		e := summary(c, 0, 0, decode.String("handshake", "TCP"))
		if err := w.Event(&e); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("aggregates of 300,000 connections: %d kB", grown>>10)
	if grown > 24<<20 {
		t.Errorf("aggregates take %d MB; want at most 24", grown>>20)
	}
	runtime.KeepAlive(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "280,000 connections (0 B) past the edge limit, counted only") {
		t.Error("caption does not count the connections past the limit")
	}
}
