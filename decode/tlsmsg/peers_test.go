package tlsmsg

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Real peers: Go's crypto/tls client and server talk over loopback TCP; the
// client's connection is wrapped so that its writes (c2s) and reads (s2c)
// are recorded in the order the client saw them, as a capture next to the
// client would. Both directions are fed to one Decoder.

type chunk struct {
	dir  decode.Dir
	data []byte
}

type recConn struct {
	net.Conn
	mu  *sync.Mutex
	log *[]chunk
}

func (c recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.add(decode.S2C, b[:n])
	return n, err
}

func (c recConn) Write(b []byte) (int, error) {
	c.add(decode.C2S, b)
	return c.Conn.Write(b)
}

func (c recConn) add(dir decode.Dir, b []byte) {
	if len(b) == 0 {
		return
	}
	c.mu.Lock()
	*c.log = append(*c.log, chunk{dir, append([]byte(nil), b...)})
	c.mu.Unlock()
}

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, key)
}

// selfSigned makes a self-signed certificate for peer.test with key.
func selfSigned(t *testing.T, key crypto.Signer) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "peer.test"},
		DNSNames:  []string{"peer.test"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// exchange runs one connection: the client sends "ping" once the handshake
// is done and reads the server's "pong".
func exchange(t *testing.T, srvConf, cliConf *tls.Config) []chunk {
	t.Helper()
	return exchangeData(t, srvConf, cliConf, []byte("ping"), []byte("pong"))
}

// exchangeData is exchange with the client sending c2s and the server
// answering s2c once it has read all of it.
func exchangeData(t *testing.T, srvConf, cliConf *tls.Config, c2s, s2c []byte) []chunk {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		s := tls.Server(c, srvConf)
		buf := make([]byte, len(c2s))
		if _, err := io.ReadFull(s, buf); err != nil {
			done <- err
			return
		}
		_, err = s.Write(s2c)
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []chunk
	c := tls.Client(recConn{raw, &mu, &log}, cliConf)
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(c2s); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(s2c))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	return append([]chunk(nil), log...)
}

// roundTrips mirrors timeline/conn.go's observe, starting after a TCP
// handshake (one round trip): each reply after a request is one more,
// until the client's first application data.
func roundTrips(evs []decode.Event) int {
	waits, spoke := 1, false
	for _, e := range evs {
		switch e.Dir {
		case decode.C2S:
			if e.Flags&decode.FlagAppData != 0 {
				return waits
			}
			if e.Flags&decode.FlagRequest != 0 {
				spoke = true
			}
		case decode.S2C:
			if e.Flags&decode.FlagReply != 0 && spoke {
				waits, spoke = waits+1, false
			}
		}
	}
	return -1
}

func decodeChunks(t *testing.T, log []chunk) (*Decoder, []decode.Event) {
	t.Helper()
	d := NewDecoder()
	var evs []decode.Event
	for _, c := range log {
		if err := d.Data(c.dir, c.data, decode.Position{}, func(e decode.Event) { evs = append(evs, e) }); err != nil {
			t.Fatal(err)
		}
	}
	return d, evs
}

func sequence(evs []decode.Event) string {
	var s []string
	for _, e := range evs {
		name := e.Dir.String() + ":" + string(e.Type)
		if f, _ := e.Info.Get("handshake"); f.Bool() {
			name += "(hs)"
		}
		s = append(s, name)
	}
	return strings.Join(s, " ")
}

// oneDir keeps the items of a sequence that start with dir.
func oneDir(seq, dir string) string {
	var out []string
	for _, s := range strings.Fields(seq) {
		if strings.HasPrefix(s, dir) {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func TestRealPeers(t *testing.T) {
	cert := testCert(t)
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	cli := func(max uint16) *tls.Config {
		return &tls.Config{RootCAs: pool, ServerName: "peer.test", MaxVersion: max, NextProtos: []string{"h2"}}
	}
	srv := func(max uint16) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: max, NextProtos: []string{"h2"}}
	}
	hrrSrv := srv(tls.VersionTLS13)
	hrrSrv.CurvePreferences = []tls.CurveID{tls.CurveP384} // the client's first key shares are not P-384
	resumeCli := cli(tls.VersionTLS12)
	resumeCli.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	resumeSrv := srv(tls.VersionTLS12)

	tests := []struct {
		name       string
		srv, cli   *tls.Config
		warmup     bool // run once first to fill the session cache
		want       string
		version    string
		roundTrips int
	}{
		{
			name: "TLS1.2 full", srv: srv(tls.VersionTLS12), cli: cli(tls.VersionTLS12),
			want: "c2s:ClientHello s2c:ServerHello s2c:Certificate s2c:ServerKeyExchange s2c:ServerHelloDone " +
				"c2s:ClientKeyExchange c2s:ChangeCipherSpec c2s:Finished s2c:ChangeCipherSpec s2c:Finished " +
				"c2s:ApplicationData s2c:ApplicationData",
			version: "TLS1.2", roundTrips: 3,
		},
		{
			name: "TLS1.2 resumed", srv: resumeSrv, cli: resumeCli, warmup: true,
			want: "c2s:ClientHello s2c:ServerHello s2c:NewSessionTicket s2c:ChangeCipherSpec s2c:Finished " +
				"c2s:ChangeCipherSpec c2s:Finished c2s:ApplicationData s2c:ApplicationData",
			version: "TLS1.2", roundTrips: 2,
		},
		{
			name: "TLS1.3 full", srv: srv(tls.VersionTLS13), cli: cli(tls.VersionTLS13),
			want: "c2s:ClientHello s2c:ServerHello s2c:ChangeCipherSpec s2c:ApplicationData(hs) s2c:ApplicationData(hs) " +
				"s2c:ApplicationData(hs) s2c:ApplicationData(hs) c2s:ChangeCipherSpec c2s:ApplicationData(hs) c2s:ApplicationData",
			version: "TLS1.3", roundTrips: 2,
		},
		{
			name: "TLS1.3 HelloRetryRequest", srv: hrrSrv, cli: cli(tls.VersionTLS13),
			want: "c2s:ClientHello s2c:HelloRetryRequest s2c:ChangeCipherSpec c2s:ChangeCipherSpec c2s:ClientHello " +
				"s2c:ServerHello s2c:ApplicationData(hs) s2c:ApplicationData(hs) s2c:ApplicationData(hs) " +
				"s2c:ApplicationData(hs) c2s:ApplicationData(hs) c2s:ApplicationData",
			version: "TLS1.3", roundTrips: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.warmup {
				exchange(t, tt.srv, tt.cli)
			}
			d, evs := decodeChunks(t, exchange(t, tt.srv, tt.cli))
			// Records after the client's data (tickets, the reply) arrive
			// in an order that depends on scheduling: compare up to the
			// client's data.
			// The interleaving of the two directions depends on when the
			// client's reads return (a HelloRetryRequest's CCS may be read
			// after the second ClientHello was sent): compare each
			// direction's own order.
			got := sequence(evs)
			want := strings.TrimSuffix(tt.want, " s2c:ApplicationData")
			for _, dir := range []string{"c2s:", "s2c:"} {
				if g, w := oneDir(got, dir), oneDir(want, dir); !strings.HasPrefix(g, w) {
					t.Errorf("%s sequence:\n got %s\nwant %s", dir, got, tt.want)
				}
			}
			if rt := roundTrips(evs); rt != tt.roundTrips {
				t.Errorf("round trips: got %d; want %d", rt, tt.roundTrips)
			}
			sum := d.Summary()
			if f, _ := sum.Get("tls_version"); f.Str != tt.version {
				t.Errorf("tls_version: got %q; want %q", f.Str, tt.version)
			}
			if f, _ := sum.Get("sni"); f.Str != "peer.test" {
				t.Errorf("sni: got %q", f.Str)
			}
			if f, _ := sum.Get("alpn"); tt.version == "TLS1.2" && f.Str != "h2" {
				t.Errorf("alpn: got %q; want h2", f.Str)
			}
		})
	}
}
