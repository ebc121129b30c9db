//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// h3Server starts quic-go's HTTP/3 server (0-RTT allowed) in the server's
// namespace on UDP quicPort, answering GET /h3/N with N bytes of
// pattern. stop closes it and reports what went wrong.
func (e *env) h3Server() (stop func() error, err error) {
	cfg, err := tlsPeer{Version: tls.VersionTLS13}.config()
	if err != nil {
		return nil, err
	}
	cfg.NextProtos = []string{http3.NextProtoH3}
	var h handlers
	mux := http.NewServeMux()
	mux.HandleFunc("GET /h3/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscan(r.PathValue("n"), &n); err != nil || n < 0 || n > 1<<20 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(pattern(n))
	})
	var spc net.PacketConn
	if err := e.topo.Server.NS.Do(func() (err error) {
		spc, err = net.ListenPacket("udp", e.serverAddr(false, quicPort).String())
		return err
	}); err != nil {
		return nil, err
	}
	srv := &http3.Server{Handler: h.wrap(mux), TLSConfig: cfg, QUICConfig: &quic.Config{Allow0RTT: true}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(spc) }()
	return func() error {
		time.Sleep(100 * time.Millisecond) // let the server see the client's CONNECTION_CLOSE
		serr := srv.Close()
		spc.Close()
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) && err.Error() != "server closed" {
			serr = errors.Join(serr, fmt.Errorf("server: %w", err))
		}
		return errors.Join(serr, h.wait())
	}, nil
}

// h3ZeroRTT: ngtcp2's example client (Debian's ngtcp2-client, gtlsclient,
// GnuTLS) fetches /h3/1000 from quic-go's HTTP/3 server twice; the second
// connection resumes the first's session and sends its request as 0-RTT
// data. GnuTLS writes the key log (SSLKEYLOGFILE), early traffic secret
// included, which Go's crypto/tls never does.
func h3ZeroRTT(e *env) error {
	os.Setenv("QUIC_GO_DISABLE_GSO", "true")
	bin, err := exec.LookPath("gtlsclient")
	if err != nil {
		return fmt.Errorf("h3-0rtt needs ngtcp2's gtlsclient (Debian package ngtcp2-client): %w", err)
	}
	stop, err := e.h3Server()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gencap-0rtt")
	if err != nil {
		return errors.Join(err, stop())
	}
	defer os.RemoveAll(dir)
	keys := filepath.Join(dir, "keys")
	server := e.serverAddr(false, quicPort)
	var cerr error
	for i := 0; i < 2 && cerr == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", e.topo.Client.NS.Name,
			bin, "-q", "--exit-on-all-streams-close", "--download="+dir,
			"--session-file="+filepath.Join(dir, "session"), "--tp-file="+filepath.Join(dir, "tp"),
			server.Addr().String(), fmt.Sprint(server.Port()),
			fmt.Sprintf("https://%s:%d/h3/1000", serverName, quicPort))
		cmd.Env = append(os.Environ(), "SSLKEYLOGFILE="+keys)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			cerr = fmt.Errorf("gtlsclient (connection %d): %w: %s", i+1, err, out.Bytes())
		} else if body, err := os.ReadFile(filepath.Join(dir, "1000")); err != nil || !bytes.Equal(body, pattern(1000)) {
			cerr = fmt.Errorf("gtlsclient (connection %d): body not received (%v)", i+1, err)
		}
		os.Remove(filepath.Join(dir, "1000"))
		cancel()
		if i == 0 {
			// The session ticket must reach the session file.
			time.Sleep(50 * time.Millisecond)
		}
	}
	if b, err := os.ReadFile(keys); err == nil {
		e.keylog.Write(b)
	} else if cerr == nil {
		cerr = err
	}
	if cerr == nil && !bytes.Contains(e.keylog.Bytes(), []byte("CLIENT_EARLY_TRAFFIC_SECRET")) {
		cerr = errors.New("gtlsclient did not log CLIENT_EARLY_TRAFFIC_SECRET: no 0-RTT")
	}
	return errors.Join(cerr, stop())
}

// h3Migration: quic-go's HTTP/3 client fetches /h3/2000 from UDP port
// clientPortBase, then adds a second path from clientPortBase+1, probes it
// (PATH_CHALLENGE, PATH_RESPONSE on the new path with a connection ID
// from the server's NEW_CONNECTION_ID frames), switches to it and fetches
// /h3/3000 there (connection migration, RFC 9000 §9).
func h3Migration(e *env) error {
	os.Setenv("QUIC_GO_DISABLE_GSO", "true")
	stop, err := e.h3Server()
	if err != nil {
		return err
	}
	cfg, err := tlsPeer{Version: tls.VersionTLS13}.config()
	if err != nil {
		return errors.Join(err, stop())
	}
	ccfg := cfg.Clone()
	ccfg.Certificates = nil
	ccfg.NextProtos = []string{http3.NextProtoH3}
	ccfg.KeyLogWriter = &e.keylog
	var pcs [2]*net.UDPConn
	for i := range pcs {
		if err := e.topo.Client.NS.Do(func() (err error) {
			pcs[i], err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(e.clientAddr(false, clientPortBase+uint16(i))))
			return err
		}); err != nil {
			return errors.Join(err, stop())
		}
		defer pcs[i].Close()
	}
	server := net.UDPAddrFromAddrPort(e.serverAddr(false, quicPort))
	// The first path needs a Transport of its own too: a connection
	// dialled on a bare PacketConn (quic.DialEarly) never validates a
	// second path (quic-go v0.65).
	first := &quic.Transport{Conn: pcs[0]}
	defer first.Close()
	var conn *quic.Conn
	tr := &http3.Transport{
		TLSClientConfig: ccfg,
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qcfg *quic.Config) (*quic.Conn, error) {
			c, err := first.DialEarly(ctx, server, tlsCfg, qcfg)
			conn = c
			return c, err
		},
	}
	c := &http.Client{Transport: tr, Timeout: peerTimeout}
	get := func(n int) error {
		resp, err := c.Get(fmt.Sprintf("https://%s:%d/h3/%d", serverName, quicPort, n))
		if err != nil {
			return err
		}
		if resp.ProtoMajor != 3 || resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("client: /h3/%d: %s %s", n, resp.Proto, resp.Status)
		}
		return readBody(resp, pattern(n))
	}
	cerr := get(2000)
	second := &quic.Transport{Conn: pcs[1]}
	defer second.Close()
	if cerr == nil {
		cerr = migrate(conn, second)
	}
	if cerr == nil {
		cerr = get(3000)
	}
	return errors.Join(cerr, tr.Close(), stop())
}

// migrate moves conn to a new path on t: probe, then switch.
func migrate(conn *quic.Conn, t *quic.Transport) error {
	p, err := conn.AddPath(t)
	if err != nil {
		return fmt.Errorf("client: add path: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Probe(ctx); err != nil {
		return fmt.Errorf("client: probe the new path: %w", err)
	}
	if err := p.Switch(); err != nil {
		return fmt.Errorf("client: switch to the new path: %w", err)
	}
	return nil
}
