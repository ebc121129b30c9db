package tlsmsg

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/wiretrace/wiretrace/decode"
)

// h decodes annotated hex: everything after "//" on a line is a comment,
// whitespace is ignored.
func h(s string) []byte {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(strings.Join(strings.Fields(line), ""))
	}
	out, err := hex.DecodeString(b.String())
	if err != nil {
		panic(err)
	}
	return out
}

var zero32 = strings.Repeat("00", 32)

// clientHello13 is a small TLS 1.3 ClientHello with a GREASE suite and a
// GREASE extension.
var clientHello13 = h(`
01 00005d      // handshake: ClientHello, length 93
0303           // legacy_version TLS 1.2
` + zero32 + ` // random
00             // legacy_session_id: empty
0006 0a0a 1301 1302 // cipher_suites: GREASE, TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
01 00          // legacy_compression_methods: null
002e           // extensions, 46 bytes
0000 000e 000c 00 0009 706565722e74657374 // server_name: host_name "peer.test"
0010 0005 0003 02 6832                    // ALPN: "h2"
002b 0003 02 0304                         // supported_versions: TLS 1.3
000d 0004 0002 0403                       // signature_algorithms: ecdsa_secp256r1_sha256
1a1a 0000                                 // GREASE extension, empty
`)

var serverHello13 = h(`
02 000056      // handshake: ServerHello, length 86
0303           // legacy_version
` + strings.Repeat("11", 32) + ` // random
00             // legacy_session_id_echo
1301           // cipher_suite TLS_AES_128_GCM_SHA256
00             // legacy_compression_method
002e           // extensions, 46 bytes
002b 0002 0304 // supported_versions: selected TLS 1.3
0033 0024 001d 0020 ` + zero32 + ` // key_share: x25519, 32-byte key
`)

var helloRetry = h(`
02 000034      // handshake: ServerHello, length 52
0303           // legacy_version
CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C // random = SHA-256("HelloRetryRequest")
00 1301 00     // session id, suite, compression
000c           // extensions, 12 bytes
002b 0002 0304 // supported_versions
0033 0002 0017 // key_share: selected_group secp256r1
`)

// certificate12 builds a TLS 1.2 Certificate message around der.
func certificate12(der []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(TypeCertificate))
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(der) })
		})
	})
	return b.BytesOrPanic()
}

func infoString(in decode.Info) string {
	var parts []string
	for _, f := range in {
		parts = append(parts, f.Key+"="+string(f.AppendValue(nil)))
	}
	return strings.Join(parts, " ")
}

func TestMessages(t *testing.T) {
	cert := testCert(t)
	tests := []struct {
		name    string
		msg     []byte
		version Version
		typ     decode.Type
		want    []string // key=value pairs that must appear in info
	}{
		{"ClientHello", clientHello13, 0, "ClientHello", []string{
			"version=TLS1.2", "supported_versions=TLS1.3", "sni=peer.test", "alpn=h2",
			"cipher_suites=GREASE,TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
			"signature_algorithms=ecdsa_secp256r1_sha256",
			"extensions=server_name,application_layer_protocol_negotiation,supported_versions,signature_algorithms,GREASE",
			"ja3=771,4865-4866,0-16-43-13,,", "ja3_hash=af057e9f84e0ebb0d7aedce00bf5a187",
			// JA4 by hand: t, 13 (supported_versions), d (SNI), 02 suites
			// and 04 extensions (GREASE left out), h2; then SHA-256 of
			// "1301,1302" and of "000d,002b_0403" (SNI and ALPN left out),
			// each cut to 12 hex digits.
			"ja4=t13d0204h2_62ed6f6ca7ad_3953dc75acc4",
		}},
		{"ServerHello", serverHello13, 0, "ServerHello", []string{
			"version=TLS1.3", "legacy_version=TLS1.2", "cipher_suite=TLS_AES_128_GCM_SHA256", "key_share=x25519",
			"ja3s=771,4865,43-51",
		}},
		{"HelloRetryRequest", helloRetry, 0, "HelloRetryRequest", []string{"key_share=secp256r1"}},
		{"Certificate", certificate12(cert.Certificate[0]), VersionTLS12, "Certificate", []string{
			"certificates=1", "subjects=peer.test", "not_before=2026-01-01T00:00:00Z", "not_after=2036-01-01T00:00:00Z",
		}},
		{"ServerKeyExchange", h(`0c 000008 03 001d 04 00000000 // named_curve x25519, 4-byte point`), VersionTLS12,
			"ServerKeyExchange", []string{"group=x25519"}},
		{"ServerHelloDone", h(`0e 000000`), VersionTLS12, "ServerHelloDone", nil},
		{"ClientKeyExchange", h(`10 000003 02 abcd`), VersionTLS12, "ClientKeyExchange", nil},
		{"NewSessionTicket 1.2", h(`04 000008 00001c20 0002 abcd // lifetime 7200 s, 2-byte ticket`), VersionTLS12,
			"NewSessionTicket", []string{"lifetime_s=7200", "ticket_len=2"}},
		{"EncryptedExtensions", h(`08 00000b 0009 0010 0005 0003 02 6832 // ALPN h2`), VersionTLS13,
			"EncryptedExtensions", []string{"alpn=h2"}},
		{"KeyUpdate", h(`18 000001 01 // update_requested`), VersionTLS13, "KeyUpdate", []string{"update_requested=true"}},
		{"CertificateStatus", h(`16 000005 01 000001 00 // ocsp`), VersionTLS12, "CertificateStatus", []string{"status_type=1"}},
		{"CertificateVerify", h(`0f 000006 0804 0002 abcd // rsa_pss_rsae_sha256, 2-byte signature`), VersionTLS12,
			"CertificateVerify", []string{"signature_algorithm=rsa_pss_rsae_sha256"}},
		{"HelloRequest", h(`00 000000`), VersionTLS12, "HelloRequest", nil},
		{"Finished", h(`14 00000c 000000000000000000000000`), VersionTLS12, "Finished", nil},
		{"unknown type", h(`63 000001 00 // type 99`), VersionTLS12, TypeUnknown, []string{"handshake_type=99"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, info, err := ParseMessage(tt.msg, tt.version)
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			if typ != tt.typ {
				t.Errorf("type: got %q; want %q", typ, tt.typ)
			}
			got := " " + infoString(info) + " "
			for _, w := range tt.want {
				if !strings.Contains(got, " "+w+" ") {
					t.Errorf("info: got %q; want %q in it", got, w)
				}
			}
		})
	}
}

// TestStrictPrefix: no strict prefix of a valid message parses.
func TestStrictPrefix(t *testing.T) {
	for i, msg := range [][]byte{clientHello13, serverHello13, helloRetry, certificate12(testCert(t).Certificate[0])} {
		for n := 0; n < len(msg); n++ {
			typ, _, err := ParseMessage(msg[:n], VersionTLS12)
			if !errors.Is(err, decode.ErrTruncated) {
				t.Fatalf("message %d cut at %d: got %q, %v; want ErrTruncated", i, n, typ, err)
			}
		}
		// And a body cut short under its own header reports an error
		// with an offset, not a message.
		body := msg[4 : len(msg)-1]
		cut := append([]byte{msg[0], 0, byte(len(body) >> 8), byte(len(body))}, body...)
		if _, _, err := ParseMessage(cut, VersionTLS12); err == nil {
			t.Errorf("message %d with its last byte cut under a fixed header: no error", i)
		}
	}
	for n := 0; n < len(recordAlert); n++ {
		if _, _, err := ParseRecord(recordAlert[:n]); !errors.Is(err, decode.ErrTruncated) {
			t.Fatalf("record cut at %d: %v; want ErrTruncated", n, err)
		}
	}
}

var recordAlert = h(`15 0303 0002 02 28 // alert record: fatal handshake_failure`)

// TestHoles: unassigned codes still give events.
func TestHoles(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
		want   string
	}{
		{"handshake type", h(`16 0301 0005 63 000001 00`), "c2s:UNKNOWN handshake_type=99"},
		{"alert", h(`15 0303 0002 01 fe`), "c2s:Alert level=warning description=AlertDescription(0xfe)"},
		{"content type", h(`30 0303 0001 00`), "c2s:UNKNOWN content_type=48"},
		{"extension", hsRecord(1, h(`0303 `+zero32+` 00 0002 1301 0100 0004 1234 0000 // extension 0x1234, empty`)),
			"extensions=ExtensionType(0x1234)"},
		{"cipher suite", hsRecord(1, h(`0303 `+zero32+` 00 0002 1a2b 0100 // suite 0x1a2b`)),
			"cipher_suites=CipherSuite(0x1a2b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := feed(t, []chunk{{decode.C2S, tt.stream}}, 0)
			if len(evs) != 1 {
				t.Fatalf("got %d events; want 1", len(evs))
			}
			got := evs[0].Dir.String() + ":" + string(evs[0].Type) + " " + infoString(evs[0].Info)
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q; want %q in it", got, tt.want)
			}
		})
	}
}

// hsRecord wraps a handshake body in its header and a record.
func hsRecord(typ uint8, body []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(22)
	b.AddUint16(0x0301)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(typ)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(body) })
	})
	return b.BytesOrPanic()
}

// feed decodes chunks, split into pieces of at most step bytes (0: whole).
func feed(t testing.TB, log []chunk, step int) []decode.Event {
	d := NewDecoder()
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	for _, c := range log {
		b := c.data
		for len(b) > 0 {
			n := len(b)
			if step > 0 {
				n = min(step, n)
			}
			if err := d.Data(c.dir, b[:n], decode.Position{}, emit); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	}
	return evs
}

func render(evs []decode.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s len=%d flags=%d %s\n", e.Dir, e.Type, e.Len, e.Flags, infoString(e.Info))
	}
	return b.String()
}

// TestChunking: byte-at-a-time delivery, records split across chunks and
// handshake messages split across records give the same events.
func TestChunking(t *testing.T) {
	// Two handshake messages in one record, the second split into a
	// second record.
	ch, sh := clientHello13, serverHello13
	split := append(h(`16 0303`), byte(0), byte(len(sh)+9))
	split = append(append(split, sh...), h(`0e000000 0e000000 0e`)...) // ServerHello, 2 x ServerHelloDone, 1 byte of a third
	split = append(split, h(`16 0303 0003 000000`)...)                 // the rest of it
	log := []chunk{
		{decode.C2S, append(h(`16 0301 0061`), ch...)},
		{decode.S2C, split},
	}
	whole := render(feed(t, log, 0))
	if n := strings.Count(whole, "\n"); n != 5 {
		t.Fatalf("got %d events; want 5:\n%s", n, whole)
	}
	for _, step := range []int{1, 2, 3, 7, 100} {
		if got := render(feed(t, log, step)); got != whole {
			t.Errorf("step %d:\n got %s\nwant %s", step, got, whole)
		}
	}
}

// TestTooLarge: a record above 2^14+2048 stops that direction only.
func TestTooLarge(t *testing.T) {
	evs := feed(t, []chunk{
		{decode.S2C, h(`17 0303 4801`)}, // 18433 bytes declared
		{decode.S2C, recordAlert},
		{decode.C2S, recordAlert},
	}, 0)
	got := render(evs)
	if len(evs) != 2 || evs[0].Type != decode.TypeDecodeError || evs[1].Dir != decode.C2S {
		t.Fatalf("got:\n%s", got)
	}
	if !strings.Contains(got, "s2c: tlsmsg: record header 1703034801") {
		t.Errorf("error should name the direction and header bytes: %s", got)
	}
}

// TestEarlyData: 0-RTT data sent right after the ClientHello is the
// client's first application data, one round trip (the TCP handshake).
func TestEarlyData(t *testing.T) {
	evs := feed(t, []chunk{
		{decode.C2S, append(h(`16 0301 0061`), clientHello13...)},
		{decode.C2S, h(`14 0303 0001 01`)},       // middlebox-compatibility CCS
		{decode.C2S, h(`17 0303 0004 deadbeef`)}, // early data
		{decode.S2C, append(h(`16 0303 005a`), serverHello13...)},
	}, 0)
	if rt := roundTrips(evs); rt != 1 {
		t.Errorf("round trips: got %d; want 1\n%s", rt, render(evs))
	}
	if f, _ := evs[2].Info.Get("early_data"); !f.Bool() {
		t.Errorf("early data not marked: %s", render(evs))
	}
}

func TestParseRecordAllocs(t *testing.T) {
	b := append(append([]byte(nil), recordAlert...), recordAlert...)
	allocs := testing.AllocsPerRun(100, func() {
		rest := b
		for len(rest) > 0 {
			_, n, err := ParseRecord(rest)
			if err != nil {
				break
			}
			rest = rest[n:]
		}
		ParseRecord(b[:3]) // truncated: the shared error
	})
	if allocs != 0 {
		t.Errorf("ParseRecord: got %v allocs; want 0", allocs)
	}
}

func TestSniff(t *testing.T) {
	for _, tt := range []struct {
		b    []byte
		want decode.Verdict
	}{
		{h(`16 03 01`), decode.Match},
		{h(`16 03`), decode.NeedMore},
		{h(`16 03 05`), decode.NoMatch},
		{[]byte("GET / HTTP/1.1"), decode.NoMatch},
		{h(`80 2e 01 0301`), decode.Match}, // SSLv2 CLIENT-HELLO offering TLS 1.0
	} {
		if got := sniff(decode.C2S, tt.b); got != tt.want {
			t.Errorf("sniff(%x): got %d; want %d", tt.b, got, tt.want)
		}
	}
}

var _ = io.EOF
