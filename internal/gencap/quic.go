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
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// quicPort is the UDP port of the QUIC scenario's server.
const quicPort = 4433

// h3Paths are the requests of h3-quic: two answers and a 404.
var h3Paths = []struct {
	path   string
	status int
	length int
}{
	{"/h3/1", http.StatusOK, 4000},
	{"/h3/2", http.StatusOK, 16000},
	{"/h3/missing", http.StatusNotFound, 0},
}

// h3QUIC: quic-go's HTTP/3 server and client, TLS 1.3 with the fixed
// server.test certificate, three GETs on one connection, then the
// client's CONNECTION_CLOSE. The client's key log goes to e.keylog.
func h3QUIC(e *env) error {
	// One datagram per packet on the wire: no UDP segmentation offload.
	os.Setenv("QUIC_GO_DISABLE_GSO", "true")
	cfg, err := tlsPeer{Version: tls.VersionTLS13}.config()
	if err != nil {
		return err
	}
	cfg.NextProtos = []string{http3.NextProtoH3}
	ccfg := cfg.Clone()
	ccfg.Certificates = nil
	ccfg.KeyLogWriter = &e.keylog

	var h handlers
	mux := http.NewServeMux()
	for _, p := range h3Paths {
		if p.status != http.StatusOK {
			continue // the mux's 404
		}
		mux.HandleFunc("GET "+p.path, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(30 * time.Millisecond) // so that the requests overlap
			w.Header().Set("Content-Type", "text/plain")
			w.Write(pattern(p.length))
		})
	}
	var spc net.PacketConn
	if err := e.topo.Server.NS.Do(func() (err error) {
		spc, err = net.ListenPacket("udp", e.serverAddr(false, quicPort).String())
		return err
	}); err != nil {
		return err
	}
	srv := &http3.Server{Handler: h.wrap(mux), TLSConfig: cfg}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(spc) }()

	var cpc *net.UDPConn
	if err := e.topo.Client.NS.Do(func() (err error) {
		cpc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(e.clientAddr(false, clientPortBase)))
		return err
	}); err != nil {
		srv.Close()
		return err
	}
	server := net.UDPAddrFromAddrPort(e.serverAddr(false, quicPort))
	tr := &http3.Transport{
		TLSClientConfig: ccfg,
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qcfg *quic.Config) (*quic.Conn, error) {
			return quic.DialEarly(ctx, cpc, server, tlsCfg, qcfg)
		},
	}
	c := &http.Client{Transport: tr, Timeout: peerTimeout}
	var reqs []func(ctx context.Context) error
	for _, p := range h3Paths {
		reqs = append(reqs, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://%s:%d%s", serverName, quicPort, p.path), nil)
			if err != nil {
				return err
			}
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			if resp.ProtoMajor != 3 || resp.StatusCode != p.status {
				resp.Body.Close()
				return fmt.Errorf("client: %s: %s %s; want HTTP/3.0 %d", p.path, resp.Proto, resp.Status, p.status)
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
	// The client closes the connection (CONNECTION_CLOSE); give the
	// server time to see it before it stops.
	terr := tr.Close()
	time.Sleep(100 * time.Millisecond)
	serr := srv.Close()
	cpc.Close()
	spc.Close()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) && err.Error() != "server closed" {
		serr = errors.Join(serr, fmt.Errorf("server: %w", err))
	}
	return errors.Join(cerr, terr, serr, h.wait())
}
