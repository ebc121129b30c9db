package tlsmsg

import (
	"bytes"
	"crypto/aes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"
)

func seq(from, to byte) []byte {
	var b []byte
	for c := from; c < to; c++ {
		b = append(b, c)
	}
	return b
}

// TestCCMVectors: RFC 3610 §8 packet vector #1 and NIST SP 800-38C
// appendix C examples 1 to 3.
func TestCCMVectors(t *testing.T) {
	for _, tt := range []struct {
		name              string
		key, nonce, ad, p []byte
		tag               int
		want              string
	}{
		{"RFC 3610 #1", seq(0xc0, 0xd0), h("00000003020100A0A1A2A3A4A5"), seq(0, 8), seq(8, 31), 8,
			"588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0"},
		{"SP 800-38C C.1", seq(0x40, 0x50), seq(0x10, 0x17), seq(0, 8), seq(0x20, 0x24), 4, "7162015b4dac255d"},
		{"SP 800-38C C.2", seq(0x40, 0x50), seq(0x10, 0x18), seq(0, 16), seq(0x20, 0x30), 6,
			"d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd"},
		{"SP 800-38C C.3", seq(0x40, 0x50), seq(0x10, 0x1c), seq(0, 20), seq(0x20, 0x38), 8,
			"e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkCCM(t, tt.key, tt.nonce, tt.ad, tt.p, tt.tag, func(c []byte) string { return hex.EncodeToString(c) }, tt.want)
		})
	}
}

// TestCCMLengths covers what TLS uses (12-byte nonces, 8- and 16-byte
// tags, 13-byte additional data) and the longer encodings of the
// additional data's length (RFC 3610 §2.2), against outputs of an
// independent implementation (Python's cryptography AESCCM), given as the
// SHA-256 of the ciphertext. Inputs are SHA-256 streams of a label.
func TestCCMLengths(t *testing.T) {
	stream := func(n int, label string) []byte {
		var out []byte
		for i := uint32(0); len(out) < n; i++ {
			h := sha256.New()
			h.Write([]byte(label))
			binary.Write(h, binary.BigEndian, i)
			out = h.Sum(out)
		}
		return out[:n]
	}
	for _, tt := range []struct {
		keyLen, tag, nonceLen, adLen, pLen int
		want                               string
	}{
		{16, 16, 12, 13, 0, "69c2972683a1478eb6052e1959c0aa83d77a84de8c14f54571da13ddfd185d49"},
		{16, 16, 12, 13, 1, "26dce8b7cb8f33ef932fc0f0e670188c73f7b6842a84a302ba9af2b50157cd36"},
		{16, 8, 12, 13, 17, "d2e464951e065063c5e35cc1e5f47c414d3f29e8283ccb35efb770fbfb4cb97b"},
		{32, 16, 12, 13, 100, "4b7247de9bdce93e295fd7e35d57972797821c28d51939da13c66d9358dc5425"},
		{32, 8, 12, 13, 4096, "928d75fc462a7f15523180e528ec1d9e6b1f19a239c9688c5ab2dc26fe41d85d"},
		{16, 16, 12, 0, 32, "438cbeedfa3cb1eb3709240d8b13a33d19d6e9a1d3f88a13ebac31a79e2f7a1f"},
		{16, 16, 12, 0xff00, 20, "783c68a5a63fd692c3c28a757618f5c287a3d259a2d11f8a8be68785037db246"}, // 6-byte length
		{16, 10, 13, 8, 23, "0c5c83cb7358880be014213fe27ffa06a807b598be62df0ea35e817e0155c55b"},
		{16, 4, 7, 70000, 5, "fb73dd9409af8108d741139a2c1ed9e391e7a3071028309b69b61e9eaa3f6af6"},
	} {
		seed := fmt.Sprintf("%d/%d/%d/%d/%d", tt.keyLen, tt.tag, tt.nonceLen, tt.adLen, tt.pLen)
		t.Run(seed, func(t *testing.T) {
			sum := func(c []byte) string { s := sha256.Sum256(c); return hex.EncodeToString(s[:]) }
			checkCCM(t, stream(tt.keyLen, "k"+seed), stream(tt.nonceLen, "n"+seed), stream(tt.adLen, "a"+seed),
				stream(tt.pLen, "p"+seed), tt.tag, sum, tt.want)
		})
	}
}

// checkCCM seals p, compares show(ciphertext) with want, opens it again
// (also in place), and checks that a changed byte anywhere fails.
func checkCCM(t *testing.T, key, nonce, ad, p []byte, tag int, show func([]byte) string, want string) {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newCCM(b, tag, len(nonce))
	if err != nil {
		t.Fatal(err)
	}
	c := a.Seal(nil, nonce, p, ad)
	if got := show(c); !bytes.EqualFold([]byte(got), []byte(want)) {
		t.Fatalf("Seal: %s; want %s", got, want)
	}
	got, err := a.Open(nil, nonce, c, ad)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("Open: %x, %v; want %x", got, err, p)
	}
	in := bytes.Clone(c)
	if got, err := a.Open(in[:0], nonce, in, ad); err != nil || !bytes.Equal(got, p) {
		t.Fatalf("Open in place: %x, %v", got, err)
	}
	for i := range c {
		bad := bytes.Clone(c)
		bad[i] ^= 0x80
		if _, err := a.Open(nil, nonce, bad, ad); err == nil {
			t.Fatalf("Open accepted a ciphertext changed at byte %d", i)
		}
	}
	if len(ad) > 0 {
		bad := bytes.Clone(ad)
		bad[len(bad)-1] ^= 1
		if _, err := a.Open(nil, nonce, c, bad); err == nil {
			t.Fatalf("Open accepted changed additional data")
		}
	}
	if _, err := a.Open(nil, nonce, c[:tag-1], ad); err == nil {
		t.Fatalf("Open accepted a ciphertext shorter than the tag")
	}
}

func TestCCMParams(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, p := range [][2]int{{3, 12}, {5, 12}, {18, 12}, {16, 6}, {16, 14}} {
		if _, err := newCCM(b, p[0], p[1]); err == nil {
			t.Errorf("newCCM(tag %d, nonce %d) accepted", p[0], p[1])
		}
	}
	a, _ := newCCM(b, 16, 13) // L = 2: at most 65535 bytes
	if _, err := a.Open(nil, make([]byte, 13), make([]byte, 1<<16+16), nil); err == nil {
		t.Errorf("Open accepted a message too long for the length field")
	}
	if _, err := a.Open(nil, make([]byte, 12), make([]byte, 32), nil); err == nil {
		t.Errorf("Open accepted a short nonce")
	}
}

func BenchmarkCCMOpen(b *testing.B) {
	blk, _ := aes.NewCipher(make([]byte, 16))
	a, _ := newCCM(blk, 16, 12)
	nonce, ad := make([]byte, 12), make([]byte, 13)
	c := a.Seal(nil, nonce, make([]byte, 16384), ad)
	dst := make([]byte, 0, len(c))
	b.SetBytes(16384)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Open(dst, nonce, c, ad); err != nil {
			b.Fatal(err)
		}
	}
}
