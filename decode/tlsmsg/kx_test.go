package tlsmsg

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// rsaCert makes a self-signed RSA certificate for peer.test, for the RSA
// key exchange suites.
func rsaCert(t *testing.T) (tls.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, key), key
}

// clearHandshake returns the whole handshake messages (header and body)
// one direction sends in the clear, before its ChangeCipherSpec.
func clearHandshake(log []chunk, dir decode.Dir) [][]byte {
	var stream, hs []byte
	for _, c := range log {
		if c.dir == dir {
			stream = append(stream, c.data...)
		}
	}
	for {
		r, n, err := ParseRecord(stream)
		if err != nil || r.Type == ContentChangeCipherSpec {
			break
		}
		if r.Type == ContentHandshake {
			hs = append(hs, r.Fragment...)
		}
		stream = stream[n:]
	}
	var msgs [][]byte
	for len(hs) >= 4 {
		n := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
		if n > len(hs) {
			break
		}
		msgs = append(msgs, hs[:n])
		hs = hs[n:]
	}
	return msgs
}

// noEMSConf is an OpenSSL configuration that turns the extended master
// secret off (s_client 3.0 has no flag for it).
const noEMSConf = `openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_module
[ssl_module]
system_default = tls_defaults
[tls_defaults]
Options = -ExtendedMasterSecret
CipherString = ALL@SECLEVEL=0
`

// TestDecryptRSAKeyExchange decrypts RSA key exchange connections between
// OpenSSL peers from RSA (or PMS_CLIENT_RANDOM) key log lines alone: the
// premaster secret is what the test's server key decrypts from the
// ClientKeyExchange, as a user with the server's key would log it. The
// master secret then derives with and without the extended master secret,
// whose session hash is SHA-256, SHA-384 or MD5+SHA-1 by version and
// suite.
func TestDecryptRSAKeyExchange(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	dir := t.TempDir()
	cert, key := rsaCert(t)
	writeKeyPair(t, dir, "rc.pem", "rk.pem", cert)
	os.WriteFile(filepath.Join(dir, "noems.cnf"), []byte(noEMSConf), 0o600)
	addr, _ := startServer(t, openssl, dir, true, "-cert", "rc.pem", "-key", "rk.pem", "-cipher", "ALL@SECLEVEL=0")
	p := startProxy(t, addr)

	tests := []struct {
		name  string
		args  []string
		noEMS bool
		pms   bool // log PMS_CLIENT_RANDOM instead of RSA
	}{
		{name: "TLS1.2 AES128-GCM-SHA256", args: []string{"-tls1_2", "-cipher", "AES128-GCM-SHA256"}},
		{name: "TLS1.2 AES128-GCM-SHA256 no EMS", args: []string{"-tls1_2", "-cipher", "AES128-GCM-SHA256"}, noEMS: true},
		{name: "TLS1.2 AES256-GCM-SHA384", args: []string{"-tls1_2", "-cipher", "AES256-GCM-SHA384"}},
		{name: "TLS1.2 AES128-CCM8", args: []string{"-tls1_2", "-cipher", "AES128-CCM8@SECLEVEL=0"}},
		{name: "TLS1.2 AES256-CCM no EMS", args: []string{"-tls1_2", "-cipher", "AES256-CCM"}, noEMS: true},
		{name: "TLS1.2 AES128-SHA256 PMS_CLIENT_RANDOM", args: []string{"-tls1_2", "-cipher", "AES128-SHA256"}, pms: true},
		{name: "TLS1.2 AES256-SHA256 no EMS PMS_CLIENT_RANDOM", args: []string{"-tls1_2", "-cipher", "AES256-SHA256"}, noEMS: true, pms: true},
		{name: "TLS1.0 AES128-SHA", args: []string{"-tls1", "-cipher", "AES128-SHA@SECLEVEL=0"}},
		{name: "TLS1.1 AES256-SHA no EMS", args: []string{"-tls1_1", "-cipher", "AES256-SHA@SECLEVEL=0"}, noEMS: true},
	}
	for _, tt := range tests {
		var env []string
		if tt.noEMS {
			env = []string{"OPENSSL_CONF=" + filepath.Join(dir, "noems.cnf")}
		}
		runClient(t, openssl, dir, p.ln.Addr().String(), env, typed("payload "+tt.name+"\n"), tt.args...)
	}
	time.Sleep(200 * time.Millisecond)
	p.mu.Lock()
	logs := p.logs
	p.mu.Unlock()
	if len(logs) != len(tests) {
		t.Fatalf("%d connections through the proxy; want %d", len(logs), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch, cke []byte
			for _, m := range clearHandshake(logs[i], decode.C2S) {
				switch HandshakeType(m[0]) {
				case TypeClientHello:
					ch = m
				case TypeClientKeyExchange:
					cke = m
				}
			}
			if len(ch) < 4+2+32 || len(cke) < 4+2+8 {
				t.Fatalf("no ClientHello or ClientKeyExchange in the capture")
			}
			epms := cke[4+2:]
			pms, err := rsa.DecryptPKCS1v15(nil, key, epms)
			if err != nil || len(pms) != 48 {
				t.Fatalf("premaster secret: %d bytes, %v", len(pms), err)
			}
			line := fmt.Sprintf("RSA %x %x\n", epms[:8], pms)
			if tt.pms {
				line = fmt.Sprintf("PMS_CLIENT_RANDOM %x %x\n", ch[4+2:4+2+32], pms)
			}
			keys := &keylog.Store{}
			if rep, err := keys.Add(strings.NewReader(line), "rsa"); err != nil || rep.Added != 1 {
				t.Fatalf("key log: %+v %v", rep, err)
			}
			evs, next := decryptChunks(t, logs[i], keys)
			for _, e := range evs {
				if e.Type == TypeKeys {
					t.Errorf("%v", e.Info)
				}
				if e.Type == "ServerHello" {
					f, _ := e.Info.Get("cipher_suite")
					x, _ := e.Info.Get("extensions")
					ems := slices.Contains(x.Strs, "extended_master_secret")
					t.Logf("%s, extended_master_secret=%v", f.Str, ems)
					if ems == tt.noEMS {
						t.Errorf("extended_master_secret negotiated: %v; want %v", ems, !tt.noEMS)
					}
				}
			}
			if want := "payload " + tt.name + "\n"; string(next.got[0]) != want {
				t.Errorf("client data %q; want %q", next.got[0], want)
			}
			for _, dir := range []decode.Dir{decode.C2S, decode.S2C} {
				if n := count(evs, dir, "Finished", true); n != 1 {
					t.Errorf("%s Finished decrypted %d times; want 1", dir, n)
				}
			}

			// A wrong premaster secret: the Finished fails to
			// authenticate.
			pms[47] ^= 1
			bad := &keylog.Store{}
			bad.Add(strings.NewReader(fmt.Sprintf("RSA %x %x\nPMS_CLIENT_RANDOM %x %x\n", epms[:8], pms, ch[6:38], pms)), "bad")
			evs, next = decryptChunks(t, logs[i], bad)
			if s := keysInfo(evs, "keys"); len(s) != 1 || s[0] != KeysWrong {
				t.Errorf("keys events with a wrong premaster: %q; want one %q", s, KeysWrong)
			}
			if len(next.got[0]) != 0 {
				t.Errorf("plaintext from a wrong premaster")
			}
		})
	}
}

// keysInfo lists the info values under key of the keys events.
func keysInfo(evs []decode.Event, key string) []string {
	var s []string
	for _, e := range evs {
		if e.Type == TypeKeys {
			f, _ := e.Info.Get(key)
			s = append(s, f.Str)
		}
	}
	return s
}

// TestMasterSecret checks the master secret derivations against fixed
// inputs: a test that fails when the PRF label, seed order or session
// hash changes, whatever the peers do.
func TestMasterSecret(t *testing.T) {
	var s session12
	for i := range s.clientRandom {
		s.clientRandom[i], s.serverRandom[i] = byte(i), byte(0x80+i)
	}
	pms := bytes.Repeat([]byte{3}, 48)
	keys := &keylog.Store{}
	keys.Add(strings.NewReader(fmt.Sprintf("PMS_CLIENT_RANDOM %x %x\n", s.clientRandom, pms)), "k")
	s.version = VersionTLS12
	su := suites12[0xC02F]
	got, status, msg := s.masterSecret(keys, su)
	want := pHash(su.prf, pms, append([]byte("master secret"), append(s.clientRandom[:], s.serverRandom[:]...)...), 48)
	if status != "" || !bytes.Equal(got, want) {
		t.Errorf("master secret: %x %s %s; want %x", got, status, msg, want)
	}
	s.ems = true
	if _, status, _ := s.masterSecret(keys, su); status != KeysMissing {
		t.Errorf("extended master secret without a session hash: status %q; want %q", status, KeysMissing)
	}
	s.sessionHash = bytes.Repeat([]byte{9}, 32)
	got, _, _ = s.masterSecret(keys, su)
	want = pHash(su.prf, pms, append([]byte("extended master secret"), s.sessionHash...), 48)
	if !bytes.Equal(got, want) {
		t.Errorf("extended master secret: %x; want %x", got, want)
	}
	s.version = VersionTLS10
	got, _, _ = s.masterSecret(keys, su)
	want = prf10(pms, append([]byte("extended master secret"), s.sessionHash...), 48)
	if !bytes.Equal(got, want) {
		t.Errorf("TLS 1.0 extended master secret: %x; want %x", got, want)
	}
}
