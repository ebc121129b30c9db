package tlsmsg

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// OpenSSL peers for what crypto/tls cannot be made to send: a KeyUpdate
// (s_client's "k" command) and 0-RTT early data (-early_data with a
// resumed session). A proxy between s_client and s_server records both
// directions in the order it forwarded them.

type proxy struct {
	ln   net.Listener
	mu   sync.Mutex
	logs [][]chunk
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.logs = append(p.logs, nil)
			i := len(p.logs) - 1
			p.mu.Unlock()
			pump := func(dir decode.Dir, dst, src net.Conn) {
				buf := make([]byte, 65536)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						p.mu.Lock()
						p.logs[i] = append(p.logs[i], chunk{dir, bytes.Clone(buf[:n])})
						p.mu.Unlock()
						dst.Write(buf[:n])
					}
					if err != nil {
						dst.(*net.TCPConn).CloseWrite()
						return
					}
				}
			}
			go pump(decode.C2S, s, c)
			go pump(decode.S2C, c, s)
		}
	}()
	return p
}

// c2sChunks counts the client's reads the proxy forwarded on connection
// i (0 before it exists).
func (p *proxy) c2sChunks(i int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i >= len(p.logs) {
		return 0
	}
	n := 0
	for _, c := range p.logs[i] {
		if c.dir == decode.C2S {
			n++
		}
	}
	return n
}

// waitC2S waits, at most 10 s, until the proxy has forwarded n client
// reads on connection i.
func (p *proxy) waitC2S(i, n int) {
	for deadline := time.Now().Add(10 * time.Second); p.c2sChunks(i) < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// startServer runs openssl s_server in dir with args on a free loopback
// port until the test ends, and returns its address and standard input.
// Without quiet, s_server takes commands on its standard input ("r"
// renegotiates); either way the lines it reads are sent to the client.
func startServer(t *testing.T, openssl, dir string, quiet bool, args ...string) (string, io.Writer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args = append([]string{"s_server", "-accept", addr}, args...)
	if quiet {
		args = append(args, "-quiet")
	}
	srv := exec.Command(openssl, args...)
	srv.Dir = dir
	// s_server ends a connection when its stdin ends: keep it open.
	srvIn, err := srv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srvIn.Close() })
	if err := srv.Start(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, srvIn
}

// runClient runs openssl s_client against addr in dir with env added to
// its environment, logging keys to dir/keys.log.
func runClient(t *testing.T, openssl, dir, addr string, env []string, stdin io.Reader, args ...string) {
	t.Helper()
	cmd := exec.Command(openssl, append([]string{"s_client", "-connect", addr, "-keylogfile", "keys.log"}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("s_client: %v\n%s", err, out)
	}
}

// typed is standard input that gives line, then ends after a pause in
// which s_client sends it and reads the answer.
func typed(line string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(line))
		time.Sleep(300 * time.Millisecond)
		pw.Close()
	}()
	return pr
}

// writeKeyPair writes cert's certificate and private key as PEM files
// for OpenSSL.
func writeKeyPair(t *testing.T, dir, certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

func TestDecryptOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	dir := t.TempDir()
	writeKeyPair(t, dir, "c.pem", "k.pem", testCert(t))
	os.WriteFile(filepath.Join(dir, "early.txt"), []byte("early data\n"), 0o600)

	addr, _ := startServer(t, openssl, dir, true, "-cert", "c.pem", "-key", "k.pem", "-early_data", "-cipher", "ALL@SECLEVEL=0",
		"-ciphersuites", "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256")
	p := startProxy(t, addr)

	client := func(stdin io.Reader, args ...string) {
		t.Helper()
		runClient(t, openssl, dir, p.ln.Addr().String(), nil, stdin, args...)
	}
	// 1: data, a KeyUpdate, more data; the session is kept.
	// s_client takes "k" as a command only when it reads it as a line of
	// its own: each line waits until the one before it has gone through
	// the proxy, so a slow s_client never reads two at once.
	pr, pw := io.Pipe()
	go func() {
		p.waitC2S(0, 2) // ClientHello, then the client's Finished flight
		for _, s := range []string{"hello\n", "k\n", "after update\n"} {
			n := p.c2sChunks(0)
			pw.Write([]byte(s))
			p.waitC2S(0, n+1)
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	client(pr, "-tls1_3", "-sess_out", "sess.pem")
	// 2: resumed with 0-RTT early data.
	pr2, pw2 := io.Pipe()
	go func() { time.Sleep(500 * time.Millisecond); pw2.Close() }()
	client(pr2, "-tls1_3", "-sess_in", "sess.pem", "-early_data", "early.txt")
	// 3...: one connection per suite (CCM ones too); OpenSSL negotiates encrypt_then_mac
	// for the TLS 1.2 CBC suites.
	suites := [][]string{
		{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"},
		{"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"},
		{"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"},
		{"-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"},
		{"-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256"},
		{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-CCM"},
		{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-CCM8@SECLEVEL=0"},
		{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"},
		{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"},
		{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA"},
		{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"},
		{"-tls1", "-cipher", "ECDHE-ECDSA-AES128-SHA@SECLEVEL=0"},   // implicit IV, TLS 1.0 PRF
		{"-tls1_1", "-cipher", "ECDHE-ECDSA-AES256-SHA@SECLEVEL=0"}, // explicit IV
	}
	for _, args := range suites {
		client(typed("payload "+strings.Join(args, " ")+"\n"), args...)
	}
	time.Sleep(200 * time.Millisecond)

	kl, err := os.ReadFile(filepath.Join(dir, "keys.log"))
	if err != nil {
		t.Fatal(err)
	}
	keys := &keylog.Store{}
	keys.Add(bytes.NewReader(kl), "keys.log")
	p.mu.Lock()
	logs := p.logs
	p.mu.Unlock()
	if len(logs) != 2+len(suites) {
		t.Fatalf("%d connections through the proxy; want %d", len(logs), 2+len(suites))
	}
	for i, args := range suites {
		name := strings.Join(args, " ")
		evs, next := decryptChunks(t, logs[2+i], keys)
		suite, etm := "", false
		for _, e := range evs {
			if e.Type == "ServerHello" {
				f, _ := e.Info.Get("cipher_suite")
				suite = f.Str
				x, _ := e.Info.Get("extensions")
				etm = strings.Contains(strings.Join(x.Strs, ","), "encrypt_then_mac")
			}
			if e.Type == TypeKeys {
				t.Errorf("%s: %v", name, e.Info)
			}
		}
		t.Logf("%s: %s encrypt_then_mac=%v", name, suite, etm)
		if want := "payload " + name + "\n"; string(next.got[0]) != want {
			t.Errorf("%s (%s): client data %q; want %q", name, suite, next.got[0], want)
		}
		for _, dir := range []decode.Dir{decode.C2S, decode.S2C} {
			if n := count(evs, dir, "Finished", true); n != 1 {
				t.Errorf("%s: %s Finished decrypted %d times; want 1", name, dir, n)
			}
		}
	}

	evs, next := decryptChunks(t, logs[0], keys)
	if n := count(evs, decode.C2S, "KeyUpdate", true); n != 1 {
		t.Errorf("first connection: %d decrypted client KeyUpdates; want 1 (%s)", n, sequence(evs))
	}
	if got := string(next.got[0]); got != "hello\nafter update\n" {
		t.Errorf("first connection: client data %q; want %q (decrypted across the KeyUpdate)", got, "hello\nafter update\n")
	}
	for _, e := range evs {
		if e.Type == TypeKeys {
			t.Errorf("first connection: %v", e.Info)
		}
	}

	evs, next = decryptChunks(t, logs[1], keys)
	early := 0
	for _, e := range evs {
		if f, _ := e.Info.Get("early_data"); f.Bool() && e.Type == TypeApplicationData {
			if d, _ := e.Info.Get("decrypted"); d.Bool() {
				early++
			}
		}
		if e.Type == TypeKeys {
			t.Errorf("0-RTT connection: %v", e.Info)
		}
	}
	if early != 1 {
		t.Errorf("0-RTT connection: %d decrypted early data records; want 1 (%s)", early, sequence(evs))
	}
	if !strings.HasPrefix(string(next.got[0]), "early data\n") {
		t.Errorf("0-RTT connection: client data %q; want it to start with the early data", next.got[0])
	}
	if n := count(evs, decode.C2S, "EndOfEarlyData", true); n != 1 {
		t.Errorf("0-RTT connection: %d EndOfEarlyData; want 1", n)
	}
	if n := count(evs, decode.C2S, "Finished", true); n != 1 {
		t.Errorf("0-RTT connection: %d client Finished; want 1", n)
	}
}
