//go:build linux

// x/net v0.62 deprecates its http2.Server, Transport and h2c in favour of
// net/http's own HTTP/2 (which, from Go 1.27, they wrap). These scenarios
// are about x/net's peers as issue 5 asks, and h2c is the only Go server
// of the Upgrade to h2c.
//lint:file-ignore SA1019 x/net/http2's own Server, Transport and h2c are the peers under test.

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"golang.org/x/net/http2/hpack"
)

// Bodies of h2c-prior-knowledge.
const (
	h2Large   = 256 << 10 // /h2/large, four times the client's stream window
	h2Window  = 65535     // the client's SETTINGS_INITIAL_WINDOW_SIZE
	h2Slow    = 1000      // what /h2/slow sends before the client cancels
	h2Trailer = 2000
	h2Echo    = 1000
	h2Small   = 500
)

// h2cPriorKnowledge: an x/net/http2 client and server on plain TCP, five
// requests in flight on one connection (a large answer paced by
// WINDOW_UPDATEs, one cancelled, one with trailers), then the server's
// graceful shutdown (GOAWAY) and the client's close.
func h2cPriorKnowledge(e *env) error {
	var h handlers
	cancelled := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /h2/large", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(h2Large))
		w.Write(pattern(h2Large))
	})
	mux.HandleFunc("GET /h2/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(pattern(h2Slow))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done(): // the client's RST_STREAM
			close(cancelled)
		case <-time.After(peerTimeout):
			h.fail("/h2/slow: the client did not cancel")
		}
	})
	mux.HandleFunc("GET /h2/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Trailer", "X-Body-Lines")
		w.Write(pattern(h2Trailer))
		w.Header().Set("X-Body-Lines", strconv.Itoa((h2Trailer+63)/64))
	})
	mux.HandleFunc("POST /h2/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			h.fail("POST /h2/echo: %v", err)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	mux.HandleFunc("GET /h2/small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(pattern(h2Small))
	})

	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: h.wrap(mux)}
	h2s := &http2.Server{}
	if err := http2.ConfigureServer(hs, h2s); err != nil { // hs.Shutdown → GOAWAY
		return err
	}
	done := serve(ln, 1, func(c *net.TCPConn) error {
		h2s.ServeConn(c, &http2.ServeConnOpts{BaseConfig: hs})
		return nil
	})

	// The client: a Transport whose stream window is the protocol's
	// default, so that /h2/large waits for WINDOW_UPDATEs.
	t1 := &http.Transport{HTTP2: &http.HTTP2Config{MaxReceiveBufferPerStream: h2Window, MaxReceiveBufferPerConnection: 1 << 20}}
	tr, err := http2.ConfigureTransports(t1)
	if err != nil {
		return err
	}
	tr.AllowHTTP = true
	conn, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{})
	if err != nil {
		return err
	}
	cc, err := tr.NewClientConn(conn)
	if err != nil {
		conn.Close()
		return err
	}
	cerr := h2cClient(cc, cancelled)
	if cerr == nil {
		// Graceful shutdown: the server sends GOAWAY; the client, seeing
		// it, closes first.
		ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
		cerr = hs.Shutdown(ctx)
		for cerr == nil && !cc.State().Closing {
			if ctx.Err() != nil {
				cerr = errors.New("client: no GOAWAY")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}
	cc.Close()
	return errors.Join(cerr, <-done, h.wait())
}

func h2cClient(cc *http2.ClientConn, cancelled <-chan struct{}) error {
	const base = "http://server.test:8080"
	get := func(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return nil, err
		}
		resp, err := cc.RoundTrip(req)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
		}
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			resp.Body.Close()
			return nil, fmt.Errorf("client: %s %s: %s %s; want HTTP/2.0 200", method, path, resp.Proto, resp.Status)
		}
		return resp, nil
	}
	return inOrder([]func(ctx context.Context) error{
		func(ctx context.Context) error { // stream 1
			resp, err := get(ctx, "GET", "/h2/large", nil)
			if err != nil {
				return err
			}
			return readBody(resp, pattern(h2Large))
		},
		func(ctx context.Context) error { // stream 3: read the first DATA, then cancel
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			resp, err := get(ctx, "GET", "/h2/slow", nil)
			if err != nil {
				return err
			}
			if _, err := io.ReadFull(resp.Body, make([]byte, h2Slow)); err != nil {
				return fmt.Errorf("client: /h2/slow: %w", err)
			}
			cancel()
			select {
			case <-cancelled:
				return nil
			case <-time.After(peerTimeout):
				return errors.New("client: /h2/slow: the server did not see the cancel")
			}
		},
		func(ctx context.Context) error { // stream 5
			resp, err := get(ctx, "GET", "/h2/trailers", nil)
			if err != nil {
				return err
			}
			if err := readBody(resp, pattern(h2Trailer)); err != nil {
				return err
			}
			if got, want := resp.Trailer.Get("X-Body-Lines"), strconv.Itoa((h2Trailer+63)/64); got != want {
				return fmt.Errorf("client: /h2/trailers: trailer X-Body-Lines %q; want %q", got, want)
			}
			return nil
		},
		func(ctx context.Context) error { // stream 7
			resp, err := get(ctx, "POST", "/h2/echo", pattern(h2Echo))
			if err != nil {
				return err
			}
			return readBody(resp, pattern(h2Echo))
		},
		func(ctx context.Context) error { // stream 9
			resp, err := get(ctx, "GET", "/h2/small", nil)
			if err != nil {
				return err
			}
			return readBody(resp, pattern(h2Small))
		},
	})
}

// Bodies of h2c-upgrade.
const (
	h2cUpgradeBody = 4000 // the upgraded request's answer, on stream 1
	h2cSecondBody  = 2000 // /second's, on stream 3
)

// h2cSettings are the hand-written client's SETTINGS, in HTTP2-Settings
// and after the preface.
var h2cSettings = []http2.Setting{
	{ID: http2.SettingEnablePush, Val: 0},
	{ID: http2.SettingInitialWindowSize, Val: 1 << 20},
}

// h2cUpgrade: net/http with golang.org/x/net/http2/h2c serves a client
// written here with http2.Framer and hpack: GET with Upgrade: h2c, 101,
// the answer on stream 1, a second request on stream 3, the client's
// GOAWAY.
func h2cUpgrade(e *env) error {
	var s *httpServer
	mux := http.NewServeMux()
	for path, n := range map[string]int{"/upgrade": h2cUpgradeBody, "/second": h2cSecondBody} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			// The upgraded request keeps its HTTP/1.1 (x/net's h2c
			// hands it to the handler as read); its answer goes out
			// as HTTP/2 on stream 1 all the same.
			if path == "/second" && r.ProtoMajor != 2 {
				s.fail("%s over %s; want HTTP/2", path, r.Proto)
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(pattern(n))
		})
	}
	// h2c is deprecated in favour of http.Server.Protocols, which does
	// prior knowledge only; the Upgrade is what this scenario is about.
	h := h2c.NewHandler(noDate(mux), &http2.Server{}) // its streams bypass the server's Handler
	s, err := e.serveHTTP(serverPort, h, nil)
	if err != nil {
		return err
	}
	c, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{})
	if err != nil {
		s.close()
		return err
	}
	cerr := upgradeClient(c)
	c.Close()
	return errors.Join(cerr, s.close())
}

// upgradeClient is the client side of h2cUpgrade on c.
func upgradeClient(c net.Conn) error {
	var sb bytes.Buffer
	if err := http2.NewFramer(&sb, nil).WriteSettings(h2cSettings...); err != nil {
		return err
	}
	req := "GET /upgrade HTTP/1.1\r\nHost: server.test:8080\r\nUser-Agent: wiretrace-gencap\r\nAccept: */*\r\n" +
		"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
		"HTTP2-Settings: " + base64.RawURLEncoding.EncodeToString(sb.Bytes()[9:]) + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("client: read the upgrade answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "h2c" {
		return fmt.Errorf("client: upgrade answer %s, Upgrade %q; want 101 to h2c", resp.Status, resp.Header.Get("Upgrade"))
	}

	// The preface and SETTINGS go out in one segment.
	bw := bufio.NewWriter(c)
	fr := http2.NewFramer(bw, br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	bw.WriteString(http2.ClientPreface)
	if err := fr.WriteSettings(h2cSettings...); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// Stream 1 is the upgraded request, half-closed by the client.
	if err := readStream(fr, bw, 1, pattern(h2cUpgradeBody)); err != nil {
		return err
	}

	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "server.test:8080"}, {Name: ":path", Value: "/second"},
		{Name: "user-agent", Value: "wiretrace-gencap"}, {Name: "accept", Value: "*/*"},
	} {
		enc.WriteField(f)
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := readStream(fr, bw, 3, pattern(h2cSecondBody)); err != nil {
		return err
	}

	// Done: GOAWAY (no server-initiated streams). x/net's server answers
	// with a GOAWAY of its own (last stream 3) and would close a second
	// later; the client waits for that GOAWAY, then sends its FIN, and
	// the server, reading EOF, closes at once.
	if err := fr.WriteGoAway(0, http2.ErrCodeNo, nil); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	f, err := fr.ReadFrame()
	if err != nil {
		return fmt.Errorf("client: after GOAWAY: %w", err)
	}
	if g, ok := f.(*http2.GoAwayFrame); !ok || g.LastStreamID != 3 || g.ErrCode != http2.ErrCodeNo {
		return fmt.Errorf("client: after GOAWAY: %v; want the server's GOAWAY (last stream 3, NO_ERROR)", f)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if f, err := fr.ReadFrame(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("client: after the GOAWAYs: %v, %v; want EOF", f, err)
	}
	return nil
}

// readStream reads frames up to the end of stream id, whose answer must
// be 200 with body want, and answers SETTINGS and PING on the way.
func readStream(fr *http2.Framer, bw *bufio.Writer, id uint32, want []byte) error {
	var status string
	var body []byte
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return fmt.Errorf("client: stream %d: %w", id, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			return fmt.Errorf("client: stream %d: GOAWAY %v", id, f.ErrCode)
		case *http2.RSTStreamFrame:
			return fmt.Errorf("client: stream %d: RST_STREAM %v on stream %d", id, f.ErrCode, f.StreamID)
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				status = f.PseudoValue("status")
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				body = append(body, f.Data()...)
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if f.Header().StreamID == id && f.Header().Flags.Has(http2.FlagDataEndStream) {
			break
		}
	}
	if status != "200" || !bytes.Equal(body, want) {
		return fmt.Errorf("client: stream %d: status %q, %d-byte body; want 200 and %d bytes", id, status, len(body), len(want))
	}
	return nil
}

// Bodies of h2-tls.
var h2TLSPaths = []struct {
	path   string
	status int
	length int
}{
	{"/h2/1", http.StatusOK, 4000},
	{"/h2/2", http.StatusOK, 16000},
	{"/h2/missing", http.StatusNotFound, 0},
}

// h2TLS: net/http server and client, HTTP/2 over TLS 1.3 (ALPN h2),
// three requests in flight on one connection; the client closes first.
func h2TLS(e *env) error {
	cfg, err := tlsPeer{Version: tls.VersionTLS13}.config()
	if err != nil {
		return err
	}
	cfg.NextProtos = []string{"h2", "http/1.1"}
	mux := http.NewServeMux()
	for _, p := range h2TLSPaths {
		if p.status != http.StatusOK {
			continue // the mux's 404
		}
		mux.HandleFunc("GET "+p.path, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(30 * time.Millisecond) // so that all three are in flight
			w.Header().Set("Content-Type", "text/plain")
			w.Write(pattern(p.length))
		})
	}
	ccfg := cfg.Clone() // before the server makes cfg its own
	ccfg.Certificates = nil
	s, err := e.serveHTTP(tlsPort, mux, cfg)
	if err != nil {
		return err
	}

	ccfg.KeyLogWriter = &e.keylog
	tr := &http.Transport{
		TLSClientConfig:   ccfg,
		ForceAttemptHTTP2: true,
		DialContext:       e.dialOnce(tlsPort),
		MaxConnsPerHost:   1,
	}
	c := &http.Client{Transport: tr}
	var reqs []func(ctx context.Context) error
	for _, p := range h2TLSPaths {
		reqs = append(reqs, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, "GET", "https://server.test:8443"+p.path, nil)
			if err != nil {
				return err
			}
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			if resp.ProtoMajor != 2 || resp.StatusCode != p.status || resp.TLS.Version != tls.VersionTLS13 || resp.TLS.NegotiatedProtocol != "h2" {
				resp.Body.Close()
				return fmt.Errorf("client: %s: %s %s over %s, ALPN %q; want HTTP/2.0 %d over TLS 1.3, h2", p.path,
					resp.Proto, resp.Status, tls.VersionName(resp.TLS.Version), resp.TLS.NegotiatedProtocol, p.status)
			}
			if p.status != http.StatusOK {
				_, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return err
			}
			return readBody(resp, pattern(p.length))
		})
	}
	cerr := inOrder(reqs)
	tr.CloseIdleConnections()
	return errors.Join(cerr, s.close())
}
