package h2

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/decode"
)

// Real peers: x/net's HTTP/2 server and client over loopback TCP. The
// client's connection is wrapped so that its writes (c2s) and reads (s2c)
// are recorded in the order the client saw them, as a capture next to it
// would. The recording is decoded in random-sized chunks and checked
// against a plain parse of the same bytes with x/net's Framer and HPACK
// decoder, and against what the client and the handler saw.

// recorder keeps both directions' bytes in the order they passed.
type recorder struct {
	mu    sync.Mutex
	steps []step
}

func (r *recorder) add(dir decode.Dir, b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	r.steps = append(r.steps, step{dir, bytes.Clone(b)})
	r.mu.Unlock()
}

func (r *recorder) get() []step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slicesClone(r.steps)
}

func slicesClone(s []step) []step { return append([]step(nil), s...) }

// recConn records a client's connection.
type recConn struct {
	net.Conn
	rec *recorder
}

func (c recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.rec.add(decode.S2C, b[:n])
	return n, err
}

func (c recConn) Write(b []byte) (int, error) {
	c.rec.add(decode.C2S, b)
	return c.Conn.Write(b)
}

// h2cServer serves handler with x/net's HTTP/2 server (prior knowledge)
// on a loopback listener; shutdown starts a graceful shutdown (GOAWAY).
func h2cServer(t testing.TB, handler http.Handler, conf *http2.Server) (addr string, shutdown func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	hs := &http.Server{Handler: handler}
	if conf == nil {
		conf = &http2.Server{}
	}
	if err := http2.ConfigureServer(hs, conf); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				conf.ServeConn(c, &http2.ServeConnOpts{BaseConfig: hs, Handler: handler})
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); hs.Close(); wg.Wait() })
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}
}

// h2cClient is x/net's Transport speaking prior-knowledge h2c over a
// recorded connection.
func h2cClient(rec *recorder) *http2.Transport {
	return &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return recConn{c, rec}, nil
		},
	}
}

// refFrame is a frame as the reference parse sees it.
type refFrame struct {
	typ    http2.FrameType
	flags  http2.Flags
	id     uint32
	length uint32
	// fields is the decoded header block, on the frame that starts it.
	fields []string
	inc    uint32 // WINDOW_UPDATE
}

// refParse reads one direction with x/net's Framer, header blocks with
// an HPACK decoder of the given table size.
func refParse(t *testing.T, b []byte, dir decode.Dir, table uint32) []refFrame {
	t.Helper()
	if dir == decode.C2S {
		if !bytes.HasPrefix(b, []byte(http2.ClientPreface)) {
			t.Fatalf("no preface")
		}
		b = b[len(http2.ClientPreface):]
	}
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	fr.AllowIllegalReads = true
	// Any table size update is taken: the decoder's bound is what the
	// test checks.
	dec := hpack.NewDecoder(table, nil)
	dec.SetAllowedMaxDynamicTableSize(1 << 20)
	var out []refFrame
	var block []byte
	start := -1
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reference parse: %v", err)
		}
		h := f.Header()
		r := refFrame{typ: h.Type, flags: h.Flags, id: h.StreamID, length: h.Length}
		ended := false
		switch f := f.(type) {
		case *http2.HeadersFrame:
			start, block, ended = len(out), append(block[:0], f.HeaderBlockFragment()...), f.HeadersEnded()
		case *http2.PushPromiseFrame:
			start, block, ended = len(out), append(block[:0], f.HeaderBlockFragment()...), f.HeadersEnded()
		case *http2.ContinuationFrame:
			block, ended = append(block, f.HeaderBlockFragment()...), f.HeadersEnded()
		case *http2.WindowUpdateFrame:
			r.inc = f.Increment
		}
		out = append(out, r)
		if ended {
			hf, err := dec.DecodeFull(block)
			if err != nil {
				t.Fatalf("reference HPACK: %v", err)
			}
			for _, f := range hf {
				out[start].fields = append(out[start].fields, f.Name+": "+f.Value)
			}
		}
	}
}

// decodeSteps runs a recording through a decoder in random chunks.
func decodeSteps(t *testing.T, d *Decoder, steps []step, seed int64) []decode.Event {
	t.Helper()
	return runChunks(d, steps, rand.New(rand.NewSource(seed)))
}

// peerOpts shows every header in full, for the comparison.
var peerOpts = Options{MaxHeaders: 1000, MaxString: 1 << 20}

// compareFrames checks our frame events of each direction against the
// reference parse: type, stream, length, flags, header fields, WINDOW_UPDATE
// increments; and the connection windows after every DATA and
// WINDOW_UPDATE against the sums of the reference frames.
func compareFrames(t *testing.T, evs []decode.Event, steps []step, init [2]int64) {
	t.Helper()
	var ours [2][]decode.Event
	for _, e := range evs {
		if e.Layer == decode.LayerHTTP2 && e.Type != TypeExchange && e.Type != TypePreface {
			ours[e.Dir.Index()] = append(ours[e.Dir.Index()], e)
		}
		if e.Type == decode.TypeDecodeError || e.Type == decode.TypeCapLimit {
			t.Errorf("unexpected %s", line(e))
		}
	}
	var all [2][]byte
	for _, st := range steps {
		all[st.dir.Index()] = append(all[st.dir.Index()], st.data...)
	}
	for _, dir := range []decode.Dir{decode.C2S, decode.S2C} {
		i := dir.Index()
		ref := refParse(t, all[i], dir, 4096)
		if len(ref) != len(ours[i]) {
			t.Errorf("%s: %d frames; reference %d", dir, len(ours[i]), len(ref))
		}
		for j := 0; j < len(ref) && j < len(ours[i]); j++ {
			r, e := ref[j], ours[i][j]
			if e.Type != frameTypeName(r.typ) || e.Stream != int64(r.id) || e.Len != int64(r.length) {
				t.Fatalf("%s frame %d: got %s; reference %s stream %d len %d", dir, j, line(e), r.typ, r.id, r.length)
			}
			if got, want := get(e, "flags"), strings.Join(flagNames(r.typ, r.flags), ","); got != want {
				t.Errorf("%s frame %d: flags %q; reference %q", dir, j, got, want)
			}
			if r.fields != nil {
				f, _ := e.Info.Get("headers")
				if strings.Join(f.Strs, "\n") != strings.Join(r.fields, "\n") {
					t.Errorf("%s frame %d: headers %q; reference %q", dir, j, f.Strs, r.fields)
				}
			}
			if r.typ == http2.FrameWindowUpdate && get(e, "increment") != strconv.FormatUint(uint64(r.inc), 10) {
				t.Errorf("%s frame %d: %s; reference increment %d", dir, j, line(e), r.inc)
			}
			if e.Info.Has("error") || e.Info.Has("oversize") {
				t.Errorf("%s frame %d: %s", dir, j, line(e))
			}
		}
	}
	// Windows, in event order: the connection's start at 65,535, a
	// stream's at the receiver's SETTINGS_INITIAL_WINDOW_SIZE (these peers
	// send it before any stream opens); the sender's DATA lowers them,
	// the receiver's WINDOW_UPDATEs raise them.
	conn := [2]int64{initialWindow, initialWindow}
	streams := map[int64]*[2]int64{}
	for _, e := range evs {
		if e.Layer != decode.LayerHTTP2 {
			continue
		}
		sender := e.Dir.Reverse().Index()
		if e.Type == TypeData {
			sender = e.Dir.Index()
		}
		if e.Type == TypeSettings && e.Info.Has("initial_window_size") {
			init[sender], _ = strconv.ParseInt(get(e, "initial_window_size"), 10, 64)
		}
		if e.Type == TypeHeaders && streams[e.Stream] == nil {
			streams[e.Stream] = &[2]int64{init[0], init[1]}
		}
		if e.Type == TypePushPromise {
			n, _ := strconv.ParseInt(get(e, "promised_stream"), 10, 64)
			streams[n] = &[2]int64{init[0], init[1]}
		}
		var delta int64
		switch e.Type {
		case TypeData:
			delta = -e.Len
		case TypeWindowUpdate:
			delta, _ = strconv.ParseInt(get(e, "increment"), 10, 64)
		default:
			continue
		}
		if e.Stream == 0 || e.Type == TypeData {
			conn[sender] += delta
		}
		if got := get(e, "conn_window"); got != strconv.FormatInt(conn[sender], 10) {
			t.Errorf("%s: conn_window %s; want %d", line(e), got, conn[sender])
		}
		if st := streams[e.Stream]; e.Stream != 0 && st != nil && e.Info.Has("stream_window") {
			st[sender] += delta
			if got := get(e, "stream_window"); got != strconv.FormatInt(st[sender], 10) {
				t.Errorf("%s: stream_window %s; want %d", line(e), got, st[sender])
			}
		}
		if conn[sender] < 0 || strings.HasPrefix(get(e, "stream_window"), "-") {
			t.Errorf("%s: a Go peer overran its window", line(e))
		}
	}
}

var defaultInit = [2]int64{initialWindow, initialWindow}

// served is what the client got for one request; body -1: not checked.
type served struct {
	method, path string
	status       int
	body         int64
}

// checkExchanges matches the exchange events to the requests made.
func checkExchanges(t *testing.T, evs []decode.Event, want []served) {
	t.Helper()
	ex := ofType(evs, TypeExchange)
	left := append([]served(nil), want...)
	for _, e := range ex {
		found := false
		for i, w := range left {
			if get(e, "path") == w.path && get(e, "method") == w.method {
				if get(e, "status") != strconv.Itoa(w.status) || w.body >= 0 && get(e, "resp_bytes") != strconv.FormatInt(w.body, 10) {
					t.Errorf("%s; client saw status %d, %d bytes", line(e), w.status, w.body)
				}
				left = append(left[:i], left[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			t.Errorf("unexpected %s", line(e))
		}
	}
	for _, w := range left {
		t.Errorf("no exchange for %s %s", w.method, w.path)
	}
}

// testHandler answers /size/N with N bytes, /upload by reading the body,
// /trailers with trailers, /slow after the request is cancelled, and
// application/grpc requests like a gRPC server.
func testHandler(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/size/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/size/"))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(make([]byte, n))
	case r.URL.Path == "/upload":
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d", n)
	case r.URL.Path == "/trailers":
		w.Header().Set("Trailer", "X-Checksum")
		w.Write([]byte("body"))
		w.Header().Set("X-Checksum", "abc")
	case r.URL.Path == "/slow":
		<-r.Context().Done()
	case r.Header.Get("Content-Type") == "application/grpc":
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.Write([]byte{0, 0, 0, 0, 2, 8, 1})
		w.Header().Set("Grpc-Status", "3")
		w.Header().Set("Grpc-Message", "bad argument")
	default:
		w.Write([]byte("hello"))
	}
}

func TestPeersPriorKnowledge(t *testing.T) {
	addr, shutdown := h2cServer(t, http.HandlerFunc(testHandler), &http2.Server{MaxUploadBufferPerStream: 100000, MaxUploadBufferPerConnection: 200000})
	rec := &recorder{}
	tr := h2cClient(rec)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	base := "http://" + addr
	var mu sync.Mutex
	var want []served
	do := func(req *http.Request) {
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", req.URL.Path, err)
			return
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		want = append(want, served{req.Method, req.URL.Path, resp.StatusCode, n})
		mu.Unlock()
	}
	fetch := func(path string) { req, _ := http.NewRequest("GET", base+path, nil); do(req) }
	fetch("/") // the connection is up: the rest share it
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); fetch("/size/" + strconv.Itoa(1000*i+7)) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); fetch("/size/3000000") }() // many DATA frames and WINDOW_UPDATEs
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest("POST", base+"/upload", bytes.NewReader(make([]byte, 700000))) // over the server's windows
		do(req)
	}()
	wg.Wait()
	fetch("/trailers")
	req, _ := http.NewRequest("POST", base+"/helloworld.Greeter/SayHello", bytes.NewReader([]byte{0, 0, 0, 0, 0}))
	req.Header.Set("Content-Type", "application/grpc")
	do(req)
	// A cancelled request: the client resets the stream.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "GET", base+"/slow", nil)
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if _, err := client.Do(req); err == nil {
		t.Error("/slow: no error after cancel")
	}
	time.Sleep(100 * time.Millisecond)
	shutdown() // GOAWAY
	time.Sleep(200 * time.Millisecond)
	tr.CloseIdleConnections()
	steps := rec.get()

	for seed := range 3 {
		d := NewDecoder(peerOpts)
		evs := decodeSteps(t, d, steps, int64(seed))
		compareFrames(t, evs, steps, defaultInit)
		if seed > 0 {
			continue
		}
		checkExchanges(t, evs, append(want, served{"GET", "/slow", 0, 0}))
		var sawGoAway, sawReset, sawTrailers, sawGRPC bool
		bigData := 0
		for _, e := range evs {
			switch {
			case e.Type == TypeGoAway && e.Dir == decode.S2C:
				sawGoAway = true
			case e.Type == TypeRSTStream && e.Dir == decode.C2S && get(e, "error_code") == "CANCEL":
				sawReset = true
			case e.Type == TypeHeaders && get(e, "trailers") == "true" && strings.Contains(get(e, "headers"), "x-checksum: abc"):
				sawTrailers = true
			case e.Type == TypeExchange && get(e, "grpc_status") == "3" && get(e, "grpc_message") == "bad argument" &&
				get(e, "grpc_service") == "helloworld.Greeter" && get(e, "grpc_method") == "SayHello":
				sawGRPC = true
			case e.Type == TypeData && e.Dir == decode.S2C && e.Len == 16384:
				bigData++
			}
			if e.Type == TypeExchange && get(e, "path") == "/slow" && (get(e, "reset") != "true" || get(e, "error_code") != "CANCEL") {
				t.Errorf("cancelled: %s", line(e))
			}
		}
		if !sawGoAway || !sawReset || !sawTrailers || !sawGRPC || bigData < 100 {
			t.Errorf("goaway %v, reset %v, trailers %v, grpc %v, %d full DATA frames", sawGoAway, sawReset, sawTrailers, sawGRPC, bigData)
		}
		if got := get(decode.Event{Info: d.Summary()}, "requests"); got != strconv.Itoa(len(want)+1) {
			t.Errorf("requests %s; want %d", got, len(want)+1)
		}
	}
}

// rawClient is a hand-written HTTP/2 client on a recorded connection: it
// lets the server push, which x/net's Transport refuses.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func dialRaw(t *testing.T, addr string, rec *recorder) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	rc := recConn{c, rec}
	cl := &rawClient{t: t, conn: rc}
	cl.fr = http2.NewFramer(rc, rc)
	cl.enc = hpack.NewEncoder(&cl.hbuf)
	return cl
}

func (c *rawClient) request(id uint32, method, path string, end bool) {
	c.hbuf.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "push.test"}, {Name: ":path", Value: path}} {
		c.enc.WriteField(f)
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: end, EndHeaders: true}); err != nil {
		c.t.Fatal(err)
	}
}

// readUntil reads frames, acknowledging SETTINGS, until done says stop.
func (c *rawClient) readUntil(done func(f http2.Frame) bool) {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			c.fr.WriteSettingsAck()
		}
		if done(f) {
			return
		}
	}
}

// TestPeersPush: x/net's server pushes a resource to a hand-written
// client: PUSH_PROMISE reserves stream 2, the pushed response follows.
func TestPeersPush(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			if p, ok := w.(http.Pusher); ok {
				if err := p.Push("/style.css", nil); err != nil {
					t.Errorf("push: %v", err)
				}
			}
			w.Write([]byte("<html>"))
			return
		}
		w.Header().Set("Content-Type", "text/css")
		w.Write([]byte("body{}"))
	})
	addr, _ := h2cServer(t, handler, nil)
	rec := &recorder{}
	c := dialRaw(t, addr, rec)
	c.conn.Write([]byte(http2.ClientPreface))
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 1})
	c.request(1, "GET", "/", true)
	ended := map[uint32]bool{}
	c.readUntil(func(f http2.Frame) bool {
		if f.Header().Flags.Has(http2.FlagDataEndStream) && (f.Header().Type == http2.FrameData || f.Header().Type == http2.FrameHeaders) {
			ended[f.Header().StreamID] = true
		}
		return ended[1] && ended[2]
	})
	c.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	c.conn.Close()
	steps := rec.get()
	evs := decodeSteps(t, NewDecoder(peerOpts), steps, 1)
	compareFrames(t, evs, steps, defaultInit)
	pp := ofType(evs, TypePushPromise)
	if len(pp) != 1 || get(pp[0], "promised_stream") != "2" || get(pp[0], "path") != "/style.css" || get(pp[0], "method") != "GET" {
		t.Fatalf("PUSH_PROMISE: %q", lines(pp))
	}
	// The server decides which response ends first.
	ex := ofType(evs, TypeExchange)
	if len(ex) == 2 && ex[0].Stream == 2 {
		ex[0], ex[1] = ex[1], ex[0]
	}
	check(t, ex, []want{
		{TypeExchange, decode.DirNone, 1, []string{"path=/", "status=200", "resp_bytes=6"}, []string{"pushed=true"}},
		{TypeExchange, decode.DirNone, 2, []string{"path=/style.css", "status=200", "resp_bytes=6", "pushed=true", "promised_on=1"}, nil},
	})
	for _, e := range evs {
		if e.Stream == 2 && e.Type == TypeHeaders && get(e, "state") != "half-closed-local" && get(e, "state") != "closed" {
			t.Errorf("pushed HEADERS: %s", line(e))
		}
	}
}

// TestPeersUpgrade: an HTTP/1.1 request upgraded to h2c (x/net's h2c
// handler), the client hand-written; the bytes after both HTTP/1.1 heads
// go to NewUpgraded.
func TestPeersUpgrade(t *testing.T) {
	addr := upgradeServer(t)

	rec := &recorder{}
	c := dialRaw(t, addr, rec)
	settings := []byte{0, 4, 0, 1, 0, 0, 0, 3, 0, 0, 0, 50} // initial_window_size 65536, max_concurrent_streams 50
	req := "GET /size/100000 HTTP/1.1\r\nHost: up.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
		"HTTP2-Settings: " + encodeSettings(settings) + "\r\n\r\n"
	c.conn.Write([]byte(req))
	br := bufio.NewReader(c.conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, "101") {
		t.Fatalf("upgrade: %q %v", status, err)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	c.fr = http2.NewFramer(c.conn, br)
	c.conn.Write([]byte(http2.ClientPreface))
	c.fr.WriteSettings()
	var body int
	c.readUntil(func(f http2.Frame) bool {
		if d, ok := f.(*http2.DataFrame); ok {
			body += len(d.Data())
			if len(d.Data()) > 0 {
				c.fr.WriteWindowUpdate(0, uint32(len(d.Data())))
				c.fr.WriteWindowUpdate(1, uint32(len(d.Data())))
			}
			return d.StreamEnded()
		}
		return false
	})
	c.request(3, "GET", "/size/10", true)
	c.readUntil(func(f http2.Frame) bool {
		return f.Header().StreamID == 3 && f.Header().Flags.Has(http2.FlagDataEndStream)
	})
	c.conn.Close()

	h2steps := splitUpgrade(t, rec.get())
	for seed := range 3 {
		d := NewUpgraded(peerOpts, Upgraded{Settings: settings, Method: "GET", Scheme: "http", Authority: "up.test", Path: "/size/100000"})
		evs := decodeSteps(t, d, h2steps, int64(seed))
		compareFrames(t, evs, h2steps, [2]int64{initialWindow, 65536})
		checkExchanges(t, evs, []served{{"GET", "/size/100000", 200, int64(body)}, {"GET", "/size/10", 200, 10}})
	}
}

func joinDir(steps []step, dir decode.Dir) []byte {
	var b []byte
	for _, st := range steps {
		if st.dir == dir {
			b = append(b, st.data...)
		}
	}
	return b
}

// upgradeServer serves testHandler with x/net's h2c handler, which takes
// the HTTP/1.1 Upgrade to h2c, on a loopback listener.
func upgradeServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	hs := &http.Server{Handler: h2c.NewHandler(http.HandlerFunc(testHandler), &http2.Server{})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

func encodeSettings(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
