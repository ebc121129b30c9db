//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP scenarios run net/http, golang.org/x/net/http2 and
// github.com/coder/websocket peers. Their servers listen on serverPort
// (plain) or tlsPort (TLS); every client makes exactly one connection,
// from the first client port, and checks what it received.

// handlers wraps a scenario's server handlers: it drops the Date header
// (so that reruns differ less), counts the handlers still running and
// collects their complaints: a handler that saw something other than
// what the client should have sent fails the scenario.
type handlers struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (h *handlers) wrap(next http.Handler) http.Handler {
	next = noDate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.wg.Add(1)
		defer h.wg.Done()
		next.ServeHTTP(w, r)
	})
}

// noDate drops the Date header net/http and x/net/http2 add to answers.
func noDate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		next.ServeHTTP(w, r)
	})
}

func (h *handlers) fail(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, fmt.Errorf("server: "+format, args...))
}

// wait waits for the running handlers and reports their complaints.
func (h *handlers) wait() error {
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return errors.Join(h.errs...)
}

// lockedBuffer is a bytes.Buffer for a log.Logger written from several
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// httpServer is a net/http server in the server's namespace.
type httpServer struct {
	handlers
	srv    *http.Server
	served chan error   // Serve's result
	conns  atomic.Int32 // connections accepted
	ended  atomic.Int32 // connections closed or hijacked
	log    lockedBuffer // the server's ErrorLog
}

// serveHTTP starts an http.Server for h on port, with TLS when cfg is
// not nil (ServeTLS, which offers ALPN h2 and http/1.1).
func (e *env) serveHTTP(port uint16, h http.Handler, cfg *tls.Config) (*httpServer, error) {
	ln, err := e.listen(e.serverAddr(false, port))
	if err != nil {
		return nil, err
	}
	s := &httpServer{served: make(chan error, 1)}
	s.srv = &http.Server{
		Handler:   s.wrap(h),
		TLSConfig: cfg,
		ErrorLog:  log.New(&s.log, "", 0),
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.conns.Add(1)
				c.SetDeadline(time.Now().Add(peerTimeout))
			case http.StateClosed, http.StateHijacked:
				s.ended.Add(1)
			}
		},
	}
	go func() {
		if cfg != nil {
			s.served <- s.srv.ServeTLS(ln, "", "")
		} else {
			s.served <- s.srv.Serve(ln)
		}
	}()
	return s, nil
}

// close shuts the server down once the client is done, waits for its
// handlers (hijacked connections included) and reports what went wrong
// on its side: a handler's complaint, a logged error, or another number
// of connections than the one the client should have made. It first
// waits for the server to close its connections by itself (seeing the
// client's FIN), so that Shutdown, which closes idle connections, does
// not race the client's close.
func (s *httpServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	var errs []error
	for s.ended.Load() < s.conns.Load() {
		if ctx.Err() != nil {
			errs = append(errs, errors.New("server: a connection is still open after the client is done"))
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	errs = append(errs, s.srv.Shutdown(ctx))
	if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("server: serve: %w", err))
	}
	errs = append(errs, s.wait())
	if n := s.conns.Load(); n != 1 {
		errs = append(errs, fmt.Errorf("server: %d connections; want 1", n))
	}
	if l := s.log.String(); l != "" {
		errs = append(errs, fmt.Errorf("server: logged %q", l))
	}
	return errors.Join(errs...)
}

// dialOnce is an HTTP client's DialContext: it connects from the first
// client port to port on the server, whatever address the client asks
// for, and fails if asked a second time.
func (e *env) dialOnce(port uint16) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialed atomic.Bool
	return func(context.Context, string, string) (net.Conn, error) {
		if dialed.Swap(true) {
			return nil, errors.New("client: a second connection; the scenario makes one")
		}
		return e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, port), dialOpts{})
	}
}

// readBody reads a response body to its end and checks it against want.
func readBody(resp *http.Response, want []byte) error {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("client: %s: read body: %w", resp.Request.URL.Path, err)
	}
	if !bytes.Equal(b, want) {
		return fmt.Errorf("client: %s: %d-byte body; want %d bytes of pattern", resp.Request.URL.Path, len(b), len(want))
	}
	return nil
}

// inOrder runs the requests of an HTTP/2 client concurrently, starting
// each one when the previous one's HEADERS are written, so that stream
// IDs follow the order of reqs. It returns the first error.
func inOrder(reqs []func(ctx context.Context) error) error {
	errs := make(chan error, len(reqs))
	for _, r := range reqs {
		wrote := make(chan struct{})
		var once sync.Once
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			WroteHeaders: func() { once.Do(func() { close(wrote) }) },
		})
		go func() {
			err := r(ctx)
			once.Do(func() { close(wrote) })
			errs <- err
		}()
		<-wrote
	}
	var all []error
	for range reqs {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// Bodies of http1-keepalive.
const (
	keepAliveChunk  = 1000 // each of /chunked's three chunks
	keepAliveLength = 6000 // /length's body
	keepAliveHead   = 12000
	keepAliveUpload = 512
)

// http1KeepAlive: net/http client and server, one keep-alive connection,
// GET (chunked), GET (Content-Length), HEAD, POST with Expect:
// 100-continue; the client closes first.
func http1KeepAlive(e *env) error {
	var s *httpServer
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		body := pattern(3 * keepAliveChunk)
		for i := range 3 {
			if i > 0 {
				time.Sleep(10 * time.Millisecond)
			}
			w.Write(body[i*keepAliveChunk : (i+1)*keepAliveChunk])
			w.(http.Flusher).Flush() // one chunk per flush
		}
	})
	mux.HandleFunc("GET /length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(keepAliveLength))
		w.Write(pattern(keepAliveLength))
	})
	mux.HandleFunc("/head", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			s.fail("%s /head; want HEAD", r.Method)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(keepAliveHead))
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Expect") != "100-continue" {
			s.fail("POST /upload: Expect %q; want 100-continue", r.Header.Get("Expect"))
		}
		b, err := io.ReadAll(r.Body) // the first read sends "100 Continue"
		if err != nil || !bytes.Equal(b, pattern(keepAliveUpload)) {
			s.fail("POST /upload: read %d bytes, %v; want %d bytes of pattern", len(b), err, keepAliveUpload)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "stored %d bytes\n", len(b))
	})
	s, err := e.serveHTTP(serverPort, mux, nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{DialContext: e.dialOnce(serverPort), ExpectContinueTimeout: 5 * time.Second}
	cerr := keepAliveClient(&http.Client{Transport: tr})
	tr.CloseIdleConnections() // the client's FIN comes first
	return errors.Join(cerr, s.close())
}

func keepAliveClient(c *http.Client) error {
	const base = "http://server.test:8080"
	resp, err := c.Get(base + "/chunked")
	if err != nil {
		return err
	}
	if !slices.Equal(resp.TransferEncoding, []string{"chunked"}) || resp.ContentLength != -1 {
		return fmt.Errorf("client: /chunked: transfer encoding %q, length %d; want chunked", resp.TransferEncoding, resp.ContentLength)
	}
	if err := readBody(resp, pattern(3*keepAliveChunk)); err != nil {
		return err
	}

	if resp, err = c.Get(base + "/length"); err != nil {
		return err
	}
	if resp.ContentLength != keepAliveLength || resp.TransferEncoding != nil {
		return fmt.Errorf("client: /length: length %d, transfer encoding %q; want Content-Length %d", resp.ContentLength, resp.TransferEncoding, keepAliveLength)
	}
	if err := readBody(resp, pattern(keepAliveLength)); err != nil {
		return err
	}

	if resp, err = c.Head(base + "/head"); err != nil {
		return err
	}
	if resp.ContentLength != keepAliveHead {
		return fmt.Errorf("client: HEAD /head: length %d; want %d", resp.ContentLength, keepAliveHead)
	}
	if err := readBody(resp, nil); err != nil {
		return err
	}

	var got100 atomic.Bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/upload", bytes.NewReader(pattern(keepAliveUpload)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Expect", "100-continue")
	if resp, err = c.Do(req); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated || !got100.Load() {
		return fmt.Errorf("client: POST /upload: %s, 100 Continue %v; want 201 after a 100", resp.Status, got100.Load())
	}
	return readBody(resp, fmt.Appendf(nil, "stored %d bytes\n", keepAliveUpload))
}

// pipelinedReq is one of http1-pipelined's requests and the body length
// its answer announces.
type pipelinedReq struct {
	method, path string
	length       int
	close        bool
}

var pipelinedReqs = []pipelinedReq{
	{"GET", "/pipelined/1", 2000, false},
	{"HEAD", "/pipelined/2", 5000, false},
	{"GET", "/pipelined/3", 3000, true},
}

func (p pipelinedReq) bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: server.test:8080\r\nUser-Agent: wiretrace-gencap\r\nAccept: */*\r\n", p.method, p.path)
	if p.close {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// http1Pipelined: a raw client writes three requests at once; net/http
// answers them one after another, the last with Connection: close, and
// closes first.
func http1Pipelined(e *env) error {
	var s *httpServer
	mux := http.NewServeMux()
	for _, p := range pipelinedReqs {
		mux.HandleFunc(p.path, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != p.method {
				s.fail("%s %s; want %s", r.Method, r.URL.Path, p.method)
			}
			time.Sleep(20 * time.Millisecond) // think
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", fmt.Sprint(p.length))
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				w.Write(pattern(p.length))
			}
		})
	}
	s, err := e.serveHTTP(serverPort, mux, nil)
	if err != nil {
		return err
	}
	return errors.Join(pipelinedClient(e), s.close())
}

func pipelinedClient(e *env) error {
	c, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	var all []byte
	for _, p := range pipelinedReqs {
		all = append(all, p.bytes()...)
	}
	if _, err := c.Write(all); err != nil { // one write, one segment
		return err
	}
	br := bufio.NewReader(c)
	for _, p := range pipelinedReqs {
		req, err := http.NewRequest(p.method, "http://server.test:8080"+p.path, nil)
		if err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return fmt.Errorf("client: read answer to %s %s: %w", p.method, p.path, err)
		}
		if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(p.length) || resp.Close != p.close {
			return fmt.Errorf("client: %s %s: %s, length %d, close %v; want 200, %d, %v", p.method, p.path, resp.Status, resp.ContentLength, resp.Close, p.length, p.close)
		}
		want := pattern(p.length)
		if p.method == http.MethodHead {
			want = nil
		}
		if err := readBody(resp, want); err != nil {
			return err
		}
	}
	// The server closes after the last answer.
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		return fmt.Errorf("client: after the last answer: %d more bytes, %v; want EOF", len(rest), err)
	}
	return nil
}
