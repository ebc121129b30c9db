package quic

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
)

// Options configure a Decoder; zero fields take the defaults.
type Options struct {
	// MaxDatagram is the largest datagram decoded (default 65535, more
	// than UDP carries); a larger one is skipped with a cap-limit event.
	MaxDatagram int
	// MaxCrypto bounds each CRYPTO stream's reassembly buffer, per packet
	// number space and direction (default 64 KiB): the handshake message
	// being assembled and the data beyond it. A hit is a cap-limit event
	// and stops that stream.
	MaxCrypto int
	// MaxFrames is how many frames a packet event lists (default 32);
	// the rest are counted in a last "+N more" entry.
	MaxFrames int
	// MaxString cuts reason phrases, connection IDs in frames, and hex
	// transport parameter values, in bytes (default 128).
	MaxString int
	// Keys, when set, holds the key log secrets that decrypt Handshake,
	// 0-RTT and 1-RTT packets, looked up by the ClientHello's random
	// when a packet first needs them (so secrets added while a capture
	// is read, from pcapng Decryption Secrets Blocks, apply to the
	// connections that follow).
	Keys *keylog.Store
	// Next, when set, makes the decoder of the connection's streams
	// (HTTP/3), once, when 0-RTT or 1-RTT stream data first appears;
	// alpn is the protocol EncryptedExtensions selected, before it (0-RTT
	// data) the ClientHello's if it offered only one and was whole by
	// then, else "".
	// STREAM frames are reassembled per stream and direction and handed
	// to it in order; RESET_STREAM (and a stream cap hit) reach it as
	// StreamReset.
	Next func(alpn string) decode.MultiStreamDecoder
	// MaxStreamBuffer bounds one stream direction's reassembly buffer:
	// the bytes from the first not yet handed on to the highest received
	// (default 1 MiB). A hit is a cap-limit event and stops that stream.
	MaxStreamBuffer int
	// MaxStreamTotal bounds the bytes buffered in all streams together
	// (default 16 MiB); a hit stops the stream that needed more.
	MaxStreamTotal int
	// MaxStreams bounds how many stream directions are reassembled at
	// once (default 4096); the STREAM frames of more are not, said once.
	// Finished ones are remembered by their length only, up to 16 times
	// as many, to tell their retransmissions.
	MaxStreams int
	// RTT adds RTT samples from ACK frames (RFC 9002 §5, ACK Delay
	// aware): rtt_ms on each packet whose ACK newly acknowledges a
	// captured packet, and the summary's rtt_ms.
	RTT bool
}

// Defaults of Options.
const (
	DefaultMaxDatagram = 65535
	DefaultMaxCrypto   = 64 << 10
	DefaultMaxFrames   = 32
	DefaultMaxString   = 128

	DefaultMaxStreamBuffer = 1 << 20
	DefaultMaxStreamTotal  = 16 << 20
	DefaultMaxStreams      = 4096
)

func (o Options) withDefaults() Options {
	if o.MaxDatagram <= 0 {
		o.MaxDatagram = DefaultMaxDatagram
	}
	if o.MaxCrypto <= 0 {
		o.MaxCrypto = DefaultMaxCrypto
	}
	if o.MaxFrames <= 0 {
		o.MaxFrames = DefaultMaxFrames
	}
	if o.MaxString <= 0 {
		o.MaxString = DefaultMaxString
	}
	if o.MaxStreamBuffer <= 0 {
		o.MaxStreamBuffer = DefaultMaxStreamBuffer
	}
	if o.MaxStreamTotal <= 0 {
		o.MaxStreamTotal = DefaultMaxStreamTotal
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	return o
}

// maxAckRangesListed is how many ranges an ACK frame's summary lists.
const maxAckRangesListed = 8

// minFinishedLength is the smallest Length field of a Handshake packet
// that can carry the client's Finished: a 1-byte packet number, a CRYPTO
// frame header of 3 bytes around the 36-byte Finished of a SHA-256 suite
// (RFC 8446 §4.4.4), and the 16-byte AEAD tag. A Handshake packet holding
// only an ACK frame is smaller.
const minFinishedLength = 1 + 3 + 36 + 16

// NewSniffer returns the datagram sniffer named "quic": it matches a UDP
// flow whose first datagram starts with a long-header packet of a known
// version (Sniff), and makes a Decoder configured by opts for it.
func NewSniffer(opts Options) decode.DatagramSniffer {
	return decode.DatagramSniffer{
		Name:  "quic",
		Sniff: Sniff,
		New:   func() decode.DatagramDecoder { return NewDecoder(opts) },
	}
}

// Sniff reports whether payload starts with a QUIC packet this package
// decodes: a long header with the fixed bit set and version 1, 2 or
// draft-29 whose fields fit the datagram (a Length cut by the snap length
// is accepted), a datagram of at least 1200 bytes starting with a long
// header of a reserved version (0x?a?a?a?a, a client forcing version
// negotiation), or a Version Negotiation packet with connection IDs of at
// most 20 bytes and at least one non-zero version. Anything else, DNS
// included, is not QUIC here: a DNS header would need a zero identifier
// low byte, zero flags and over 255 questions to look like version 1.
func Sniff(dir decode.Dir, payload []byte) bool {
	var h Header
	err := ParseHeader(payload, -1, &h)
	if !h.Long {
		return false
	}
	if h.Type == PacketVersionNegotiation {
		if err != nil || len(h.DCID) > MaxCIDLen || len(h.SCID) > MaxCIDLen || len(h.Versions) == 0 {
			return false
		}
		for i := 0; i < len(h.Versions); i += 4 {
			if bytes.Equal(h.Versions[i:i+4], []byte{0, 0, 0, 0}) {
				return false
			}
		}
		return true
	}
	if h.First&0x40 == 0 {
		return false
	}
	if h.Version.Reserved() {
		// A client forcing Version Negotiation (RFC 9000 §6): its
		// Initial is padded to 1200 bytes like any other (§14.1).
		return err == nil && len(h.DCID) <= MaxCIDLen && len(h.SCID) <= MaxCIDLen && len(payload) >= 1200
	}
	if !h.Version.Known() {
		return false
	}
	return err == nil || h.PNOffset > 0 && errors.Is(err, decode.ErrTruncated)
}

// pnSpace is one packet number space's state, per direction (index
// decode.Dir.Index()).
type pnSpace struct {
	// keys are nil until known: Initial keys are derived from the
	// client's Destination Connection ID; the others need a key log.
	keys    [2]*keys
	largest [2]int64 // the largest packet number received, -1 for none
	crypto  [2]cryptoStream
}

// cid is a connection ID of at most 20 bytes, kept by value.
type cid struct {
	b [MaxCIDLen]byte
	n uint8
}

func makeCID(b []byte) cid {
	var c cid
	c.n = uint8(copy(c.b[:], b))
	return c
}

func (c *cid) bytes() []byte { return c.b[:c.n] }

// initialSlot caches the Initial keys of one version.
type initialSlot struct {
	v              Version
	client, server *keys
}

// Decoder decodes the datagrams of one UDP flow carrying QUIC, both
// directions. It implements decode.DatagramDecoder and
// decode.Summarizer. The flow's client (decode.C2S) is taken to be the
// QUIC client.
type Decoder struct {
	opts   Options
	spaces [numSpaces]pnSpace

	// Initial keys (RFC 9001 §5.2): derived from initDCID, the
	// Destination Connection ID of the client's first Initial (after a
	// Retry or Version Negotiation, of its next one), per version.
	initDCID cid
	haveInit bool
	rekey    bool // the next client Initial's DCID gives new keys
	retried  bool // a Retry was accepted in this connection attempt
	initial  [2]initialSlot
	slot     int
	// odcid is the DCID of the client's first Initial in this
	// connection attempt: the original DCID a Retry's integrity tag
	// covers (RFC 9001 §5.8).
	odcid     cid
	haveODCID bool
	// shortDCID is the DCID length of short headers sent in each
	// direction, learnt from the peer's long-header SCID; -1 unknown.
	shortDCID [2]int
	// ackExp is each sender's ack_delay_exponent (RFC 9000 §18.2).
	ackExp [2]uint64

	// Round trips and phases (decode/event.go flags).
	requestDue  bool // the client's next Initial is a request
	serverSpoke bool // the server sent an Initial or Handshake packet
	hsDone      bool // FlagHandshakeDone was set

	// Summary.
	sni, alpn string
	// offered is the ClientHello's ALPN when it offered only one: the
	// protocol of 0-RTT data before EncryptedExtensions confirms it.
	offered string

	// Keys from the key log (tlskeys.go).
	random       [32]byte
	haveRandom   bool
	suiteID      uint16  // the ServerHello's cipher suite, 0 before
	version      Version // the last long header's known version
	sec          *keylog.Secrets
	keyFails     [3][2]uint8 // failed installs per keyKind and direction
	keysReported bool
	early        *keys      // the client's 0-RTT keys
	app          [2]appKeys // 1-RTT key updates per direction
	plain        []byte     // decrypted payload scratch

	streams streams  // STREAM reassembly (streams.go)
	ids     connIDs  // connection IDs for ClaimPath (paths.go)
	closed  bool     // a CONNECTION_CLOSE was decoded
	rtt     rttState // RTT samples from ACK frames (rtt.go)

	// Scratch reused across packets.
	pkt     []byte // the packet being unprotected, a copy
	hdr     Header
	frame   Frame
	frames  frameList
	pending []decode.Event // tls and cap-limit events the packet completed
	finish  bool           // the packet completed the client's Finished
}

// NewDecoder returns a Decoder for one flow.
func NewDecoder(opts Options) *Decoder {
	d := &Decoder{opts: opts.withDefaults(), requestDue: true, shortDCID: [2]int{-1, -1}, ackExp: [2]uint64{3, 3}}
	for i := range d.spaces {
		d.spaces[i].largest = [2]int64{-1, -1}
	}
	d.rtt.init()
	return d
}

// Datagram implements decode.DatagramDecoder: one event per QUIC packet
// in the datagram, coalesced packets split by their Length fields, each
// followed by the tls events its CRYPTO frames completed. It never
// returns an error: malformed packets are events with an error in info.
func (d *Decoder) Datagram(dir decode.Dir, payload []byte, at decode.Position, emit decode.Emit) error {
	if dir != decode.C2S && dir != decode.S2C {
		return nil
	}
	if len(payload) > d.opts.MaxDatagram {
		e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerConn, decode.TypeCapLimit)
		e.Info = decode.Info{decode.String("decoder", "quic"), decode.String("cap", "datagram_size"),
			decode.Int("limit", int64(d.opts.MaxDatagram)), decode.Int("dropped", int64(len(payload)))}
		emit(e)
		return nil
	}
	for off := 0; off < len(payload); {
		rest := payload[off:]
		h := &d.hdr
		err := ParseHeader(rest, d.shortDCID[dir.Index()], h)
		if h.Size <= 0 {
			h.Size = len(rest)
		}
		e := d.packet(dir, rest[:h.Size], h, err, at)
		next := off + h.Size
		stop := err != nil
		if !stop && next < len(payload) && allZero(payload[next:]) {
			// Zeros after the last packet pad the datagram (a packet
			// cannot start with a zero byte: its fixed bit is set).
			e.Info = append(e.Info, decode.Int("datagram_padding", int64(len(payload)-next)))
			stop = true
		}
		emit(e)
		for _, p := range d.pending {
			emit(p)
		}
		clear(d.pending)
		d.pending = d.pending[:0]
		if stop {
			break
		}
		off = next
	}
	return nil
}

// End implements decode.DatagramDecoder: the streams' decoder is ended.
func (d *Decoder) End(at decode.Position, emit decode.Emit) {
	if n := d.streams.next; n != nil && !d.streams.nextDead {
		n.End(at, emit)
	}
}

// Summary implements decode.Summarizer: handshake "UDP+QUIC",
// tls_version "TLS1.3" once the server answered with an Initial or
// Handshake packet (QUIC always uses TLS 1.3, RFC 9001 §4.2), sni from
// the ClientHello, alpn from EncryptedExtensions (empty without keys).
func (d *Decoder) Summary() decode.Info {
	v := ""
	if d.serverSpoke {
		v = "TLS1.3"
	}
	info := decode.Info{decode.String("handshake", "UDP+QUIC"), decode.String("tls_version", v),
		decode.String("sni", d.sni), decode.String("alpn", d.alpn)}
	if r := d.rtt.minRTT(); r > 0 {
		info = append(info, decode.Millis("rtt_ms", r))
	}
	// The streams' decoder (HTTP/3) adds its fields; "protocol" names
	// both (quic/http3).
	if sum, ok := d.streams.next.(decode.Summarizer); ok && !d.streams.nextDead {
		for _, f := range sum.Summary() {
			if f.Key == "protocol" {
				continue
			}
			info = append(info, f)
		}
		info = append(info, decode.String("protocol", "quic/"+d.alpnName()))
	}
	return info
}

// alpnName names the streams' protocol in the summary: http3 for h3.
func (d *Decoder) alpnName() string {
	switch d.alpn {
	case "h3", "h3-29":
		return "http3"
	}
	return d.alpn
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// packet builds the event of one packet, pkt its bytes, and does what the
// packet says to the connection's state.
func (d *Decoder) packet(dir decode.Dir, pkt []byte, h *Header, perr error, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerQUIC, decode.Type(h.Type.String()))
	e.Len = int64(len(pkt))
	info := make(decode.Info, 0, 12)
	if h.Long {
		info = append(info, decode.String("version", h.Version.String()))
	}
	if h.DCIDKnown {
		info = append(info, decode.String("dcid", hex.EncodeToString(h.DCID)))
	}
	if h.Long && h.DCIDKnown {
		info = append(info, decode.String("scid", hex.EncodeToString(h.SCID)))
	}
	if perr != nil {
		// The header is unreadable, or the packet cut short (by the
		// snap length): say so, and nothing more.
		if h.Type == PacketInitial && h.DCIDKnown && dir == decode.C2S {
			d.clientInitial(h)
		}
		if h.Length > 0 {
			info = append(info, decode.Uint("length", h.Length))
		}
		if sp, ok := h.Type.space(); ok {
			if pn, ok := d.peekPacketNumber(dir, sp, pkt, h); ok {
				info = append(info, decode.Int("pn", pn))
			}
			info = append(info, decode.Bool("decrypted", false))
		}
		if errors.Is(perr, decode.ErrTruncated) {
			info = append(info, decode.Bool("truncated", true))
		}
		e.Info = append(info, decode.String("error", perr.Error()))
		d.flags(dir, h, &e, false)
		return e
	}
	d.ids.sawPacket(dir, h)
	if h.Long && h.DCIDKnown && h.Type != PacketVersionNegotiation && h.Type != PacketUnknown {
		// The peer's short headers will carry this SCID as their DCID.
		d.shortDCID[dir.Reverse().Index()] = len(h.SCID)
		if h.Version.Known() {
			d.version = h.Version
		}
	}
	switch h.Type {
	case PacketVersionNegotiation:
		vs := make([]string, 0, len(h.Versions)/4)
		for i := 0; i+4 <= len(h.Versions); i += 4 {
			v := h.Versions[i : i+4]
			vs = append(vs, Version(uint32(v[0])<<24|uint32(v[1])<<16|uint32(v[2])<<8|uint32(v[3])).String())
		}
		info = append(info, decode.Strings("versions", vs))
		if dir == decode.S2C {
			// A new connection attempt follows: its first Initial
			// has the original DCID, and it may be retried.
			d.retried, d.haveODCID = false, false
			d.restart()
		}
	case PacketRetry:
		info = append(info, decode.Int("token_len", int64(len(h.Token))))
		if d.haveODCID {
			info = append(info, decode.Bool("integrity_ok", retryIntegrity(pkt, d.odcid.bytes(), h.Version)))
		}
		if dir == decode.S2C {
			if d.retried {
				// A client accepts one Retry per connection attempt
				// (RFC 9000 §17.2.5.2): a server that answered each of
				// the client's first Initial datagrams sent more.
				info = append(info, decode.Bool("ignored", true))
			} else {
				d.retried = true
				d.restart()
			}
		}
	case PacketInitial:
		info = append(info, decode.Int("token_len", int64(len(h.Token))))
		if dir == decode.C2S {
			d.clientInitial(h)
		}
	}
	if h.Long && h.Length > 0 {
		info = append(info, decode.Uint("length", h.Length))
	}
	if h.Type == Packet1RTT {
		info = append(info, decode.Bool("spin", h.Spin()))
	}
	d.finish = false
	decrypted := false
	if sp, ok := h.Type.space(); ok {
		info, decrypted = d.decrypt(dir, sp, pkt, h, info, at)
	}
	e.Info = info
	d.flags(dir, h, &e, decrypted)
	return e
}

// restart follows a Retry or Version Negotiation: the client starts its
// handshake again, with a new Destination Connection ID (Retry: the
// Retry's SCID; RFC 9001 §5.2) or version, and its next Initial is a new
// request.
func (d *Decoder) restart() {
	d.rekey, d.requestDue = true, true
	for i := range d.spaces[spaceInitial].crypto {
		d.spaces[spaceInitial].crypto[i].reset()
	}
}

// clientInitial notes a client Initial's DCID: the first one (or the
// first after a restart) sets the Initial keys' connection ID.
func (d *Decoder) clientInitial(h *Header) {
	if !d.haveODCID {
		d.odcid, d.haveODCID = makeCID(h.DCID), true
	}
	if !d.haveInit || d.rekey {
		d.setInitialDCID(h.DCID)
	}
}

func (d *Decoder) setInitialDCID(dcid []byte) {
	d.initDCID, d.haveInit, d.rekey = makeCID(dcid), true, false
	d.initial = [2]initialSlot{}
}

// initialKeys returns the Initial keys for packets of version v sent in
// dir, deriving them on first use.
func (d *Decoder) initialKeys(v Version, dir decode.Dir) *keys {
	if !d.haveInit {
		return nil
	}
	for _, s := range d.initial {
		if s.v == v && s.client != nil {
			return s.pick(dir)
		}
	}
	c, s := initialKeys(d.initDCID.bytes(), v)
	if c == nil {
		return nil
	}
	d.initial[d.slot] = initialSlot{v: v, client: c, server: s}
	d.slot ^= 1
	return d.initial[d.slot^1].pick(dir)
}

func (s *initialSlot) pick(dir decode.Dir) *keys {
	if dir == decode.C2S {
		return s.client
	}
	return s.server
}

// decrypt removes the packet's protection when its keys are known and
// lists its frames; without keys the packet shows decrypted: false.
func (d *Decoder) decrypt(dir decode.Dir, sp space, pkt []byte, h *Header, info decode.Info, at decode.Position) (decode.Info, bool) {
	if sp != spaceInitial {
		return d.decryptTLS(dir, sp, pkt, h, info, at)
	}
	s := &d.spaces[sp]
	k := d.initialKeys(h.Version, dir)
	if k == nil || !h.DCIDKnown || h.PNOffset == 0 {
		return append(info, decode.Bool("decrypted", false)), false
	}
	d.pkt = append(d.pkt[:0], pkt...)
	u, err := k.unprotect(d.pkt, h.PNOffset, h.Long, s.largest[dir.Index()])
	if err != nil && sp == spaceInitial && dir == decode.C2S && !bytes.Equal(h.DCID, d.initDCID.bytes()) {
		// A client Initial with another DCID that the current keys do
		// not open: a Retry or a first Initial the capture missed. Its
		// own DCID may be the one (RFC 9001 §5.2).
		if c, _ := initialKeys(h.DCID, h.Version); c != nil {
			d.pkt = append(d.pkt[:0], pkt...)
			if u2, err2 := c.unprotect(d.pkt, h.PNOffset, h.Long, s.largest[dir.Index()]); err2 == nil {
				d.setInitialDCID(h.DCID)
				u, err = u2, nil
			}
		}
	}
	if err != nil {
		msg := err.Error()
		if sp == spaceInitial && dir == decode.S2C && errors.Is(err, errAuth) {
			msg += " (Initial keys from another client DCID?)"
		}
		return append(info, decode.Bool("decrypted", false), decode.String("error", msg)), false
	}
	s.largest[dir.Index()] = max(s.largest[dir.Index()], u.pn)
	d.sentPacket(dir, sp, u.pn, at)
	info = append(info, decode.Int("pn", u.pn), decode.Bool("decrypted", true))
	return d.walkFrames(dir, sp, u.payload, info, at), true
}

// decryptTLS decrypts a Handshake, 0-RTT or 1-RTT packet with keys from
// the key log, following 1-RTT key updates (RFC 9001 §6).
func (d *Decoder) decryptTLS(dir decode.Dir, sp space, pkt []byte, h *Header, info decode.Info, at decode.Position) (decode.Info, bool) {
	s := &d.spaces[sp]
	di := dir.Index()
	largest := s.largest[di]
	v := h.Version
	if !h.Long {
		v = d.version
	}
	p := v.params()
	if !h.DCIDKnown || h.PNOffset == 0 || p == nil {
		return append(info, decode.Bool("decrypted", false)), false
	}
	var k *keys
	switch {
	case h.Type == Packet0RTT:
		if dir != decode.C2S {
			break
		}
		if d.early == nil {
			d.early = d.installKeys(dir, kindEarly, pkt, h, p, largest, at)
		}
		k = d.early
	default:
		if s.keys[di] == nil {
			kind := kindHandshake
			if sp == spaceApp {
				kind = kindApp
			}
			s.keys[di] = d.installKeys(dir, kind, pkt, h, p, largest, at)
		}
		k = s.keys[di]
	}
	if k == nil {
		return append(info, decode.Bool("decrypted", false)), false
	}
	d.pkt = append(d.pkt[:0], pkt...)
	u, err := k.removeHeaderProtection(d.pkt, h.PNOffset, h.Long, largest)
	if err != nil {
		return append(info, decode.Bool("decrypted", false), decode.String("error", err.Error())), false
	}
	use, update := k, false
	a := &d.app[di]
	if h.Type == Packet1RTT && (u.first&0x04 != 0) != a.phase {
		// Another Key Phase: the next generation, or the previous one
		// for a packet sent before the update and reordered.
		if a.prev != nil && u.pn < a.start {
			use = a.prev
		} else {
			if a.next == nil {
				a.next = k.update(p)
			}
			use, update = a.next, true
		}
	}
	pt, err := use.open(d.plain[:0], d.pkt, h.PNOffset+u.pnLen, u.pn)
	if err != nil {
		return append(info, decode.Int("pn", u.pn), decode.Bool("decrypted", false), decode.String("error", err.Error())), false
	}
	d.plain = pt[:0]
	s.largest[di] = max(largest, u.pn)
	d.sentPacket(dir, sp, u.pn, at)
	info = append(info, decode.Int("pn", u.pn), decode.Bool("decrypted", true))
	if update {
		a.prev, s.keys[di], a.next = k, use, nil
		a.phase = !a.phase
		a.gen++
		a.start = u.pn
		info = append(info, decode.Int("key_update", int64(a.gen)))
	}
	return d.walkFrames(dir, sp, pt, info, at), true
}

// peekPacketNumber removes the header protection of a packet cut by the
// snap length, when its keys are known and the sample was captured, to
// read its packet number; the payload cannot be authenticated.
func (d *Decoder) peekPacketNumber(dir decode.Dir, sp space, pkt []byte, h *Header) (int64, bool) {
	k := d.spaces[sp].keys[dir.Index()]
	if sp == spaceInitial {
		k = d.initialKeys(h.Version, dir)
	}
	if k == nil || h.Type == Packet0RTT || !h.DCIDKnown || h.PNOffset == 0 {
		return 0, false
	}
	d.pkt = append(d.pkt[:0], pkt...)
	u, err := k.removeHeaderProtection(d.pkt, h.PNOffset, h.Long, d.spaces[sp].largest[dir.Index()])
	return u.pn, err == nil
}

// frameList builds a packet's frame summaries in one buffer, so that the
// strings cost one allocation.
type frameList struct {
	buf  []byte
	ends []int
	more int
}

func (l *frameList) reset() { l.buf, l.ends, l.more = l.buf[:0], l.ends[:0], 0 }

func (l *frameList) strings() []string {
	s := string(l.buf)
	out := make([]string, len(l.ends), len(l.ends)+1)
	start := 0
	for i, end := range l.ends {
		out[i], start = s[start:end], end
	}
	if l.more > 0 {
		out = append(out, "+"+strconv.Itoa(l.more)+" more")
	}
	return out
}

// walkFrames lists the frames of a decrypted payload and hands CRYPTO
// data to the space's reassembly.
func (d *Decoder) walkFrames(dir decode.Dir, sp space, payload []byte, info decode.Info, at decode.Position) decode.Info {
	ff := frameFormat{ackDelayExponent: d.ackExp[dir.Index()], maxString: d.opts.MaxString, maxRanges: maxAckRangesListed}
	d.frames.reset()
	f := &d.frame
	var ferr error
	var rtt time.Duration
	haveRTT := false
	for off := 0; off < len(payload); {
		n, err := ParseFrame(payload[off:], f)
		if err != nil {
			var de *decode.Error
			if errors.As(err, &de) {
				de.Offset += off
			}
			ferr = err
			break
		}
		off += n
		if len(d.frames.ends) < d.opts.MaxFrames {
			d.frames.buf = appendFrame(d.frames.buf, f, &ff)
			d.frames.ends = append(d.frames.ends, len(d.frames.buf))
		} else {
			d.frames.more++
		}
		switch {
		case f.Type == FrameCrypto:
			d.cryptoFrame(dir, sp, f.Offset, f.Data, at)
		case f.Type == FrameConnectionClose || f.Type == FrameConnectionCloseApp:
			d.closed = true
		case (f.Type == FrameAck || f.Type == FrameAckECN) && d.opts.RTT:
			if r, ok := d.ackSample(dir, sp, f, at); ok {
				rtt, haveRTT = r, true
			}
		case sp != spaceApp:
		case f.Type >= FrameStream && f.Type <= FrameStream|0x07:
			d.streamFrame(dir, f, at)
		case f.Type == FrameResetStream:
			d.resetStream(dir, f.StreamID, at)
		case f.Type == FrameNewConnectionID:
			// The peer will send to this ID.
			d.ids.learn(dir.Reverse(), f.Data)
		}
	}
	info = append(info, decode.Strings("frames", d.frames.strings()))
	if haveRTT {
		info = append(info, decode.Millis("rtt_ms", rtt))
	}
	if len(d.streams.retrans) > 0 {
		info = append(info, decode.Strings("retransmitted", d.streams.retrans))
		d.streams.retrans = nil
	}
	if ferr != nil {
		info = append(info, decode.String("error", "payload: "+ferr.Error()))
	}
	return info
}

// cryptoFrame adds a CRYPTO frame to its stream and turns the handshake
// messages it completes into tls events.
func (d *Decoder) cryptoFrame(dir decode.Dir, sp space, off uint64, data []byte, at decode.Position) {
	c := &d.spaces[sp].crypto[dir.Index()]
	hit := c.add(off, data, d.opts.MaxCrypto, func(msg []byte) { d.handshakeMessage(dir, sp, msg, at) })
	if sp == spaceInitial && dir == decode.C2S && !d.haveRandom && c.base == 0 &&
		len(c.ranges) > 0 && c.ranges[0].lo == 0 && c.ranges[0].hi >= 38 && c.buf[0] == byte(tlsmsg.TypeClientHello) {
		// The ClientHello's random, before the rest of a ClientHello
		// spread over several Initial packets: 0-RTT packets coalesced
		// with the first need it for the key log.
		copy(d.random[:], c.buf[6:38])
		d.haveRandom = true
	}
	if hit.cap != "" {
		e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerConn, decode.TypeCapLimit)
		e.Info = decode.Info{decode.String("decoder", "quic"), decode.String("cap", hit.cap),
			decode.String("space", sp.String()), decode.Int("limit", int64(hit.limit)), decode.Int("dropped", int64(hit.dropped))}
		d.pending = append(d.pending, e)
	}
}

// handshakeMessage parses one whole TLS handshake message from a CRYPTO
// stream with tlsmsg into a tls event, as for TLS over TCP, and adds what
// QUIC carries in TLS: the transport parameters, and the JA4 protocol
// letter "q".
func (d *Decoder) handshakeMessage(dir decode.Dir, sp space, msg []byte, at decode.Position) {
	typ, info, _ := tlsmsg.ParseMessage(msg, tlsmsg.VersionTLS13)
	if typ == "" {
		typ = tlsmsg.TypeUnknown
	}
	e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerTLS, typ)
	e.Len = int64(len(msg) - 4)
	if info == nil {
		info = decode.Info{}
	}
	var exts []byte
	switch tlsmsg.HandshakeType(msg[0]) {
	case tlsmsg.TypeClientHello:
		exts = helloExtensions(msg[4:], true)
		if dir == decode.C2S && !d.haveRandom && len(msg) >= 4+2+32 {
			copy(d.random[:], msg[6:38])
			d.haveRandom = true
		}
		if f, ok := info.Get("sni"); ok && dir == decode.C2S && d.sni == "" {
			d.sni = f.Str
		}
		if f, ok := info.Get("alpn"); ok && dir == decode.C2S && len(f.Strs) == 1 {
			d.offered = f.Strs[0]
		}
		for i := range info {
			// JA4's first character names the transport: "q" for QUIC
			// (FoxIO JA4 spec); tlsmsg computes it for TCP ("t").
			if info[i].Key == "ja4" && len(info[i].Str) > 0 && info[i].Str[0] == 't' {
				info[i].Str = "q" + info[i].Str[1:]
			}
		}
	case tlsmsg.TypeServerHello:
		exts = helloExtensions(msg[4:], false)
		if b := msg[4:]; len(b) > 34 && len(b) >= 35+int(b[34])+2 {
			n := 35 + int(b[34])
			d.suiteID = uint16(b[n])<<8 | uint16(b[n+1])
		}
	case tlsmsg.TypeEncryptedExtensions:
		exts = msg[4:]
		if f, ok := info.Get("alpn"); ok && dir == decode.S2C {
			d.alpn = f.Str
		}
	case tlsmsg.TypeFinished:
		if dir == decode.C2S {
			d.finish = true
		}
	}
	if tp, ok := findExtension(exts); ok {
		params, err := ParseTransportParameters(tp, d.opts.MaxString)
		info = append(info, decode.Strings("transport_parameters", params))
		if err != nil {
			info = append(info, decode.String("transport_parameters_error", err.Error()))
		}
		if exp, ok := tpUint(tp, tpAckDelayExponent); ok && exp <= 20 {
			d.ackExp[dir.Index()] = exp
		}
	}
	if sp != spaceInitial {
		info = append(info, decode.Bool("decrypted", true))
	}
	e.Info = info
	d.pending = append(d.pending, e)
}

// flags sets the flags of a packet event for the timeline's round-trip
// and phase analysis (decode/event.go):
//   - the client's first Initial (or long-header packet of an unknown
//     version, which asks for Version Negotiation), and its first after a
//     Retry or Version Negotiation, is a request;
//   - every server packet is a reply, and its 1-RTT packets application
//     data;
//   - the client's 0-RTT and 1-RTT packets are application data;
//   - the client's packet that carries its Finished completes the
//     handshake: with keys the one whose CRYPTO frames completed it;
//     without keys the client's first Handshake packet after the server's
//     Initial or Handshake packets that is long enough to hold a Finished
//     (minFinishedLength; ACK-only Handshake packets are shorter), or,
//     when no such packet was captured, its first 1-RTT packet.
func (d *Decoder) flags(dir decode.Dir, h *Header, e *decode.Event, decrypted bool) {
	if dir == decode.S2C {
		e.Flags |= decode.FlagReply
		switch h.Type {
		case PacketInitial, PacketHandshake:
			d.serverSpoke = true
		case Packet1RTT:
			e.Flags |= decode.FlagAppData
		}
		return
	}
	switch h.Type {
	case PacketInitial, PacketUnknown:
		// A packet of a version the server may not support asks for
		// Version Negotiation: a request too.
		if d.requestDue && h.Long {
			e.Flags |= decode.FlagRequest
			d.requestDue = false
		}
	case PacketHandshake:
		if d.serverSpoke && !d.hsDone && (d.finish || !decrypted && h.Length >= minFinishedLength) {
			e.Flags |= decode.FlagHandshakeDone
			d.hsDone = true
		}
	case Packet0RTT:
		e.Flags |= decode.FlagAppData
	case Packet1RTT:
		e.Flags |= decode.FlagAppData
		if d.serverSpoke && !d.hsDone {
			e.Flags |= decode.FlagHandshakeDone
			d.hsDone = true
		}
	}
}
