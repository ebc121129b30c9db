package proxylink_test

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
	"github.com/wiretrace/wiretrace/timeline/proxylink"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// analyze runs a capture through the timeline and the Linker and returns
// every event.
func analyze(t *testing.T, src capture.Source, keys *keylog.Store, opts proxylink.Options) []timeline.Event {
	t.Helper()
	var evs []timeline.Event
	l := proxylink.New(timeline.SinkFunc(func(ev *timeline.Event) error {
		evs = append(evs, *ev)
		return nil
	}), opts)
	b := timeline.New(timeline.Options{Registry: stack.Registry(stack.Options{Keys: keys})}, l)
	var p capture.Packet
	for {
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Packet(&p); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(b.Close(), l.Close(), src.Close()); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestCaptures runs captures recorded by the nginx tests (see
// nginx_linux_test.go; WIRETRACE_PROXYLINK_CAPTURES=DIR keeps new ones)
// and compares every proxy-link event with testdata/NAME.golden, so the
// analysis of real proxy traffic is checked without root or nginx. The
// recorded links were checked against the backends' records by the nginx
// test run that recorded them.
//
// nginx-l7: nginx 1.22 http proxy, upstream keepalive pool of HTTP/1.1
// connections to two backends; 12 concurrent h2c streams on one front
// connection, 4 sequential ones on a second, 6 concurrent HTTP/2 streams
// over TLS on a third (keys.log decrypts it): 22 links. nginx-l4: nginx
// stream proxy, three TLS connections passed through and one plain
// HTTP/1.1 connection with two requests: 4 links.
func TestCaptures(t *testing.T) {
	proxies := []netip.AddrPort{netip.MustParseAddrPort("198.18.2.2:8080"), netip.MustParseAddrPort("198.18.2.2:8443")}
	tests := []struct {
		name  string
		files []string
		opts  proxylink.Options
		links int
	}{
		{"nginx-l7-proxy-host", []string{"nginx-l7/proxy-host.pcapng"}, proxylink.Options{}, 22},
		{"nginx-l7-merged", []string{"nginx-l7/front.pcapng", "nginx-l7/back.pcapng"}, proxylink.Options{}, 22},
		{"nginx-l7-merged-proxy", []string{"nginx-l7/front.pcapng", "nginx-l7/back.pcapng"}, proxylink.Options{Proxies: proxies}, 22},
		{"nginx-l4-proxy-host", []string{"nginx-l4/proxy-host.pcapng"}, proxylink.Options{}, 4},
		{"nginx-l4-merged", []string{"nginx-l4/front.pcapng", "nginx-l4/back.pcapng"}, proxylink.Options{}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join("testdata", filepath.Dir(tt.files[0]))
			keys := &keylog.Store{}
			if f, err := os.Open(filepath.Join(dir, "keys.log")); err == nil {
				_, err := keys.Add(f, "keys.log")
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			var srcs []capture.Source
			for i, name := range tt.files {
				s, err := capture.OpenFile(filepath.Join("testdata", name), i, capture.FileOptions{})
				if err != nil {
					t.Fatal(err)
				}
				srcs = append(srcs, s)
			}
			src := srcs[0]
			if len(srcs) > 1 {
				src = capture.Merge(srcs)
			}
			var b strings.Builder
			n := 0
			for _, ev := range analyze(t, src, keys, tt.opts) {
				if ev.Type != proxylink.TypeProxyLink {
					continue
				}
				n++
				fmt.Fprintf(&b, "frame %d conn %d", ev.Frame, ev.Conn.ID)
				if ev.Stream != decode.NoValue {
					fmt.Fprintf(&b, " stream %d", ev.Stream)
				}
				for _, f := range ev.Info {
					b.WriteString(" " + f.Key + "=")
					b.Write(f.AppendValue(nil))
				}
				b.WriteByte('\n')
			}
			if n != tt.links {
				t.Errorf("%d links; want %d", n, tt.links)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				os.WriteFile(golden+".got", []byte(b.String()), 0o644)
				t.Errorf("proxy-link events differ from %s (got in %s.got)", golden, golden)
			}
		})
	}
}

// TestNoProxy runs every shared capture and the project's own through the
// Linker: the only proxy among them is suricata-verify's http2-errorcode
// capture (gRPC over h2c through an HTTP CONNECT tunnel on 127.0.0.1:8888),
// which must give its one l4 link; every other must give none.
func TestNoProxy(t *testing.T) {
	want := map[string]string{
		"http2/sv-http2-errorcode.pcap": "front=1 back=2 mode=l4 back_conn=new evidence=connect,address,bytes connect=127.0.0.1:6233",
	}
	files := pcaptest.SharedGlob(t, "*/*.pcap*")
	project, _ := filepath.Glob(pcaptest.Project("*.pcap*"))
	for _, path := range append(files, project...) {
		var got []string
		l := proxylink.New(timeline.SinkFunc(func(ev *timeline.Event) error {
			if ev.Type == proxylink.TypeProxyLink {
				var b []byte
				for _, f := range ev.Info[:6] {
					b = append(append(append(b, ' '), f.Key...), '=')
					b = f.AppendValue(b)
				}
				got = append(got, string(b[1:]))
			}
			return nil
		}), proxylink.Options{})
		keys := &keylog.Store{}
		pcaptest.Run(t, path, pcaptest.Options{Registry: stack.Registry(stack.Options{Keys: keys}), Keys: keys},
			func(ev *timeline.Event) { l.Event(ev) })
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path))
		if w := want[name]; strings.Join(got, "\n") != w {
			t.Errorf("%s: links %q; want %q", name, got, w)
		}
	}
}
