package quic

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/quic-go/quic-go/quicvarint"
	"golang.org/x/crypto/hkdf"

	"github.com/wiretrace/wiretrace/decode"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rfcDCID is the client's Destination Connection ID of RFC 9001
// appendix A and RFC 9369 appendix A.
const rfcDCID = "8394c8f03e515708"

// TestInitialSecrets checks the key schedule against RFC 9001 A.1 and RFC
// 9369 A.1 by decrypting what the expected keys encrypt.
func TestInitialSecrets(t *testing.T) {
	for _, tc := range []struct {
		v              Version
		initial        string
		cKey, cIV, cHP string
		sKey, sIV, sHP string
	}{
		{Version1, "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44",
			"1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2",
			"cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314"},
		{Version2, "2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba",
			"8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9",
			"82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a"},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			dcid := unhex(t, rfcDCID)
			if got := hex.EncodeToString(hkdf.Extract(sha256.New, dcid, tc.v.params().salt)); got != tc.initial {
				t.Errorf("initial_secret %s; want %s", got, tc.initial)
			}
			c, s := initialKeys(dcid, tc.v)
			for _, k := range []struct {
				name        string
				got         *keys
				key, iv, hp string
			}{{"client", c, tc.cKey, tc.cIV, tc.cHP}, {"server", s, tc.sKey, tc.sIV, tc.sHP}} {
				if got := hex.EncodeToString(k.got.iv[:]); got != k.iv {
					t.Errorf("%s iv %s; want %s", k.name, got, k.iv)
				}
				// The AEAD and header protection keys are inside
				// cipher values: compare what they compute.
				want := aeadFor(t, k.key)
				nonce := k.got.iv
				if !bytes.Equal(k.got.aead.Seal(nil, nonce[:], []byte("x"), nil), want.Seal(nil, nonce[:], []byte("x"), nil)) {
					t.Errorf("%s key differs from %s", k.name, k.key)
				}
				hp, _ := aes.NewCipher(unhex(t, k.hp))
				var a, b [16]byte
				hp.Encrypt(a[:], make([]byte, 16))
				k.got.hp.Encrypt(b[:], make([]byte, 16))
				if a != b {
					t.Errorf("%s hp differs from %s", k.name, k.hp)
				}
			}
		})
	}
}

func aeadFor(t testing.TB, key string) cipher.AEAD {
	block, err := aes.NewCipher(unhex(t, key))
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRetryIntegrity checks the Retry packets of RFC 9001 A.4, RFC 9369
// A.4 and draft-ietf-quic-tls-29 A.4, and that a flipped bit fails.
func TestRetryIntegrity(t *testing.T) {
	for _, tc := range []struct {
		name, pkt string
		v         Version
	}{
		{"v1", "ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba", Version1},
		{"v2", "cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d955543665dcc7b6", Version2},
		{"draft-29", "ffff00001d0008f067a5502a4262b5746f6b656ed16926d81f6f9ca2953a8aa4575e1e49", VersionDraft29},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := unhex(t, tc.pkt)
			var h Header
			if err := ParseHeader(pkt, -1, &h); err != nil {
				t.Fatal(err)
			}
			if h.Type != PacketRetry || h.Version != tc.v || string(h.Token) != "token" || hex.EncodeToString(h.SCID) != "f067a5502a4262b5" {
				t.Fatalf("header %+v", h)
			}
			odcid := unhex(t, rfcDCID)
			if !retryIntegrity(pkt, odcid, tc.v) {
				t.Errorf("integrity tag rejected")
			}
			pkt[len(pkt)-20] ^= 1
			if retryIntegrity(pkt, odcid, tc.v) {
				t.Errorf("integrity tag accepted after a bit flip")
			}
		})
	}
}

// TestParseHeader is a table of headers of each form.
func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pkt     string
		short   int
		want    Header
		wantErr error
	}{
		{"initial v1", "c3 00000001 04 01020304 02 0506 03 aabbcc 05 0000000000 ffff", -1,
			Header{Long: true, Type: PacketInitial, Version: Version1, Length: 5, PNOffset: 18, Size: 23}, nil},
		{"handshake v1 coalesced", "e0 00000001 00 00 02 0000 0101", -1,
			Header{Long: true, Type: PacketHandshake, Version: Version1, Length: 2, PNOffset: 8, Size: 10}, nil},
		{"initial v2 type bits 01", "d0 6b3343cf 00 00 00 01 00", -1,
			Header{Long: true, Type: PacketInitial, Version: Version2, Length: 1, PNOffset: 9, Size: 10}, nil},
		{"retry v2 type bits 00", "c0 6b3343cf 00 00" + strings.Repeat("00", 16), -1,
			Header{Long: true, Type: PacketRetry, Version: Version2, Size: 23}, nil},
		{"0-RTT draft-29", "d0 ff00001d 00 00 01 00", -1,
			Header{Long: true, Type: Packet0RTT, Version: VersionDraft29, Length: 1, PNOffset: 8, Size: 9}, nil},
		{"version negotiation", "80 00000000 00 01 07 00000001 6b3343cf", -1,
			Header{Long: true, Type: PacketVersionNegotiation, Version: VersionNegotiation, Size: 16}, nil},
		{"unknown version", "c0 1a2a3a4a 00 00 ffee", -1,
			Header{Long: true, Type: PacketUnknown, Version: 0x1a2a3a4a, Size: 9}, nil},
		{"short with known DCID", "41 0102 00 aabb", 2,
			Header{Type: Packet1RTT, PNOffset: 3, Size: 6}, nil},
		{"short, DCID length unknown", "41 0102 00 aabb", -1,
			Header{Type: Packet1RTT, Size: 6}, nil},
		{"length past the end", "c0 00000001 00 00 00 09 0000", -1,
			Header{Long: true, Type: PacketInitial, Version: Version1, Length: 9, PNOffset: 9, Size: 11}, decode.ErrTruncated},
		{"v1 connection ID over 20 bytes", "c0 00000001 15" + strings.Repeat("00", 21) + "00 00 01 00", -1,
			Header{Long: true, Version: Version1}, decode.ErrMalformed},
		{"version negotiation, ragged list", "80 00000000 00 00 000001", -1,
			Header{Long: true, Type: PacketVersionNegotiation, Size: 10}, decode.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			err := ParseHeader(unhex(t, tc.pkt), tc.short, &h)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("error %v; want %v", err, tc.wantErr)
			}
			type fields struct {
				long           bool
				typ            PacketType
				v              Version
				length         uint64
				pnOffset, size int
			}
			got := fields{h.Long, h.Type, h.Version, h.Length, h.PNOffset, h.Size}
			want := fields{tc.want.Long, tc.want.Type, tc.want.Version, tc.want.Length, tc.want.PNOffset, tc.want.Size}
			if got != want {
				t.Errorf("got %+v; want %+v", got, want)
			}
		})
	}
}

// TestParseHeaderPrefixes: every strict prefix of a valid long header
// packet with a Length fails with decode.ErrTruncated, never a bogus
// packet. (A Retry takes the whole datagram: its prefixes are Retry
// packets with shorter tokens, as a receiver would see them too.)
func TestParseHeaderPrefixes(t *testing.T) {
	for _, pkt := range []string{
		"c3 00000001 04 01020304 02 0506 03 aabbcc 05 0000000000",
		"e0 00000001 00 00 02 0000",
	} {
		b := unhex(t, pkt)
		for n := range len(b) {
			var h Header
			if err := ParseHeader(b[:n], -1, &h); !errors.Is(err, decode.ErrTruncated) {
				t.Errorf("%s cut at %d: error %v; want truncated", pkt, n, err)
			}
		}
	}
}

// frameBytes builds a frame from its type and fields: integers as
// varints, []byte as they are.
func frameBytes(fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		switch f := f.(type) {
		case int:
			b = quicvarint.Append(b, uint64(f))
		case []byte:
			b = append(b, f...)
		case string:
			b = append(b, f...)
		}
	}
	return b
}

// TestFrames parses and formats one frame of each type.
func TestFrames(t *testing.T) {
	ff := frameFormat{ackDelayExponent: 3, maxString: 8, maxRanges: 2}
	for _, tc := range []struct {
		frame []byte
		want  string
	}{
		{frameBytes(0, 0, 0), "PADDING 3"},
		{frameBytes(1), "PING"},
		{frameBytes(2, 10, 25, 2, 1, 0, 2, 1, 0), "ACK largest=10 delay=200us ranges=9-10,5-7,+1 more"},
		{frameBytes(3, 3, 0, 0, 3, 1, 2, 3), "ACK largest=3 delay=0us ranges=0-3 ect0=1 ect1=2 ce=3"},
		{frameBytes(4, 4, 0x10c, 100), "RESET_STREAM id=4 err=0x10c final=100"},
		{frameBytes(5, 8, 0x101), "STOP_SENDING id=8 err=0x101"},
		{frameBytes(6, 0, 3, "abc"), "CRYPTO off=0 len=3"},
		{frameBytes(7, 2, "tk"), "NEW_TOKEN len=2"},
		{frameBytes(0x08, 4, "hello"), "STREAM id=4 off=0 len=5"},
		{frameBytes(0x0f, 4, 10, 2, "hi"), "STREAM id=4 off=10 len=2 fin"},
		{frameBytes(0x10, 1000), "MAX_DATA max=1000"},
		{frameBytes(0x11, 4, 1000), "MAX_STREAM_DATA id=4 max=1000"},
		{frameBytes(0x12, 100), "MAX_STREAMS bidi max=100"},
		{frameBytes(0x13, 3), "MAX_STREAMS uni max=3"},
		{frameBytes(0x14, 7), "DATA_BLOCKED limit=7"},
		{frameBytes(0x15, 4, 7), "STREAM_DATA_BLOCKED id=4 limit=7"},
		{frameBytes(0x16, 7), "STREAMS_BLOCKED bidi limit=7"},
		{frameBytes(0x17, 7), "STREAMS_BLOCKED uni limit=7"},
		{frameBytes(0x18, 1, 0, []byte{4, 1, 2, 3, 4}, strings.Repeat("r", 16)), "NEW_CONNECTION_ID seq=1 retire_prior_to=0 cid=01020304"},
		{frameBytes(0x19, 2), "RETIRE_CONNECTION_ID seq=2"},
		{frameBytes(0x1a, "12345678"), "PATH_CHALLENGE data=3132333435363738"},
		{frameBytes(0x1b, "1234567890"), "PATH_RESPONSE data=3132333435363738"},
		{frameBytes(0x1c, 0x0a, 0x06, 3, "bad"), `CONNECTION_CLOSE err=PROTOCOL_VIOLATION frame=CRYPTO reason="bad"`},
		{frameBytes(0x1c, 0x128, 0, 0), `CONNECTION_CLOSE err=CRYPTO_ERROR(handshake_failure) frame=PADDING`},
		{frameBytes(0x1d, 0x100, 11, "bye\x00\nthere!"), `CONNECTION_CLOSE err=app:0x100 reason="bye\x00\nthe"…`},
		{frameBytes(0x1e), "HANDSHAKE_DONE"},
		{frameBytes(0x1f), "IMMEDIATE_ACK"},
		{frameBytes(0x30, "dgram"), "DATAGRAM len=5"},
		{frameBytes(0x31, 2, "dg"), "DATAGRAM len=2"},
		{frameBytes(0xaf, 1, 2, 25000, 1), "ACK_FREQUENCY seq=1 threshold=2 max_ack_delay_us=25000 reordering=1"},
	} {
		var f Frame
		n, err := ParseFrame(tc.frame, &f)
		if err != nil {
			t.Errorf("%x: %v", tc.frame, err)
			continue
		}
		if got := string(appendFrame(nil, &f, &ff)); got != tc.want {
			t.Errorf("%x: %s; want %s", tc.frame, got, tc.want)
		}
		if want := len(tc.frame); n != want && !strings.HasPrefix(tc.want, "PATH_RESPONSE") {
			t.Errorf("%x: consumed %d; want %d", tc.frame, n, want)
		}
	}
}

// TestFramesHole: frame types nobody assigned are named by number and end
// the list; every strict prefix of a frame is truncated.
func TestFramesHole(t *testing.T) {
	var f Frame
	for _, typ := range []int{0x20, 0x21, 0x2f, 0x32, 0x3fff} {
		_, err := ParseFrame(frameBytes(typ, 0), &f)
		if !errors.Is(err, decode.ErrMalformed) || !strings.Contains(err.Error(), "unknown frame type") {
			t.Errorf("type %#x: %v; want an unknown frame type error", typ, err)
		}
		if name := FrameType(typ).String(); !strings.HasPrefix(name, "FrameType(0x") {
			t.Errorf("type %#x named %s", typ, name)
		}
	}
	for _, b := range [][]byte{
		frameBytes(2, 10, 25, 2, 1, 0, 2, 1, 0), frameBytes(6, 0, 3, "abc"), frameBytes(0x0f, 4, 10, 2, "hi"),
		frameBytes(0x18, 1, 0, []byte{4, 1, 2, 3, 4}, strings.Repeat("r", 16)), frameBytes(0x1c, 0x0a, 0x06, 3, "bad"),
	} {
		for n := 1; n < len(b); n++ {
			if _, err := ParseFrame(b[:n], &f); !errors.Is(err, decode.ErrTruncated) {
				t.Errorf("%x cut at %d: %v; want truncated", b, n, err)
			}
		}
	}
	// An ACK range below packet number 0 is malformed.
	if _, err := ParseFrame(frameBytes(2, 3, 0, 1, 0, 5, 0), &f); !errors.Is(err, decode.ErrMalformed) {
		t.Errorf("ACK below 0: %v", err)
	}
}

// TestTransportParameters decodes a client's parameters of each kind.
func TestTransportParameters(t *testing.T) {
	tp := frameBytes(
		0x04, 4, quicvarint.Append(nil, 1<<20), // initial_max_data
		0x0c, 0, // disable_active_migration
		0x0f, 4, []byte{1, 2, 3, 4}, // initial_source_connection_id
		0x11, 8, []byte{0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf}, // version_information
		27+31*5, 1, []byte{9}, // GREASE
		0x4752, 2, []byte{0xab, 0xcd}, // unknown
	)
	got, err := ParseTransportParameters(tp, 128)
	want := []string{"initial_max_data=1048576", "disable_active_migration", "initial_source_connection_id=01020304",
		"version_information=v1/v2", "GREASE", "0x4752=abcd"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if _, err := ParseTransportParameters(frameBytes(0x04, 1, []byte{0x40}), 128); err == nil {
		t.Errorf("a cut varint value parsed")
	}
	if _, err := ParseTransportParameters(frameBytes(0x04, 9), 128); !errors.Is(err, decode.ErrTruncated) {
		t.Errorf("a length past the end: %v", err)
	}
}

// TestPacketNumber checks RFC 9000 appendix A.3's example and the edges.
func TestPacketNumber(t *testing.T) {
	for _, tc := range []struct {
		largest   int64
		truncated uint64
		bits      int
		want      int64
	}{
		{0xa82f30ea, 0x9b32, 16, 0xa82f9b32}, // RFC 9000 §A.3
		{-1, 0, 8, 0},
		{-1, 5, 8, 5},
		{255, 0, 8, 256},
		{300, 0xff, 8, 255},
		{1 << 20, 0x00, 16, 1<<20 + 1<<16 - 1<<16},
	} {
		if got := decodePacketNumber(tc.largest, tc.truncated, tc.bits); got != tc.want {
			t.Errorf("largest %d truncated %#x/%d: %d; want %d", tc.largest, tc.truncated, tc.bits, got, tc.want)
		}
	}
}

// TestCryptoStream reassembles out-of-order CRYPTO frames and hits its
// caps.
func TestCryptoStream(t *testing.T) {
	msg1 := append([]byte{1, 0, 0, 5}, "hello"...)
	msg2 := append([]byte{2, 0, 0, 3}, "abc"...)
	stream := append(append([]byte{}, msg1...), msg2...)
	var c cryptoStream
	var got []string
	out := func(m []byte) { got = append(got, string(m[4:])) }
	c.add(9, stream[9:], 1024, out)  // msg2 first: held
	c.add(2, stream[2:7], 1024, out) // a hole at 0..2
	if len(got) != 0 {
		t.Fatalf("delivered %q before the hole was filled", got)
	}
	c.add(0, stream[0:4], 1024, out) // fills the hole: both complete
	c.add(0, stream[0:9], 1024, out) // a retransmission: ignored
	if strings.Join(got, ",") != "hello,abc" {
		t.Errorf("got %q", got)
	}
	if len(c.buf) != 0 || len(c.ranges) != 0 {
		t.Errorf("left %d bytes, %d ranges", len(c.buf), len(c.ranges))
	}
	var big cryptoStream
	if hit := big.add(0, []byte{1, 0, 4, 0}, 1024, out); hit.cap != "crypto_buffer" {
		t.Errorf("a 1 KiB message in a 1 KiB buffer: %+v", hit)
	}
	var holes cryptoStream
	var hit capHit
	for i := range maxCryptoRanges + 1 {
		hit = holes.add(uint64(10+2*i), []byte{0}, 1024, out)
	}
	if hit.cap != "crypto_ranges" {
		t.Errorf("%d holes: %+v", maxCryptoRanges+1, hit)
	}
}

// TestSniff accepts QUIC's first packets and rejects DNS and others.
func TestSniff(t *testing.T) {
	initial := make([]byte, 1200)
	copy(initial, unhex(t, "c3 00000001 08 0102030405060708 00 00 449e"))
	reserved := bytes.Clone(initial)
	copy(reserved[1:5], []byte{0x1a, 0x2a, 0x3a, 0x4a})
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"initial v1", initial, true},
		{"initial cut by the snap length", initial[:300], true},
		{"reserved version, 1200 bytes", reserved, true},
		{"reserved version, short", reserved[:300], false},
		{"version negotiation", unhex(t, "80 00000000 00 04 01020304 00000001"), true},
		{"version negotiation listing 0", unhex(t, "80 00000000 00 00 00000000"), false},
		{"dns query", unhex(t, "abcd 0100 0001 0000 0000 0000 076578616d706c6503636f6d 00 0001 0001"), false},
		{"dns response", unhex(t, "abcd 8180 0001 0001 0000 0000 07 6578616d706c65 03636f6d 00 0001 0001"), false},
		{"short header", unhex(t, "41 0102030405060708 00 aabbccdd"), false},
		{"fixed bit clear", append([]byte{0x83}, initial[1:]...), false},
		{"unknown version", unhex(t, "c3 00000002 00 00 00 01 00"), false},
		{"empty", nil, false},
	} {
		if got := Sniff(decode.C2S, tc.b); got != tc.want {
			t.Errorf("%s: %v; want %v", tc.name, got, tc.want)
		}
	}
}

// TestAllocs: header and frame parsing and Initial unprotection do not
// allocate.
func TestAllocs(t *testing.T) {
	c, _ := initialKeys(unhex(t, rfcDCID), Version1)
	pkt := sealInitial(t, c, Version1, unhex(t, rfcDCID), nil, 2, frameBytes(6, 0, 3, "abc", make([]byte, 1100)))
	scratch := make([]byte, len(pkt))
	var h Header
	var f Frame
	ack := frameBytes(2, 10, 25, 2, 1, 0, 2, 1, 0)
	n := testing.AllocsPerRun(100, func() {
		if err := ParseHeader(pkt, -1, &h); err != nil {
			t.Fatal(err)
		}
		copy(scratch, pkt)
		if _, err := c.unprotect(scratch, h.PNOffset, true, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseFrame(ack, &f); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per packet; want 0", n)
	}
}

// sealInitial builds a protected Initial packet (RFC 9001 §5): the test's
// inverse of unprotect, for crafted inputs.
func sealInitial(t testing.TB, k *keys, v Version, dcid, scid []byte, pn uint32, payload []byte) []byte {
	t.Helper()
	first := byte(0xc3) // long header, Initial (v1 bits), 4-byte packet number
	if v == Version2 {
		first = 0xd3
	}
	hdr := []byte{first, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v), byte(len(dcid))}
	hdr = append(hdr, dcid...)
	hdr = append(hdr, byte(len(scid)))
	hdr = append(hdr, scid...)
	hdr = append(hdr, 0) // no token
	hdr = quicvarint.AppendWithLen(hdr, uint64(4+len(payload)+16), 2)
	pnOff := len(hdr)
	return seal(k, hdr, pnOff, pn, payload, 0x0f)
}

// seal appends a 4-byte packet number to hdr, encrypts payload behind it
// with k and applies header protection, firstMask the bits of the first
// byte it covers (0x0f long, 0x1f short).
func seal(k *keys, hdr []byte, pnOff int, pn uint32, payload []byte, firstMask byte) []byte {
	hdr = append(hdr, byte(pn>>24), byte(pn>>16), byte(pn>>8), byte(pn))
	nonce := k.iv
	for i := range 8 {
		nonce[4+i] ^= byte(uint64(pn) >> (56 - 8*i))
	}
	pkt := k.aead.Seal(hdr, nonce[:], payload, hdr)
	var mask [16]byte
	k.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & firstMask
	for i := range 4 {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}
