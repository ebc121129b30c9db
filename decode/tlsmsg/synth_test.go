package tlsmsg

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// Synthetic connections: hellos built here and records sealed the way a
// peer seals them, with keys the decoder finds in a key log. They feed
// the fuzzers (seeds whose keys fit) and the benchmarks (streams of a
// chosen record size); the real-peer tests check the decryption itself.

// synthHello is what the synthetic hellos say.
type synthHello struct {
	version  Version // negotiated
	suite    CipherSuite
	ems, etm bool
	cr, sr   [32]byte
}

// message wraps a handshake body in its header.
func message(t HandshakeType, body []byte) []byte {
	n := len(body)
	return append([]byte{byte(t), byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// plainRecord frames fragment as a record.
func plainRecord(t ContentType, v Version, frag []byte) []byte {
	return append([]byte{byte(t), byte(v >> 8), byte(v), byte(len(frag) >> 8), byte(len(frag))}, frag...)
}

func (h *synthHello) clientHello() []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(min(h.version, VersionTLS12)))
	b.AddBytes(h.cr[:])
	b.AddUint8(0) // legacy_session_id
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(uint16(h.suite)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	h.extensions(&b, true)
	return message(TypeClientHello, b.BytesOrPanic())
}

func (h *synthHello) serverHello() []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(min(h.version, VersionTLS12)))
	b.AddBytes(h.sr[:])
	b.AddUint8(0)
	b.AddUint16(uint16(h.suite))
	b.AddUint8(0)
	h.extensions(&b, false)
	return message(TypeServerHello, b.BytesOrPanic())
}

// extensions adds a hello's extensions: extended_master_secret,
// encrypt_then_mac, supported_versions (a list from the client, the
// selected version from the server).
func (h *synthHello) extensions(b *cryptobyte.Builder, client bool) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range []struct {
			on bool
			t  ExtensionType
		}{{h.ems, ExtExtendedMasterSecret}, {h.etm, ExtEncryptThenMAC}} {
			if e.on {
				b.AddUint16(uint16(e.t))
				b.AddUint16(0)
			}
		}
		if h.version != VersionTLS13 {
			return
		}
		b.AddUint16(uint16(ExtSupportedVersions))
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			if client {
				b.AddUint8(2)
			}
			b.AddUint16(uint16(VersionTLS13))
		})
	})
}

// seal protects one TLS 1.2 record as its sender would (RFC 5246
// §6.2.3, RFC 7366 with etm) and returns it framed.
func (k *keys12) seal(typ ContentType, v Version, pt []byte) []byte {
	r := &Record{Type: typ, Version: v}
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], k.seq)
	var out []byte
	switch k.s.kind {
	case kindExplicit:
		nonce := append(append([]byte(nil), k.iv...), seq[:]...)
		out = k.aead.Seal(seq[:], nonce, pt, k.additional(r, len(pt)))
	case kindChaCha:
		nonce := append([]byte(nil), k.iv...)
		for i := range seq {
			nonce[4+i] ^= seq[i]
		}
		out = k.aead.Seal(nil, nonce, pt, k.additional(r, len(pt)))
	case kindCBC:
		bs := k.block.BlockSize()
		data := append([]byte(nil), pt...)
		if !k.etm {
			data = append(data, k.macSum(r, pt)...)
		}
		pad := bs - (len(data)+1)%bs
		for range pad + 1 {
			data = append(data, byte(pad))
		}
		iv := make([]byte, bs) // explicit IV (TLS 1.1 and later)
		iv[0] = byte(k.seq)
		cipher.NewCBCEncrypter(k.block, iv).CryptBlocks(data, data)
		out = append(iv, data...)
		if k.etm {
			out = append(out, k.macSum(r, out)...)
		}
	default:
		panic("seal: unsupported kind")
	}
	k.seq++
	return plainRecord(typ, v, out)
}

// synth12 is a TLS 1.2 connection whose key log gives an RSA premaster
// secret (and a PMS_CLIENT_RANDOM for the same): hellos, an RSA
// ClientKeyExchange, both ChangeCipherSpecs and Finished messages, then
// the client's records of data (each one record) and one answer.
func synth12(tb testing.TB, h synthHello, data [][]byte) (c2s, s2c []byte, keyLog string) {
	tb.Helper()
	h.version = VersionTLS12
	epms := make([]byte, 256)
	pms := make([]byte, 48)
	for i := range epms {
		epms[i] = byte(i*7) ^ h.cr[0]
	}
	pms[0], pms[1] = 3, 3
	for i := 2; i < 48; i++ {
		pms[i] = byte(i)
	}
	cke := message(TypeClientKeyExchange, append([]byte{1, 0}, epms...))
	ch, sh, shd := h.clientHello(), h.serverHello(), message(TypeServerHelloDone, nil)
	keyLog = fmt.Sprintf("RSA %x %x\nPMS_CLIENT_RANDOM %x %x\n", epms[:8], pms, h.cr, pms)
	keys := &keylog.Store{}
	keys.Add(strings.NewReader(keyLog), "synth")

	// The decoder's own derivation makes the peers' keys: the OpenSSL
	// tests check it against real peers.
	s := session12{clientRandom: h.cr, serverRandom: h.sr, version: h.version, suite: h.suite, ems: h.ems, etm: h.etm}
	if h.ems {
		s.tr.start()
		s.tr.keep(h.version, suites12[h.suite])
		for _, m := range [][]byte{ch, sh, shd, cke} {
			s.tr.write(HandshakeType(m[0]), m[4:])
		}
		s.sessionHash = s.tr.sum()
	}
	s.rsa(cke[4:])
	ks, status, msg := s.keys(keys)
	if status != "" {
		tb.Fatalf("synth12 keys: %s %s", status, msg)
	}
	fin := message(TypeFinished, make([]byte, 12))
	c2s = plainRecord(ContentHandshake, VersionTLS10, ch)
	c2s = append(c2s, plainRecord(ContentHandshake, VersionTLS12, cke)...)
	c2s = append(c2s, plainRecord(ContentChangeCipherSpec, VersionTLS12, []byte{1})...)
	c2s = append(c2s, ks[0].seal(ContentHandshake, VersionTLS12, fin)...)
	s2c = plainRecord(ContentHandshake, VersionTLS12, append(sh, shd...))
	s2c = append(s2c, plainRecord(ContentChangeCipherSpec, VersionTLS12, []byte{1})...)
	s2c = append(s2c, ks[1].seal(ContentHandshake, VersionTLS12, fin)...)
	for _, d := range data {
		c2s = append(c2s, ks[0].seal(ContentApplicationData, VersionTLS12, d)...)
	}
	s2c = append(s2c, ks[1].seal(ContentApplicationData, VersionTLS12, []byte("answer"))...)
	return c2s, s2c, keyLog
}

// interleave orders a connection as a full TLS 1.2 handshake goes: the
// client's first record, the server's first record, the rest of the
// client's, the rest of the server's.
func interleave(c2s, s2c []byte) []chunk {
	first := func(b []byte) int {
		if _, n, err := ParseRecord(b); err == nil {
			return n
		}
		return len(b)
	}
	c, s := first(c2s), first(s2c)
	return []chunk{{decode.C2S, c2s[:c]}, {decode.S2C, s2c[:s]}, {decode.C2S, c2s[c:]}, {decode.S2C, s2c[s:]}}
}

// TestSynth checks that the synthetic connections decrypt, so that the
// fuzz seeds and benchmarks built on them reach the plaintext.
func TestSynth(t *testing.T) {
	for _, h := range []synthHello{
		{version: VersionTLS12, suite: 0x009C, ems: true},
		{version: VersionTLS12, suite: 0x009D, ems: true}, // SHA-384 session hash
		{version: VersionTLS12, suite: 0x003D, ems: true, etm: true},
		{version: VersionTLS12, suite: 0x002F},
		{version: VersionTLS12, suite: 0xCCA8},
		{version: VersionTLS12, suite: 0xC0A0, ems: true}, // AES-128-CCM-8
		{version: VersionTLS12, suite: 0xC09D},            // AES-256-CCM
		{version: VersionTLS13, suite: 0x1301}, {version: VersionTLS13, suite: 0x1302},
		{version: VersionTLS13, suite: 0x1303}, {version: VersionTLS13, suite: 0x1304},
		{version: VersionTLS13, suite: 0x1305},
	} {
		t.Run(h.suite.String(), func(t *testing.T) {
			data := [][]byte{[]byte("one"), make([]byte, 1<<14)}
			synth := synth12
			if h.version == VersionTLS13 {
				synth = synth13
			}
			c2s, s2c, kl := synth(t, h, data)
			keys := &keylog.Store{}
			keys.Add(strings.NewReader(kl), "synth")
			evs, next := decryptChunks(t, interleave(c2s, s2c), keys)
			if s := keysInfo(evs, "keys"); len(s) != 0 {
				t.Errorf("keys events: %q", s)
			}
			if want := append([]byte("one"), data[1]...); !bytes.Equal(next.got[0], want) {
				t.Errorf("client plaintext: %d bytes; want %d", len(next.got[0]), len(want))
			}
			if h.version == VersionTLS12 && string(next.got[1]) != "answer" {
				t.Errorf("server plaintext %q; want answer", next.got[1])
			}
		})
	}
}

// seal protects one TLS 1.3 record of content type typ (RFC 8446 §5.2).
func (k *trafficKeys) seal(typ ContentType, pt []byte) []byte {
	inner := append(append(make([]byte, 0, len(pt)+1+k.aead.Overhead()), pt...), byte(typ))
	n := len(inner) + k.aead.Overhead()
	hdr := []byte{byte(ContentApplicationData), 3, 3, byte(n >> 8), byte(n)}
	nonce := k.iv
	for i := range 8 {
		nonce[4+i] ^= byte(k.seq >> (56 - 8*i))
	}
	k.seq++
	return append(hdr, k.aead.Seal(inner[:0], nonce[:], inner, hdr)...)
}

// synth13 is a TLS 1.3 connection's start: the hellos, then the client's
// records of data (each one record) under its handshake traffic secret,
// which the key log gives; the decoder takes them as data in the
// handshake epoch.
func synth13(tb testing.TB, h synthHello, data [][]byte) (c2s, s2c []byte, keyLog string) {
	tb.Helper()
	h.version = VersionTLS13
	s := findSuite13(h.suite)
	secret := make([]byte, s.hash().Size())
	for i := range secret {
		secret[i] = byte(i) ^ h.cr[0]
	}
	keyLog = fmt.Sprintf("CLIENT_HANDSHAKE_TRAFFIC_SECRET %x %x\n", h.cr, secret)
	k, err := newTrafficKeys(s, secret)
	if err != nil {
		tb.Fatal(err)
	}
	c2s = plainRecord(ContentHandshake, VersionTLS10, h.clientHello())
	s2c = plainRecord(ContentHandshake, VersionTLS12, h.serverHello())
	for _, d := range data {
		c2s = append(c2s, k.seal(ContentApplicationData, d)...)
	}
	return c2s, s2c, keyLog
}
