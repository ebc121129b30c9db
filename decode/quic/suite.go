package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/wiretrace/wiretrace/decode/tlsmsg"
)

// suite is a TLS 1.3 cipher suite QUIC packets can be protected with
// (RFC 9001 §5.3): TLS_AES_128_CCM_SHA256 is allowed too but not
// offered by any implementation seen, and not decrypted here.
type suite struct {
	id     uint16
	hash   func() hash.Hash
	keyLen int
	chacha bool
}

var suites = []suite{
	{0x1301, sha256.New, 16, false},
	{0x1302, sha512.New384, 32, false},
	{0x1303, sha256.New, 32, true},
}

func findSuite(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// headerProtector computes a header protection mask from a 16-byte
// sample into dst (RFC 9001 §5.4.1); cipher.Block does it for AES.
type headerProtector interface {
	Encrypt(dst, src []byte)
}

// chachaHP is ChaCha20 header protection (RFC 9001 §5.4.4): the sample's
// first 4 bytes are the block counter (little endian), the other 12 the
// nonce, and the mask is the key stream's first 5 bytes.
type chachaHP struct{ key [chacha20.KeySize]byte }

func (h *chachaHP) Encrypt(dst, sample []byte) {
	c, err := chacha20.NewUnauthenticatedCipher(h.key[:], sample[4:16])
	if err != nil {
		clear(dst[:5])
		return
	}
	c.SetCounter(binary.LittleEndian.Uint32(sample[:4]))
	var zero [5]byte
	c.XORKeyStream(dst[:5], zero[:])
}

// newSuiteKeys derives one direction's packet protection keys from a
// TLS traffic secret (RFC 9001 §5.1) for suite s.
func newSuiteKeys(s *suite, secret []byte, p *versionParams) *keys {
	if !s.chacha {
		k := newKeys(s.hash, secret, s.keyLen, p)
		k.suite, k.secret = s, secret
		return k
	}
	k := &keys{suite: s, secret: secret}
	k.setAEAD(tlsmsg.ExpandLabel(s.hash, secret, p.keyLabel, s.keyLen))
	copy(k.iv[:], tlsmsg.ExpandLabel(s.hash, secret, p.ivLabel, 12))
	hp := &chachaHP{}
	copy(hp.key[:], tlsmsg.ExpandLabel(s.hash, secret, p.hpLabel, s.keyLen))
	k.hp = hp
	return k
}

func (k *keys) setAEAD(key []byte) {
	var err error
	if k.suite.chacha {
		k.aead, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			k.aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		panic("quic: " + err.Error()) // key lengths are the suite's
	}
}

// update returns the next generation of 1-RTT keys (RFC 9001 §6.1):
// secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku", "", Hash.length)
// ("quicv2 ku" in version 2, RFC 9369 §3.3.2); the header protection key
// stays.
func (k *keys) update(p *versionParams) *keys {
	s := k.suite
	next := &keys{suite: s, hp: k.hp}
	next.secret = tlsmsg.ExpandLabel(s.hash, k.secret, p.kuLabel, s.hash().Size())
	next.setAEAD(tlsmsg.ExpandLabel(s.hash, next.secret, p.keyLabel, s.keyLen))
	copy(next.iv[:], tlsmsg.ExpandLabel(s.hash, next.secret, p.ivLabel, 12))
	return next
}
