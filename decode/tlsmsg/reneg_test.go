package tlsmsg

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// TestDecryptRenegotiation: Go's crypto/tls client (which renegotiates
// when the server asks, once) against openssl s_server, whose "r" command
// sends a HelloRequest. The renegotiation handshake travels under the
// first keys and the data after it under the second; both are decrypted
// from the client's key log, which has a CLIENT_RANDOM line per handshake.
func TestDecryptRenegotiation(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	dir := t.TempDir()
	writeKeyPair(t, dir, "c.pem", "k.pem", testCert(t))
	for _, suite := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA} {
		t.Run(tls.CipherSuiteName(suite), func(t *testing.T) {
			// Not quiet: s_server takes commands on its stdin.
			addr, srvIn := startServer(t, openssl, dir, false, "-cert", "c.pem", "-key", "k.pem", "-tls1_2", "-cipher", "ALL")
			log, kl := renegotiate(t, addr, srvIn, suite)
			keys := &keylog.Store{}
			if rep, err := keys.Add(bytes.NewReader(kl), "keylog"); err != nil || rep.Added != 2 {
				t.Fatalf("key log: %+v %v; want two CLIENT_RANDOM lines", rep, err)
			}
			evs, next := decryptChunks(t, log, keys)
			if s := keysInfo(evs, "keys"); len(s) != 0 {
				t.Errorf("keys events: %q", s)
			}
			if got, want := string(next.got[0]), "client before\nclient after\n"; got != want {
				t.Errorf("client data %q; want %q", got, want)
			}
			if got, want := string(next.got[1]), "server before\nserver after\n"; got != want {
				t.Errorf("server data %q; want %q", got, want)
			}
			// The second handshake, decrypted under the first keys.
			for _, c := range []struct {
				dir  decode.Dir
				typ  decode.Type
				want int
			}{
				{decode.S2C, "HelloRequest", 1}, {decode.C2S, "ClientHello", 1}, {decode.S2C, "ServerHello", 1},
				{decode.S2C, "Certificate", 1}, {decode.S2C, "ServerHelloDone", 1}, {decode.C2S, "ClientKeyExchange", 1},
				{decode.C2S, "Finished", 2}, {decode.S2C, "Finished", 2},
			} {
				if n := count(evs, c.dir, c.typ, true); n != c.want {
					t.Errorf("%s %s decrypted: %d; want %d (%s)", c.dir, c.typ, n, c.want, sequence(evs))
				}
			}
			if n := count(evs, decode.C2S, TypeApplicationData, false) + count(evs, decode.S2C, TypeApplicationData, false); n != 0 {
				t.Errorf("%d records left encrypted", n)
			}

			// Without the second handshake's secret: the first epoch
			// still decrypts, then one keys event says why the rest
			// does not.
			first := bytes.SplitAfter(kl, []byte("\n"))[0]
			keys = &keylog.Store{}
			keys.Add(bytes.NewReader(first), "first")
			evs, next = decryptChunks(t, log, keys)
			errs := keysInfo(evs, "error")
			if len(errs) != 1 || !strings.Contains(errs[0], "renegotiation: no CLIENT_RANDOM") {
				t.Errorf("keys events without the second secret: %q; want one for the renegotiation", errs)
			}
			if got := string(next.got[0]); got != "client before\n" {
				t.Errorf("client data without the second secret %q; want the first epoch's", got)
			}
		})
	}
}

// renegotiate runs one connection of a Go client to s_server at addr:
// data each way, the server's "r" (renegotiate) command, data each way.
// It returns the client's view of the bytes and its key log.
func renegotiate(t *testing.T, addr string, srvIn io.Writer, suite uint16) ([]chunk, []byte) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []chunk
	var kl bytes.Buffer
	c := tls.Client(recConn{raw, &mu, &log}, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{suite}, Renegotiation: tls.RenegotiateOnceAsClient, KeyLogWriter: &kl})
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	read := func(want string) error {
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want {
			return fmt.Errorf("client read %q, %v; want %q", buf, err, want)
		}
		return nil
	}
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("client before\n"))
	srvIn.Write([]byte("server before\n"))
	if err := read("server before\n"); err != nil {
		t.Fatal(err)
	}
	// The client answers the HelloRequest within a Read; crypto/tls
	// takes no application data in the middle of the handshake, so the
	// server's next data waits until the renegotiation is done.
	done := make(chan error, 1)
	go func() { done <- read("server after\n") }()
	srvIn.Write([]byte("r\n"))
	time.Sleep(500 * time.Millisecond)
	srvIn.Write([]byte("server after\n"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("client after\n"))
	time.Sleep(200 * time.Millisecond)
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	return append([]chunk(nil), log...), bytes.Clone(kl.Bytes())
}
