package tlsmsg

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// collect is a next-layer decoder that keeps the plaintext per direction.
type collect struct{ got [2][]byte }

func (c *collect) Data(dir decode.Dir, b []byte, _ decode.Position, _ decode.Emit) error {
	c.got[dir.Index()] = append(c.got[dir.Index()], b...)
	return nil
}
func (c *collect) Skip(decode.Dir, uint64, decode.Position, decode.Emit) {}
func (c *collect) End(decode.Position, decode.Emit)                      {}

// decryptChunks decodes a recorded connection with keys and returns the
// events and the decrypted application data.
func decryptChunks(t *testing.T, log []chunk, keys *keylog.Store) ([]decode.Event, *collect) {
	t.Helper()
	next := &collect{}
	d := NewDecoderOptions(Options{Keys: keys, Next: func() decode.StreamDecoder { return next }})
	var evs []decode.Event
	for _, c := range log {
		if err := d.Data(c.dir, c.data, decode.Position{}, func(e decode.Event) { evs = append(evs, e) }); err != nil {
			t.Fatal(err)
		}
	}
	return evs, next
}

func count(evs []decode.Event, dir decode.Dir, typ decode.Type, decrypted bool) int {
	n := 0
	for _, e := range evs {
		f, _ := e.Info.Get("decrypted")
		if e.Dir == dir && e.Type == typ && f.Bool() == decrypted {
			n++
		}
	}
	return n
}

func TestDecryptRealPeers(t *testing.T) {
	cert := testCert(t)
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	c2s := make([]byte, 70000) // several records
	s2c := make([]byte, 20000)
	rand.Read(c2s)
	rand.Read(s2c)

	tests := []struct {
		name   string
		max    uint16
		suites []uint16
		want   map[decode.Type]int // decrypted events each way, c2s then s2c
	}{
		{name: "TLS1.3", max: tls.VersionTLS13},
		{name: "TLS1.2 AES-128-GCM", max: tls.VersionTLS12, suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
		{name: "TLS1.2 AES-256-GCM", max: tls.VersionTLS12, suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}},
		{name: "TLS1.2 ChaCha20-Poly1305", max: tls.VersionTLS12, suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
		{name: "TLS1.2 AES-128-CBC-SHA", max: tls.VersionTLS12, suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
		{name: "TLS1.2 AES-256-CBC-SHA", max: tls.VersionTLS12, suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
		{name: "TLS1.2 AES-128-CBC-SHA256", max: tls.VersionTLS12, suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kl bytes.Buffer
			cli := &tls.Config{RootCAs: pool, ServerName: "peer.test", MaxVersion: tt.max, NextProtos: []string{"h2"}, KeyLogWriter: &kl, CipherSuites: tt.suites,
				ClientSessionCache: tls.NewLRUClientSessionCache(1)}
			srv := &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tt.max, NextProtos: []string{"h2"}, CipherSuites: tt.suites}
			log := exchangeData(t, srv, cli, c2s, s2c)
			klb := bytes.Clone(kl.Bytes())
			keys := &keylog.Store{}
			if rep, err := keys.Add(bytes.NewReader(klb), "keylog"); err != nil || len(rep.Warnings) > 0 {
				t.Fatalf("key log: %v %v", err, rep.Warnings)
			}
			evs, next := decryptChunks(t, log, keys)
			for _, e := range evs {
				if e.Type == "ServerHello" {
					f, _ := e.Info.Get("cipher_suite")
					t.Logf("suite %s", f.Str)
				}
			}
			if !bytes.Equal(next.got[0], c2s) {
				t.Errorf("c2s plaintext: got %d bytes, want the %d the client wrote", len(next.got[0]), len(c2s))
			}
			if !bytes.Equal(next.got[1], s2c) {
				t.Errorf("s2c plaintext: got %d bytes, want the %d the server wrote", len(next.got[1]), len(s2c))
			}
			for _, e := range evs {
				if e.Type == TypeKeys {
					t.Errorf("unexpected %v", e.Info)
				}
			}
			if tt.max == tls.VersionTLS12 {
				for _, dir := range []decode.Dir{decode.C2S, decode.S2C} {
					if n := count(evs, dir, "Finished", true); n != 1 {
						t.Errorf("%s Finished decrypted: %d; want 1", dir, n)
					}
				}
				if rt := roundTrips(evs); rt != 3 {
					t.Errorf("round trips: %d; want 3", rt)
				}
			}
			if tt.max == tls.VersionTLS13 {
				for _, typ := range []decode.Type{"EncryptedExtensions", "Certificate", "CertificateVerify", "Finished"} {
					if n := count(evs, decode.S2C, typ, true); n != 1 {
						t.Errorf("s2c %s decrypted: %d; want 1", typ, n)
					}
				}
				if n := count(evs, decode.C2S, "Finished", true); n != 1 {
					t.Errorf("c2s Finished decrypted: %d; want 1", n)
				}
				for _, e := range evs {
					if e.Type == "EncryptedExtensions" {
						if f, _ := e.Info.Get("alpn"); f.Str != "h2" {
							t.Errorf("EncryptedExtensions alpn %q; want h2", f.Str)
						}
					}
				}
				if n := count(evs, decode.S2C, "NewSessionTicket", true); n < 1 {
					t.Errorf("no decrypted NewSessionTicket")
				}
				if n := count(evs, decode.S2C, TypeApplicationData, false) + count(evs, decode.C2S, TypeApplicationData, false); n != 0 {
					t.Errorf("%d records left encrypted", n)
				}
				if rt := roundTrips(evs); rt != 2 {
					t.Errorf("round trips: %d; want 2", rt)
				}
			}
			// Wrong keys: one keys event, the records shown encrypted.
			lines := bytes.Split(bytes.TrimSpace(klb), []byte("\n"))
			for _, l := range lines {
				if l[len(l)-1] == '0' {
					l[len(l)-1] = '1'
				} else {
					l[len(l)-1] = '0'
				}
			}
			bad := &keylog.Store{}
			if rep, err := bad.Add(bytes.NewReader(bytes.Join(lines, []byte("\n"))), "bad"); err != nil || len(rep.Warnings) > 0 {
				t.Fatalf("bad key log: %v %v", err, rep.Warnings)
			}
			evs, next = decryptChunks(t, log, bad)
			status := keysInfo(evs, "keys")
			if len(status) != 1 || status[0] != KeysWrong {
				t.Errorf("keys events with wrong secrets: %q; want one %q", status, KeysWrong)
			}
			if len(next.got[0])+len(next.got[1]) != 0 {
				t.Errorf("plaintext from wrong keys")
			}
			if count(evs, decode.C2S, TypeApplicationData, false) == 0 {
				t.Errorf("encrypted records not shown")
			}
		})
	}
}
