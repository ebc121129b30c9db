//go:build linux

package proxylink_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/internal/netns"
	"github.com/wiretrace/wiretrace/timeline"
	"github.com/wiretrace/wiretrace/timeline/proxylink"
)

// The lab: the client and the backends live in the client namespace, nginx
// in the server namespace, so both legs of the proxy cross the proxy
// host's eth0 (one capture there sees both), the front leg also the
// client's eth0 and the back leg the server's: captured apart and merged,
// they are the two-capture case.
var (
	proxyAddr   = netip.AddrPortFrom(netns.ServerAddr4, 8080)
	proxyTLS    = netip.AddrPortFrom(netns.ServerAddr4, 8443)
	backendAddr = []netip.AddrPort{netip.AddrPortFrom(netns.ClientAddr4, 9001), netip.AddrPortFrom(netns.ClientAddr4, 9002)}
	backendTLS  = netip.AddrPortFrom(netns.ClientAddr4, 9443)
)

const streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

func nginxBinary(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("proxylink nginx test: needs root for network namespaces")
	}
	p, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("proxylink nginx test: nginx not installed (Debian: nginx-light libnginx-mod-stream)")
		}
		p = "/usr/sbin/nginx"
	}
	return p
}

// startNginx runs nginx with conf (a single process, no daemon) inside ns
// until the test ends, and waits until it accepts on addr.
func startNginx(t *testing.T, bin string, ns, from *netns.NS, conf string, addr netip.AddrPort) {
	t.Helper()
	dir := t.TempDir()
	conf = fmt.Sprintf(`daemon off;
master_process off;
user root;
pid %[1]s/nginx.pid;
error_log stderr warn;
%[2]s`, dir, strings.ReplaceAll(conf, "$DIR", dir))
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("ip", "netns", "exec", ns.Name, bin, "-p", dir, "-e", "stderr", "-c", path)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	for start := time.Now(); ; {
		c, err := dialIn(from, addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("nginx exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("nginx does not accept on %s: %v\n%s", addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dialIn(ns *netns.NS, addr netip.AddrPort) (c net.Conn, err error) {
	err = ns.Do(func() error {
		c, err = net.DialTimeout("tcp", addr.String(), 2*time.Second)
		return err
	})
	return c, err
}

func listenIn(t *testing.T, ns *netns.NS, addr netip.AddrPort) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// backend is an HTTP server that records, per path, the remote port of
// the connection that asked (the proxy's back connection) and which
// request on that connection it was.
type backend struct {
	mu   sync.Mutex
	seen map[string]served
	nth  map[string]int // remote address → requests so far
}

type served struct {
	port uint16
	nth  int
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	b.mu.Lock()
	b.nth[r.RemoteAddr]++
	b.seen[r.URL.Path] = served{ap.Port(), b.nth[r.RemoteAddr]}
	b.mu.Unlock()
	time.Sleep(30 * time.Millisecond) // let requests overlap, so the pool grows
	io.WriteString(w, "served "+r.URL.Path+"\n")
}

func newBackend() *backend { return &backend{seen: map[string]served{}, nth: map[string]int{}} }

func serve(t *testing.T, ln net.Listener, h http.Handler, tlsConf *tls.Config) {
	// No log: nginx's readiness probe reaches the TLS backend through the
	// stream proxy and hangs up before a handshake.
	srv := &http.Server{Handler: h, TLSConfig: tlsConf, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		var err error
		if tlsConf != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("backend: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
}

// recorder captures one interface inside a namespace.
// record starts a netns.Recorder, failing the test if it cannot.
func record(t *testing.T, ns *netns.NS, iface, filter string) *netns.Recorder {
	t.Helper()
	r, err := netns.Record(ns, iface, filter)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// finish ends a recording, failing the test unless it got packets and
// the kernel dropped none.
func finish(t *testing.T, r *netns.Recorder) []capture.Packet {
	t.Helper()
	pkts, err := r.Finish()
	if err != nil || len(pkts) == 0 {
		t.Fatalf("capture: %v, %d packets", err, len(pkts))
	}
	return pkts
}

// writePcapng writes packets to a file in dir and returns its name.
func writePcapng(t *testing.T, dir, name string, pkts []capture.Packet) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := capture.NewPcapngWriter(&buf, pkts[0].LinkType, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		if err := w.WritePacket(&pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sliceSource replays captured packets.
type sliceSource struct {
	pkts []capture.Packet
	i    int
}

func (s *sliceSource) Next(p *capture.Packet) error {
	if s.i >= len(s.pkts) {
		return io.EOF
	}
	*p = s.pkts[s.i]
	s.i++
	p.Frame = int64(s.i)
	return nil
}

func (s *sliceSource) Close() error { return nil }

// inputs gives the three ways a scenario is analysed: the proxy host's
// one capture with the heuristics; the front (client side) and back
// (proxy side) captures merged, with the heuristics and with --proxy.
type input struct {
	name string
	src  func() capture.Source
	opts proxylink.Options
}

func inputs(t *testing.T, proxyHost, frontPkts, backPkts []capture.Packet, proxies ...netip.AddrPort) []input {
	// WIRETRACE_PROXYLINK_CAPTURES=DIR keeps the captures there, to look
	// at with wiretrace pcap.
	dir := os.Getenv("WIRETRACE_PROXYLINK_CAPTURES")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writePcapng(t, dir, "proxy-host", proxyHost)
	}
	front := writePcapng(t, dir, "front", frontPkts)
	back := writePcapng(t, dir, "back", backPkts)
	merged := func() capture.Source {
		var srcs []capture.Source
		for i, name := range []string{front, back} {
			s, err := capture.OpenFile(name, i, capture.FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			srcs = append(srcs, s)
		}
		return capture.Merge(srcs)
	}
	return []input{
		{"proxy-host", func() capture.Source { return &sliceSource{pkts: proxyHost} }, proxylink.Options{}},
		{"merged", merged, proxylink.Options{}},
		{"merged --proxy", merged, proxylink.Options{Proxies: proxies}},
	}
}

// link is a proxy-link event's essentials.
type link struct {
	mode, path, backConn string
	front, back          *timeline.Conn
	info                 map[string]string
}

func links(evs []timeline.Event) []link {
	conns := map[int]*timeline.Conn{}
	for i := range evs {
		if evs[i].Conn != nil {
			conns[evs[i].Conn.ID] = evs[i].Conn
		}
	}
	var out []link
	for _, ev := range evs {
		if ev.Type != proxylink.TypeProxyLink {
			continue
		}
		lk := link{info: map[string]string{}}
		for _, f := range ev.Info {
			lk.info[f.Key] = string(f.AppendValue(nil))
		}
		lk.mode, lk.path, lk.backConn = lk.info["mode"], lk.info["path"], lk.info["back_conn"]
		id := func(k string) *timeline.Conn { n, _ := strconv.Atoi(lk.info[k]); return conns[n] }
		lk.front, lk.back = id("front"), id("back")
		if lk.front == nil || lk.back == nil || ev.Conn != lk.front {
			continue
		}
		out = append(out, lk)
	}
	return out
}

// TestNginxL7 sends HTTP/2 (h2c) requests through nginx's http proxy with
// a keepalive pool of HTTP/1.1 upstream connections and checks each link
// against what the backends saw: which back connection (by its port)
// served which path, and whether it was that connection's first request.
func TestNginxL7(t *testing.T) {
	bin := nginxBinary(t)
	topo := netns.NewTopologyT(t)
	be := newBackend()
	for _, a := range backendAddr {
		serve(t, listenIn(t, topo.Client.NS, a), be, nil)
	}
	certDir := t.TempDir()
	certPEM, keyPEM := selfSignedPEM(t, "proxy.test")
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	if err := errors.Join(os.WriteFile(certFile, certPEM, 0o644), os.WriteFile(keyFile, keyPEM, 0o600)); err != nil {
		t.Fatal(err)
	}
	startNginx(t, bin, topo.Server.NS, topo.Client.NS, fmt.Sprintf(`events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $DIR/body;
	proxy_temp_path $DIR/proxy;
	fastcgi_temp_path $DIR/fastcgi;
	uwsgi_temp_path $DIR/uwsgi;
	scgi_temp_path $DIR/scgi;
	upstream backend {
		server %s;
		server %s;
		keepalive 8;
	}
	server {
		listen %s http2;
		listen %s ssl http2;
		ssl_certificate %s;
		ssl_certificate_key %s;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
`, backendAddr[0], backendAddr[1], proxyAddr, proxyTLS, certFile, keyFile), proxyAddr)

	all := record(t, topo.Server.NS, topo.Server.Iface, "")
	front := record(t, topo.Client.NS, topo.Client.Iface, fmt.Sprintf("tcp port %d or tcp port %d", proxyAddr.Port(), proxyTLS.Port()))
	back := record(t, topo.Server.NS, topo.Server.Iface, fmt.Sprintf("tcp port %d or tcp port %d", backendAddr[0].Port(), backendAddr[1].Port()))

	// Round 1: 12 concurrent streams on one h2c front connection; round
	// 2: 4 requests one after another on a second one, served from the
	// pool; round 3: 6 concurrent streams over TLS (decoded with the
	// client's key log).
	var paths []string
	frontPorts := map[string]netip.AddrPort{}
	var keyLog bytes.Buffer
	tr := &http2.Transport{AllowHTTP: true}
	for round, n := range []int{12, 4, 6} {
		addr := proxyAddr
		if round == 2 {
			addr = proxyTLS
		}
		c, err := dialIn(topo.Client.NS, addr)
		if err != nil {
			t.Fatal(err)
		}
		local := netip.MustParseAddrPort(c.LocalAddr().String())
		if round == 2 {
			tc := tls.Client(c, &tls.Config{ServerName: "proxy.test", InsecureSkipVerify: true,
				NextProtos: []string{"h2"}, KeyLogWriter: &keyLog})
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			c = tc
		}
		cc, err := tr.NewClientConn(c)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			path := fmt.Sprintf("/r%d/%d", round+1, i)
			paths = append(paths, path)
			frontPorts[path] = local
			get := func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", "http://proxy.test"+path, nil)
				resp, err := cc.RoundTrip(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("%s: status %d", path, resp.StatusCode)
				}
			}
			wg.Add(1)
			if round != 1 {
				go get()
			} else {
				get()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		cc.Close()
	}
	time.Sleep(50 * time.Millisecond)
	if dir := os.Getenv("WIRETRACE_PROXYLINK_CAPTURES"); dir != "" {
		os.MkdirAll(filepath.Join(dir, t.Name()), 0o755)
		if err := os.WriteFile(filepath.Join(dir, t.Name(), "keys.log"), keyLog.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keys := &keylog.Store{}
	if _, err := keys.Add(bytes.NewReader(keyLog.Bytes()), "client key log"); err != nil {
		t.Fatal(err)
	}

	for _, in := range inputs(t, finish(t, all), finish(t, front), finish(t, back), proxyAddr, proxyTLS) {
		t.Run(in.name, func(t *testing.T) {
			got := links(analyze(t, in.src(), keys, in.opts))
			if len(got) != len(paths) {
				t.Errorf("%d links; want %d (one per request)", len(got), len(paths))
				for _, lk := range got {
					t.Logf("%v→%v ⇒ %v→%v %v", lk.front.Client, lk.front.Server, lk.back.Client, lk.back.Server, lk.info)
				}
			}
			byPath := map[string]link{}
			for _, lk := range got {
				if _, dup := byPath[lk.path]; dup {
					t.Errorf("%s linked twice", lk.path)
				}
				byPath[lk.path] = lk
			}
			news := 0
			for _, p := range paths {
				lk, ok := byPath[p]
				want := be.seen[p]
				switch {
				case !ok:
					t.Errorf("%s: no link", p)
					continue
				case lk.mode != "l7":
					t.Errorf("%s: mode %q; want l7", p, lk.mode)
				case lk.front.Server != proxyAddr && lk.front.Server != proxyTLS || lk.front.Client != frontPorts[p]:
					t.Errorf("%s: front %v → %v; the client was %v", p, lk.front.Client, lk.front.Server, frontPorts[p])
				case lk.back.Client.Port() != want.port || !slices.Contains(backendAddr, lk.back.Server):
					t.Errorf("%s: back %v → %v; the backend saw port %d", p, lk.back.Client, lk.back.Server, want.port)
				case (lk.backConn == "new") != (want.nth == 1):
					t.Errorf("%s: back_conn %s; the backend saw request %d on its connection", p, lk.backConn, want.nth)
				case lk.info["method"] != "GET" || lk.info["authority"] != "proxy.test" || lk.info["status"] != "200":
					t.Errorf("%s: %v", p, lk.info)
				}
				if lk.backConn == "new" {
					news++
				}
				for _, k := range []string{"to_back_ms", "from_back_ms", "added_ms"} {
					if v, err := strconv.ParseFloat(lk.info[k], 64); err != nil || v < 0 && in.name == "proxy-host" {
						t.Errorf("%s: %s %q", p, k, lk.info[k])
					}
				}
			}
			if news == 0 || news == len(paths) {
				t.Errorf("%d of %d requests on new back connections; want some new and some reused", news, len(paths))
			}
		})
	}
}

// TestNginxL4 relays TLS through nginx's stream proxy (TLS passed through
// to the backend) and checks that each front connection is paired with the
// back connection the backend saw its request on.
func TestNginxL4(t *testing.T) {
	bin := nginxBinary(t)
	if _, err := os.Stat(streamModule); err != nil {
		t.Skip("proxylink nginx test: nginx stream module missing (Debian: libnginx-mod-stream)")
	}
	topo := netns.NewTopologyT(t)
	be := newBackend()
	serve(t, listenIn(t, topo.Client.NS, backendTLS), be, &tls.Config{Certificates: []tls.Certificate{selfSigned(t, "l4.test")}})
	serve(t, listenIn(t, topo.Client.NS, backendAddr[0]), be, nil)
	startNginx(t, bin, topo.Server.NS, topo.Client.NS, fmt.Sprintf(`load_module %s;
events { worker_connections 256; }
stream {
	server {
		listen %s;
		proxy_pass %s;
	}
	server {
		listen %s;
		proxy_pass %s;
	}
}
`, streamModule, proxyTLS, backendTLS, proxyAddr, backendAddr[0]), proxyTLS)

	all := record(t, topo.Server.NS, topo.Server.Iface, "")
	front := record(t, topo.Client.NS, topo.Client.Iface, fmt.Sprintf("tcp port %d or tcp port %d", proxyTLS.Port(), proxyAddr.Port()))
	back := record(t, topo.Server.NS, topo.Server.Iface, fmt.Sprintf("tcp port %d or tcp port %d", backendTLS.Port(), backendAddr[0].Port()))

	// Plain HTTP/1.1 relayed: two requests on one kept-alive connection,
	// which must come out as one l4 link, not as l7 requests.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		return dialIn(topo.Client.NS, netip.MustParseAddrPort(addr))
	}}}
	for _, path := range []string{"/plain/1", "/plain/2"} {
		resp, err := hc.Get("http://" + proxyAddr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	hc.CloseIdleConnections()

	const n = 3
	frontPorts := map[string]uint16{}
	for i := range n {
		path := fmt.Sprintf("/c/%d", i)
		c, err := dialIn(topo.Client.NS, proxyTLS)
		if err != nil {
			t.Fatal(err)
		}
		frontPorts[path] = netip.MustParseAddrPort(c.LocalAddr().String()).Port()
		tc := tls.Client(c, &tls.Config{ServerName: "l4.test", InsecureSkipVerify: true})
		fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: l4.test\r\nConnection: close\r\n\r\n", path)
		resp, err := io.ReadAll(tc)
		tc.Close()
		if err != nil || !bytes.Contains(resp, []byte("served "+path)) {
			t.Fatalf("%s: %v %q", path, err, resp)
		}
	}
	time.Sleep(50 * time.Millisecond)

	for _, in := range inputs(t, finish(t, all), finish(t, front), finish(t, back), proxyTLS, proxyAddr) {
		t.Run(in.name, func(t *testing.T) {
			got := links(analyze(t, in.src(), nil, in.opts))
			if len(got) != n+1 {
				t.Errorf("%d links; want %d", len(got), n+1)
			}
			plain := 0
			for _, lk := range got {
				if lk.front.Server != proxyAddr {
					continue
				}
				plain++
				want := be.seen["/plain/1"]
				if lk.mode != "l4" || lk.info["requests"] != "2" || lk.back.Client.Port() != want.port || be.seen["/plain/2"] != (served{want.port, 2}) {
					t.Errorf("plain http relay: %v; the backend saw %v", lk.info, be.seen)
				}
			}
			if plain != 1 {
				t.Errorf("plain http relay: %d links; want 1", plain)
			}
			for path, port := range frontPorts {
				var lk *link
				for i := range got {
					if got[i].front.Client.Port() == port {
						lk = &got[i]
					}
				}
				want := be.seen[path]
				switch {
				case lk == nil:
					t.Errorf("%s: front connection from port %d not linked", path, port)
				case lk.mode != "l4" || lk.backConn != "new" || lk.info["sni"] != "l4.test":
					t.Errorf("%s: %v", path, lk.info)
				case lk.back.Client.Port() != want.port || lk.back.Server != backendTLS:
					t.Errorf("%s: back %v → %v; the backend saw port %d", path, lk.back.Client, lk.back.Server, want.port)
				case !strings.Contains(lk.info["evidence"], "tls-hello") || !strings.Contains(lk.info["evidence"], "bytes"):
					t.Errorf("%s: evidence %q", path, lk.info["evidence"])
				}
			}
		})
	}
}

func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	cert, err := tls.X509KeyPair(selfSignedPEM(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// selfSignedPEM returns a certificate for name and its key, PEM-encoded.
func selfSignedPEM(t *testing.T, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
