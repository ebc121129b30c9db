package h2

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Debian's nghttp2 (nghttp, nghttpd) as peers, through a recording TCP
// proxy: the h2c upgrade with nghttp -u, and nghttpd's server push, small
// windows and a larger HPACK table with nghttp on prior knowledge.

func nghttpPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("WIRETRACE_REQUIRE_NGHTTP2") == "1" {
			t.Fatalf("%s not found and WIRETRACE_REQUIRE_NGHTTP2=1: %v", name, err)
		}
		t.Skipf("%s not on PATH (Debian package nghttp2-client / nghttp2-server)", name)
	}
	return p
}

// recordingProxy forwards one connection to backend and records both
// directions in the order the proxy passed them on.
func recordingProxy(t *testing.T, backend string) (addr string, rec *recorder, wait func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	rec = &recorder{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", backend)
		if err != nil {
			c.Close()
			return
		}
		pipe := func(dst, src net.Conn, dir decode.Dir) {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				if n > 0 {
					rec.add(dir, buf[:n])
					dst.Write(buf[:n])
				}
				if err != nil {
					if tc, ok := dst.(*net.TCPConn); ok {
						tc.CloseWrite()
					}
					return
				}
			}
		}
		wg.Add(2)
		go pipe(s, c, decode.C2S)
		go pipe(c, s, decode.S2C)
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), rec, wg.Wait
}

// runNghttp runs nghttp with args and the URIs of paths on addr.
func runNghttp(t *testing.T, addr string, args []string, paths ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, p := range paths {
		args = append(args, "http://"+addr+p)
	}
	out, err := exec.CommandContext(ctx, nghttpPath(t, "nghttp"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("nghttp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// splitUpgrade cuts the HTTP/1.1 request and response heads off a
// recorded h2c upgrade.
func splitUpgrade(t *testing.T, steps []step) []step {
	t.Helper()
	var cut [2]int
	for i, dir := range []decode.Dir{decode.C2S, decode.S2C} {
		b := string(joinDir(steps, dir))
		n := strings.Index(b, "\r\n\r\n")
		if n < 0 {
			t.Fatalf("%s: no HTTP/1.1 head", dir)
		}
		cut[i] = n + 4
	}
	var out []step
	for _, st := range steps {
		i := st.dir.Index()
		n := min(cut[i], len(st.data))
		cut[i] -= n
		if n < len(st.data) {
			out = append(out, step{st.dir, st.data[n:]})
		}
	}
	return out
}

// TestNghttpUpgrade: nghttp -u upgrades to h2c against x/net's h2c
// handler and fetches two more resources on the connection.
func TestNghttpUpgrade(t *testing.T) {
	nghttpPath(t, "nghttp")
	addr, rec, wait := recordingProxy(t, upgradeServer(t))
	runNghttp(t, addr, []string{"-n", "-u", "-w", "15"}, "/size/70000", "/size/123", "/trailers")
	wait()
	steps := rec.get()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(joinDir(steps, decode.C2S))))
	if err != nil || req.Header.Get("Upgrade") != "h2c" || !strings.Contains(string(joinDir(steps, decode.S2C)), "101 Switching Protocols") {
		t.Fatalf("no upgrade: %v", err)
	}
	payload, err := DecodeSettingsHeader(req.Header.Get("HTTP2-Settings"))
	if err != nil {
		t.Fatal(err)
	}
	h2steps := splitUpgrade(t, steps)
	for seed := range 3 {
		d := NewUpgraded(peerOpts, Upgraded{Settings: payload, Method: "GET", Scheme: "http", Authority: addr, Path: "/size/70000"})
		evs := decodeSteps(t, d, h2steps, int64(seed))
		// -w 15: nghttp's HTTP2-Settings say 32,767.
		compareFrames(t, evs, h2steps, [2]int64{initialWindow, 1<<15 - 1})
		checkExchanges(t, evs, []served{{"GET", "/size/70000", 200, 70000}, {"GET", "/size/123", 200, 123}, {"GET", "/trailers", 200, 4}})
		if n := len(ofType(evs, TypeWindowUpdate)); n < 2 {
			t.Errorf("%d WINDOW_UPDATE frames; want the client to open its small window", n)
		}
	}
}

// TestNghttpd: nghttp against nghttpd on prior knowledge: nghttpd pushes
// /style.css with /index.html, nghttp sends PRIORITY frames, small
// windows and a 64 KiB HPACK table both ways.
func TestNghttpd(t *testing.T) {
	nghttpd := nghttpPath(t, "nghttpd")
	nghttpPath(t, "nghttp")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte(strings.Repeat("<p>hello</p>\n", 3000)), 0o644)
	os.WriteFile(filepath.Join(dir, "style.css"), []byte("p { color: red }\n"), 0o644)
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, nghttpd, "--no-tls", "-d", dir, "-p", "/index.html=/style.css",
		"-c", "65536", "--encoder-header-table-size=65536", "-w", "16", port)
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); srv.Wait() }()
	backend := "127.0.0.1:" + port
	waitListening(t, backend)
	addr, rec, wait := recordingProxy(t, backend)
	runNghttp(t, addr, []string{"-n", "-w", "14", "-c", "65536", "--encoder-header-table-size=65536", "-H", "x-test: " + strings.Repeat("z", 2000)},
		"/index.html", "/style.css?again", "/missing")
	wait()
	steps := rec.get()
	for seed := range 3 {
		d := NewDecoder(peerOpts)
		evs := decodeSteps(t, d, steps, int64(seed))
		compareFrames(t, evs, steps, defaultInit)
		checkExchanges(t, evs, []served{{"GET", "/index.html", 200, 39000}, {"GET", "/style.css", 200, 17},
			{"GET", "/style.css?again", 200, 17}, {"GET", "/missing", 404, -1}})
		pp := ofType(evs, TypePushPromise)
		if len(pp) != 1 || get(pp[0], "path") != "/style.css" {
			t.Errorf("PUSH_PROMISE: %q", lines(pp))
		}
		t.Logf("%d PRIORITY frames", len(ofType(evs, TypePriority)))
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	defer ln.Close()
	return strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listening on %s", addr)
}
