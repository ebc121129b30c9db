package tlsmsg

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// session12 is what one TLS 1.2 (or earlier) handshake settles for record
// protection: the randoms, version, suite and extensions, and what the
// master secret derives from when the key log holds a premaster secret
// instead of the master secret. A renegotiation fills a new one while the
// records still travel under the keys of the previous.
type session12 struct {
	clientRandom [32]byte
	serverRandom [32]byte
	version      Version
	suite        CipherSuite
	compression  uint8
	ems          bool // extended_master_secret in both hellos (RFC 7627)
	etm          bool // encrypt_then_mac in the ServerHello (RFC 7366)
	// rsaPrefix is the first 8 bytes of the ClientKeyExchange's
	// EncryptedPreMasterSecret, the key of a key log's RSA lines.
	rsaPrefix   [8]byte
	haveRSA     bool
	sessionHash []byte // RFC 7627 §3 session_hash, once the ClientKeyExchange is hashed
	tr          transcript
}

// transcript is a running hash of the handshake messages for RFC 7627's
// session_hash: only the hash state is kept, never the messages. The
// hash is the PRF's (RFC 5246 §7.4.9), MD5 and SHA-1 together before
// TLS 1.2; it is known at the ServerHello, so until then every candidate
// runs.
type transcript struct {
	h [4]hash.Hash // MD5, SHA-1, SHA-256, SHA-384; nil when not needed
}

func (t *transcript) start() {
	t.h = [4]hash.Hash{md5.New(), sha1.New(), sha256.New(), sha512.New384()}
}

func (t *transcript) stop() { t.h = [4]hash.Hash{} }

func (t *transcript) on() bool { return t.h != [4]hash.Hash{} }

// keep keeps the hashes a session needs: MD5+SHA-1 before TLS 1.2, else
// the suite's PRF hash.
func (t *transcript) keep(v Version, s *suite12) {
	switch {
	case v < VersionTLS12:
		t.h[2], t.h[3] = nil, nil
	case s.prf().Size() == sha512.Size384:
		t.h[0], t.h[1], t.h[2] = nil, nil, nil
	default:
		t.h[0], t.h[1], t.h[3] = nil, nil, nil
	}
}

// write adds one handshake message, header and body.
func (t *transcript) write(typ HandshakeType, body []byte) {
	n := len(body)
	hdr := [4]byte{byte(typ), byte(n >> 16), byte(n >> 8), byte(n)}
	for _, h := range t.h {
		if h != nil {
			h.Write(hdr[:])
			h.Write(body)
		}
	}
}

// sum is the session_hash: the kept hashes' outputs, concatenated.
func (t *transcript) sum() []byte {
	var out []byte
	for _, h := range t.h {
		if h != nil {
			out = h.Sum(out)
		}
	}
	return out
}

// track12 follows a TLS 1.2 handshake message (decrypted ones of a
// renegotiation too) for the session it settles; ok says its body
// parsed. Only a decoder with a key log tracks anything.
func (d *Decoder) track12(dir decode.Dir, t HandshakeType, body []byte, ok bool) {
	if d.opts.Keys == nil || t == TypeHelloRequest {
		// RFC 5246 §7.4.1.1: HelloRequest is not in the transcript.
		return
	}
	s := &d.hs12
	switch {
	case t == TypeClientHello && dir == decode.C2S:
		*s = session12{}
		if !ok || len(d.ch.Random) != 32 {
			return
		}
		copy(s.clientRandom[:], d.ch.Random)
		if d.ch.ExtendedMS {
			s.tr.start()
		}
	case t == TypeServerHello && dir == decode.S2C && ok && !d.sh.Retry:
		copy(s.serverRandom[:], d.sh.Random)
		s.version, s.suite, s.compression = d.sh.Version, d.sh.CipherSuite, d.sh.Compression
		for _, e := range d.sh.Extensions {
			s.etm = s.etm || e == ExtEncryptThenMAC
			s.ems = s.ems || e == ExtExtendedMasterSecret && d.ch.ExtendedMS
		}
		if d.decrypting && !s.version.is13() {
			// A ServerHello under the current keys: a renegotiation,
			// whose keys apply from each side's next ChangeCipherSpec.
			d.renego = true
		}
		if su := suites12[s.suite]; s.ems && su != nil && !s.version.is13() {
			s.tr.keep(s.version, su)
		} else {
			s.tr.stop()
		}
	}
	if !s.tr.on() {
		if t == TypeClientKeyExchange && dir == decode.C2S {
			s.rsa(body)
		}
		return
	}
	s.tr.write(t, body)
	switch t {
	case TypeClientKeyExchange:
		// RFC 7627 §3: the session hash covers the messages up to and
		// including the ClientKeyExchange.
		s.rsa(body)
		s.sessionHash = s.tr.sum()
		s.tr.stop()
	case TypeFinished:
		s.tr.stop() // an abbreviated handshake has no ClientKeyExchange
	}
}

// rsa keeps the prefix of an RSA EncryptedPreMasterSecret (RFC 5246
// §7.4.7.1): opaque encrypted_pre_master_secret<0..2^16-1>, the vector
// being the whole body. Other key exchanges' bodies rarely fit; when one
// does, its prefix is simply not in the key log.
func (s *session12) rsa(body []byte) {
	if len(body) >= 2+8 && int(body[0])<<8|int(body[1]) == len(body)-2 {
		copy(s.rsaPrefix[:], body[2:10])
		s.haveRSA = true
	}
}

// prf is the session's PRF (RFC 5246 §5; RFC 2246 §5 before TLS 1.2).
func (s *session12) prf(su *suite12, secret []byte, label string, seed []byte, n int) []byte {
	ls := make([]byte, 0, len(label)+len(seed))
	ls = append(append(ls, label...), seed...)
	if s.version < VersionTLS12 {
		return prf10(secret, ls, n)
	}
	return pHash(su.prf, secret, ls, n)
}

// masterSecret finds the session's master secret: CLIENT_RANDOM, else
// derived from a premaster secret logged as RSA (by the encrypted
// premaster's prefix) or PMS_CLIENT_RANDOM (RFC 5246 §8.1; RFC 7627 §4
// with the extended master secret). It returns a keys status and message
// when there is none.
func (s *session12) masterSecret(keys *keylog.Store, su *suite12) ([]byte, string, string) {
	sec, _ := keys.Lookup(s.clientRandom)
	if sec != nil && sec.Has(keylog.ClientRandom) {
		return sec.Secret(keylog.ClientRandom), "", ""
	}
	var pms []byte
	if s.haveRSA {
		pms, _ = keys.LookupRSA(s.rsaPrefix)
	}
	if pms == nil && sec != nil {
		pms = sec.Secret(keylog.PMSClientRandom)
	}
	if pms == nil {
		return nil, KeysMissing, "no CLIENT_RANDOM master secret, nor an RSA or PMS_CLIENT_RANDOM premaster secret, for this connection"
	}
	if s.ems {
		if s.sessionHash == nil {
			return nil, KeysMissing, "the premaster secret needs the handshake up to the ClientKeyExchange (extended master secret), which was not seen"
		}
		return s.prf(su, pms, "extended master secret", s.sessionHash, 48), "", ""
	}
	return s.prf(su, pms, "master secret", append(s.clientRandom[:], s.serverRandom[:]...), 48), "", ""
}

// keys derives both directions' record protection of the session. It
// returns a keys status and message when it cannot.
func (s *session12) keys(keys *keylog.Store) ([2]*keys12, string, string) {
	var none [2]*keys12
	su := suites12[s.suite]
	if su == nil || su.kind.aead() && s.version < VersionTLS12 {
		return none, KeysUnsupported, "cipher suite " + s.suite.String() + " is not decrypted"
	}
	if s.compression > 1 {
		return none, KeysUnsupported, "compressed records (method " + strconv.Itoa(int(s.compression)) + ") are not decrypted"
	}
	if s.version < VersionTLS10 {
		return none, KeysUnsupported, s.version.String() + " is not decrypted"
	}
	master, status, msg := s.masterSecret(keys, su)
	if status != "" {
		return none, status, msg
	}
	ks, err := newKeys12(su, s.version, master, s.clientRandom[:], s.serverRandom[:], s.etm && su.kind == kindCBC)
	if err != nil {
		return none, KeysWrong, err.Error()
	}
	for _, k := range ks {
		k.deflate = s.compression == 1
	}
	return ks, "", ""
}

// rekey12 handles a ChangeCipherSpec of dir after its first: the
// renegotiated session's keys apply to dir's records from here on
// (RFC 5246 §7.1), derived once for both directions.
func (d *Decoder) rekey12(dir decode.Dir, at decode.Position, emit decode.Emit) {
	i := dir.Index()
	if d.k12[i] == nil || d.crypt[i].failed {
		return
	}
	if d.renego {
		d.renego = false
		ks, status, msg := d.hs12.keys(d.opts.Keys)
		if status != "" {
			d.keysEvent(dir, status, "renegotiation: "+msg, at, emit)
			return
		}
		d.next12 = ks
	}
	if d.next12[i] == nil {
		d.keysEvent(dir, KeysUnsupported, "a second ChangeCipherSpec without a decrypted renegotiation handshake", at, emit)
		return
	}
	d.k12[i], d.next12[i] = d.next12[i], nil
	d.zlib[i] = inflateState{}
}
