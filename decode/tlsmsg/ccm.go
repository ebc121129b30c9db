package tlsmsg

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// CCM, Counter with CBC-MAC (RFC 3610, NIST SP 800-38C), for the TLS AES-CCM
// suites (RFC 6655, RFC 7251, RFC 8446 §B.4). Go's standard library and
// golang.org/x/crypto have no CCM; the Go modules that do are either part of
// a larger module (pion/dtls) or young and little used, and allocate per
// record. This one is small: a cipher.AEAD over a 128-bit block cipher.

const ccmBlock = 16

// ccm keeps its blocks in scratch space, so that a record costs no
// allocation but the CTR stream's: it is not safe for concurrent use (a
// decoder's direction has its own).
type ccm struct {
	b         cipher.Block
	tagSize   int // M: 4, 6, ..., 16
	nonceSize int // 15 - L, L the size of the length field: 2 to 8

	x, a, s, blk [ccmBlock]byte
}

var errCCMOpen = errors.New("tlsmsg: CCM: message authentication failed")

// newCCM wraps b, whose block must be 16 bytes, in CCM with tags of
// tagSize bytes and nonces of nonceSize bytes.
func newCCM(b cipher.Block, tagSize, nonceSize int) (cipher.AEAD, error) {
	if b.BlockSize() != ccmBlock {
		return nil, errors.New("tlsmsg: CCM needs a 128-bit block cipher")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, errors.New("tlsmsg: CCM tag size must be 4, 6, ..., 16")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("tlsmsg: CCM nonce size must be 7 to 13")
	}
	return &ccm{b: b, tagSize: tagSize, nonceSize: nonceSize}, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// fits reports whether a message of n bytes fits the L-byte length field.
func (c *ccm) fits(n int) bool {
	l := 15 - c.nonceSize
	return l >= 8 || uint64(n) < 1<<(8*l)
}

// counter sets c.a to the counter block A_i (RFC 3610 §2.3): flags L-1,
// the nonce, i in the last L bytes.
func (c *ccm) counter(nonce []byte, i uint64) {
	c.a = [ccmBlock]byte{}
	c.a[0] = byte(14 - c.nonceSize)
	copy(c.a[1:], nonce)
	binary.BigEndian.PutUint64(c.a[8:], binary.BigEndian.Uint64(c.a[8:])|i)
}

// mac sets c.x to the CBC-MAC T over B_0, the encoded additional data and
// the message, each zero-padded to the block (RFC 3610 §2.2).
func (c *ccm) mac(nonce, msg, ad []byte) {
	x := &c.x
	*x = [ccmBlock]byte{}
	x[0] = byte((c.tagSize-2)/2<<3 | (14 - c.nonceSize))
	if len(ad) > 0 {
		x[0] |= 1 << 6
	}
	copy(x[1:], nonce)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(msg)))
	copy(x[1+c.nonceSize:], n[8-(15-c.nonceSize):])
	c.b.Encrypt(x[:], x[:])
	if len(ad) > 0 {
		// l(a) encoded: 2 bytes below 2^16-2^8, else 0xfffe and 4 bytes,
		// else 0xffff and 8 bytes; then a.
		var hdr [10]byte
		h := hdr[:2]
		switch {
		case len(ad) < 0xff00:
			binary.BigEndian.PutUint16(hdr[:], uint16(len(ad)))
		case uint64(len(ad)) < 1<<32:
			hdr[0], hdr[1] = 0xff, 0xfe
			binary.BigEndian.PutUint32(hdr[2:], uint32(len(ad)))
			h = hdr[:6]
		default:
			hdr[0], hdr[1] = 0xff, 0xff
			binary.BigEndian.PutUint64(hdr[2:], uint64(len(ad)))
			h = hdr[:10]
		}
		// The first block: the length, then as much of a as fits.
		c.blk = [ccmBlock]byte{}
		k := copy(c.blk[copy(c.blk[:], h):], ad)
		subtle.XORBytes(x[:], x[:], c.blk[:])
		c.b.Encrypt(x[:], x[:])
		c.cbc(ad[k:])
	}
	c.cbc(msg)
}

// cbc chains b, zero-padded, into c.x.
func (c *ccm) cbc(b []byte) {
	for len(b) > 0 {
		n := subtle.XORBytes(c.x[:], c.x[:], b) // min(16, len(b)) bytes
		b = b[n:]
		c.b.Encrypt(c.x[:], c.x[:])
	}
}

// ctr XORs src with the key stream S_1, S_2, ... into dst.
func (c *ccm) ctr(dst, src, nonce []byte) {
	c.counter(nonce, 1)
	cipher.NewCTR(c.b, c.a[:]).XORKeyStream(dst, src)
}

// tagMask sets c.s to S_0, which encrypts the tag.
func (c *ccm) tagMask(nonce []byte) {
	c.counter(nonce, 0)
	c.b.Encrypt(c.s[:], c.a[:])
}

// Seal implements cipher.AEAD.
func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != c.nonceSize || !c.fits(len(plaintext)) {
		panic("tlsmsg: CCM: bad nonce or message length")
	}
	c.mac(nonce, plaintext, ad)
	c.tagMask(nonce)
	ret, out := grow(dst, len(plaintext)+c.tagSize)
	c.ctr(out, plaintext, nonce)
	subtle.XORBytes(out[len(plaintext):], c.x[:c.tagSize], c.s[:c.tagSize])
	return ret
}

// Open implements cipher.AEAD. On failure the plaintext written to dst's
// spare capacity is cleared.
func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize || len(ciphertext) < c.tagSize || !c.fits(len(ciphertext)-c.tagSize) {
		return nil, errCCMOpen
	}
	ct, tag := ciphertext[:len(ciphertext)-c.tagSize], ciphertext[len(ciphertext)-c.tagSize:]
	ret, out := grow(dst, len(ct))
	c.ctr(out, ct, nonce)
	c.mac(nonce, out, ad)
	c.tagMask(nonce)
	t := c.x[:c.tagSize]
	subtle.XORBytes(t, t, c.s[:c.tagSize])
	if subtle.ConstantTimeCompare(t, tag) != 1 {
		clear(out)
		return nil, errCCMOpen
	}
	return ret, nil
}

// grow extends b by n bytes, reusing its capacity, and returns the whole
// and the new part.
func grow(b []byte, n int) (whole, tail []byte) {
	if total := len(b) + n; cap(b) >= total {
		whole = b[:total]
	} else {
		whole = make([]byte, total)
		copy(whole, b)
	}
	return whole, whole[len(b):]
}
