package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"hash"

	"golang.org/x/crypto/hkdf"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
)

// keys remove the protection of one direction's packets in one packet
// number space (RFC 9001 §5): the AEAD with its IV, and the header
// protection cipher. Initial keys come from the client's Destination
// Connection ID; the other spaces' come from TLS traffic secrets (a key
// log), which newKeys turns into keys the same way.
type keys struct {
	aead cipher.AEAD
	iv   [12]byte
	// hp is the header protection cipher: AES for the AES-GCM suites
	// (RFC 9001 §5.4.3), ChaCha20 for ChaCha20-Poly1305 (§5.4.4).
	hp headerProtector
	// suite and secret derive the next generation at a key update
	// (RFC 9001 §6); nil for Initial keys.
	suite  *suite
	secret []byte
	// Scratch for the mask and the nonce, which would escape to the
	// heap through the cipher interfaces; keys are used by one Decoder.
	mask  [16]byte
	nonce [12]byte
}

// newKeys derives AES-GCM packet protection keys and an AES header
// protection key from a traffic secret (RFC 9001 §5.1): keyLen is 16 for
// AES-128-GCM (Initial packets, TLS_AES_128_GCM_SHA256) or 32 for
// AES-256-GCM.
func newKeys(h func() hash.Hash, secret []byte, keyLen int, p *versionParams) *keys {
	k := &keys{}
	block, err := aes.NewCipher(tlsmsg.ExpandLabel(h, secret, p.keyLabel, keyLen))
	if err != nil {
		panic("quic: " + err.Error()) // keyLen is 16 or 32
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		panic("quic: " + err.Error())
	}
	copy(k.iv[:], tlsmsg.ExpandLabel(h, secret, p.ivLabel, 12))
	if k.hp, err = aes.NewCipher(tlsmsg.ExpandLabel(h, secret, p.hpLabel, keyLen)); err != nil {
		panic("quic: " + err.Error())
	}
	return k
}

// initialKeys derives the Initial keys of both sides from the client's
// Destination Connection ID (RFC 9001 §5.2, RFC 9369 §3.3.1):
//
//	initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id)
//	client_initial_secret = HKDF-Expand-Label(initial_secret, "client in", "", 32)
//	server_initial_secret = HKDF-Expand-Label(initial_secret, "server in", "", 32)
func initialKeys(dcid []byte, v Version) (client, server *keys) {
	p := v.params()
	if p == nil {
		return nil, nil
	}
	initial := hkdf.Extract(sha256.New, dcid, p.salt)
	client = newKeys(sha256.New, tlsmsg.ExpandLabel(sha256.New, initial, "client in", 32), 16, p)
	server = newKeys(sha256.New, tlsmsg.ExpandLabel(sha256.New, initial, "server in", 32), 16, p)
	return client, server
}

// Unprotection failures.
var (
	errNoSample = errors.New("packet too short for the header protection sample")
	errAuth     = errors.New("decryption failed")
)

// unprotected is what unprotect found.
type unprotected struct {
	first   byte  // the first byte with header protection removed
	pnLen   int   // 1 to 4
	pn      int64 // the full packet number
	payload []byte
}

// unprotect removes header protection (RFC 9001 §5.4) from pkt, one
// whole packet whose packet number starts at pnOff, decodes the packet
// number against largest (the largest received in its space and
// direction, -1 for none), and decrypts the payload (RFC 9001 §5.3). It
// works in place: pkt must be the caller's copy.
func (k *keys) unprotect(pkt []byte, pnOff int, long bool, largest int64) (unprotected, error) {
	u, err := k.removeHeaderProtection(pkt, pnOff, long, largest)
	if err != nil {
		return u, err
	}
	k.nonce = k.iv
	for i := range 8 {
		k.nonce[4+i] ^= byte(uint64(u.pn) >> (56 - 8*i))
	}
	hdrEnd := pnOff + u.pnLen
	ct := pkt[hdrEnd:]
	if len(ct) < k.aead.Overhead() {
		return u, errAt("payload shorter than the AEAD tag", hdrEnd, decode.ErrTruncated)
	}
	pt, err := k.aead.Open(ct[:0], k.nonce[:], ct, pkt[:hdrEnd])
	if err != nil {
		return u, errAt(errAuth.Error(), hdrEnd, errAuth)
	}
	u.payload = pt
	return u, nil
}

// open decrypts the payload of a packet whose header protection is
// removed (hdrEnd is the end of its packet number) into dst, leaving pkt
// as it is, so that other keys can be tried on it.
func (k *keys) open(dst, pkt []byte, hdrEnd int, pn int64) ([]byte, error) {
	k.nonce = k.iv
	for i := range 8 {
		k.nonce[4+i] ^= byte(uint64(pn) >> (56 - 8*i))
	}
	ct := pkt[hdrEnd:]
	if len(ct) < k.aead.Overhead() {
		return nil, errAt("payload shorter than the AEAD tag", hdrEnd, decode.ErrTruncated)
	}
	pt, err := k.aead.Open(dst, k.nonce[:], ct, pkt[:hdrEnd])
	if err != nil {
		return nil, errAt(errAuth.Error(), hdrEnd, errAuth)
	}
	return pt, nil
}

// removeHeaderProtection unmasks the first byte and the packet number in
// place and decodes the packet number (RFC 9001 §5.4.1). It needs only
// the bytes up to the end of the sample, so it works on a packet the snap
// length cut, whose payload cannot be authenticated.
func (k *keys) removeHeaderProtection(pkt []byte, pnOff int, long bool, largest int64) (unprotected, error) {
	var u unprotected
	// The sample starts 4 bytes after the packet number's start
	// (RFC 9001 §5.4.2), whatever its length.
	if pnOff < 1 || pnOff+4+sampleLen > len(pkt) {
		return u, errAt("header protection: "+errNoSample.Error(), pnOff, decode.ErrTruncated)
	}
	mask := &k.mask
	k.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+4+sampleLen])
	if long {
		pkt[0] ^= mask[0] & 0x0f
	} else {
		pkt[0] ^= mask[0] & 0x1f
	}
	u.first = pkt[0]
	u.pnLen = int(pkt[0]&3) + 1
	var truncated uint64
	for i := range u.pnLen {
		pkt[pnOff+i] ^= mask[1+i]
		truncated = truncated<<8 | uint64(pkt[pnOff+i])
	}
	u.pn = decodePacketNumber(largest, truncated, u.pnLen*8)
	return u, nil
}

// decodePacketNumber recovers a full packet number from its truncated
// encoding of pnBits bits, given the largest packet number received in
// the space, or -1 (RFC 9000 §A.3).
func decodePacketNumber(largest int64, truncated uint64, pnBits int) int64 {
	expected := largest + 1
	win := int64(1) << pnBits
	hwin := win / 2
	mask := win - 1
	candidate := expected&^mask | int64(truncated)
	switch {
	case candidate <= expected-hwin && candidate < 1<<62-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}

// retryIntegrity checks a Retry packet's integrity tag (RFC 9001 §5.8,
// RFC 9369 §3.3.3): the AEAD tag over the Retry pseudo-packet, the
// original Destination Connection ID with its length followed by the
// Retry packet without its tag.
func retryIntegrity(pkt []byte, odcid []byte, v Version) bool {
	p := v.params()
	if p == nil || len(pkt) < retryTagLen || len(odcid) > 255 {
		return false
	}
	block, err := aes.NewCipher(p.retryKey[:])
	if err != nil {
		return false
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return false
	}
	pseudo := make([]byte, 0, 1+len(odcid)+len(pkt)-retryTagLen)
	pseudo = append(pseudo, byte(len(odcid)))
	pseudo = append(pseudo, odcid...)
	pseudo = append(pseudo, pkt[:len(pkt)-retryTagLen]...)
	_, err = aead.Open(nil, p.retryNonce[:], pkt[len(pkt)-retryTagLen:], pseudo)
	return err == nil
}
