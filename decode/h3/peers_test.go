package h3

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/wiretrace/wiretrace/decode"
)

// chunkRec is one run of stream bytes the proxy relayed.
type chunkRec struct {
	id    int64
	dir   decode.Dir
	data  []byte
	fin   bool
	reset bool
	at    time.Time
}

// recorder keeps the relayed stream bytes in the order they passed.
type recorder struct {
	mu     sync.Mutex
	chunks []chunkRec
}

func (r *recorder) add(c chunkRec) {
	c.at = time.Now()
	r.mu.Lock()
	r.chunks = append(r.chunks, c)
	r.mu.Unlock()
}

// pipe copies a QUIC stream direction and records it under the client
// leg's stream ID.
func (r *recorder) pipe(wg *sync.WaitGroup, id int64, dir decode.Dir, src io.Reader, dst io.WriteCloser) {
	defer wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			r.add(chunkRec{id: id, dir: dir, data: slices.Clone(buf[:n])})
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			r.add(chunkRec{id: id, dir: dir, fin: true})
			dst.Close()
			return
		}
		if err != nil {
			var se *quic.StreamError
			if errors.As(err, &se) {
				r.add(chunkRec{id: id, dir: dir, reset: true})
			}
			return
		}
	}
}

// proxy relays one HTTP/3 connection stream by stream between a client
// (c) and the server (up), recording what passes: the application bytes
// the quic decoder would hand to an h3 Decoder.
func (r *recorder) proxy(ctx context.Context, wg *sync.WaitGroup, c, up *quic.Conn) {
	wg.Add(3)
	go func() { // requests
		defer wg.Done()
		for {
			s, err := c.AcceptStream(ctx)
			if err != nil {
				return
			}
			u, err := up.OpenStreamSync(ctx)
			if err != nil {
				return
			}
			id := int64(s.StreamID())
			wg.Add(2)
			go r.pipe(wg, id, decode.C2S, s, u)
			go r.pipe(wg, id, decode.S2C, u, s)
		}
	}()
	go func() { // the client's unidirectional streams
		defer wg.Done()
		for {
			s, err := c.AcceptUniStream(ctx)
			if err != nil {
				return
			}
			u, err := up.OpenUniStreamSync(ctx)
			if err != nil {
				return
			}
			wg.Add(1)
			go r.pipe(wg, int64(s.StreamID()), decode.C2S, s, u)
		}
	}()
	go func() { // the server's unidirectional streams
		defer wg.Done()
		for {
			s, err := up.AcceptUniStream(ctx)
			if err != nil {
				return
			}
			u, err := c.OpenUniStreamSync(ctx)
			if err != nil {
				return
			}
			wg.Add(1)
			go r.pipe(wg, int64(s.StreamID()), decode.S2C, s, u)
		}
	}()
}

func selfSigned(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
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
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestQuicGoPeers runs quic-go's HTTP/3 client and server over loopback
// through a recording stream proxy and decodes what they sent.
func TestQuicGoPeers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cert, pool := selfSigned(t, "h3.test")
	srvTLS := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{http3.NextProtoH3}}

	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Test", "yes")
		io.WriteString(w, "hello, world")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write(b)
	})
	ln, err := quic.ListenAddr("127.0.0.1:0", srvTLS, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http3.Server{Handler: mux}
	go srv.ServeListener(ln)
	defer srv.Close()

	pln, err := quic.ListenAddr("127.0.0.1:0", srvTLS, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pln.Close()
	var rec recorder
	var wg sync.WaitGroup
	conns := make(chan [2]*quic.Conn, 1)
	go func() {
		c, err := pln.Accept(ctx)
		if err != nil {
			return
		}
		up, err := quic.DialAddr(ctx, ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "h3.test", NextProtos: []string{http3.NextProtoH3}}, nil)
		if err != nil {
			c.CloseWithError(0, "")
			return
		}
		rec.proxy(ctx, &wg, c, up)
		conns <- [2]*quic.Conn{c, up}
	}()

	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "h3.test"}}
	client := &http.Client{Transport: tr}
	base := "https://" + pln.Addr().String()
	res, err := client.Get(base + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hello, world" {
		t.Fatalf("body %q", body)
	}
	res, err = client.Post(base+"/echo", "application/octet-stream", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	res.Body.Close()
	tr.Close()
	cs := <-conns
	cs[0].CloseWithError(0, "")
	cs[1].CloseWithError(0, "")
	wg.Wait()

	r := newRec(Options{})
	rec.mu.Lock()
	for i, c := range rec.chunks {
		at := decode.Position{Frame: int64(i + 1), TS: c.at}
		if c.reset {
			r.d.StreamReset(c.id, c.dir, at, r.emit)
			continue
		}
		if err := r.d.StreamData(c.id, c.dir, c.data, c.fin, at, r.emit); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Unlock()
	r.d.End(decode.Position{Frame: int64(len(rec.chunks) + 1), TS: time.Now()}, r.emit)

	for _, e := range r.events {
		t.Logf("%s %s %s stream=%d len=%d flags=%b %v", e.Dir, e.Layer, e.Type, e.Stream, e.Len, e.Flags, e.Info)
		if e.Info.Has("error") || e.Layer == decode.LayerConn {
			t.Errorf("error event %s/%s: %v", e.Layer, e.Type, e.Info)
		}
	}
	var streams []string
	for _, e := range r.find(TypeStream, -1) {
		streams = append(streams, e.Dir.String()+":"+str(e, "stream_type"))
	}
	if !slices.Contains(streams, "c2s:control") || !slices.Contains(streams, "s2c:control") {
		t.Errorf("stream types %q", streams)
	}
	if len(r.find("SETTINGS", -1)) != 2 {
		t.Errorf("want a SETTINGS frame each way")
	}
	hs := r.find("HEADERS", 0)
	if len(hs) != 2 {
		t.Fatalf("HEADERS on stream 0: %v", hs)
	}
	if str(hs[0], "method") != "GET" || str(hs[0], "path") != "/hello" || str(hs[0], "authority") != pln.Addr().String() ||
		str(hs[0], "scheme") != "https" || hs[0].Flags != decode.FlagRequest|decode.FlagAppData {
		t.Errorf("request %v flags %b", hs[0].Info, hs[0].Flags)
	}
	if num(hs[1], "status") != 200 || str(hs[1], "content_type") != "text/plain" || !slices.Contains(headers(hs[1]), "x-test: yes") ||
		hs[1].Flags != decode.FlagReply|decode.FlagAppData {
		t.Errorf("response %v flags %b", hs[1].Info, hs[1].Flags)
	}
	ex := r.find(TypeExchange, -1)
	if len(ex) != 2 {
		t.Fatalf("exchanges %v", ex)
	}
	want := []struct {
		method, path string
		status       int64
		req, resp    int64
	}{{"GET", "/hello", 200, 0, 12}, {"POST", "/echo", 201, 4, 4}}
	for i, w := range want {
		e := ex[i]
		if str(e, "method") != w.method || str(e, "path") != w.path || num(e, "status") != w.status ||
			num(e, "req_bytes") != w.req || num(e, "resp_bytes") != w.resp || e.Info.Has("incomplete") || e.Info.Has("reset") {
			t.Errorf("exchange %d: %v, want %+v", i, e.Info, w)
		}
	}
	if got := r.d.Summary(); num(decode.Event{Info: got}, "requests") != 2 {
		t.Errorf("summary %v", got)
	}
}
