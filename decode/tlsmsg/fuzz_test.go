package tlsmsg

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
)

// seedCaptures are the shared captures whose streams seed the fuzzers,
// each for the edge it brings.
var seedCaptures = []string{
	"illustrated-tls12.pcap",               // TLS 1.2 full handshake, ECDHE, CBC, encrypted alert
	"illustrated-tls13.pcap",               // TLS 1.3 with middlebox CCS and encrypted handshake
	"zeek-tls13-hrr.pcap",                  // HelloRetryRequest, second ClientHello
	"sv-sslv2-tls-upgrade.pcap",            // SSLv2-compatible ClientHello, then TLS 1.0
	"sv-tls-client-hello-frag-mtu300.pcap", // a ClientHello across several records
}

// streamSeeds returns the first bytes (up to 4 KiB) of each direction of
// each connection in the seed captures, taken from the timeline's
// reassembly through a sniffer that claims every stream.
func streamSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range connSeeds(tb, seedCaptures) {
		for _, s := range c {
			if len(s) > 0 {
				seeds = append(seeds, s)
			}
		}
	}
	return seeds
}

// connSeeds returns both directions' first bytes (up to 4 KiB) of each
// connection in the named captures under tls/.
func connSeeds(tb testing.TB, names []string) [][2][]byte {
	var seeds [][2][]byte
	for _, name := range names {
		for _, st := range pcaptest.Streams(tb, pcaptest.Shared(tb, "tls/"+name)) {
			seeds = append(seeds, st.Bytes(4096))
		}
	}
	return seeds
}

// FuzzRecords feeds a byte stream as the client's, then as the server's,
// in two chunks. Invariants: no panic; an event's len never exceeds the
// input; every event renders.
func FuzzRecords(f *testing.F) {
	for _, s := range streamSeeds(f) {
		f.Add(s, uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		c := min(int(cut), len(b))
		for _, dir := range []decode.Dir{decode.C2S, decode.S2C} {
			d := NewDecoder()
			emit := func(e decode.Event) {
				if e.Len > int64(len(b)) {
					t.Fatalf("event %s len %d beyond input %d", e.Type, e.Len, len(b))
				}
				_ = render([]decode.Event{e})
			}
			if err := d.Data(dir, b[:c], decode.Position{}, emit); err != nil {
				t.Fatal(err)
			}
			if err := d.Data(dir, b[c:], decode.Position{}, emit); err != nil {
				t.Fatal(err)
			}
			_ = d.Summary()
		}
	})
}

// FuzzDecrypt feeds a connection to a decoder holding the key logs of
// the seed captures: the client's first record, the server's first
// record, the rest of the client's, the rest of the server's. Seeds are
// the illustrated TLS 1.3 (AES-256-GCM, handshake and application
// secrets) and TLS 1.2 (CBC) connections, and synthetic TLS 1.2 RSA key
// exchanges (synth_test.go) with and without the extended master secret
// whose keys come from RSA and PMS_CLIENT_RANDOM lines, so mutations reach
// the AEAD and CBC paths, the ClientKeyExchange and the session hash with
// keys that fit. Invariants: no panic; no event's len and no plaintext
// exceeds the input; every event renders.
func FuzzDecrypt(f *testing.F) {
	keys := &keylog.Store{}
	for _, k := range []string{"illustrated-tls13.keys", "illustrated-tls12.keys"} {
		b, err := os.ReadFile(pcaptest.Shared(f, "tls/"+k))
		if err != nil {
			f.Skip(err)
		}
		keys.Add(bytes.NewReader(b), k)
	}
	for _, c := range connSeeds(f, []string{"illustrated-tls13.pcap", "illustrated-tls12.pcap"}) {
		f.Add(c[0], c[1])
	}
	for i, h := range []synthHello{
		{suite: 0x009C, ems: true},              // TLS_RSA_WITH_AES_128_GCM_SHA256
		{suite: 0x003D, ems: true, etm: true},   // TLS_RSA_WITH_AES_256_CBC_SHA256
		{suite: 0x002F, ems: false, etm: false}, // TLS_RSA_WITH_AES_128_CBC_SHA
		{suite: 0xC0A0, ems: true},              // TLS_RSA_WITH_AES_128_CCM_8
	} {
		h.cr[0], h.sr[0] = byte(0xe0+i), 1
		c2s, s2c, kl := synth12(f, h, [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n")})
		keys.Add(strings.NewReader(kl), "synth")
		f.Add(c2s, s2c)
	}
	f.Fuzz(func(t *testing.T, c2s, s2c []byte) {
		next := &collect{}
		d := NewDecoderOptions(Options{Keys: keys, Next: func() decode.StreamDecoder { return next }})
		total := int64(len(c2s) + len(s2c))
		emit := func(e decode.Event) {
			if e.Len > total {
				t.Fatalf("event %s len %d beyond input %d", e.Type, e.Len, total)
			}
			_ = render([]decode.Event{e})
		}
		for _, c := range interleave(c2s, s2c) {
			d.Data(c.dir, c.data, decode.Position{}, emit)
		}
		if int64(len(next.got[0])+len(next.got[1])) > total {
			t.Fatalf("more plaintext than input")
		}
		_ = d.Summary()
	})
}

// FuzzHandshake parses one handshake message. Invariants: no panic; an
// error comes with no type or with the error in info, never a clean
// message; a clean message has a type; the result renders.
func FuzzHandshake(f *testing.F) {
	for _, s := range streamSeeds(f) {
		// Every handshake message of the stream's plaintext records.
		var hs []byte
		for rest := s; ; {
			r, n, err := ParseRecord(rest)
			if err != nil {
				break
			}
			if r.Type == ContentHandshake {
				hs = append(hs, r.Fragment...)
			}
			rest = rest[n:]
		}
		for len(hs) >= 4 {
			n := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
			if n > len(hs) {
				break
			}
			f.Add(hs[:n], uint16(VersionTLS12))
			hs = hs[n:]
		}
	}
	f.Add(clientHello13, uint16(0))
	f.Add(helloRetry, uint16(0))
	f.Fuzz(func(t *testing.T, msg []byte, v uint16) {
		typ, info, err := ParseMessage(msg, Version(v))
		if err == nil && typ == "" {
			t.Fatal("no error and no type")
		}
		if err != nil && typ != "" && !info.Has("error") {
			t.Fatalf("error %v with a clean %s", err, typ)
		}
		_ = infoString(info)
	})
}
