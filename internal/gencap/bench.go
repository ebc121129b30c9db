//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/wiretrace/wiretrace/internal/netns"
)

// The benchmark capture (-bench): a mix of the protocols wiretrace
// decodes, large enough to time whole runs against tshark
// (docs/performance.md). It is written on demand, never committed.
const (
	benchName = "bench-mix"
	// benchBody is each HTTP response's size.
	benchBody = 64 << 10
	// benchRequests is each HTTP client's requests per unit of scale, and
	// benchConcurrency the requests in flight per connection.
	benchRequests    = 1000
	benchConcurrency = 8
	// benchWSMessages is the WebSocket echoes per unit of scale.
	benchWSMessages = 3000
	// benchLoss is the share of forwarded packets the router drops.
	benchLoss = "0.001"
	// benchTimeout bounds the whole run.
	benchTimeout = 10 * time.Minute
)

// benchScenario is the -bench scenario for the given scale: per unit,
// about 200,000 packets.
func benchScenario(scale int) scenario {
	return scenario{
		name: benchName,
		desc: fmt.Sprintf(`Benchmark mix (scale %d): from 198.18.1.2 to 198.18.2.2, at once: HTTP/2 cleartext (h2c, prior knowledge) on TCP %d, two connections; HTTP/2 over TLS 1.3 on TCP %d, two connections; HTTP/3 over QUIC on UDP %d, one connection; each HTTP client fetches %d responses of %d bytes, %d at a time per connection; and a WebSocket on TCP %d echoing %d messages of 1 to 16 KiB. The router drops %s of forwarded packets at random. Key log: %s.keys (TLS and QUIC). Captured on the client's veth.`,
			scale, serverPort, tlsPort, quicPort, benchRequests*scale, benchBody, benchConcurrency, closedPort, benchWSMessages*scale, benchLoss, benchName),
		router: func(r *netns.Router) error {
			return r.IPTables("-A", "FORWARD", "-m", "statistic", "--mode", "random", "--probability", benchLoss, "-j", "DROP")
		},
		filter: fmt.Sprintf("tcp port %d or tcp port %d or tcp port %d or udp port %d", serverPort, tlsPort, closedPort, quicPort),
		outs:   []output{{benchName, atClient}},
		ring:   512 << 20, // the peers outrun the recorder on two cores
		keys:   keysFile,
		run:    func(e *env) error { return benchMix(e, scale) },
	}
}

// benchMix runs every client of the mix at once.
func benchMix(e *env, scale int) error {
	os.Setenv("QUIC_GO_DISABLE_GSO", "true")
	cfg, err := tlsPeer{Version: tls.VersionTLS13}.config()
	if err != nil {
		return err
	}
	var keys lockedBuffer
	defer func() { e.keylog.WriteString(keys.String()) }()

	mux := http.NewServeMux()
	body := pattern(benchBody)[:benchBody]
	mux.HandleFunc("GET /bytes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(1 << 20)
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, b); err != nil {
				return
			}
		}
	})
	var servers []*http.Server
	serve := func(port uint16, h http.Handler, tlsCfg *tls.Config) error {
		ln, err := e.listen(e.serverAddr(false, port))
		if err != nil {
			return err
		}
		s := &http.Server{Handler: h, TLSConfig: tlsCfg}
		servers = append(servers, s)
		go func() {
			if tlsCfg != nil {
				s.ServeTLS(ln, "", "")
			} else {
				s.Serve(ln)
			}
		}()
		return nil
	}
	if err := serve(serverPort, h2c.NewHandler(mux, &http2.Server{}), nil); err != nil {
		return err
	}
	tlsCfg := cfg.Clone()
	tlsCfg.NextProtos = []string{"h2", "http/1.1"}
	if err := serve(tlsPort, mux, tlsCfg); err != nil {
		return err
	}
	if err := serve(closedPort, mux, nil); err != nil {
		return err
	}
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	var spc net.PacketConn
	if err := e.topo.Server.NS.Do(func() (err error) {
		spc, err = net.ListenPacket("udp", e.serverAddr(false, quicPort).String())
		return err
	}); err != nil {
		return err
	}
	h3cfg := cfg.Clone()
	h3cfg.NextProtos = []string{http3.NextProtoH3}
	h3srv := &http3.Server{Handler: mux, TLSConfig: h3cfg}
	go h3srv.Serve(spc)
	defer func() { h3srv.Close(); spc.Close() }()

	// Clients dial from the client's namespace, any local port.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := e.topo.Client.NS.Do(func() (err error) {
			c, err = (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	ccfg := cfg.Clone()
	ccfg.Certificates = nil
	ccfg.KeyLogWriter = &keys

	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	n := benchRequests * scale
	type job struct {
		name string
		run  func() error
	}
	var jobs []job
	for i := range 2 {
		h2cTr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return dial(ctx, network, addr)
		}}
		jobs = append(jobs, job{fmt.Sprintf("h2c %d", i+1), func() error {
			return fetchAll(ctx, &http.Client{Transport: h2cTr}, fmt.Sprintf("http://%s:%d/bytes", e.serverAddr(false, serverPort).Addr(), serverPort), n/2)
		}})
		tlsTr := &http.Transport{DialContext: dial, TLSClientConfig: ccfg.Clone(), ForceAttemptHTTP2: true, MaxConnsPerHost: 1}
		tlsTr.TLSClientConfig.ServerName = serverName
		tlsTr.TLSClientConfig.NextProtos = []string{"h2"}
		jobs = append(jobs, job{fmt.Sprintf("h2 over TLS %d", i+1), func() error {
			return fetchAll(ctx, &http.Client{Transport: tlsTr}, fmt.Sprintf("https://%s:%d/bytes", e.serverAddr(false, tlsPort).Addr(), tlsPort), n/2)
		}})
	}
	var cpc net.PacketConn
	if err := e.topo.Client.NS.Do(func() (err error) {
		cpc, err = net.ListenPacket("udp", net.JoinHostPort(e.topo.Client.Addr4.String(), "0"))
		return err
	}); err != nil {
		return err
	}
	defer cpc.Close()
	h3cfgC := ccfg.Clone()
	h3cfgC.ServerName = serverName
	h3cfgC.NextProtos = []string{http3.NextProtoH3}
	h3tr := &http3.Transport{TLSClientConfig: h3cfgC, Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qcfg *quic.Config) (*quic.Conn, error) {
		return quic.DialEarly(ctx, cpc, net.UDPAddrFromAddrPort(e.serverAddr(false, quicPort)), tlsCfg, qcfg)
	}}
	defer h3tr.Close()
	jobs = append(jobs, job{"h3", func() error {
		return fetchAll(ctx, &http.Client{Transport: h3tr}, fmt.Sprintf("https://%s:%d/bytes", serverName, quicPort), n)
	}})
	jobs = append(jobs, job{"websocket", func() error {
		return wsEchoes(ctx, dial, fmt.Sprintf("ws://%s:%d/ws", e.serverAddr(false, closedPort).Addr(), closedPort), benchWSMessages*scale)
	}})

	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := j.run(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", j.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// fetchAll GETs url n times, benchConcurrency at a time, checking each
// body's length.
func fetchAll(ctx context.Context, c *http.Client, url string, n int) error {
	sem := make(chan struct{}, benchConcurrency)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range n {
		select {
		case sem <- struct{}{}:
		case err := <-errc:
			wg.Wait()
			return err
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := fetchOne(ctx, c, url)
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func fetchOne(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.Copy(io.Discard, resp.Body)
	if err == nil && (resp.StatusCode != http.StatusOK || got != benchBody) {
		err = fmt.Errorf("%s: %s, %d bytes", url, resp.Status, got)
	}
	return err
}

// wsEchoes sends n messages of 1 to 16 KiB over one WebSocket and reads
// each echo back.
func wsEchoes(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), url string, n int) error {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dial}}})
	if err != nil {
		return err
	}
	c.SetReadLimit(1 << 20)
	msg := pattern(16 << 10)
	for i := range n {
		m := msg[:1024+(i*997)%(15<<10)]
		if err := c.Write(ctx, websocket.MessageBinary, m); err != nil {
			return err
		}
		if _, b, err := c.Read(ctx); err != nil || len(b) != len(m) {
			return fmt.Errorf("echo %d: %d bytes, %v", i, len(b), err)
		}
	}
	return c.Close(websocket.StatusNormalClosure, "done")
}
