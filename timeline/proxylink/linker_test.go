package proxylink

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ms(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Millisecond))) }

func conn(id int, client, server string, first float64) *timeline.Conn {
	return &timeline.Conn{ID: id, Transport: timeline.TCP, Client: netip.MustParseAddrPort(client),
		Server: netip.MustParseAddrPort(server), FirstTS: ms(first), FirstFrame: int64(id)}
}

// exch is an exchange event: start, first byte and end in ms since t0.
func exch(c *timeline.Conn, layer decode.Layer, stream int64, method, authority, path string, status int64, start, first, end float64) timeline.Event {
	e := decode.NewEvent(0, ms(end), decode.DirNone, layer, "exchange")
	e.Stream = stream
	e.Info = decode.Info{decode.String("method", method), decode.String("authority", authority),
		decode.String("path", path), decode.Int("status", status),
		decode.String("start", ms(start).Format(time.RFC3339Nano)), decode.Int("start_frame", 1)}
	if first >= 0 {
		e.Info = append(e.Info, decode.Millis("first_byte_ms", ms(first).Sub(ms(start))))
	}
	e.Info = append(e.Info, decode.Millis("duration_ms", ms(end).Sub(ms(start))))
	return timeline.Event{Event: e, Conn: c}
}

// head is an HTTP/1.1 request (c2s) or response (s2c) head of n bytes.
func head(c *timeline.Conn, dir decode.Dir, at float64, n int64) timeline.Event {
	typ := decode.Type("request")
	if dir == decode.S2C {
		typ = "response"
	}
	e := decode.NewEvent(0, ms(at), dir, decode.LayerHTTP1, typ)
	e.Len = n
	return timeline.Event{Event: e, Conn: c}
}

func summary(c *timeline.Conn, at float64, c2s, s2c uint64) timeline.Event {
	e := decode.NewEvent(0, ms(at), decode.DirNone, decode.LayerConn, decode.TypeSummary)
	e.Info = decode.Info{decode.Uint("bytes_c2s", c2s), decode.Uint("bytes_s2c", s2c)}
	return timeline.Event{Event: e, Conn: c}
}

func hello(c *timeline.Conn, at float64, sni string) timeline.Event {
	e := decode.NewEvent(0, ms(at), decode.C2S, decode.LayerTLS, "ClientHello")
	e.Len = 512
	e.Info = decode.Info{decode.String("sni", sni), decode.String("ja3_hash", "abc"), decode.String("ja4", "t13d")}
	return timeline.Event{Event: e, Conn: c}
}

func serverHello(c *timeline.Conn, at float64) timeline.Event {
	e := decode.NewEvent(0, ms(at), decode.S2C, decode.LayerTLS, "ServerHello")
	e.Len = 90
	return timeline.Event{Event: e, Conn: c}
}

// line renders an event the way the tests compare it: conn, type, stream
// and info as key=value.
func line(ev *timeline.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", ev.Conn.ID, ev.Type)
	if ev.Stream != decode.NoValue {
		fmt.Fprintf(&b, " s%d", ev.Stream)
	}
	if ev.Type == TypeProxyLink {
		for _, f := range ev.Info {
			b.WriteString(" " + f.Key + "=")
			b.Write(f.AppendValue(nil))
		}
	}
	return b.String()
}

func run(t *testing.T, opts Options, evs []timeline.Event) []string {
	t.Helper()
	var got []string
	l := New(timeline.SinkFunc(func(ev *timeline.Event) error {
		got = append(got, line(ev))
		return nil
	}), opts)
	for i := range evs {
		ev := evs[i]
		if err := l.Event(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

const (
	cli1  = "198.18.1.2:40001"
	cli2  = "198.18.1.3:40002"
	front = "198.18.2.2:8080"
	back1 = "198.18.2.2:50001"
	back2 = "198.18.2.2:50002"
	srv   = "198.18.3.2:9000"
)

func TestLinker(t *testing.T) {
	// An HTTP/2 front with three streams fanned out over two pooled
	// HTTP/1.1 back connections; the second back connection is opened
	// for stream 3, stream 5 reuses the first.
	f := conn(1, cli1, front, 0)
	b1 := conn(2, back1, srv, 2)
	b2 := conn(3, back2, srv, 3)
	h2fanout := []timeline.Event{
		exch(b1, decode.LayerHTTP1, 1, "GET", "backend", "/a", 200, 2.5, 4, 4.5),
		exch(b2, decode.LayerHTTP1, 1, "GET", "backend", "/b", 200, 3.5, 5, 5.5),
		exch(f, decode.LayerHTTP2, 1, "GET", "proxy.test", "/a", 200, 1, 4.2, 4.8),
		exch(f, decode.LayerHTTP2, 3, "GET", "proxy.test", "/b", 200, 1.1, 5.3, 5.9),
		exch(b1, decode.LayerHTTP1, 2, "GET", "backend", "/a", 200, 6.5, 7, 7.1),
		exch(f, decode.LayerHTTP2, 5, "GET", "proxy.test", "/a", 200, 6, 7.2, 7.3),
		summary(f, 10, 300, 900),
		summary(b1, 70, 200, 600),
		summary(b2, 70, 100, 300),
	}
	h2want := []string{
		"2 exchange s1", "3 exchange s1",
		"1 exchange s1",
		"1 proxy-link s1 front=1 back=2 mode=l7 back_conn=new back_stream=1 method=GET authority=proxy.test back_authority=backend path=/a status=200 to_back_ms=1.5 from_back_ms=0.2 added_ms=1.8 back_connect_ms=0.5",
		"1 exchange s3",
		"1 proxy-link s3 front=1 back=3 mode=l7 back_conn=new back_stream=1 method=GET authority=proxy.test back_authority=backend path=/b status=200 to_back_ms=2.4 from_back_ms=0.3 added_ms=2.8 back_connect_ms=0.5",
		"2 exchange s2",
		"1 exchange s5",
		"1 proxy-link s5 front=1 back=2 mode=l7 back_conn=reused back_stream=2 method=GET authority=proxy.test back_authority=backend path=/a status=200 to_back_ms=0.5 from_back_ms=0.2 added_ms=0.7",
		"1 summary", "2 summary", "3 summary",
	}

	// Two clients' identical requests in flight at once: each front
	// request gets the back exchange nested in it with the least slack.
	f2 := conn(4, cli2, front, 0.5)
	b1, b2 = conn(2, back1, srv, 1.05), conn(3, back2, srv, 1.02)
	crossed := []timeline.Event{
		exch(b1, decode.LayerHTTP1, 1, "GET", "backend", "/x", 200, 1.2, 1.5, 1.6),
		exch(b2, decode.LayerHTTP1, 1, "GET", "backend", "/x", 200, 1.1, 1.8, 1.9),
		exch(f2, decode.LayerHTTP1, 1, "GET", "proxy.test", "/x", 200, 1.0, 1.85, 1.95),
		exch(f, decode.LayerHTTP1, 1, "GET", "proxy.test", "/x", 200, 1.05, 2.0, 2.1),
	}
	crossedWant := []string{
		"2 exchange s1", "3 exchange s1",
		"4 exchange s1",
		"4 proxy-link s1 front=4 back=3 mode=l7 back_conn=new back_stream=1 method=GET authority=proxy.test back_authority=backend path=/x status=200 to_back_ms=0.1 from_back_ms=0.05 added_ms=0.15 back_connect_ms=0.08",
		"1 exchange s1",
		"1 proxy-link s1 front=1 back=2 mode=l7 back_conn=new back_stream=1 method=GET authority=proxy.test back_authority=backend path=/x status=200 to_back_ms=0.15 from_back_ms=0.5 added_ms=0.65 back_connect_ms=0.15",
	}

	b1, b2 = conn(2, back1, srv, 2), conn(3, back2, srv, 3)

	// The proxy has a front and a back address: the heuristics do not
	// link, Options.Proxies does.
	bOther := conn(2, "198.18.9.1:50001", srv, 2)
	multihomed := []timeline.Event{
		exch(bOther, decode.LayerHTTP1, 1, "GET", "backend", "/a", 200, 2.5, 4, 4.5),
		exch(f, decode.LayerHTTP2, 1, "GET", "proxy.test", "/a", 200, 1, 4.2, 4.8),
	}

	// A client's own requests to two servers never link, nested or not.
	own := conn(2, "198.18.1.2:40009", srv, 2)
	ownReqs := []timeline.Event{
		exch(own, decode.LayerHTTP1, 1, "GET", "", "/a", 200, 2.5, 4, 4.5),
		exch(f, decode.LayerHTTP1, 1, "GET", "", "/a", 200, 1, 4.2, 4.8),
	}

	// A back exchange that ends after its front one (the client gave up)
	// is not matched.
	late := []timeline.Event{
		exch(f, decode.LayerHTTP2, 1, "GET", "proxy.test", "/a", 0, 1, -1, 3),
		exch(b1, decode.LayerHTTP1, 1, "GET", "backend", "/a", 200, 2.5, 4, 4.5),
	}

	// L4: a TLS stream relayed unchanged; the back connection ends after
	// the front one, so the front's summary waits for it.
	l4f := conn(1, cli1, "198.18.2.2:8443", 0)
	l4b := conn(2, back1, "198.18.3.2:443", 0.3)
	l4 := []timeline.Event{
		hello(l4f, 0.2, "a.test"),
		hello(l4b, 0.4, "a.test"),
		serverHello(l4b, 1.0),
		serverHello(l4f, 1.1),
		summary(l4f, 5, 700, 4000),
		summary(l4b, 5.2, 700, 4000),
	}
	l4want := []string{
		"1 ClientHello", "2 ClientHello", "2 ServerHello", "1 ServerHello",
		"2 summary",
		"1 proxy-link front=1 back=2 mode=l4 back_conn=new evidence=tls-hello,address,bytes sni=a.test bytes_c2s=700 bytes_s2c=4000 connect_ms=0.3 to_back_ms=0.2 from_back_ms=0.1",
		"1 summary",
	}
	// The same with different addresses: the identical ClientHello links
	// them; a different byte count does not.
	l4bOther := conn(2, "198.18.9.1:50001", "198.18.3.2:443", 0.3)
	l4other := []timeline.Event{hello(l4f, 0.2, "a.test"), hello(l4bOther, 0.4, "a.test"),
		summary(l4bOther, 4.9, 700, 4000), summary(l4f, 5, 700, 4000)}
	l4otherWant := []string{"1 ClientHello", "2 ClientHello", "2 summary",
		"1 proxy-link front=1 back=2 mode=l4 back_conn=new evidence=tls-hello,bytes sni=a.test bytes_c2s=700 bytes_s2c=4000 connect_ms=0.3 to_back_ms=0.2",
		"1 summary"}
	l4bytes := []timeline.Event{hello(l4f, 0.2, "a.test"), hello(l4bOther, 0.4, "a.test"),
		summary(l4bOther, 4.9, 700, 3900), summary(l4f, 5, 700, 4000)}
	// The client's last 24 bytes (a close_notify after the server had
	// closed) never reached the back connection: a prefix, still linked.
	l4prefix := []timeline.Event{hello(l4f, 0.2, "a.test"), hello(l4b, 0.4, "a.test"),
		summary(l4b, 4.9, 676, 4000), summary(l4f, 5, 700, 4000)}
	l4prefixWant := []string{"1 ClientHello", "2 ClientHello", "2 summary",
		"1 proxy-link front=1 back=2 mode=l4 back_conn=new evidence=tls-hello,address,bytes-prefix sni=a.test bytes_c2s=700 bytes_s2c=4000 back_bytes_c2s=676 back_bytes_s2c=4000 connect_ms=0.3 to_back_ms=0.2",
		"1 summary"}
	// Different decoders on the two legs: not a byte relay.
	protoSum := summary(l4b, 4.9, 700, 4000)
	protoSum.Info = append(protoSum.Info, decode.String("protocol", "http1"))
	l4proto := []timeline.Event{protoSum, summary(l4f, 5, 700, 4000)}
	// Different ClientHellos: no link even from the same host.
	l4hello := []timeline.Event{hello(l4f, 0.2, "a.test"), hello(l4b, 0.4, "b.test"),
		summary(l4b, 4.9, 700, 4000), summary(l4f, 5, 700, 4000)}
	// A back connection that never ends: Close releases the summary.
	l4open := []timeline.Event{hello(l4f, 0.2, "a.test"), hello(l4b, 0.4, "a.test"), summary(l4f, 5, 700, 4000)}

	// Plain HTTP/1.1 through an L4 relay: the requests match, but the
	// back connection was opened before the first request and carries
	// the same bytes: one l4 link, no l7 ones.
	rf := conn(1, cli1, "198.18.2.2:80", 0)
	rb := conn(2, back1, "198.18.3.2:80", 0.2)
	rfSum, rbSum := summary(rf, 5, 200, 900), summary(rb, 5.1, 200, 900)
	rfSum.Info = append(rfSum.Info, decode.String("protocol", "http1"))
	rbSum.Info = append(rbSum.Info, decode.String("protocol", "http1"))
	relay := []timeline.Event{
		head(rf, decode.C2S, 1, 80), head(rb, decode.C2S, 1.05, 80),
		head(rb, decode.S2C, 1.3, 120), head(rf, decode.S2C, 1.35, 120),
		exch(rb, decode.LayerHTTP1, 1, "GET", "a.test", "/1", 200, 1.1, 1.4, 1.5),
		exch(rf, decode.LayerHTTP1, 1, "GET", "a.test", "/1", 200, 1, 1.5, 1.6),
		exch(rb, decode.LayerHTTP1, 2, "GET", "a.test", "/2", 200, 2.1, 2.4, 2.5),
		exch(rf, decode.LayerHTTP1, 2, "GET", "a.test", "/2", 200, 2, 2.5, 2.6),
		rfSum, rbSum,
	}
	relayWant := []string{"1 request", "2 request", "2 response", "1 response", "2 exchange s1", "1 exchange s1", "2 exchange s2", "1 exchange s2", "2 summary",
		"1 proxy-link front=1 back=2 mode=l4 back_conn=new evidence=address,bytes bytes_c2s=200 bytes_s2c=900 connect_ms=0.2 to_back_ms=0.05 from_back_ms=0.05 requests=2",
		"1 summary"}

	// An HTTP/1.1 CONNECT tunnel (gRPC over h2c through it, as in
	// suricata-verify's http2-errorcode capture): the request inside is
	// relayed, so one l4 link, the streams compared without the CONNECT
	// heads.
	tf := conn(1, "127.0.0.1:63577", "127.0.0.1:8888", 0)
	tb := conn(2, "127.0.0.1:63578", "127.0.0.1:6233", 0.2)
	connectEx := exch(tf, decode.LayerHTTP1, 1, "CONNECT", "127.0.0.1:6233", "127.0.0.1:6233", 200, 0.1, 0.28, 0.29)
	connectEx.Info = append(connectEx.Info, decode.String("upgrade", "connect"))
	tfSum, tbSum := summary(tf, 2.4, 293, 241), summary(tb, 1.5, 212, 203)
	tfSum.Info = append(tfSum.Info, decode.String("protocol", "http1/http2"))
	tbSum.Info = append(tbSum.Info, decode.String("protocol", "http2"))
	tunnel := []timeline.Event{
		head(tf, decode.C2S, 0.1, 81), head(tf, decode.S2C, 0.28, 38), connectEx,
		exch(tb, decode.LayerHTTP2, 1, "POST", "127.0.0.1:6233", "/g.S/M", 200, 0.4, 0.6, 0.7),
		exch(tf, decode.LayerHTTP2, 1, "POST", "127.0.0.1:6233", "/g.S/M", 200, 0.35, 0.65, 0.8),
		tbSum, tfSum,
	}
	tunnelWant := []string{"1 request", "1 response", "1 exchange s1", "2 exchange s1", "1 exchange s1", "2 summary",
		"1 proxy-link front=1 back=2 mode=l4 back_conn=new evidence=connect,address,bytes connect=127.0.0.1:6233 bytes_c2s=293 bytes_s2c=241 back_bytes_c2s=212 back_bytes_s2c=203 connect_ms=0.2 requests=1",
		"1 summary"}

	// Merged captures whose clocks disagree by 3 ms (the back one is
	// behind): the back exchange seems to start before the front one and
	// the back connection to open first (so it is numbered 1). Skew
	// tolerates it.
	sf := conn(2, cli1, "198.18.2.2:8443", 0)
	sb := conn(1, back1, "198.18.3.2:443", -2.7)
	skewed := []timeline.Event{
		hello(sb, -2.6, "a.test"), hello(sf, 0.2, "a.test"),
		exch(sb, decode.LayerHTTP1, 1, "GET", "backend", "/s", 200, -1.5, 0.5, 1),
		exch(sf, decode.LayerHTTP2, 1, "GET", "proxy.test", "/s", 200, 1, 4, 4.5),
		summary(sb, 4.9, 700, 4000), summary(sf, 5, 700, 4000),
	}
	skewNone := []string{"1 ClientHello", "2 ClientHello", "1 exchange s1", "2 exchange s1", "1 summary", "2 summary"}
	skewWant := []string{"1 ClientHello", "2 ClientHello", "1 exchange s1", "2 exchange s1",
		"2 proxy-link s1 front=2 back=1 mode=l7 back_conn=new back_stream=1 method=GET authority=proxy.test back_authority=backend path=/s status=200 to_back_ms=-2.5 from_back_ms=3.5 added_ms=1 back_connect_ms=1.2",
		"1 summary", "2 summary"}
	// The same pair relaying TLS unchanged (no requests decoded): l4.
	skewedL4 := []timeline.Event{hello(sb, -2.6, "a.test"), hello(sf, 0.2, "a.test"),
		summary(sb, 4.9, 700, 4000), summary(sf, 5, 700, 4000)}
	skewL4Want := []string{"1 ClientHello", "2 ClientHello", "1 summary",
		"2 proxy-link front=2 back=1 mode=l4 back_conn=new evidence=tls-hello,address,bytes sni=a.test bytes_c2s=700 bytes_s2c=4000 connect_ms=-2.7 to_back_ms=-2.8",
		"2 summary"}

	tests := []struct {
		name string
		opts Options
		evs  []timeline.Event
		want []string
	}{
		{"h2 fan-out over a pool", Options{}, h2fanout, h2want},
		{"crossed identical requests", Options{}, crossed, crossedWant},
		{"multi-homed without --proxy", Options{}, multihomed, []string{"2 exchange s1", "1 exchange s1"}},
		{"multi-homed with --proxy", Options{Proxies: []netip.AddrPort{netip.MustParseAddrPort(front),
			netip.MustParseAddrPort("198.18.9.1:0")}}, multihomed, []string{"2 exchange s1", "1 exchange s1",
			"1 proxy-link s1 front=1 back=2 mode=l7 back_conn=new back_stream=1 method=GET authority=proxy.test back_authority=backend path=/a status=200 to_back_ms=1.5 from_back_ms=0.2 added_ms=1.8 back_connect_ms=0.5"}},
		{"--proxy names another proxy", Options{Proxies: []netip.AddrPort{netip.MustParseAddrPort("198.18.2.2:8081")}},
			h2fanout[:3], h2want[:3]},
		{"client's own requests", Options{}, ownReqs, []string{"2 exchange s1", "1 exchange s1"}},
		{"back ends after front", Options{}, late, []string{"1 exchange s1", "2 exchange s1"}},
		{"l4 tls", Options{}, l4, l4want},
		{"l4 tls other address", Options{}, l4other, l4otherWant},
		{"l4 bytes differ", Options{}, l4bytes, []string{"1 ClientHello", "2 ClientHello", "2 summary", "1 summary"}},
		{"l4 prefix", Options{}, l4prefix, l4prefixWant},
		{"l4 relay of plain http", Options{}, relay, relayWant},
		{"connect tunnel", Options{}, tunnel, tunnelWant},
		{"skewed clocks", Options{}, skewed, skewNone},
		{"skewed clocks, Skew", Options{Skew: 5 * time.Millisecond}, skewed, skewWant},
		{"skewed clocks l4, Skew", Options{Skew: 5 * time.Millisecond}, skewedL4, skewL4Want},
		{"l4 protocols differ", Options{}, l4proto, []string{"2 summary", "1 summary"}},
		{"l4 hellos differ", Options{}, l4hello, []string{"1 ClientHello", "2 ClientHello", "2 summary", "1 summary"}},
		{"l4 back open at close", Options{}, l4open, []string{"1 ClientHello", "2 ClientHello", "1 summary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.opts, tt.evs)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
