package tlsmsg

import (
	"bytes"
	"compress/zlib"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"strconv"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/wiretrace/wiretrace/decode"
)

// Record protection of TLS 1.2 and below (RFC 5246 §6.2.3).
type cipherKind uint8

const (
	kindExplicit cipherKind = iota + 1 // AEAD with a 4-byte salt and an 8-byte explicit nonce: GCM (RFC 5288), CCM (RFC 6655)
	kindChaCha                         // RFC 7905: 12-byte iv XOR sequence number
	kindCBC                            // RFC 5246 §6.2.3.2, RFC 7366 encrypt_then_mac
	kindRC4                            // RFC 5246 §6.2.3.1: stream cipher over content + MAC
)

// aead reports the AEAD kinds, which TLS 1.2 introduced.
func (k cipherKind) aead() bool { return k == kindExplicit || k == kindChaCha }

// suite12 describes a TLS 1.2 cipher suite's record protection.
type suite12 struct {
	kind   cipherKind
	keyLen int
	ivLen  int                                    // fixed IV bytes from the key block
	mac    func() hash.Hash                       // CBC and RC4
	prf    func() hash.Hash                       // the PRF's hash (RFC 5246 §5)
	block  func(key []byte) (cipher.Block, error) // CBC: nil means AES
	aead   func(key []byte) (cipher.AEAD, error)  // kindExplicit: nil means AES-GCM
}

var (
	gcm128   = suite12{kind: kindExplicit, keyLen: 16, ivLen: 4, prf: sha256.New}
	gcm256   = suite12{kind: kindExplicit, keyLen: 32, ivLen: 4, prf: sha512.New384}
	chacha   = suite12{kind: kindChaCha, keyLen: 32, ivLen: 12, prf: sha256.New}
	cbc128   = suite12{kind: kindCBC, keyLen: 16, ivLen: 16, mac: sha1.New, prf: sha256.New}
	cbc256   = suite12{kind: kindCBC, keyLen: 32, ivLen: 16, mac: sha1.New, prf: sha256.New}
	cbc128s2 = suite12{kind: kindCBC, keyLen: 16, ivLen: 16, mac: sha256.New, prf: sha256.New}
	cbc256s2 = suite12{kind: kindCBC, keyLen: 32, ivLen: 16, mac: sha256.New, prf: sha256.New}
	cbc256s3 = suite12{kind: kindCBC, keyLen: 32, ivLen: 16, mac: sha512.New384, prf: sha512.New384}
	cbc3DES  = suite12{kind: kindCBC, keyLen: 24, ivLen: 8, mac: sha1.New, prf: sha256.New, block: des.NewTripleDESCipher}
	rc4SHA   = suite12{kind: kindRC4, keyLen: 16, mac: sha1.New, prf: sha256.New}
	rc4MD5   = suite12{kind: kindRC4, keyLen: 16, mac: md5.New, prf: sha256.New}
	ccm128   = suite12{kind: kindExplicit, keyLen: 16, ivLen: 4, prf: sha256.New, aead: aesCCM}
	ccm256   = suite12{kind: kindExplicit, keyLen: 32, ivLen: 4, prf: sha256.New, aead: aesCCM}
	ccm8128  = suite12{kind: kindExplicit, keyLen: 16, ivLen: 4, prf: sha256.New, aead: aesCCM8}
	ccm8256  = suite12{kind: kindExplicit, keyLen: 32, ivLen: 4, prf: sha256.New, aead: aesCCM8}
)

var suites12 = map[CipherSuite]*suite12{
	// *_WITH_AES_128_GCM_SHA256, *_WITH_AES_256_GCM_SHA384 (RFC 5288, 5289)
	0x009C: &gcm128, 0x009E: &gcm128, 0x00A0: &gcm128, 0x00A2: &gcm128, 0x00A4: &gcm128,
	0xC02B: &gcm128, 0xC02D: &gcm128, 0xC02F: &gcm128, 0xC031: &gcm128,
	0x009D: &gcm256, 0x009F: &gcm256, 0x00A1: &gcm256, 0x00A3: &gcm256, 0x00A5: &gcm256,
	0xC02C: &gcm256, 0xC02E: &gcm256, 0xC030: &gcm256, 0xC032: &gcm256,
	// *_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905)
	0xCCA8: &chacha, 0xCCA9: &chacha, 0xCCAA: &chacha,
	// *_WITH_AES_128_CBC_SHA, *_WITH_AES_256_CBC_SHA (RFC 5246, 4492)
	0x002F: &cbc128, 0x0030: &cbc128, 0x0031: &cbc128, 0x0032: &cbc128, 0x0033: &cbc128,
	0xC004: &cbc128, 0xC009: &cbc128, 0xC00E: &cbc128, 0xC013: &cbc128,
	0x0035: &cbc256, 0x0036: &cbc256, 0x0037: &cbc256, 0x0038: &cbc256, 0x0039: &cbc256,
	0xC005: &cbc256, 0xC00A: &cbc256, 0xC00F: &cbc256, 0xC014: &cbc256,
	// *_WITH_AES_128_CBC_SHA256, *_WITH_AES_256_CBC_SHA256 (RFC 5246, 5289)
	0x003C: &cbc128s2, 0x003E: &cbc128s2, 0x003F: &cbc128s2, 0x0040: &cbc128s2, 0x0067: &cbc128s2,
	0xC023: &cbc128s2, 0xC025: &cbc128s2, 0xC027: &cbc128s2, 0xC029: &cbc128s2,
	0x003D: &cbc256s2, 0x0068: &cbc256s2, 0x0069: &cbc256s2, 0x006A: &cbc256s2, 0x006B: &cbc256s2,
	// *_WITH_AES_256_CBC_SHA384 (RFC 5289)
	0xC024: &cbc256s3, 0xC026: &cbc256s3, 0xC028: &cbc256s3, 0xC02A: &cbc256s3,
	// *_WITH_3DES_EDE_CBC_SHA, *_WITH_RC4_128_SHA, TLS_RSA_WITH_RC4_128_MD5
	// (RFC 5246, 4492), for old captures
	0x000A: &cbc3DES, 0x0013: &cbc3DES, 0x0016: &cbc3DES,
	0xC003: &cbc3DES, 0xC008: &cbc3DES, 0xC00D: &cbc3DES, 0xC012: &cbc3DES,
	0x0005: &rc4SHA, 0xC002: &rc4SHA, 0xC007: &rc4SHA, 0xC00C: &rc4SHA, 0xC011: &rc4SHA,
	0x0004: &rc4MD5,
	// *_WITH_AES_128_CCM, *_WITH_AES_256_CCM, and the _8 ones with 8-byte
	// tags (RFC 6655 with RSA, DHE and PSK; RFC 7251 with ECDHE_ECDSA)
	0xC09C: &ccm128, 0xC09E: &ccm128, 0xC0A4: &ccm128, 0xC0A6: &ccm128, 0xC0AC: &ccm128,
	0xC09D: &ccm256, 0xC09F: &ccm256, 0xC0A5: &ccm256, 0xC0A7: &ccm256, 0xC0AD: &ccm256,
	0xC0A0: &ccm8128, 0xC0A2: &ccm8128, 0xC0A8: &ccm8128, 0xC0AA: &ccm8128, 0xC0AE: &ccm8128,
	0xC0A1: &ccm8256, 0xC0A3: &ccm8256, 0xC0A9: &ccm8256, 0xC0AB: &ccm8256, 0xC0AF: &ccm8256,
}

// pHash is P_hash of RFC 5246 §5.
func pHash(h func() hash.Hash, secret, seed []byte, n int) []byte {
	out := make([]byte, 0, n)
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// prf10 is the PRF of TLS 1.0 and 1.1 (RFC 2246 §5):
// P_MD5(S1, label + seed) XOR P_SHA-1(S2, label + seed), S1 and S2 the
// halves of the secret, sharing a byte when its length is odd.
func prf10(secret, seed []byte, n int) []byte {
	h := (len(secret) + 1) / 2
	out := pHash(md5.New, secret[:h], seed, n)
	x := pHash(sha1.New, secret[len(secret)-h:], seed, n)
	for i := range out {
		out[i] ^= x[i]
	}
	return out
}

// keys12 is one direction's TLS 1.2 record protection state, with
// scratch space so that opening a record does not allocate.
type keys12 struct {
	s       *suite12
	aead    cipher.AEAD
	block   cipher.Block
	cbc     cipher.BlockMode // block's CBC decrypter, when it can take a new IV
	rc4     *rc4.Cipher
	mac     hash.Hash // HMAC with the MAC key (CBC, RC4)
	iv      []byte
	seq     uint64
	etm     bool // encrypt_then_mac (RFC 7366)
	deflate bool // DEFLATE record compression (RFC 3749)

	nonce [12]byte
	ad    [13]byte
	sum   [sha512.Size]byte
}

// newKeys12 derives both directions' keys from the master secret
// (RFC 5246 §6.3):
//
//	key_block = PRF(master_secret, "key expansion", server_random + client_random)
//
// split into client_write_MAC_key, server_write_MAC_key, client_write_key,
// server_write_key, client_write_IV, server_write_IV.
func newKeys12(s *suite12, v Version, master, clientRandom, serverRandom []byte, etm bool) ([2]*keys12, error) {
	macLen := 0
	if s.mac != nil {
		macLen = s.mac().Size()
	}
	seed := append([]byte("key expansion"), serverRandom...)
	seed = append(seed, clientRandom...)
	n := 2 * (macLen + s.keyLen + s.ivLen)
	var kb []byte
	if v < VersionTLS12 {
		kb = prf10(master, seed, n)
	} else {
		kb = pHash(s.prf, master, seed, n)
	}
	var out [2]*keys12
	for i := range out {
		k := &keys12{s: s, etm: etm}
		if s.mac != nil {
			k.mac = hmac.New(s.mac, kb[i*macLen:(i+1)*macLen])
		}
		key := kb[2*macLen+i*s.keyLen : 2*macLen+(i+1)*s.keyLen]
		k.iv = kb[2*(macLen+s.keyLen)+i*s.ivLen : 2*(macLen+s.keyLen)+(i+1)*s.ivLen]
		var err error
		switch s.kind {
		case kindExplicit:
			na := s.aead
			if na == nil {
				na = aesGCM
			}
			k.aead, err = na(key)
		case kindChaCha:
			k.aead, err = chacha20poly1305.New(key)
		case kindCBC:
			nb := s.block
			if nb == nil {
				nb = aes.NewCipher
			}
			k.block, err = nb(key)
			if err == nil {
				k.cbc = cipher.NewCBCDecrypter(k.block, make([]byte, k.block.BlockSize()))
				if _, ok := k.cbc.(ivSetter); !ok {
					k.cbc = nil
				}
			}
		case kindRC4:
			k.rc4, err = rc4.NewCipher(key)
		}
		if err != nil {
			return out, err
		}
		out[i] = k
	}
	return out, nil
}

// ivSetter is the method crypto/cipher's CBC modes have to take a new
// IV without a new BlockMode.
type ivSetter interface{ SetIV([]byte) }

// additional builds seq_num + type + version + length (RFC 5246 §6.2.3.3)
// in k's scratch space.
func (k *keys12) additional(r *Record, n int) []byte {
	binary.BigEndian.PutUint64(k.ad[:], k.seq)
	k.ad[8], k.ad[9], k.ad[10] = byte(r.Type), byte(r.Version>>8), byte(r.Version)
	k.ad[11], k.ad[12] = byte(n>>8), byte(n)
	return k.ad[:]
}

// macSum is the HMAC of the record's additional data and data.
func (k *keys12) macSum(r *Record, data []byte) []byte {
	k.mac.Reset()
	k.mac.Write(k.additional(r, len(data)))
	k.mac.Write(data)
	return k.mac.Sum(k.sum[:0])
}

// open decrypts and authenticates one TLSCiphertext, appending the
// plaintext to dst.
func (k *keys12) open(dst []byte, r *Record) ([]byte, error) {
	f := r.Fragment
	switch k.s.kind {
	case kindExplicit:
		if len(f) < 8+k.aead.Overhead() {
			return nil, errAuth
		}
		copy(k.nonce[:], k.iv)
		copy(k.nonce[4:], f[:8])
		pt, err := k.aead.Open(dst, k.nonce[:], f[8:], k.additional(r, len(f)-8-k.aead.Overhead()))
		if err != nil {
			return nil, errAuth
		}
		k.seq++
		return pt, nil
	case kindChaCha:
		if len(f) < k.aead.Overhead() {
			return nil, errAuth
		}
		copy(k.nonce[:], k.iv)
		var seq [8]byte
		binary.BigEndian.PutUint64(seq[:], k.seq)
		for i := range seq {
			k.nonce[4+i] ^= seq[i]
		}
		pt, err := k.aead.Open(dst, k.nonce[:], f, k.additional(r, len(f)-k.aead.Overhead()))
		if err != nil {
			return nil, errAuth
		}
		k.seq++
		return pt, nil
	}
	if k.s.kind == kindRC4 {
		return k.openRC4(dst, r)
	}
	return k.openCBC(dst, r)
}

// openRC4 handles GenericStreamCipher (RFC 5246 §6.2.3.1): content then
// MAC, under one keystream per direction.
func (k *keys12) openRC4(dst []byte, r *Record) ([]byte, error) {
	macLen := k.mac.Size()
	if len(r.Fragment) < macLen {
		return nil, errAuth
	}
	_, pt := grow(dst, len(r.Fragment))
	k.rc4.XORKeyStream(pt, r.Fragment)
	content := pt[:len(pt)-macLen]
	if !hmac.Equal(k.macSum(r, content), pt[len(content):]) {
		return nil, errAuth
	}
	k.seq++
	return content, nil
}

// openCBC handles GenericBlockCipher (RFC 5246 §6.2.3.2) with an explicit
// IV (TLS 1.1 and later) or the chained one (TLS 1.0).
func (k *keys12) openCBC(dst []byte, r *Record) ([]byte, error) {
	f := r.Fragment
	bs := k.block.BlockSize()
	macLen := k.mac.Size()
	explicit := r.Version >= VersionTLS11
	if k.etm {
		// RFC 7366 §3: MAC(MAC_write_key, seq_num + type + version +
		// length + IV + ENC(content + padding + padding_length)).
		if len(f) < macLen+bs || (len(f)-macLen)%bs != 0 {
			return nil, errAuth
		}
		c := f[:len(f)-macLen]
		if !hmac.Equal(k.macSum(r, c), f[len(c):]) {
			return nil, errAuth
		}
		pt, err := k.cbcDecrypt(dst, c, explicit)
		if err != nil {
			return nil, err
		}
		n := int(pt[len(pt)-1]) + 1
		if n > len(pt) {
			return nil, errAuth
		}
		k.seq++
		return pt[:len(pt)-n], nil
	}
	if len(f) < bs || len(f)%bs != 0 {
		return nil, errAuth
	}
	pt, err := k.cbcDecrypt(dst, f, explicit)
	if err != nil {
		return nil, err
	}
	n := int(pt[len(pt)-1]) + 1
	if n+macLen > len(pt) {
		return nil, errAuth
	}
	for _, b := range pt[len(pt)-n:] {
		if int(b) != n-1 {
			return nil, errAuth
		}
	}
	content := pt[:len(pt)-n-macLen]
	if subtle.ConstantTimeCompare(k.macSum(r, content), pt[len(content):len(content)+macLen]) != 1 {
		return nil, errAuth
	}
	k.seq++
	return content, nil
}

// cbcDecrypt decrypts c into dst's spare capacity. The TLS 1.0 chained IV
// advances even when the record then fails.
func (k *keys12) cbcDecrypt(dst, c []byte, explicit bool) ([]byte, error) {
	bs := k.block.BlockSize()
	iv := k.iv
	if explicit {
		if len(c) < 2*bs {
			return nil, errAuth
		}
		iv, c = c[:bs], c[bs:]
	}
	if len(c) == 0 {
		return nil, errAuth
	}
	_, pt := grow(dst, len(c))
	if k.cbc != nil {
		k.cbc.(ivSetter).SetIV(iv)
		k.cbc.CryptBlocks(pt, c)
	} else {
		cipher.NewCBCDecrypter(k.block, iv).CryptBlocks(pt, c)
	}
	if !explicit {
		k.iv = append(k.iv[:0:0], c[len(c)-bs:]...)
	}
	return pt, nil
}

// decrypt12 decrypts a protected record of TLS 1.2 and below (after the
// direction's ChangeCipherSpec) and emits what it carries. It returns
// false when the record is to be shown encrypted.
func (d *Decoder) decrypt12(dir decode.Dir, r *Record, at decode.Position, emit decode.Emit) bool {
	if d.opts.Keys == nil || d.opts.Keys.Empty() || !d.haveRandom || d.crypt[dir.Index()].failed {
		return false
	}
	if d.k12[dir.Index()] == nil && !d.install12(dir, at, emit) {
		return false
	}
	if cap(d.plain) < len(r.Fragment)+1 {
		// Room for the plaintext and the type byte inner takes after it.
		d.plain = make([]byte, 0, len(r.Fragment)+1)
	}
	pt, err := d.k12[dir.Index()].open(d.plain[:0], r)
	if err != nil {
		d.keysEvent(dir, KeysWrong, "a record failed to authenticate with the logged master secret", at, emit)
		return false
	}
	if d.k12[dir.Index()].deflate {
		if pt, err = d.inflate(dir, pt); err != nil {
			d.keysEvent(dir, KeysUnsupported, err.Error(), at, emit)
			return false
		}
	}
	switch r.Type {
	case ContentHandshake:
		d.decrypting = true
		d.handshakeRecord(dir, pt, at, emit)
		d.decrypting = false
	default:
		d.inner(dir, epochApp, append(pt, byte(r.Type)), at, emit)
	}
	return true
}

// install12 derives the keys of both directions of the first handshake
// from the key log.
func (d *Decoder) install12(dir decode.Dir, at decode.Position, emit decode.Emit) bool {
	ks, status, msg := d.hs12.keys(d.opts.Keys)
	if status != "" {
		d.keysEvent(dir, status, msg, at, emit)
		return false
	}
	d.k12 = ks
	return true
}

// maxInflate caps a direction's DEFLATE-compressed bytes: each record is
// decompressed from the start of the direction's stream.
const maxInflate = 1 << 20

// inflate undoes DEFLATE record compression (RFC 3749): one zlib stream
// per direction, flushed at the end of each record. The stream so far is
// decompressed again and the output past what earlier records gave is
// this record's.
func (d *Decoder) inflate(dir decode.Dir, c []byte) ([]byte, error) {
	z := &d.zlib[dir.Index()]
	if len(z.in)+len(c) > maxInflate {
		return nil, errors.New("compressed stream above " + strconv.Itoa(maxInflate) + " bytes: not decompressed")
	}
	z.in = append(z.in, c...)
	r, err := zlib.NewReader(bytes.NewReader(z.in))
	if err != nil {
		return nil, errors.New("tlsmsg: DEFLATE: " + err.Error())
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(z.out)+MaxRecordLen+1))
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, errors.New("tlsmsg: DEFLATE: " + err.Error())
	}
	if len(out) < z.out || len(out)-z.out > 1<<14 {
		return nil, errors.New("tlsmsg: DEFLATE: record decompresses to more than 2^14 bytes")
	}
	pt := out[z.out:]
	z.out = len(out)
	return pt, nil
}

// inflateState is one direction's compressed stream.
type inflateState struct {
	in  []byte
	out int
}
