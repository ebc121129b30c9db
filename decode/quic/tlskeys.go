package quic

import (
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
)

// keyKind names which TLS secret protects a packet.
type keyKind uint8

const (
	kindEarly     keyKind = iota // 0-RTT: client_early_traffic_secret
	kindHandshake                // Handshake packets
	kindApp                      // 1-RTT: the application traffic secrets
)

// appKeys is one direction's 1-RTT key update state (RFC 9001 §6): the
// current keys are the space's keys; phase is their Key Phase bit.
type appKeys struct {
	phase bool
	gen   int   // key updates seen
	start int64 // the first packet number of the current generation
	prev  *keys // the previous generation, for reordered packets
	next  *keys // the next generation, derived when first needed
}

// label returns the key log label of kind's secret sent in dir.
func (k keyKind) label(dir decode.Dir) keylog.Label {
	switch {
	case k == kindEarly:
		return keylog.ClientEarlyTrafficSecret
	case k == kindHandshake && dir == decode.C2S:
		return keylog.ClientHandshakeTrafficSecret
	case k == kindHandshake:
		return keylog.ServerHandshakeTrafficSecret
	case dir == decode.C2S:
		return keylog.ClientTrafficSecret0
	}
	return keylog.ServerTrafficSecret0
}

// keysEvent says once per connection why packets stay encrypted though a
// key log was given, as tlsmsg does for TLS over TCP (tlsmsg.TypeKeys).
func (d *Decoder) keysEvent(dir decode.Dir, status, msg string, at decode.Position) {
	if d.keysReported {
		return
	}
	d.keysReported = true
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerTLS, tlsmsg.TypeKeys)
	e.Len = decode.NoValue
	e.Info = decode.Info{decode.String("keys", status), decode.String("error", dir.String()+": "+msg)}
	d.pending = append(d.pending, e)
}

// installKeys sets the keys of kind for dir from the key log, the first
// time a packet needs them: the cipher suite is the ServerHello's, or,
// before one was seen (0-RTT, or a capture that missed it), whichever
// suite of the secret's hash length opens pkt. It returns nil, after a
// keys event, when the secret is missing or opens nothing (after
// maxKeyTries packets).
func (d *Decoder) installKeys(dir decode.Dir, kind keyKind, pkt []byte, h *Header, p *versionParams, largest int64, at decode.Position) *keys {
	fails := &d.keyFails[kind][dir.Index()]
	if d.opts.Keys == nil || d.opts.Keys.Empty() || !d.haveRandom || *fails >= maxKeyTries {
		return nil
	}
	// A missing secret or unsupported suite is not tried again; a
	// secret that fails to open a packet is, up to maxKeyTries packets.
	tried := *fails
	*fails = maxKeyTries
	if d.sec == nil {
		d.sec, _ = d.opts.Keys.Lookup(d.random)
	}
	if d.sec == nil {
		d.keysEvent(dir, tlsmsg.KeysMissing, "no key log entry for this connection's client random", at)
		return nil
	}
	l := kind.label(dir)
	secret := d.sec.Secret(l)
	if len(secret) == 0 {
		d.keysEvent(dir, tlsmsg.KeysMissing, "the key log has no "+l.String()+" for this connection", at)
		return nil
	}
	if kind != kindEarly && d.suiteID != 0 {
		s := findSuite(d.suiteID)
		if s == nil {
			d.keysEvent(dir, tlsmsg.KeysUnsupported, "cipher suite "+tlsmsg.CipherSuite(d.suiteID).String()+" is not decrypted", at)
			return nil
		}
		if len(secret) != s.hash().Size() {
			d.keysEvent(dir, tlsmsg.KeysWrong, l.String()+" has the wrong length for "+tlsmsg.CipherSuite(d.suiteID).String(), at)
			return nil
		}
		k := newSuiteKeys(s, secret, p)
		if d.opens(k, pkt, h, largest) {
			return k
		}
		return d.wrongKeys(dir, fails, tried, h, l, at)
	}
	for i := range suites {
		s := &suites[i]
		if s.hash().Size() != len(secret) {
			continue
		}
		if k := newSuiteKeys(s, secret, p); d.opens(k, pkt, h, largest) {
			return k
		}
	}
	return d.wrongKeys(dir, fails, tried, h, l, at)
}

// maxKeyTries is how many packets a secret must fail to open before it
// is taken for wrong: one may be a stateless reset or damaged.
const maxKeyTries = 3

// wrongKeys counts a packet that the secret did not open, and says so
// once it failed maxKeyTries times.
func (d *Decoder) wrongKeys(dir decode.Dir, fails *uint8, tried uint8, h *Header, l keylog.Label, at decode.Position) *keys {
	if *fails = tried + 1; *fails >= maxKeyTries {
		d.keysEvent(dir, tlsmsg.KeysWrong, strconv.Itoa(maxKeyTries)+" "+h.Type.String()+" packets failed to authenticate with "+l.String(), at)
	}
	return nil
}

// opens reports whether k removes pkt's protection.
func (d *Decoder) opens(k *keys, pkt []byte, h *Header, largest int64) bool {
	d.pkt = append(d.pkt[:0], pkt...)
	u, err := k.removeHeaderProtection(d.pkt, h.PNOffset, h.Long, largest)
	if err != nil {
		return false
	}
	_, err = k.open(d.plain[:0], d.pkt, h.PNOffset+u.pnLen, u.pn)
	return err == nil
}
