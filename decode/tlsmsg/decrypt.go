package tlsmsg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// Options configures the decoders a Sniffer makes.
type Options struct {
	// Keys, when set, holds the key log secrets used to decrypt. It is
	// looked up when a connection first needs a key, so secrets added
	// while a capture is read (pcapng Decryption Secrets Blocks) apply to
	// the connections that follow them.
	Keys *keylog.Store
	// Next, when set, makes the decoder that receives a connection's
	// decrypted application data, in order per direction. It is made at
	// the first plaintext and ended with the connection. A hole in the
	// TLS stream reaches it as Skip with n = 0: the plaintext length lost
	// is unknown.
	Next func() decode.StreamDecoder
	// MaxHandshake caps a handshake message reassembled across records
	// (certificate chains are the large ones); 0 means MaxHandshakeLen.
	// A bigger message is dropped with a conn/cap-limit event.
	MaxHandshake int
}

func (o *Options) maxHandshake() int {
	if o.MaxHandshake > 0 {
		return o.MaxHandshake
	}
	return MaxHandshakeLen
}

// TypeKeys is the event saying once per connection why records stay
// encrypted though a key log was given (docs/events.md).
const TypeKeys decode.Type = "keys"

// Key status values of a TypeKeys event.
const (
	KeysMissing     = "missing"     // no usable secret for this client random
	KeysWrong       = "wrong"       // a record failed to authenticate
	KeysUnsupported = "unsupported" // the cipher suite is not one we decrypt
)

// epoch is the key phase of one direction (RFC 8446 §7).
type epoch uint8

const (
	epochNone epoch = iota
	epochEarly
	epochHandshake
	epochApp
)

// suite13 describes a TLS 1.3 cipher suite (RFC 8446 §B.4).
type suite13 struct {
	id     CipherSuite
	hash   func() hash.Hash
	keyLen int
	aead   func(key []byte) (cipher.AEAD, error)
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// aesCCM and aesCCM8 are AES-CCM with 16- and 8-byte tags and the
// 12-byte nonce of TLS (RFC 8446 §B.4, RFC 6655 §3).
func aesCCM(key []byte) (cipher.AEAD, error)  { return aesCCMTag(key, 16) }
func aesCCM8(key []byte) (cipher.AEAD, error) { return aesCCMTag(key, 8) }

func aesCCMTag(key []byte, tag int) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return newCCM(b, tag, 12)
}

var suites13 = []suite13{
	{0x1301, sha256.New, 16, aesGCM},
	{0x1302, sha512.New384, 32, aesGCM},
	{0x1303, sha256.New, 32, chacha20poly1305.New},
	{0x1304, sha256.New, 16, aesCCM},
	{0x1305, sha256.New, 16, aesCCM8},
}

func findSuite13(id CipherSuite) *suite13 {
	for i := range suites13 {
		if suites13[i].id == id {
			return &suites13[i]
		}
	}
	return nil
}

// ExpandLabel is HKDF-Expand-Label (RFC 8446 §7.1) with an empty context,
// n bytes long (at most 255 hash lengths), as TLS 1.3 and QUIC (RFC 9001
// §5.1) derive keys from traffic secrets:
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
func ExpandLabel(h func() hash.Hash, secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = append(info, byte(n>>8), byte(n), byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out := make([]byte, n)
	if _, err := hkdf.Expand(h, secret, info).Read(out); err != nil {
		panic("tlsmsg: hkdf: " + err.Error()) // only for n > 255*hash size
	}
	return out
}

// trafficKeys is one direction's record protection state, with scratch
// space so that opening a record does not allocate.
type trafficKeys struct {
	suite  *suite13
	secret []byte
	aead   cipher.AEAD
	iv     [12]byte
	seq    uint64
	nonce  [12]byte
	hdr    [5]byte
}

// newTrafficKeys derives key and iv from a traffic secret (RFC 8446 §7.3).
func newTrafficKeys(s *suite13, secret []byte) (*trafficKeys, error) {
	a, err := s.aead(ExpandLabel(s.hash, secret, "key", s.keyLen))
	if err != nil {
		return nil, err
	}
	k := &trafficKeys{suite: s, secret: secret, aead: a}
	copy(k.iv[:], ExpandLabel(s.hash, secret, "iv", 12))
	return k, nil
}

// update applies a KeyUpdate (RFC 8446 §7.2):
// application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).
func (k *trafficKeys) update() (*trafficKeys, error) {
	return newTrafficKeys(k.suite, ExpandLabel(k.suite.hash, k.secret, "traffic upd", k.suite.hash().Size()))
}

var errAuth = errors.New("tlsmsg: record failed to authenticate")

// open decrypts one TLSCiphertext (RFC 8446 §5.2): the nonce is the iv
// XOR the 64-bit sequence number, the additional data the record header.
// The sequence number advances only on success.
func (k *trafficKeys) open(dst []byte, r *Record) ([]byte, error) {
	if len(r.Fragment) < k.aead.Overhead() {
		return nil, errAuth
	}
	k.nonce = k.iv
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], k.seq)
	for i := range seq {
		k.nonce[4+i] ^= seq[i]
	}
	k.hdr = [5]byte{byte(r.Type), byte(r.Version >> 8), byte(r.Version), byte(len(r.Fragment) >> 8), byte(len(r.Fragment))}
	pt, err := k.aead.Open(dst, k.nonce[:], r.Fragment, k.hdr[:])
	if err != nil {
		return nil, errAuth
	}
	k.seq++
	return pt, nil
}

// cryptState is one direction's decryption state.
type cryptState struct {
	epoch   epoch
	keys    *trafficKeys
	pending epoch // switch to after the current record
	update  bool  // a KeyUpdate was received in the current record
	failed  bool  // gave up: records are shown encrypted
}

// canDecrypt reports whether an application_data record of dir should be
// tried with keys.
func (d *Decoder) canDecrypt(dir decode.Dir) bool {
	if d.opts.Keys == nil || !d.haveRandom || d.crypt[dir.Index()].failed {
		return false
	}
	if d.tls13() {
		return true
	}
	return dir == decode.C2S && !d.serverHello && d.earlyOffer
}

// secrets looks the connection up in the key log. A store that is still
// empty is not a miss: nothing was given (yet).
func (d *Decoder) secrets() *keylog.Secrets {
	if d.sec == nil {
		d.sec, _ = d.opts.Keys.Lookup(d.random)
	}
	return d.sec
}

// keysEvent reports, once per connection, why records stay encrypted.
func (d *Decoder) keysEvent(dir decode.Dir, status, msg string, at decode.Position, emit decode.Emit) {
	d.crypt[dir.Index()].failed = true
	if d.keysReported {
		return
	}
	d.keysReported = true
	e := d.event(decode.DirNone, at, TypeKeys, 0, decode.Info{decode.String("keys", status),
		decode.String("error", dir.String()+": "+msg)})
	e.Flags, e.Len = 0, decode.NoValue
	emit(e)
}

// install sets dir's keys for epoch ep from the key log. It reports false
// when the secret is missing or the suite unsupported, after saying so.
func (d *Decoder) install(dir decode.Dir, ep epoch, s *suite13, at decode.Position, emit decode.Emit) bool {
	c := &d.crypt[dir.Index()]
	sec := d.secrets()
	if sec == nil {
		d.keysEvent(dir, KeysMissing, "no key log entry for this connection's client random", at, emit)
		return false
	}
	var l keylog.Label
	switch {
	case ep == epochEarly:
		l = keylog.ClientEarlyTrafficSecret
	case ep == epochHandshake && dir == decode.C2S:
		l = keylog.ClientHandshakeTrafficSecret
	case ep == epochHandshake:
		l = keylog.ServerHandshakeTrafficSecret
	case dir == decode.C2S:
		l = keylog.ClientTrafficSecret0
	default:
		l = keylog.ServerTrafficSecret0
	}
	secret := sec.Secret(l)
	if len(secret) == 0 {
		d.keysEvent(dir, KeysMissing, "the key log has no "+l.String()+" for this connection", at, emit)
		return false
	}
	if s == nil {
		d.keysEvent(dir, KeysUnsupported, "cipher suite "+d.sh.CipherSuite.String()+" is not decrypted", at, emit)
		return false
	}
	if len(secret) != s.hash().Size() {
		d.keysEvent(dir, KeysWrong, l.String()+" has the wrong length for "+s.id.String(), at, emit)
		return false
	}
	k, err := newTrafficKeys(s, secret)
	if err != nil {
		d.keysEvent(dir, KeysWrong, err.Error(), at, emit)
		return false
	}
	c.epoch, c.keys = ep, k
	return true
}

// decrypt13 decrypts a TLS 1.3 record of dir and emits what it carries.
// It returns false when the record is to be shown encrypted.
func (d *Decoder) decrypt13(dir decode.Dir, r *Record, at decode.Position, emit decode.Emit) bool {
	c := &d.crypt[dir.Index()]
	if d.opts.Keys.Empty() {
		return false
	}
	if c.epoch == epochNone {
		ok := false
		if !d.serverHello {
			ok = d.tryEarly(r, at, emit)
		} else {
			ok = d.install(dir, epochHandshake, findSuite13(d.sh.CipherSuite), at, emit)
		}
		if !ok {
			return false
		}
	}
	pt, err := c.keys.open(d.plain[:0], r)
	if err != nil && dir == decode.C2S && c.epoch == epochEarly && d.serverHello {
		// The server may have rejected 0-RTT: the client's handshake
		// flight follows under the handshake secret.
		early := c.keys
		if !d.install(dir, epochHandshake, findSuite13(d.sh.CipherSuite), at, emit) {
			return false
		}
		if pt, err = c.keys.open(d.plain[:0], r); err != nil {
			c.epoch, c.keys = epochEarly, early
		}
	}
	if err != nil {
		d.keysEvent(dir, KeysWrong, "a record failed to authenticate with the logged secret ("+epochName(c.epoch)+")", at, emit)
		return false
	}
	d.plain = pt[:0]
	d.inner(dir, c.epoch, pt, at, emit)
	// Key changes take effect at record boundaries (RFC 8446 §5.1).
	switch {
	case c.update:
		c.update = false
		if k, err := c.keys.update(); err == nil {
			c.keys = k
		}
	case c.pending != epochNone:
		ep := c.pending
		c.pending = epochNone
		if !d.install(dir, ep, c.keys.suite, at, emit) {
			return true
		}
	}
	return true
}

func epochName(e epoch) string {
	switch e {
	case epochEarly:
		return "early traffic"
	case epochHandshake:
		return "handshake traffic"
	case epochApp:
		return "application traffic"
	}
	return "none"
}

// tryEarly installs the client early traffic secret for 0-RTT records
// sent before the ServerHello named the suite: the suites whose hash fits
// the secret's length are tried on the first record.
func (d *Decoder) tryEarly(r *Record, at decode.Position, emit decode.Emit) bool {
	c := &d.crypt[0]
	sec := d.secrets()
	if sec == nil || len(sec.Secret(keylog.ClientEarlyTrafficSecret)) == 0 {
		return d.install(decode.C2S, epochEarly, nil, at, emit)
	}
	secret := sec.Secret(keylog.ClientEarlyTrafficSecret)
	for i := range suites13 {
		s := &suites13[i]
		if s.hash().Size() != len(secret) {
			continue
		}
		k, err := newTrafficKeys(s, secret)
		if err != nil {
			continue
		}
		if _, err := k.open(nil, r); err == nil {
			k.seq = 0
			c.epoch, c.keys = epochEarly, k
			return true
		}
	}
	d.keysEvent(decode.C2S, KeysWrong, "0-RTT record failed to authenticate with CLIENT_EARLY_TRAFFIC_SECRET", at, emit)
	return false
}

// inner handles a TLSInnerPlaintext (RFC 8446 §5.2): content, then the
// real content type, then zero padding.
func (d *Decoder) inner(dir decode.Dir, ep epoch, pt []byte, at decode.Position, emit decode.Emit) {
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 {
		e := d.event(dir, at, TypeUnknown, 0, decode.Info{decode.Bool("decrypted", true), decode.String("error", "tlsmsg: inner plaintext is all padding")})
		emit(e)
		return
	}
	typ, content := ContentType(pt[i]), pt[:i]
	switch typ {
	case ContentHandshake:
		d.decrypting = true
		d.handshakeRecord(dir, content, at, emit)
		d.decrypting = false
	case ContentAlert:
		info := decode.Info{decode.Bool("decrypted", true)}
		if len(content) == 2 {
			info = append(info, decode.String("level", AlertLevel(content[0]).String()),
				decode.String("description", AlertDescription(content[1]).String()))
		}
		emit(d.event(dir, at, TypeAlert, len(content), info))
	case ContentApplicationData:
		e := d.event(dir, at, TypeApplicationData, len(content), nil)
		info := decode.Info{decode.Bool("decrypted", true)}
		if ep == epochEarly {
			info = append(info, decode.Bool("early_data", true))
		}
		e.Info = info
		e.Flags |= decode.FlagAppData
		if dir == decode.C2S {
			e.Flags |= decode.FlagRequest
		}
		emit(e)
		d.plaintext(dir, content, at, emit)
	default:
		emit(d.event(dir, at, TypeUnknown, len(content), decode.Info{decode.Bool("decrypted", true), decode.Int("content_type", int64(typ))}))
	}
}

// plaintext hands decrypted application data to the next layer.
func (d *Decoder) plaintext(dir decode.Dir, b []byte, at decode.Position, emit decode.Emit) {
	if d.opts.Next == nil || d.nextDead {
		return
	}
	if d.next == nil {
		d.next = d.opts.Next()
	}
	if err := d.next.Data(dir, b, at, emit); err != nil {
		// Like the timeline does for the decoders it attaches: say why
		// and stop feeding this one; the records still decode.
		d.nextDead = true
		name := "next"
		if n, ok := d.next.(interface{ Name() string }); ok && n.Name() != "" {
			name = n.Name()
		}
		e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
		e.Info = decode.Info{decode.String("decoder", name), decode.String("error", err.Error())}
		emit(e)
	}
}

// afterHandshake13 records key changes that a decrypted handshake
// message implies for its direction.
func (d *Decoder) afterHandshake13(dir decode.Dir, t HandshakeType, body []byte) {
	c := &d.crypt[dir.Index()]
	switch t {
	case TypeFinished:
		c.pending = epochApp
	case TypeEndOfEarlyData:
		c.pending = epochHandshake
	case TypeKeyUpdate:
		if c.epoch == epochApp {
			c.update = true
		}
	}
}
