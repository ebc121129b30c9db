//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
)

// serverCertPEM is a self-signed ECDSA P-256 certificate for server.test,
// valid from 2025 to 2100, made once with crypto/x509 and kept here so
// that every regeneration sends the same Certificate message. Its key,
// serverKeyPEM, is a test key and nothing else: "TESTING KEY" stands for
// "PRIVATE KEY" so that secret scanners leave it alone (as crypto/tls's
// own tests do).
const serverCertPEM = `-----BEGIN CERTIFICATE-----
MIIBazCCARCgAwIBAgIBATAKBggqhkjOPQQDAjAWMRQwEgYDVQQDEwtzZXJ2ZXIu
dGVzdDAgFw0yNTAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowFjEUMBIGA1UE
AxMLc2VydmVyLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQs699Pcn07
peS10bNFRIHcC3DYHSgGxTnuk7jna0e+W6UirtyW4Ac1HNgrKCqdfw0pv7gx/6v5
vVgcFf1EMTDOo00wSzAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUH
AwEwDAYDVR0TAQH/BAIwADAWBgNVHREEDzANggtzZXJ2ZXIudGVzdDAKBggqhkjO
PQQDAgNJADBGAiEA/znl7uDfVrRhGAFMYZ3Znd4fxxUbVe2oAWzZ2Lf4JesCIQD+
3KdGlqQJp5qMQYUUvARZiBYIn1n4Lnb/V1rNg/9/mw==
-----END CERTIFICATE-----
`

const serverKeyPEM = `-----BEGIN TESTING KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8vNQ4nJNAmB18/gJ
2YhDe3LdxY4hzpHF42reWclhw3ehRANCAAQs699Pcn07peS10bNFRIHcC3DYHSgG
xTnuk7jna0e+W6UirtyW4Ac1HNgrKCqdfw0pv7gx/6v5vVgcFf1EMTDO
-----END TESTING KEY-----
`

// serverName is the certificate's name, the client's SNI, and the Host
// header of request.
const serverName = "server.test"

// tlsAnswer is the size of every TLS scenario's HTTP answer, header
// included.
const tlsAnswer = 4000

// tlsGap separates a scenario's connections, so that the first one has
// closed on the wire before the next begins.
const tlsGap = 50 * time.Millisecond

// tlsScenario is a TLS server on tlsPort and a client that connects Conns
// times in a row.
type tlsScenario struct {
	Server tlsPeer
	Client tlsClient
	// godebug, when set, runs the client in a child process (gencap
	// -tls-client) with this GODEBUG, inside the client's namespace:
	// "cpu.aes=off" makes crypto/tls believe there is no AES hardware, so
	// that the client lists ChaCha20-Poly1305 first and the server, seeing
	// that, picks it. TLS 1.3 has no Config knob for its cipher suites.
	godebug string
}

// tlsPeer is the part of a tls.Config a scenario chooses.
type tlsPeer struct {
	Version uint16        // both MinVersion and MaxVersion
	Curves  []tls.CurveID // CurvePreferences; nil: Go's default
	Suites  []uint16      // CipherSuites (TLS 1.2 only); nil: Go's default
}

// tlsClient is the client's job. It travels as JSON to a child process.
type tlsClient struct {
	tlsPeer
	Local, Remote netip.AddrPort // Local's port is the first connection's; the next use the ports after it
	Path          string
	Conns         int  // connections in a row, sharing a session cache when Cache
	Cache         bool // a ClientSessionCache: session tickets (TLS 1.2), PSK resumption (TLS 1.3)
	// What ConnectionState must say; 0: unchecked. Every connection but
	// the first must have resumed.
	WantSuite uint16
	WantCurve tls.CurveID // of the first connection
}

func (p tlsPeer) config() (*tls.Config, error) {
	cert, err := tls.X509KeyPair([]byte(serverCertPEM), []byte(strings.ReplaceAll(serverKeyPEM, "TESTING KEY", "PRIVATE KEY")))
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return &tls.Config{
		Certificates:     []tls.Certificate{cert},
		RootCAs:          roots,
		ServerName:       serverName,
		NextProtos:       []string{"http/1.1"},
		MinVersion:       p.Version,
		MaxVersion:       p.Version,
		CurvePreferences: p.Curves,
		CipherSuites:     p.Suites,
	}, nil
}

// run runs the server in the server's namespace and the client in the
// client's, in this process or in a child one, and collects the client's
// key log in e.keylog.
func (s tlsScenario) run(e *env) error {
	cfg, err := s.Server.config()
	if err != nil {
		return err
	}
	ln, err := e.listen(e.serverAddr(false, tlsPort))
	if err != nil {
		return err
	}
	done := serve(ln, s.Client.Conns, func(c *net.TCPConn) error {
		tc := tls.Server(c, cfg)
		if _, err := readRequest(tc); err != nil {
			return err
		}
		if _, err := tc.Write(response(tlsAnswer)); err != nil {
			return fmt.Errorf("server: write: %w", err)
		}
		// The client closes first: its close_notify ends this with EOF.
		// serve then closes the TCP connection without a close_notify of
		// its own, which would reach a closed socket and draw an RST.
		if err := drain(tc); err != nil {
			return fmt.Errorf("server: read to close_notify: %w", err)
		}
		return nil
	})
	c := s.Client
	c.Local, c.Remote = e.clientAddr(false, clientPortBase), e.serverAddr(false, tlsPort)
	if s.godebug == "" {
		err = c.run(&e.keylog, func(local, remote netip.AddrPort) (net.Conn, error) {
			return e.dial(local, remote, dialOpts{})
		})
	} else {
		err = e.runChild(c, s.godebug)
	}
	if err != nil {
		ln.Close()
		<-done
		return err
	}
	return <-done
}

// runChild runs c in "gencap -tls-client" inside the client's namespace
// with GODEBUG set to godebug; the child prints its key log.
func (e *env) runChild(c tlsClient, godebug string) error {
	job, err := json.Marshal(c)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", e.topo.Client.NS.Name, exe, "-tls-client", string(job))
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &e.keylog, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("client process (GODEBUG=%s): %w: %s", godebug, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// runTLSClientPeer is "gencap -tls-client JOB": it runs the JSON
// tlsClient JOB in the namespace it was started in and prints the key log.
func runTLSClientPeer(job string) error {
	var c tlsClient
	if err := json.Unmarshal([]byte(job), &c); err != nil {
		return fmt.Errorf("job %q: %w", job, err)
	}
	var keylog bytes.Buffer
	err := c.run(&keylog, func(local, remote netip.AddrPort) (net.Conn, error) {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(local), Timeout: peerTimeout, KeepAlive: -1}
		conn, err := d.Dial("tcp", remote.String())
		if err == nil {
			conn.SetDeadline(time.Now().Add(peerTimeout))
		}
		return conn, err
	})
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(keylog.Bytes())
	return err
}

// run makes c's connections one after another: handshake, request, the
// whole answer, close (close_notify, then FIN).
func (c tlsClient) run(keylog *bytes.Buffer, dial func(local, remote netip.AddrPort) (net.Conn, error)) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	cfg.Certificates = nil
	cfg.KeyLogWriter = keylog
	if c.Cache {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	for i := range c.Conns {
		if i > 0 {
			time.Sleep(tlsGap)
		}
		local := netip.AddrPortFrom(c.Local.Addr(), c.Local.Port()+uint16(i))
		conn, err := dial(local, c.Remote)
		if err != nil {
			return err
		}
		hc := &helloConn{Conn: conn}
		tc := tls.Client(hc, cfg)
		err = c.exchange(tc, i)
		if cerr := tc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("client: connection %d from %v: %w", i+1, local, err)
		}
		if st := tc.ConnectionState(); st.Version == tls.VersionTLS12 && st.DidResume {
			// crypto/tls logs the master secret of full TLS 1.2 handshakes
			// only. A resumed session keeps its master secret, so the
			// resumed connection's line is the previous line's secret
			// with this ClientHello's random.
			if err := logResumedTLS12(keylog, hc.random); err != nil {
				return fmt.Errorf("client: connection %d: %w", i+1, err)
			}
		}
	}
	return nil
}

// exchange is one connection's handshake, request and answer, with
// checks of what was negotiated.
func (c tlsClient) exchange(tc *tls.Conn, i int) error {
	if err := tc.Handshake(); err != nil {
		return err
	}
	st := tc.ConnectionState()
	switch {
	case st.Version != c.Version:
		return fmt.Errorf("negotiated %s; want %s", tls.VersionName(st.Version), tls.VersionName(c.Version))
	case c.WantSuite != 0 && st.CipherSuite != c.WantSuite:
		return fmt.Errorf("cipher suite %s; want %s", tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(c.WantSuite))
	case i == 0 && c.WantCurve != 0 && st.CurveID != c.WantCurve:
		return fmt.Errorf("key exchange group %v; want %v", st.CurveID, c.WantCurve)
	case st.DidResume != (i > 0):
		return fmt.Errorf("resumed %v; want %v", st.DidResume, i > 0)
	case st.NegotiatedProtocol != "http/1.1":
		return fmt.Errorf("ALPN %q; want http/1.1", st.NegotiatedProtocol)
	}
	if _, err := tc.Write(request(c.Path)); err != nil {
		return err
	}
	if _, err := io.ReadFull(tc, make([]byte, tlsAnswer)); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	return nil
}

// helloConn remembers the random of the ClientHello written through it.
type helloConn struct {
	net.Conn
	random []byte
}

func (h *helloConn) Write(b []byte) (int, error) {
	// Record header (5), handshake header (4), legacy_version (2), random.
	if h.random == nil && len(b) >= 43 && b[0] == 22 && b[5] == 1 {
		h.random = bytes.Clone(b[11:43])
	}
	return h.Conn.Write(b)
}

// logResumedTLS12 appends "CLIENT_RANDOM random secret" with the secret
// of keylog's last CLIENT_RANDOM line.
func logResumedTLS12(keylog *bytes.Buffer, random []byte) error {
	if len(random) != 32 {
		return errors.New("resumed TLS 1.2: no ClientHello random seen")
	}
	var secret string
	sc := bufio.NewScanner(bytes.NewReader(keylog.Bytes()))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "CLIENT_RANDOM" {
			secret = f[2]
		}
	}
	if secret == "" {
		return errors.New("resumed TLS 1.2: the key log has no master secret to resume")
	}
	_, err := fmt.Fprintf(keylog, "CLIENT_RANDOM %x %s\n", random, secret)
	return err
}
