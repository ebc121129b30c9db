package http1

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Real peers: Go's net/http server on loopback TCP, talked to by net/http
// clients, a raw pipelining client and curl. The server's accepted
// connections are wrapped so that what it reads (c2s) and writes (s2c) is
// recorded in the order it happened; each connection's log is fed to a
// Decoder in random-sized pieces and the decoded exchanges are checked
// against what the peers sent.

type chunk struct {
	dir  decode.Dir
	data []byte
}

// tap records the traffic of every connection a listener accepts.
type tap struct {
	net.Listener
	mu    sync.Mutex
	conns []*[]chunk
}

type tapConn struct {
	net.Conn
	t   *tap
	log *[]chunk
}

func (t *tap) Accept() (net.Conn, error) {
	c, err := t.Listener.Accept()
	if err != nil {
		return nil, err
	}
	log := new([]chunk)
	t.mu.Lock()
	t.conns = append(t.conns, log)
	t.mu.Unlock()
	return tapConn{c, t, log}, nil
}

func (c tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.add(decode.C2S, b[:n])
	return n, err
}

// Write logs b before writing it: logged after, the client could read the
// answer and the test look at the log before the server's goroutine adds
// it.
func (c tapConn) Write(b []byte) (int, error) {
	c.add(decode.S2C, b)
	return c.Conn.Write(b)
}

func (c tapConn) add(dir decode.Dir, b []byte) {
	if len(b) == 0 {
		return
	}
	c.t.mu.Lock()
	*c.log = append(*c.log, chunk{dir, append([]byte(nil), b...)})
	c.t.mu.Unlock()
}

// logs returns a copy of the connection logs.
func (t *tap) logs() [][]chunk {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out [][]chunk
	for _, l := range t.conns {
		out = append(out, slices.Clone(*l))
	}
	return out
}

// testServer serves, by path:
//
//	/size/N      N bytes with Content-Length
//	/chunked/N   N bytes in flushed pieces of 100 (chunked coding)
//	/status/N    status N, no body
//	/close/N     N bytes, then Connection: close
//	/echo        the request body back, counted in X-Got
func testServer(t *testing.T) (*tap, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	tp := &tap{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(serve), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(tp)
	t.Cleanup(func() { srv.Close() })
	return tp, "http://" + ln.Addr().String()
}

func serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	n := 0
	if len(parts) > 1 {
		n, _ = strconv.Atoi(parts[1])
	}
	body := bytes.Repeat([]byte("x"), n)
	switch parts[0] {
	case "size":
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body)
	case "chunked":
		for len(body) > 0 {
			k := min(len(body), 100)
			w.Write(body[:k])
			w.(http.Flusher).Flush()
			body = body[k:]
		}
	case "status":
		w.WriteHeader(n)
	case "close":
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body)
	case "echo":
		got, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Got", strconv.Itoa(len(got)))
		w.Write(got)
	default:
		http.NotFound(w, r)
	}
}

// xchg is what the test expects of one exchange.
type xchg struct {
	method, path      string
	status            int
	reqBytes, rspByte uint64
}

func (x xchg) String() string {
	return fmt.Sprintf("%s %s %d req=%d resp=%d", x.method, x.path, x.status, x.reqBytes, x.rspByte)
}

// decodeLog feeds one connection's log to a Decoder in random pieces and
// returns its exchanges and every event.
func decodeLog(t *testing.T, log []chunk, r *rand.Rand) ([]xchg, []decode.Event) {
	t.Helper()
	d := NewDecoder(Options{})
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	for i, c := range log {
		b := c.data
		for len(b) > 0 {
			n := 1 + r.IntN(min(len(b), 300))
			if err := d.Data(c.dir, b[:n], at(i), emit); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	}
	d.End(at(len(log)), emit)
	var out []xchg
	for _, e := range evs {
		switch e.Type {
		case TypeExchange:
			m, _ := e.Info.Get("method")
			p, _ := e.Info.Get("path")
			st, _ := e.Info.Get("status")
			rq, _ := e.Info.Get("req_bytes")
			rs, _ := e.Info.Get("resp_bytes")
			if e.Info.Has("incomplete") {
				t.Errorf("incomplete exchange: %v", e.Info)
			}
			out = append(out, xchg{m.Str, p.Str, int(st.Int), uint64(rq.Int), uint64(rs.Int)})
		case decode.TypeDecodeError, decode.TypeCapLimit:
			t.Errorf("%s: %v", e.Type, e.Info)
		}
	}
	return out, evs
}

// checkConns decodes every recorded connection and compares the
// exchanges, in order, with want.
func checkConns(t *testing.T, tp *tap, want []xchg) []decode.Event {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	var got []xchg
	var all []decode.Event
	for _, log := range tp.logs() {
		x, evs := decodeLog(t, log, r)
		got = append(got, x...)
		all = append(all, evs...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("exchanges:\n%v\nwant:\n%v", got, want)
	}
	return all
}

func TestPeersKeepAlive(t *testing.T) {
	tp, base := testServer(t)
	cl := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}}
	defer cl.CloseIdleConnections()
	var want []xchg
	get := func(method, path string, body io.Reader, wantStatus int, reqN, respN uint64) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != wantStatus || method != "HEAD" && uint64(len(got)) != respN {
			t.Fatalf("%s %s: status %d, %d bytes", method, path, res.StatusCode, len(got))
		}
		want = append(want, xchg{method, path, wantStatus, reqN, respN})
	}
	get("GET", "/size/1000", nil, 200, 0, 1000)
	get("GET", "/chunked/1050", nil, 200, 0, 1050)
	get("HEAD", "/size/777", nil, 200, 0, 0)
	get("GET", "/status/204", nil, 204, 0, 0)
	get("GET", "/status/304", nil, 304, 0, 0)
	get("POST", "/echo", strings.NewReader(strings.Repeat("y", 5000)), 200, 5000, 5000)
	// A body of unknown length goes chunked.
	get("PUT", "/echo", io.MultiReader(strings.NewReader("abc"), strings.NewReader("defg")), 200, 7, 7)
	get("GET", "/nothing", nil, 404, 0, 19)
	get("GET", "/close/10", nil, 200, 0, 10)
	get("GET", "/size/0", nil, 200, 0, 0)
	cl.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	evs := checkConns(t, tp, want)
	if n := len(tp.logs()); n != 2 {
		t.Errorf("%d connections; want 2 (one closed by Connection: close)", n)
	}
	var chunks, closes int
	for _, e := range evs {
		if f, ok := e.Info.Get("resp_chunks"); ok && f.Int >= 11 {
			chunks++
		}
		if e.Type == TypeResponse && e.Info.Has("close") {
			closes++
		}
	}
	if chunks != 1 || closes != 1 {
		t.Errorf("%d exchanges with 11+ chunks, %d closing responses; want 1, 1", chunks, closes)
	}
}

func TestPeersExpectContinue(t *testing.T) {
	tp, base := testServer(t)
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	cl := &http.Client{Transport: tr}
	defer cl.CloseIdleConnections()
	req, _ := http.NewRequest("POST", base+"/echo", strings.NewReader(strings.Repeat("z", 3000)))
	req.Header.Set("Expect", "100-continue")
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	evs := checkConns(t, tp, []xchg{{"POST", "/echo", 200, 3000, 3000}})
	var statuses []int64
	for _, e := range evs {
		if e.Type == TypeResponse {
			f, _ := e.Info.Get("status")
			statuses = append(statuses, f.Int)
		}
	}
	if !slices.Equal(statuses, []int64{100, 200}) {
		t.Errorf("responses %v; want [100 200]", statuses)
	}
}

// TestPeersPipelined writes several requests before reading any answer.
func TestPeersPipelined(t *testing.T) {
	tp, base := testServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reqs := "GET /size/300 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"HEAD /size/50 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd" +
		"GET /chunked/250 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"GET /size/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, reqs); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i, m := range []string{"GET", "HEAD", "POST", "GET", "GET"} {
		res, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	io.Copy(io.Discard, br) // until the server closes
	checkConns(t, tp, []xchg{
		{"GET", "/size/300", 200, 0, 300},
		{"HEAD", "/size/50", 200, 0, 0},
		{"POST", "/echo", 200, 4, 4},
		{"GET", "/chunked/250", 200, 0, 250},
		{"GET", "/size/1", 200, 0, 1},
	})
}

// TestPeersCurl runs Debian's curl against the Go server: keep-alive over
// two URLs, a POST with data, and HTTP/1.0.
func TestPeersCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	tp, base := testServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{base + "/size/2000", base + "/chunked/333"},
		{"--data-binary", "hello=world", base + "/echo"},
		{"-0", base + "/size/5"},
	} {
		out, err := exec.CommandContext(ctx, curl, append([]string{"-sS", "-o", "/dev/null", "-o", "/dev/null"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v: %s", args, err, out)
		}
	}
	time.Sleep(50 * time.Millisecond)
	checkConns(t, tp, []xchg{
		{"GET", "/size/2000", 200, 0, 2000},
		{"GET", "/chunked/333", 200, 0, 333},
		{"POST", "/echo", 200, 11, 11},
		{"GET", "/size/5", 200, 0, 5},
	})
}
