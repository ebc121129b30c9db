package quic

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
)

// TestPeersZeroRTT resumes a quic-go connection with 0-RTT. Go's
// crypto/tls does not log CLIENT_EARLY_TRAFFIC_SECRET, so the 0-RTT
// packets stay encrypted, said once by a keys event naming the secret,
// while the rest of the connection decrypts and the server's answer on
// the stream reaches Next; the 0-RTT packets are application data before
// the handshake completed. TestZeroRTTSealed decrypts 0-RTT packets.
func TestPeersZeroRTT(t *testing.T) {
	cert, pool := testCert(t, peerSNI)
	udp, tee, tr := teeTransport(t)
	defer tr.Close()
	ln, err := tr.ListenEarly(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{peerALPN}},
		&quicgo.Config{Allow0RTT: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				st, err := conn.AcceptStream(ctx)
				if err != nil {
					return
				}
				b, _ := io.ReadAll(st)
				st.Write(b)
				st.Close()
			}()
		}
	}()
	var keyLog bytes.Buffer
	tlsConf := &tls.Config{ServerName: peerSNI, RootCAs: pool, NextProtos: []string{peerALPN},
		KeyLogWriter: &keyLog, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	var second uint16
	for i, msg := range []string{"first", "early"} {
		conn, err := quicgo.DialAddrEarly(ctx, udp.LocalAddr().String(), tlsConf, &quicgo.Config{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := conn.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		st.Write([]byte(msg))
		st.Close()
		if got, err := io.ReadAll(st); err != nil || string(got) != msg {
			t.Fatalf("echo %q, %v", got, err)
		}
		if used := conn.ConnectionState().Used0RTT; used != (i == 1) {
			t.Fatalf("connection %d: Used0RTT %v", i, used)
		}
		// Let the session ticket arrive before closing the first.
		time.Sleep(20 * time.Millisecond)
		second = conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		conn.CloseWithError(0, "bye")
	}
	time.Sleep(50 * time.Millisecond)
	var dgs []datagram
	for _, dg := range tee.datagrams() {
		if ap, err := netip.ParseAddrPort(dg.peer); err == nil && ap.Port() == second {
			dgs = append(dgs, dg)
		}
	}
	var rec *recorder
	evs, _ := decodeWith(t, dgs, Options{Keys: keyStore(t, keyLog.Bytes()), Next: func(alpn string) decode.MultiStreamDecoder {
		rec = newRecorder(alpn)
		return rec
	}})
	zeroRTT, done := 0, false
	for _, e := range evs {
		if e.Flags&decode.FlagHandshakeDone != 0 {
			done = true
		}
		if e.Type != "0-RTT" {
			continue
		}
		zeroRTT++
		if done || e.Flags&decode.FlagAppData == 0 {
			t.Errorf("0-RTT packet after the handshake or without FlagAppData")
		}
	}
	if zeroRTT == 0 {
		t.Fatalf("no 0-RTT packet in %d datagrams", len(dgs))
	}
	keys := 0
	for _, e := range evs {
		if e.Type == tlsmsg.TypeKeys {
			keys++
			if f, _ := e.Info.Get("error"); !strings.Contains(f.Str, "CLIENT_EARLY_TRAFFIC_SECRET") {
				t.Errorf("keys event %v; want it to name CLIENT_EARLY_TRAFFIC_SECRET", e.Info)
			}
		}
		if f, ok := e.Info.Get("decrypted"); ok && !f.Bool() && e.Type != "0-RTT" {
			t.Errorf("%s %s not decrypted", e.Dir, e.Type)
		}
	}
	if keys != 1 {
		t.Errorf("%d keys events; want 1", keys)
	}
	if rec == nil || !slices.Equal(rec.data[streamKey{0, decode.S2C}], []byte("early")) {
		t.Errorf("streams %v", rec)
	}
}

// TestZeroRTTSealed decrypts hand-sealed 0-RTT packets with each suite:
// the key log's CLIENT_EARLY_TRAFFIC_SECRET, the suite found by trying
// those of the secret's hash length, the STREAM data handed to Next.
func TestZeroRTTSealed(t *testing.T) {
	for i := range suites {
		s := &suites[i]
		t.Run(tlsSuiteName(s), func(t *testing.T) {
			var random [32]byte
			random[0] = byte(i + 1)
			secret := bytes.Repeat([]byte{0x5a}, s.hash().Size())
			log := fmt.Sprintf("CLIENT_EARLY_TRAFFIC_SECRET %x %x\n", random, secret)
			rec := newRecorder("")
			d := NewDecoder(Options{Keys: keyStore(t, []byte(log)), Next: func(string) decode.MultiStreamDecoder { return rec }})
			d.random, d.haveRandom = random, true
			k := newSuiteKeys(s, secret, &paramsV1)
			dcid := []byte{9, 8, 7, 6, 5, 4, 3, 2}
			payload := encStream(0, 0, "GET /early", true)
			hdr := []byte{0xd3, 0, 0, 0, 1, byte(len(dcid))} // 0-RTT (v1 type bits 01), 4-byte pn
			hdr = append(append(hdr, dcid...), 0)            // no SCID
			hdr = quicvarint.AppendWithLen(hdr, uint64(4+len(payload)+16), 2)
			pkt := seal(k, hdr, len(hdr), 0, payload, 0x0f)
			var evs []decode.Event
			d.Datagram(decode.C2S, pkt, decode.Position{}, func(e decode.Event) { evs = append(evs, e) })
			if len(evs) != 1 || evs[0].Type != "0-RTT" {
				t.Fatalf("events %v", evs)
			}
			if f, _ := evs[0].Info.Get("decrypted"); !f.Bool() {
				t.Errorf("not decrypted: %v", evs[0].Info)
			}
			if got := string(rec.data[streamKey{0, decode.C2S}]); got != "GET /early" || rec.fins[streamKey{0, decode.C2S}] != 1 {
				t.Errorf("stream 0: %q", got)
			}
		})
	}
}

// TestZeroRTTAfterClientHello: a 0-RTT packet right after the recorded
// ClientHello's Initial packets (its random in the key log with an early secret) decrypts,
// and Next is made with the one ALPN the ClientHello offered, before any
// EncryptedExtensions.
func TestZeroRTTAfterClientHello(t *testing.T) {
	dgs := readExchange(t)
	var h Header
	if err := ParseHeader(dgs[0].data, -1, &h); err != nil || h.Type != PacketInitial {
		t.Fatalf("first datagram: %v %v", h.Type, err)
	}
	d0 := NewDecoder(Options{})
	d0.Datagram(decode.C2S, dgs[0].data, decode.Position{}, func(decode.Event) {})
	if !d0.haveRandom {
		t.Fatal("no ClientHello random in the first datagram")
	}
	secret := bytes.Repeat([]byte{0x33}, 32)
	log := fmt.Sprintf("CLIENT_EARLY_TRAFFIC_SECRET %x %x\n", d0.random, secret)
	var alpn string
	rec := newRecorder("")
	d := NewDecoder(Options{Keys: keyStore(t, []byte(log)), Next: func(a string) decode.MultiStreamDecoder { alpn = a; return rec }})
	// The client's Initial datagrams up to the whole ClientHello (with
	// a post-quantum key share it spans two).
	for _, dg := range dgs {
		if d.sni != "" {
			break
		}
		if dg.dir == decode.C2S {
			d.Datagram(decode.C2S, dg.data, decode.Position{}, func(decode.Event) {})
		}
	}
	k := newSuiteKeys(&suites[0], secret, &paramsV1)
	payload := encStream(0, 0, "early", false)
	hdr := []byte{0xd3, 0, 0, 0, 1, byte(len(h.DCID))}
	hdr = append(append(append(hdr, h.DCID...), byte(len(h.SCID))), h.SCID...)
	hdr = quicvarint.AppendWithLen(hdr, uint64(4+len(payload)+16), 2)
	var evs []decode.Event
	d.Datagram(decode.C2S, seal(k, hdr, len(hdr), 0, payload, 0x0f), decode.Position{}, func(e decode.Event) { evs = append(evs, e) })
	if f, _ := evs[0].Info.Get("decrypted"); len(evs) != 1 || !f.Bool() {
		t.Fatalf("events %v", evs)
	}
	if alpn != peerALPN || string(rec.data[streamKey{0, decode.C2S}]) != "early" {
		t.Errorf("Next(%q) got %q; want Next(%q) with \"early\"", alpn, rec.data[streamKey{0, decode.C2S}], peerALPN)
	}
}
