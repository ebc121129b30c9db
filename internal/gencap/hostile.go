//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Hostile strings the hostile scenario puts on the wire: markup that would
// run in an HTML or SVG report, quotes that end attributes, Mermaid and
// WebVTT syntax, and terminal escape sequences (clear screen, set the
// window title, colours). Every renderer must show them as inert text.
const (
	hostilePath    = "/<script>alert(1)</script>?q=\"'><img%20src=x%20onerror=alert(2)>;#-->"
	hostileHost    = "<svg onload=alert(3)>.test"
	hostileHeader  = "\x1b[31mred</title></desc>&amp;\u202e"
	hostileReason  = "<b>OK</b> &amp; \"quoted\" -->"
	hostileSNI     = "<script>alert(4)</script>.test"
	hostileWSText  = "</script><script>alert(5)</script>\x1b[H"
	hostileWSClose = "bye \"now\" <i>-->\x1b[0m"
)

var hostileALPN = []string{"\x1b[31mh2", "</script>", "http/1.1"}

// hostile: three connections carrying hostile strings: a raw HTTP/1.1
// exchange on serverPort, TLS 1.3 with a hostile SNI and ALPN list on
// tlsPort (and an HTTP/1.1 request inside), a WebSocket on closedPort
// with a hostile message and close reason.
func hostile(e *env) error {
	return errors.Join(hostileHTTP(e), hostileTLS(e), hostileWS(e))
}

// hostileHTTP writes the request and the answer as raw bytes: no HTTP
// library sends such a path or status line.
func hostileHTTP(e *env) error {
	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		if err := readHead(c); err != nil {
			served <- fmt.Errorf("server: %w", err)
			return
		}
		body := "<html>" + hostileWSText + "</html>"
		_, err = fmt.Fprintf(c, "HTTP/1.1 200 %s\r\nContent-Type: text/html\r\nX-Evil: %s\r\nContent-Length: %d\r\n\r\n%s", hostileReason, hostileHeader, len(body), body)
		served <- err
	}()
	c, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nX-Evil: %s\r\nConnection: close\r\n\r\n", hostilePath, hostileHost, hostileHeader); err != nil {
		return err
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !strings.Contains(string(resp), hostileWSText) {
		return fmt.Errorf("client: answer %q", resp)
	}
	return <-served
}

// readHead reads a raw HTTP/1.1 request head, up to its blank line.
func readHead(r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

// hostileTLS: crypto/tls sends the hostile SNI and ALPN list as they are;
// the server picks http/1.1 and answers one raw request.
func hostileTLS(e *env) error {
	cfg, err := tlsPeer{Version: tls.VersionTLS13}.config()
	if err != nil {
		return err
	}
	scfg := cfg.Clone()
	scfg.NextProtos = []string{"http/1.1"}
	ln, err := e.listen(e.serverAddr(false, tlsPort))
	if err != nil {
		return err
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		c := tls.Server(raw, scfg)
		defer c.Close()
		if err := readHead(c); err != nil {
			served <- fmt.Errorf("server: %w", err)
			return
		}
		_, err = fmt.Fprintf(c, "HTTP/1.1 404 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", hostileReason)
		served <- err
	}()
	raw, err := e.dial(e.clientAddr(false, clientPortBase+1), e.serverAddr(false, tlsPort), dialOpts{})
	if err != nil {
		return err
	}
	ccfg := cfg.Clone()
	ccfg.Certificates = nil
	ccfg.InsecureSkipVerify = true // the name is not the certificate's
	ccfg.ServerName = hostileSNI
	ccfg.NextProtos = hostileALPN
	ccfg.KeyLogWriter = &e.keylog
	c := tls.Client(raw, ccfg)
	defer c.Close()
	if err := c.Handshake(); err != nil {
		return fmt.Errorf("client: handshake: %w", err)
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", hostilePath, hostileHost); err != nil {
		return err
	}
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return <-served
}

// hostileWS: a WebSocket echo of a hostile text message, closed with a
// hostile reason.
func hostileWS(e *env) error {
	mux := http.NewServeMux()
	done := make(chan error, 1)
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			done <- err
			return
		}
		typ, b, err := c.Read(r.Context())
		if err == nil {
			err = c.Write(r.Context(), typ, b)
		}
		if err == nil {
			_, _, err = c.Read(r.Context())
			if ce := (websocket.CloseError{}); errors.As(err, &ce) {
				err = nil
			}
		}
		done <- err
	})
	ln, err := e.listen(e.serverAddr(false, closedPort))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return e.dial(e.clientAddr(false, clientPortBase+2), e.serverAddr(false, closedPort), dialOpts{})
	}
	c, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://server.test:%d/ws", closedPort), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dial}},
	})
	if err != nil {
		return err
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(hostileWSText)); err != nil {
		return err
	}
	if _, b, err := c.Read(ctx); err != nil || string(b) != hostileWSText {
		return fmt.Errorf("client: echo %q, %v", b, err)
	}
	cerr := c.Close(websocket.StatusNormalClosure, hostileWSClose)
	select {
	case err := <-done:
		return errors.Join(cerr, err)
	case <-time.After(peerTimeout):
		return errors.New("server: no close")
	}
}
