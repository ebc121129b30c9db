package tlsmsg

import (
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// Event types of layer tls (docs/events.md). Handshake messages use their
// HandshakeType names.
const (
	TypeChangeCipherSpec decode.Type = "ChangeCipherSpec"
	TypeAlert            decode.Type = "Alert"
	TypeApplicationData  decode.Type = "ApplicationData"
	TypeHeartbeat        decode.Type = "Heartbeat"
	TypeHelloRetry       decode.Type = "HelloRetryRequest"
	// TypeUnknown is a handshake message or record of an unassigned type.
	TypeUnknown decode.Type = "UNKNOWN"
)

// dirState is one direction's parsing state.
type dirState struct {
	buf     []byte // a partial record
	hs      []byte // a partial handshake message
	hsSkip  int    // bytes still to drop of a handshake message over the cap
	started bool
	dead    bool
	ccs     bool // sent ChangeCipherSpec: later records are protected (TLS 1.2)
	encHS   int  // protected handshake records seen
	finishd bool // sent Finished (TLS 1.2, protected) or its TLS 1.3 flight
}

// Decoder decodes both directions of one TLS connection. It implements
// decode.StreamDecoder and Summary for the connection summary.
type Decoder struct {
	dirs [2]dirState

	version     Version // negotiated, from the ServerHello
	serverHello bool    // a ServerHello (not an HRR) was seen
	retry       bool
	earlyOffer  bool
	done        bool // FlagHandshakeDone was set
	sni         string
	alpn        string

	ch ClientHello
	sh ServerHello

	// Decryption (decrypt.go).
	opts         Options
	random       [32]byte // the ClientHello's, the key log's lookup key
	haveRandom   bool
	sec          *keylog.Secrets
	crypt        [2]cryptState
	keysReported bool
	decrypting   bool   // handling decrypted handshake messages
	plain        []byte // reused plaintext buffer
	next         decode.StreamDecoder
	nextDead     bool
	serverRandom [32]byte
	k12          [2]*keys12 // TLS 1.2 and below, after ChangeCipherSpec
	hs12         session12  // the latest TLS 1.2 handshake (session12.go)
	renego       bool       // hs12 is a renegotiation whose keys are not derived yet
	next12       [2]*keys12 // a renegotiation's keys, until each side's ChangeCipherSpec
	zlib         [2]inflateState
}

// NewDecoder returns a Decoder for one connection that does not decrypt.
func NewDecoder() *Decoder { return &Decoder{} }

// NewDecoderOptions returns a Decoder for one connection configured by
// opts.
func NewDecoderOptions(opts Options) *Decoder { return &Decoder{opts: opts} }

// Data implements decode.StreamDecoder.
func (d *Decoder) Data(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) error {
	s := &d.dirs[dir.Index()]
	if s.dead || len(data) == 0 {
		return nil
	}
	b := data
	if len(s.buf) > 0 {
		s.buf = append(s.buf, data...)
		b = s.buf
	}
	off := 0
	for off < len(b) {
		rest := b[off:]
		if !s.started && dir == decode.C2S && rest[0]&0x80 != 0 {
			// An SSLv2-compatible ClientHello: 2-byte header, no padding.
			if len(rest) < 2 {
				break
			}
			n := int(rest[0]&0x7f)<<8 | int(rest[1])
			if len(rest) < 2+n {
				break
			}
			s.started = true
			d.sslv2(rest[2:2+n], at, emit)
			off += 2 + n
			continue
		}
		rec, n, err := ParseRecord(rest)
		if err == errTruncated {
			break
		}
		if err != nil {
			d.stop(dir, err.Error(), at, emit)
			return nil
		}
		s.started = true
		off += n
		d.record(dir, &rec, at, emit)
		if s.dead {
			return nil
		}
	}
	rest := b[off:]
	if len(s.buf) > 0 {
		s.buf = s.buf[:copy(s.buf, rest)]
	} else {
		s.buf = append(s.buf[:0], rest...)
	}
	return nil
}

// stop emits a decode-error naming the direction and ignores the rest of
// that direction's bytes.
func (d *Decoder) stop(dir decode.Dir, msg string, at decode.Position, emit decode.Emit) {
	s := &d.dirs[dir.Index()]
	s.dead, s.buf, s.hs = true, nil, nil
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
	e.Info = decode.Info{decode.String("decoder", "tls"), decode.String("error", dir.String()+": "+msg+"; stopped decoding this direction")}
	emit(e)
}

// Skip implements decode.StreamDecoder: a hole loses record framing, so
// the direction is given up.
func (d *Decoder) Skip(dir decode.Dir, n uint64, at decode.Position, emit decode.Emit) {
	if s := &d.dirs[dir.Index()]; !s.dead {
		d.stop(dir, "tlsmsg: "+strconv.FormatUint(n, 10)+" bytes missing", at, emit)
		if d.next != nil && !d.nextDead {
			// The plaintext's length is unknown: the next layer only
			// learns that its stream has a hole.
			d.next.Skip(dir, 0, at, emit)
		}
	}
}

// End implements decode.StreamDecoder, and ends the next layer's
// decoder.
func (d *Decoder) End(at decode.Position, emit decode.Emit) {
	if d.next != nil && !d.nextDead {
		d.next.End(at, emit)
	}
}

// Summary returns the summary fields tls fills: handshake, tls_version,
// sni, alpn; then those of the next layer's decoder, whose "protocol"
// becomes "tls/" and its own (e.g. "tls/http2").
func (d *Decoder) Summary() decode.Info {
	info := d.summary()
	if sum, ok := d.next.(decode.Summarizer); ok && !d.nextDead {
		for _, f := range sum.Summary() {
			if f.Key == "protocol" {
				f.Str = "tls/" + f.Str
			}
			info = append(info, f)
		}
	}
	return info
}

func (d *Decoder) summary() decode.Info {
	hs, v := "TCP+TLS", ""
	if d.version != 0 {
		v = d.version.String()
		if d.version.is13() {
			v = "TLS1.3"
		}
		hs = "TCP+" + v
	}
	return decode.Info{decode.String("handshake", hs), decode.String("tls_version", v),
		decode.String("sni", d.sni), decode.String("alpn", d.alpn)}
}

func (d *Decoder) tls13() bool { return d.serverHello && d.version.is13() }

func (d *Decoder) event(dir decode.Dir, at decode.Position, typ decode.Type, n int, info decode.Info) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerTLS, typ)
	e.Len = int64(n)
	if info == nil {
		info = decode.Info{}
	}
	e.Info = info
	if dir == decode.S2C {
		e.Flags = decode.FlagReply
	}
	return e
}

func (d *Decoder) record(dir decode.Dir, r *Record, at decode.Position, emit decode.Emit) {
	s := &d.dirs[dir.Index()]
	switch r.Type {
	case ContentHandshake:
		if s.ccs && d.decrypt12(dir, r, at, emit) {
			return
		}
		if s.ccs {
			// Protected handshake (TLS 1.2 after ChangeCipherSpec): the
			// first is Finished (RFC 5246 §7.4.9); later ones are
			// renegotiation, unreadable without keys.
			s.encHS++
			typ := decode.Type("Finished")
			if s.encHS > 1 {
				typ = TypeUnknown
			}
			e := d.event(dir, at, typ, len(r.Fragment), decode.Info{decode.Bool("encrypted", true)})
			if typ == "Finished" {
				d.finished(dir, &e)
			}
			emit(e)
			return
		}
		d.handshakeRecord(dir, r.Fragment, at, emit)
	case ContentChangeCipherSpec:
		// RFC 5246 §7.1; in TLS 1.3 only for middlebox compatibility
		// (RFC 8446 appendix D.4), and it changes nothing.
		// A 1.3 peer may send one before or after a HelloRetryRequest.
		if d.serverHello && !d.version.is13() {
			if s.ccs {
				// A second one: a renegotiation's new keys.
				d.rekey12(dir, at, emit)
			}
			s.ccs = true
		}
		emit(d.event(dir, at, TypeChangeCipherSpec, len(r.Fragment), nil))
	case ContentAlert:
		if s.ccs && d.decrypt12(dir, r, at, emit) {
			return
		}
		// RFC 8446 §6: struct { AlertLevel level; AlertDescription description; }
		var info decode.Info
		if len(r.Fragment) == 2 && !s.ccs {
			info = decode.Info{decode.String("level", AlertLevel(r.Fragment[0]).String()),
				decode.String("description", AlertDescription(r.Fragment[1]).String())}
		} else {
			info = decode.Info{decode.Bool("encrypted", true)}
		}
		emit(d.event(dir, at, TypeAlert, len(r.Fragment), info))
	case ContentApplicationData:
		if d.canDecrypt(dir) && d.decrypt13(dir, r, at, emit) {
			return
		}
		if s.ccs && !d.tls13() && d.decrypt12(dir, r, at, emit) {
			return
		}
		d.appData(dir, r, at, emit)
	case ContentHeartbeat:
		emit(d.event(dir, at, TypeHeartbeat, len(r.Fragment), nil))
	default:
		emit(d.event(dir, at, TypeUnknown, len(r.Fragment), decode.Info{decode.Int("content_type", int64(r.Type))}))
	}
}

// appData names an application_data record. Without keys, a TLS 1.3
// connection's handshake after the ServerHello travels in these records
// too: the server's until the client's Finished, and the client's first
// flight after the ServerHello. Records the client sends before any
// ServerHello are 0-RTT early data (RFC 8446 §4.2.10).
func (d *Decoder) appData(dir decode.Dir, r *Record, at decode.Position, emit decode.Emit) {
	s := &d.dirs[dir.Index()]
	info := decode.Info{decode.Bool("encrypted", true)}
	e := d.event(dir, at, TypeApplicationData, len(r.Fragment), nil)
	switch {
	case dir == decode.C2S && !d.serverHello:
		info = append(info, decode.Bool("early_data", true))
		e.Flags |= decode.FlagAppData | decode.FlagRequest
	case dir == decode.C2S && d.tls13() && !s.finishd:
		// The client's flight after the ServerHello ends with its
		// Finished: the handshake is done for the client.
		info = append(info, decode.Bool("handshake", true))
		s.finishd = true
		d.handshakeDone(&e)
	case dir == decode.S2C && d.tls13() && !d.dirs[0].finishd:
		info = append(info, decode.Bool("handshake", true))
	default:
		// Seen from TLS, what the client sends is a request and what the
		// server sends a reply; a decoder of the plaintext says better.
		e.Flags |= decode.FlagAppData
		if dir == decode.C2S {
			e.Flags |= decode.FlagRequest
		}
	}
	e.Info = info
	emit(e)
}

// finished flags a Finished: the client's is a request while the server
// has not finished yet (a full TLS 1.2 handshake), since the client then
// waits for the server's Finished.
func (d *Decoder) finished(dir decode.Dir, e *decode.Event) {
	s := &d.dirs[dir.Index()]
	s.finishd = true
	if dir == decode.C2S && !d.dirs[1].finishd {
		e.Flags |= decode.FlagRequest
	}
	if d.dirs[0].finishd && d.dirs[1].finishd {
		d.handshakeDone(e)
	}
}

// handshakeDone flags the event that completes the handshake for the
// client (once per connection, renegotiations aside): the second Finished
// of TLS 1.2 (the server's in a full handshake, the client's when
// resumed), the client's Finished of TLS 1.3.
func (d *Decoder) handshakeDone(e *decode.Event) {
	if d.done {
		return
	}
	d.done = true
	e.Flags |= decode.FlagHandshakeDone
}

// handshakeRecord reassembles handshake messages (RFC 8446 §5.1: they may
// span records, and a record may hold several):
//
//	struct {
//	    HandshakeType msg_type;
//	    uint24 length;
//	    select (msg_type) { ... };
//	} Handshake;
func (d *Decoder) handshakeRecord(dir decode.Dir, frag []byte, at decode.Position, emit decode.Emit) {
	s := &d.dirs[dir.Index()]
	if s.hsSkip > 0 {
		n := min(s.hsSkip, len(frag))
		s.hsSkip -= n
		frag = frag[n:]
	}
	b := frag
	if len(s.hs) > 0 {
		s.hs = append(s.hs, frag...)
		b = s.hs
	}
	off := 0
	for len(b)-off >= 4 {
		n := int(b[off+1])<<16 | int(b[off+2])<<8 | int(b[off+3])
		if max := d.opts.maxHandshake(); n > max {
			// Over the cap (a huge certificate chain): dropped, said once
			// per message, and decoding goes on after it.
			emit(decode.CapLimit(at, dir, "tls", "handshake_message", int64(max),
				decode.String("message", HandshakeType(b[off]).String()), decode.Int("dropped", int64(4+n))))
			have := len(b) - off
			if have >= 4+n {
				off += 4 + n
				continue
			}
			s.hsSkip = 4 + n - have
			off = len(b)
			break
		}
		if len(b)-off < 4+n {
			break
		}
		d.handshake(dir, HandshakeType(b[off]), b[off+4:off+4+n], at, emit)
		off += 4 + n
	}
	rest := b[off:]
	if len(s.hs) > 0 {
		s.hs = s.hs[:copy(s.hs, rest)]
	} else if len(rest) > 0 {
		s.hs = append(s.hs[:0], rest...)
	}
}

// ParseMessage parses one whole handshake message (4-byte header and
// body) into an event's type and info. A message cut short gives
// decode.ErrTruncated; version says which TLS version's syntax applies
// where they differ (Certificate, NewSessionTicket).
func ParseMessage(msg []byte, version Version) (decode.Type, decode.Info, error) {
	if len(msg) < 4 {
		return "", nil, &decode.Error{Layer: "tlsmsg", Msg: "handshake header truncated", Err: decode.ErrTruncated}
	}
	n := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if len(msg)-4 < n {
		return "", nil, &decode.Error{Layer: "tlsmsg", Msg: HandshakeType(msg[0]).String() + ": length " + strconv.Itoa(n) + " exceeds remaining " + strconv.Itoa(len(msg)-4), Offset: 1, Err: decode.ErrTruncated}
	}
	var d Decoder
	d.version, d.serverHello = version, version != 0
	var got decode.Event
	d.handshake(decode.C2S, HandshakeType(msg[0]), msg[4:4+n], decode.Position{}, func(e decode.Event) { got = e })
	if f, ok := got.Info.Get("error"); ok {
		return got.Type, got.Info, &decode.Error{Layer: "tlsmsg", Msg: f.Str, Err: decode.ErrMalformed}
	}
	return got.Type, got.Info, nil
}

// handshake emits one handshake message. A body that does not parse is
// still an event, with the error in info.
func (d *Decoder) handshake(dir decode.Dir, t HandshakeType, body []byte, at decode.Position, emit decode.Emit) {
	typ := decode.Type(t.String())
	if !t.Known() {
		typ = TypeUnknown
	}
	var info decode.Info
	var err error
	e := d.event(dir, at, typ, len(body), nil)
	switch t {
	case TypeClientHello:
		if err = ParseClientHello(body, &d.ch); err == nil {
			info = d.clientHelloInfo(&d.ch)
			if dir == decode.C2S && len(d.ch.Random) == 32 && !d.serverHello {
				// A second ClientHello (after a HelloRetryRequest)
				// keeps the random (RFC 8446 §4.1.2).
				copy(d.random[:], d.ch.Random)
				d.haveRandom = true
			}
		}
		if dir == decode.C2S {
			e.Flags |= decode.FlagRequest
		}
	case TypeServerHello:
		if err = ParseServerHello(body, &d.sh); err == nil {
			info = d.serverHelloInfo(&d.sh)
			if d.sh.Retry {
				e.Type = TypeHelloRetry
			}
		}
	case TypeCertificate:
		info, err = parseCertificate(body, d.tls13())
		if dir == decode.C2S {
			e.Flags |= decode.FlagRequest
		}
	case TypeCompressedCertificate:
		info, err = parseCompressedCertificate(body)
		if dir == decode.C2S {
			e.Flags |= decode.FlagRequest
		}
	case TypeServerKeyExchange:
		info, err = parseServerKeyExchange(body)
	case TypeClientKeyExchange:
		if dir == decode.C2S {
			e.Flags |= decode.FlagRequest
		}
	case TypeNewSessionTicket:
		info, err = parseNewSessionTicket(body, d.tls13())
	case TypeEncryptedExtensions:
		info, err = parseEncryptedExtensions(body)
		if err == nil {
			if f, ok := info.Get("alpn"); ok {
				d.alpn = f.Str
			}
		}
	case TypeKeyUpdate:
		info, err = parseKeyUpdate(body)
	case TypeCertificateVerify:
		info, err = parseCertificateVerify(body, d.version)
	case TypeCertificateStatus:
		info, err = parseCertificateStatus(body)
	case TypeFinished:
		d.finished(dir, &e)
	default:
		if !t.Known() {
			info = decode.Info{decode.Int("handshake_type", int64(t))}
		}
	}
	d.track12(dir, t, body, err == nil)
	if err != nil {
		info = decode.Info{decode.String("error", err.Error())}
	}
	if info != nil {
		e.Info = info
	}
	if d.decrypting {
		e.Info = append(e.Info, decode.Bool("decrypted", true))
		// The TLS 1.3 client's encrypted flight does not wait for the
		// server: only the ClientHello is a request.
		if d.tls13() {
			e.Flags &^= decode.FlagRequest
			d.afterHandshake13(dir, t, body)
		}
	}
	emit(e)
}

func (d *Decoder) sslv2(body []byte, at decode.Position, emit decode.Emit) {
	e := d.event(decode.C2S, at, "ClientHello", len(body), nil)
	e.Flags |= decode.FlagRequest
	if err := parseSSLv2Hello(body, &d.ch); err != nil {
		e.Info = decode.Info{decode.Bool("sslv2", true), decode.String("error", err.Error())}
	} else {
		e.Info = append(decode.Info{decode.Bool("sslv2", true)}, d.clientHelloInfo(&d.ch)...)
		// The challenge, right-justified in 32 bytes, is the client
		// random (RFC 5246 appendix E.2).
		if n := len(d.ch.Random); n > 0 && n <= 32 {
			d.random = [32]byte{}
			copy(d.random[32-n:], d.ch.Random)
			d.haveRandom = true
			d.hs12 = session12{clientRandom: d.random}
		}
	}
	emit(e)
}

func names[T interface{ String() string }](vs []T) []string {
	if len(vs) > maxListed {
		vs = vs[:maxListed]
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func (d *Decoder) clientHelloInfo(h *ClientHello) decode.Info {
	if h.ServerName != "" && d.sni == "" {
		d.sni = h.ServerName
	}
	d.earlyOffer = d.earlyOffer || h.EarlyData
	info := decode.Info{decode.String("version", h.LegacyVersion.String())}
	if len(h.Versions) > 0 {
		info = append(info, decode.Strings("supported_versions", names(h.Versions)))
	}
	if h.ServerName != "" {
		info = append(info, decode.String("sni", h.ServerName))
	}
	if len(h.ALPN) > 0 {
		info = append(info, decode.Strings("alpn", h.ALPN))
	}
	info = append(info, decode.Int("session_id_len", int64(h.SessionIDLen)),
		decode.Strings("cipher_suites", names(h.CipherSuites)))
	if len(h.Groups) > 0 {
		info = append(info, decode.Strings("supported_groups", names(h.Groups)))
	}
	if len(h.KeyShares) > 0 {
		info = append(info, decode.Strings("key_share", names(h.KeyShares)))
	}
	if len(h.SigAlgs) > 0 {
		info = append(info, decode.Strings("signature_algorithms", names(h.SigAlgs)))
	}
	if len(h.PSKModes) > 0 {
		modes := make([]string, len(h.PSKModes))
		for i, m := range h.PSKModes {
			switch m {
			case 0:
				modes[i] = "psk_ke"
			case 1:
				modes[i] = "psk_dhe_ke"
			default:
				modes[i] = strconv.Itoa(int(m))
			}
		}
		info = append(info, decode.Strings("psk_key_exchange_modes", modes))
	}
	if h.PSKIdentities > 0 {
		info = append(info, decode.Int("psk_identities", int64(h.PSKIdentities)))
	}
	for _, f := range []struct {
		key string
		on  bool
	}{{"early_data", h.EarlyData}, {"session_ticket", h.SessionTicket}, {"encrypt_then_mac", h.EncryptThenMAC},
		{"extended_master_secret", h.ExtendedMS}, {"renegotiation_info", h.Renegotiation}, {"ech", h.ECH}} {
		if f.on {
			info = append(info, decode.Bool(f.key, true))
		}
	}
	if h.SessionTicket {
		info = append(info, decode.Int("ticket_len", int64(h.TicketLen)))
	}
	if !h.SSLv2 {
		info = append(info, decode.Strings("extensions", names(h.Extensions)))
	}
	if !h.SSLv2 {
		// JA3 and JA4 are defined over TLS ClientHellos only.
		ja3 := JA3(h)
		info = append(info, decode.String("ja3", ja3), decode.String("ja3_hash", MD5Hex(ja3)), decode.String("ja4", JA4(h)))
	}
	return info
}

func (d *Decoder) serverHelloInfo(h *ServerHello) decode.Info {
	if h.Retry {
		d.retry = true
	} else {
		d.serverHello, d.version = true, h.Version
		copy(d.serverRandom[:], h.Random)
		if h.ALPN != "" {
			d.alpn = h.ALPN
		}
	}
	info := decode.Info{decode.String("version", h.Version.String())}
	if h.Version != h.LegacyVersion {
		info = append(info, decode.String("legacy_version", h.LegacyVersion.String()))
	}
	info = append(info, decode.String("cipher_suite", h.CipherSuite.String()), decode.Int("session_id_len", int64(h.SessionIDLen)))
	if h.HasKeyShare {
		info = append(info, decode.String("key_share", h.KeyShare.String()))
	}
	if h.ALPN != "" {
		info = append(info, decode.String("alpn", h.ALPN))
	}
	if h.PSK {
		info = append(info, decode.Bool("pre_shared_key", true))
	}
	if h.EarlyData {
		info = append(info, decode.Bool("early_data", true))
	}
	if h.Cookie {
		info = append(info, decode.Bool("cookie", true))
	}
	info = append(info, decode.Strings("extensions", names(h.Extensions)))
	ja3s := JA3S(h)
	return append(info, decode.String("ja3s", ja3s), decode.String("ja3s_hash", MD5Hex(ja3s)))
}
