package quic

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"

	"github.com/wiretrace/wiretrace/decode"
)

// datagram is one UDP payload as the server's socket saw it.
type datagram struct {
	dir  decode.Dir
	data []byte
	peer string // the client's address, when recorded by teeConn
}

// teeConn records every datagram the server's socket reads (c2s) and
// writes (s2c), in the order the socket handled them. As a plain
// net.PacketConn it keeps quic-go off its batched and GSO paths, so each
// write is one datagram.
type teeConn struct {
	net.PacketConn
	mu  sync.Mutex
	log []datagram
}

func (c *teeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.record(decode.C2S, b[:n], addr)
	}
	return n, addr, err
}

func (c *teeConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	// Record before the write, so that the server's datagram is logged
	// before the client's answer to it is read.
	c.record(decode.S2C, b, addr)
	return c.PacketConn.WriteTo(b, addr)
}

func (c *teeConn) record(dir decode.Dir, b []byte, peer net.Addr) {
	c.mu.Lock()
	c.log = append(c.log, datagram{dir, bytes.Clone(b), peer.String()})
	c.mu.Unlock()
}

func (c *teeConn) datagrams() []datagram {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// group runs functions in goroutines and keeps the first error.
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	})
}

func (g *group) Wait() error { g.wg.Wait(); return g.err }

// sentPacket is one packet_sent event of quic-go's qlog: the oracle.
type sentPacket struct {
	typ    string // our packet type name
	pn     int64
	frames []string // non-PADDING frames: "CRYPTO off=0 len=245", others by name
	types  []string // every frame's type name, as our frame list names them
}

// qlogFrameName turns a qlog frame's Go type into the RFC name our frame
// lists use: *wire.NewConnectionIDFrame is NEW_CONNECTION_ID.
func qlogFrameName(f any) string {
	n := fmt.Sprintf("%T", f)
	n = strings.TrimSuffix(n[strings.LastIndexByte(n, '.')+1:], "Frame")
	var b strings.Builder
	for i, c := range n {
		if i > 0 && c >= 'A' && c <= 'Z' && n[i-1] >= 'a' && n[i-1] <= 'z' {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return strings.ToUpper(b.String())
}

// qlogTrace records quic-go's packet_sent events of one side.
type qlogTrace struct {
	mu   sync.Mutex
	sent []sentPacket
}

func (t *qlogTrace) AddProducer() qlogwriter.Recorder { return t }
func (t *qlogTrace) Close() error                     { return nil }

func (t *qlogTrace) RecordEvent(ev qlogwriter.Event) {
	ps, ok := ev.(qlog.PacketSent)
	if !ok {
		return
	}
	p := sentPacket{pn: int64(ps.Header.PacketNumber)}
	switch ps.Header.PacketType {
	case qlog.PacketTypeInitial:
		p.typ = "Initial"
	case qlog.PacketTypeHandshake:
		p.typ = "Handshake"
	case qlog.PacketType0RTT:
		p.typ = "0-RTT"
	case qlog.PacketType1RTT:
		p.typ = "1-RTT"
	default:
		p.typ = string(ps.Header.PacketType)
	}
	for _, f := range ps.Frames {
		switch f := f.Frame.(type) {
		case *qlog.CryptoFrame:
			p.frames = append(p.frames, fmt.Sprintf("CRYPTO off=%d len=%d", f.Offset, f.Length))
		case *qlog.AckFrame:
			p.frames = append(p.frames, "ACK")
		case *qlog.PingFrame:
			p.frames = append(p.frames, "PING")
		case *qlog.ConnectionCloseFrame:
			p.frames = append(p.frames, "CONNECTION_CLOSE")
		default:
			p.frames = append(p.frames, qlogFrameName(f))
		}
		p.types = append(p.types, qlogFrameName(f.Frame))
	}
	t.mu.Lock()
	t.sent = append(t.sent, p)
	t.mu.Unlock()
}

func (t *qlogTrace) packets() []sentPacket {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.sent)
}

// testCert makes a self-signed ECDSA certificate for name.
func testCert(t testing.TB, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// exchange is what one quic-go connection over loopback left: the
// server socket's datagrams, both sides' qlog, the client's key log.
type exchange struct {
	datagrams      []datagram
	client, server *qlogTrace
	keyLog         []byte
	clientSCID     string // the client's first Initial's SCID, hex
}

const (
	peerSNI  = "wiretrace.test"
	peerALPN = "wt-test"
)

// runExchange runs a quic-go server and client over loopback: the client
// sends "hello" on a stream, the server echoes it, the client closes.
// retry makes the server ask for address validation (a Retry); versions
// restricts both sides' QUIC versions.
func runExchange(t *testing.T, retry bool, versions []quicgo.Version) *exchange {
	t.Helper()
	return runStreams(t, retry, versions, [][]byte{[]byte("hello")})
}

// teeTransport is a quic-go Transport on a loopback socket whose
// datagrams a teeConn records.
func teeTransport(t *testing.T) (net.PacketConn, *teeConn, *quicgo.Transport) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no UDP on loopback: ", err)
	}
	tee := &teeConn{PacketConn: udp}
	return udp, tee, &quicgo.Transport{Conn: tee}
}

// runStreams is runExchange with one client stream per payload, opened
// and written concurrently, each echoed by the server on its stream.
func runStreams(t *testing.T, retry bool, versions []quicgo.Version, payloads [][]byte) *exchange {
	t.Helper()
	cert, pool := testCert(t, peerSNI)
	udp, tee, tr := teeTransport(t)
	if retry {
		tr.VerifySourceAddress = func(net.Addr) bool { return true }
	}
	defer tr.Close()
	ex := &exchange{client: &qlogTrace{}, server: &qlogTrace{}}
	conf := func(trace *qlogTrace) *quicgo.Config {
		return &quicgo.Config{
			Versions: versions,
			Tracer: func(context.Context, bool, quicgo.ConnectionID) qlogwriter.Trace {
				return trace
			},
		}
	}
	ln, err := tr.Listen(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{peerALPN}}, conf(ex.server))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- func() error {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return err
			}
			var g group
			for range payloads {
				st, err := conn.AcceptStream(ctx)
				if err != nil {
					return err
				}
				g.Go(func() error {
					b, err := io.ReadAll(st)
					if err != nil {
						return err
					}
					if _, err := st.Write(b); err != nil {
						return err
					}
					return st.Close()
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			<-conn.Context().Done()
			return nil
		}()
	}()
	var keyLog bytes.Buffer
	conn, err := quicgo.DialAddr(ctx, udp.LocalAddr().String(), &tls.Config{
		ServerName: peerSNI, RootCAs: pool, NextProtos: []string{peerALPN}, KeyLogWriter: &keyLog,
	}, conf(ex.client))
	if err != nil {
		t.Fatal(err)
	}
	var g group
	for _, p := range payloads {
		st, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		g.Go(func() error {
			if _, err := st.Write(p); err != nil {
				return err
			}
			st.Close()
			got, err := io.ReadAll(st)
			if err != nil || !bytes.Equal(got, p) {
				return fmt.Errorf("echo of stream %d: %d bytes, %v; want %d", st.StreamID(), len(got), err, len(p))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	conn.CloseWithError(0, "bye")
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	// Let the server's last datagrams reach the log.
	time.Sleep(50 * time.Millisecond)
	ex.datagrams = tee.datagrams()
	ex.keyLog = keyLog.Bytes()
	var h Header
	if len(ex.datagrams) > 0 && ParseHeader(ex.datagrams[0].data, -1, &h) == nil {
		ex.clientSCID = hex.EncodeToString(h.SCID)
	}
	return ex
}

// decodeExchange runs the datagrams through a Decoder without keys.
func decodeExchange(t *testing.T, dgs []datagram) ([]decode.Event, *Decoder) {
	t.Helper()
	if !Sniff(dgs[0].dir, dgs[0].data) {
		t.Fatalf("the first datagram is not sniffed as QUIC: % x", dgs[0].data[:min(32, len(dgs[0].data))])
	}
	return decodeWith(t, dgs, Options{MaxFrames: 1 << 10})
}

// TestPeers decodes quic-go connections over loopback, without keys,
// against quic-go's own qlog: per direction the same packets (types in
// order, Initial packet numbers, the CRYPTO frames of Initial packets),
// the ClientHello's SNI, ALPN and transport parameters, a Retry with a
// valid integrity tag, and the flags the timeline's analysis needs.
func TestPeers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		retry    bool
		versions []quicgo.Version
		version  string
	}{
		{"v1", false, []quicgo.Version{quicgo.Version1}, "v1"},
		{"v2", false, []quicgo.Version{quicgo.Version2}, "v2"},
		{"v1-retry", true, []quicgo.Version{quicgo.Version1}, "v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := runExchange(t, tc.retry, tc.versions)
			evs, d := decodeExchange(t, ex.datagrams)
			checkAgainstQlog(t, evs, decode.C2S, ex.client.packets())
			checkAgainstQlog(t, evs, decode.S2C, ex.server.packets())
			checkHello(t, evs, ex, tc.retry)
			checkFlags(t, evs, tc.retry)
			for _, e := range evs {
				if f, ok := e.Info.Get("version"); ok && e.Layer == decode.LayerQUIC && f.Str != tc.version {
					t.Errorf("frame %d: %s version %s; want %s", e.Frame, e.Type, f.Str, tc.version)
				}
				if f, ok := e.Info.Get("error"); ok {
					t.Errorf("frame %d: %s %s: error %s", e.Frame, e.Dir, e.Type, f.Str)
				}
			}
			retries := 0
			for _, e := range evs {
				if e.Type == "Retry" {
					// quic-go answers each of the client's first
					// datagrams with a Retry; the client takes the
					// first (RFC 9000 §17.2.5.2).
					if !e.Info.Has("ignored") {
						retries++
					}
					if f, ok := e.Info.Get("integrity_ok"); !ok || !f.Bool() {
						t.Errorf("Retry: integrity_ok %v, %v; want true", f.Bool(), ok)
					}
				}
			}
			if want := map[bool]int{false: 0, true: 1}[tc.retry]; retries != want {
				t.Errorf("%d Retry packets not ignored; want %d", retries, want)
			}
			sum := d.Summary()
			for key, want := range map[string]string{"handshake": "UDP+QUIC", "tls_version": "TLS1.3", "sni": peerSNI, "alpn": ""} {
				if f, _ := sum.Get(key); f.Str != want {
					t.Errorf("summary %s = %q; want %q", key, f.Str, want)
				}
			}
			if !bytes.Contains(ex.keyLog, []byte("CLIENT_HANDSHAKE_TRAFFIC_SECRET ")) {
				t.Errorf("key log without handshake secrets: %d bytes", len(ex.keyLog))
			}
		})
	}
}

// checkAgainstQlog compares the packets of one direction with what the
// sender's qlog says it sent: the same types in the same order (quic-go
// logs a packet before it leaves, in the order of the datagrams), Initial
// packet numbers, and the CRYPTO frames of Initial packets (quic-go logs
// no PADDING).
func checkAgainstQlog(t *testing.T, evs []decode.Event, dir decode.Dir, sent []sentPacket) {
	t.Helper()
	var got []decode.Event
	for _, e := range evs {
		if e.Layer == decode.LayerQUIC && e.Dir == dir && e.Type != "Retry" && e.Type != "VersionNegotiation" {
			got = append(got, e)
		}
	}
	// After closing, quic-go answers late packets with its last
	// CONNECTION_CLOSE packet again, without logging it (closed_conn.go):
	// those may follow what the qlog lists.
	extra := got[min(len(sent), len(got)):]
	if len(got) < len(sent) || len(extra) > 3 {
		t.Errorf("%s: %d packets; qlog %d", dir, len(got), len(sent))
	}
	for _, e := range extra {
		if e.Type != "1-RTT" {
			t.Errorf("%s: a %s packet after those the qlog lists", dir, e.Type)
		}
	}
	for i := range min(len(got), len(sent)) {
		e, q := got[i], sent[i]
		if string(e.Type) != q.typ {
			t.Errorf("%s packet %d: %s; qlog %s", dir, i, e.Type, q.typ)
			continue
		}
		if e.Type != "Initial" {
			continue
		}
		if f, ok := e.Info.Get("pn"); !ok || f.Int != q.pn {
			t.Errorf("%s Initial %d: pn %d (%v); qlog %d", dir, i, f.Int, ok, q.pn)
		}
		f, _ := e.Info.Get("frames")
		var frames []string
		for _, s := range f.Strs {
			switch {
			case strings.HasPrefix(s, "PADDING "):
			case strings.HasPrefix(s, "CRYPTO "):
				frames = append(frames, s)
			default:
				name, _, _ := strings.Cut(s, " ")
				frames = append(frames, name)
			}
		}
		if !slices.Equal(frames, q.frames) {
			t.Errorf("%s Initial pn %d: frames %q; qlog %q", dir, q.pn, frames, q.frames)
		}
	}
}

// checkHello checks the ClientHello and ServerHello decoded from the
// Initial packets.
func checkHello(t *testing.T, evs []decode.Event, ex *exchange, retry bool) {
	t.Helper()
	var ch, sh []decode.Event
	retryAt, lastHello := -1, -1
	for i, e := range evs {
		if e.Type == "Retry" && retryAt < 0 {
			retryAt = i
		}
		if e.Type == "ClientHello" {
			lastHello = i
		}
		switch {
		case e.Layer == decode.LayerTLS && e.Type == "ClientHello" && e.Dir == decode.C2S:
			ch = append(ch, e)
		case e.Layer == decode.LayerTLS && e.Type == "ServerHello" && e.Dir == decode.S2C:
			sh = append(sh, e)
		case e.Layer == decode.LayerTLS:
			t.Errorf("unexpected tls event %s %s", e.Dir, e.Type)
		}
	}
	// After a Retry the client sends its ClientHello again; the first
	// one is complete only if all its Initial packets left before the
	// Retry came (quic-go spreads it over two).
	if len(ch) != 1 && !(retry && len(ch) == 2) || len(sh) != 1 {
		t.Fatalf("%d ClientHello, %d ServerHello; want 1 (2 with a Retry), 1", len(ch), len(sh))
	}
	if retry && lastHello < retryAt {
		t.Errorf("no ClientHello after the Retry")
	}
	info := ch[0].Info
	if f, _ := info.Get("sni"); f.Str != peerSNI {
		t.Errorf("ClientHello sni %q; want %q", f.Str, peerSNI)
	}
	if f, _ := info.Get("alpn"); !slices.Equal(f.Strs, []string{peerALPN}) {
		t.Errorf("ClientHello alpn %q; want [%s]", f.Strs, peerALPN)
	}
	if f, _ := info.Get("ja4"); !strings.HasPrefix(f.Str, "q13d") {
		t.Errorf("ClientHello ja4 %q; want q13d…", f.Str)
	}
	tp, _ := info.Get("transport_parameters")
	if want := "initial_source_connection_id=" + ex.clientSCID; !slices.Contains(tp.Strs, want) {
		t.Errorf("transport_parameters %q lack %q", tp.Strs, want)
	}
	if f, _ := sh[0].Info.Get("version"); f.Str != "TLS1.3" {
		t.Errorf("ServerHello version %q; want TLS1.3", f.Str)
	}
}

// checkFlags checks the flags: the client's first Initial (and its first
// after a Retry) is a request, the server's packets replies, exactly one
// client Handshake packet completes the handshake and it carries a CRYPTO
// frame (its Finished) according to the qlog order, the client's 1-RTT
// packets are application data.
func checkFlags(t *testing.T, evs []decode.Event, retry bool) {
	t.Helper()
	requests, done := 0, 0
	for _, e := range evs {
		if e.Layer != decode.LayerQUIC {
			continue
		}
		if e.Dir == decode.S2C && e.Flags&decode.FlagReply == 0 {
			t.Errorf("server %s without FlagReply", e.Type)
		}
		if e.Flags&decode.FlagRequest != 0 {
			requests++
			if e.Dir != decode.C2S || e.Type != "Initial" {
				t.Errorf("FlagRequest on %s %s", e.Dir, e.Type)
			}
		}
		if e.Flags&decode.FlagHandshakeDone != 0 {
			done++
			if e.Dir != decode.C2S || e.Type != "Handshake" {
				t.Errorf("FlagHandshakeDone on %s %s", e.Dir, e.Type)
			}
		}
		if e.Dir == decode.C2S && e.Type == "1-RTT" && e.Flags&decode.FlagAppData == 0 {
			t.Errorf("client 1-RTT without FlagAppData")
		}
	}
	if want := map[bool]int{false: 1, true: 2}[retry]; requests != want {
		t.Errorf("%d requests; want %d", requests, want)
	}
	if done != 1 {
		t.Errorf("%d events with FlagHandshakeDone; want 1", done)
	}
}
