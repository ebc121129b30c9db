package ws

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
)

// Event types of layer ws (docs/events.md): the handshake, one per frame
// named by its opcode, and message for a reassembled fragmented or
// compressed message.
const (
	TypeHandshake    decode.Type = "handshake"
	TypeContinuation decode.Type = "continuation"
	TypeText         decode.Type = "text"
	TypeBinary       decode.Type = "binary"
	TypeClose        decode.Type = "close"
	TypePing         decode.Type = "ping"
	TypePong         decode.Type = "pong"
	// TypeUnknown is a frame with a reserved opcode (info opcode).
	TypeUnknown decode.Type = "unknown"
	TypeMessage decode.Type = "message"
)

// Opcode is a frame's opcode (RFC 6455 §5.2, §11.8).
type Opcode uint8

// Opcodes.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xa
)

var opTypes = [16]decode.Type{
	OpContinuation: TypeContinuation, OpText: TypeText, OpBinary: TypeBinary,
	OpClose: TypeClose, OpPing: TypePing, OpPong: TypePong,
}

// Type returns the event type of frames with this opcode.
func (o Opcode) Type() decode.Type {
	if t := opTypes[o&0xf]; t != "" {
		return t
	}
	return TypeUnknown
}

func (o Opcode) control() bool { return o&0x8 != 0 }

// Default caps; see Options.
const (
	DefaultMaxMessage = 16 << 20
	DefaultMaxRatio   = 1000
	DefaultMaxString  = 512
)

// Options configure a Decoder. Zero fields take the defaults above.
type Options struct {
	// MaxMessage caps a compressed message's bytes kept for inflation,
	// and its size after inflation.
	MaxMessage int
	// MaxRatio caps a message's inflated size over its compressed size,
	// checked once more than 64 KiB came out.
	MaxRatio int
	// MaxString caps every string put in an event's info, in bytes (a
	// close reason is at most 123 bytes anyway).
	MaxString int
}

func (o *Options) setDefaults() {
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.MaxRatio <= 0 {
		o.MaxRatio = DefaultMaxRatio
	}
	if o.MaxString <= 0 {
		o.MaxString = DefaultMaxString
	}
}

// maxControl is the longest control frame payload allowed (RFC 6455
// §5.5); longer ones are flagged and only this much is kept.
const maxControl = 125

// frame is a frame header (RFC 6455 §5.2).
type frame struct {
	fin     bool
	rsv     uint8 // RSV1..3 as bits 2..0
	op      Opcode
	masked  bool
	key     [4]byte
	length  uint64
	hdrLen  int
	invalid string // a header-level protocol error
}

func (f *frame) addInvalid(msg string) {
	if f.invalid != "" {
		f.invalid += "; "
	}
	f.invalid += msg
}

// dirState is one direction's parsing state.
type dirState struct {
	dir  decode.Dir
	dead bool

	hdr  [14]byte
	nhdr int

	inPayload bool
	f         frame
	got       uint64 // payload bytes so far
	missing   uint64 // payload bytes lost in capture holes
	ctrl      []byte // a control frame's payload, unmasked, up to maxControl

	// The data message in progress (RFC 6455 §5.4).
	inMsg      bool
	msgOp      Opcode
	msgSize    uint64
	msgFrags   int
	compressed bool
	comp       []byte // compressed payload kept for inflation, unmasked
	compLost   bool   // this message cannot be inflated

	inf       inflater
	noInflate bool // inflation stopped for this direction
}

// Decoder decodes the frames of both directions of one WebSocket
// connection. It implements decode.StreamDecoder.
type Decoder struct {
	opts    Options
	deflate deflateParams
	others  bool // extensions other than permessage-deflate were negotiated
	dirs    [2]dirState
}

// New returns the decoder for the frames after a WebSocket handshake and
// emits the handshake event.
func New(h Handshake, opts Options, emit decode.Emit) *Decoder {
	opts.setDefaults()
	d := &Decoder{opts: opts}
	d.deflate, d.others = parseExtensions(h.Extensions)
	d.dirs[0].dir, d.dirs[1].dir = decode.C2S, decode.S2C
	d.dirs[0].inf.takeover = !d.deflate.clientNoTakeover
	d.dirs[1].inf.takeover = !d.deflate.serverNoTakeover
	emit(d.handshakeEvent(h))
	return d
}

// Data implements decode.StreamDecoder. It never returns an error: any
// bytes parse as frames, and violations are flagged on the events.
func (d *Decoder) Data(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) error {
	if dir != decode.C2S && dir != decode.S2C {
		return nil
	}
	s := &d.dirs[dir.Index()]
	for len(data) > 0 && !s.dead {
		if !s.inPayload {
			n := s.header(data)
			data = data[n:]
			if !s.inPayload {
				return nil
			}
			d.startFrame(s, at, emit)
			continue
		}
		n := int(min(uint64(len(data)), s.f.length-s.got))
		d.payload(s, data[:n], at, emit)
		s.got += uint64(n)
		data = data[n:]
		if s.got == s.f.length {
			d.endFrame(s, at, emit)
		}
	}
	return nil
}

// header collects a frame header from data and parses it once complete:
// FIN, RSV1-3, opcode; MASK, payload length (7 bits, or 126 + 16 bits, or
// 127 + 64 bits); the masking key (RFC 6455 §5.2).
func (s *dirState) header(data []byte) int {
	need := 2
	n := 0
	for {
		if s.nhdr >= 2 {
			need = 2
			switch s.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
			if s.hdr[1]&0x80 != 0 {
				need += 4
			}
		}
		if s.nhdr == need {
			break
		}
		if n == len(data) {
			return n
		}
		k := copy(s.hdr[s.nhdr:need], data[n:])
		s.nhdr += k
		n += k
	}
	h := s.hdr[:s.nhdr]
	f := frame{
		fin: h[0]&0x80 != 0, rsv: h[0] >> 4 & 0x7, op: Opcode(h[0] & 0xf),
		masked: h[1]&0x80 != 0, hdrLen: s.nhdr,
	}
	i := 2
	switch h[1] & 0x7f {
	case 126:
		f.length = uint64(binary.BigEndian.Uint16(h[2:]))
		i += 2
		if f.length < 126 {
			f.addInvalid("length not in its shortest form")
		}
	case 127:
		f.length = binary.BigEndian.Uint64(h[2:])
		i += 8
		if f.length>>63 != 0 {
			f.addInvalid("64-bit length with the high bit set")
		} else if f.length <= 0xffff {
			f.addInvalid("length not in its shortest form")
		}
	default:
		f.length = uint64(h[1] & 0x7f)
	}
	if f.masked {
		copy(f.key[:], h[i:i+4])
	}
	s.f, s.nhdr, s.inPayload, s.got, s.missing, s.ctrl = f, 0, true, 0, 0, s.ctrl[:0]
	return n
}

// startFrame follows the message a new frame belongs to (RFC 6455 §5.4)
// and ends frames without payload.
func (d *Decoder) startFrame(s *dirState, at decode.Position, emit decode.Emit) {
	f := &s.f
	if !f.op.control() && f.op <= OpBinary {
		if f.op != OpContinuation {
			// A new message; one left unfinished is flagged on this frame.
			if s.inMsg {
				f.addInvalid("new message before the last one's final frame")
			}
			s.inMsg, s.msgOp, s.msgSize, s.msgFrags = true, f.op, 0, 0
			s.compressed = d.deflate.on && f.rsv&0x4 != 0
			s.comp, s.compLost = s.comp[:0], false
		}
		if s.inMsg {
			s.msgFrags++
		}
	}
	if f.length == 0 {
		d.endFrame(s, at, emit)
	}
}

// payload handles one run of a frame's payload.
func (d *Decoder) payload(s *dirState, b []byte, at decode.Position, emit decode.Emit) {
	f := &s.f
	switch {
	case f.op.control():
		if room := maxControl - len(s.ctrl); room > 0 {
			k := len(s.ctrl)
			s.ctrl = append(s.ctrl, b[:min(room, len(b))]...)
			unmask(s.ctrl[k:], f, s.got)
		}
	case s.inMsg && s.compressed && !s.compLost && !s.noInflate && (f.op == OpContinuation || f.op == s.msgOp):
		if len(s.comp)+len(b) > d.opts.MaxMessage {
			d.capHit(s, "ws_message", d.opts.MaxMessage, "inflation of this direction", at, emit)
			s.noInflate = true
			s.comp = nil
			return
		}
		k := len(s.comp)
		s.comp = append(s.comp, b...)
		unmask(s.comp[k:], f, s.got)
	}
}

// unmask XORs b, the payload bytes from offset off, with the frame's key
// (RFC 6455 §5.3).
func unmask(b []byte, f *frame, off uint64) {
	if !f.masked {
		return
	}
	for i := range b {
		b[i] ^= f.key[(off+uint64(i))&3]
	}
}

// endFrame emits the frame's event, and the message's when it is the last
// frame of a fragmented or compressed one.
func (d *Decoder) endFrame(s *dirState, at decode.Position, emit decode.Emit) {
	f := &s.f
	s.inPayload = false
	e := decode.NewEvent(at.Frame, at.TS, s.dir, decode.LayerWS, f.op.Type())
	e.Len = int64(min(f.length, 1<<62))
	e.Flags = decode.FlagAppData
	if s.dir == decode.S2C {
		e.Flags |= decode.FlagReply
	}
	info := decode.Info{decode.Bool("fin", f.fin)}
	for i, k := range [3]string{"rsv1", "rsv2", "rsv3"} {
		if f.rsv&(4>>i) != 0 {
			info = append(info, decode.Bool(k, true))
		}
	}
	info = append(info, decode.Bool("masked", f.masked))
	var errs []string
	if f.invalid != "" {
		errs = append(errs, f.invalid)
	}
	switch {
	case s.dir == decode.C2S && !f.masked:
		errs = append(errs, "unmasked client frame")
	case s.dir == decode.S2C && f.masked:
		errs = append(errs, "masked server frame")
	}
	errs = d.checkRSV(s, errs)
	switch {
	case f.op.Type() == TypeUnknown:
		info = append(info, decode.Int("opcode", int64(f.op)))
		errs = append(errs, "reserved opcode "+strconv.Itoa(int(f.op)))
	case f.op.control():
		if f.length > maxControl {
			errs = append(errs, "control frame longer than 125 bytes")
		}
		if !f.fin {
			errs = append(errs, "fragmented control frame")
		}
		if f.op == OpClose {
			info, errs = d.closeInfo(s.ctrl, f.length, info, errs)
		}
	case f.op == OpContinuation && !s.inMsg:
		errs = append(errs, "continuation without a message")
	}
	if s.inMsg && !f.op.control() && s.msgFrags == 1 && s.compressed {
		info = append(info, decode.Bool("compressed", true))
	}
	if s.missing > 0 {
		info = append(info, decode.Uint("missing_bytes", s.missing))
	}
	if len(errs) > 0 {
		info = append(info, decode.String("protocol_error", strings.Join(errs, "; ")))
	}
	e.Info = info
	emit(e)
	if !f.op.control() && s.inMsg && (f.op == OpContinuation || f.op == s.msgOp) {
		s.msgSize += f.length
		if f.fin {
			d.endMessage(s, at, emit)
		}
	}
}

// checkRSV flags reserved bits no negotiated extension claims: RSV1 is
// permessage-deflate's on a message's first frame (RFC 7692 §6); with
// other extensions negotiated, nothing is flagged.
func (d *Decoder) checkRSV(s *dirState, errs []string) []string {
	f := &s.f
	if d.others || f.rsv == 0 {
		return errs
	}
	rsv := f.rsv
	if d.deflate.on && rsv&0x4 != 0 && !f.op.control() && f.op != OpContinuation {
		rsv &^= 0x4
	}
	if rsv != 0 {
		errs = append(errs, "reserved bits set without an extension for them")
	}
	return errs
}

// closeInfo adds a close frame's status code and reason (RFC 6455 §5.5.1,
// §7.4).
func (d *Decoder) closeInfo(p []byte, length uint64, info decode.Info, errs []string) (decode.Info, []string) {
	if length == 1 {
		return info, append(errs, "close payload of 1 byte")
	}
	if len(p) < 2 {
		return info, errs
	}
	code := CloseCode(binary.BigEndian.Uint16(p))
	reason := p[2:]
	info = append(info, decode.Int("code", int64(code)), decode.String("code_name", code.String()),
		decode.String("reason", decode.Cut(string(reason), d.opts.MaxString)))
	if !code.sendable() {
		errs = append(errs, "close code "+strconv.Itoa(int(code))+" must not be sent")
	}
	if length <= maxControl && !utf8.Valid(reason) {
		errs = append(errs, "close reason is not UTF-8")
	}
	return info, errs
}

// endMessage emits the message event of a fragmented or compressed
// message, inflating a compressed one.
func (d *Decoder) endMessage(s *dirState, at decode.Position, emit decode.Emit) {
	s.inMsg = false
	if s.msgFrags <= 1 && !s.compressed {
		return
	}
	e := decode.NewEvent(at.Frame, at.TS, s.dir, decode.LayerWS, TypeMessage)
	e.Len = int64(min(s.msgSize, 1<<62))
	info := decode.Info{
		decode.String("opcode", string(s.msgOp.Type())),
		decode.Uint("size", s.msgSize),
		decode.Int("fragments", int64(s.msgFrags)),
	}
	if s.compressed {
		info = append(info, decode.Bool("compressed", true))
		switch {
		case s.noInflate:
			info = append(info, decode.Bool("not_inflated", true))
		case s.compLost:
			info = append(info, decode.Bool("not_inflated", true))
			if s.inf.takeover {
				// The window is lost with the bytes.
				s.noInflate = true
			}
		default:
			n, capName, err := s.inf.inflate(s.comp, d.opts.MaxMessage, d.opts.MaxRatio)
			switch {
			case err != nil:
				info = append(info, decode.String("inflate_error", decode.Cut(err.Error(), d.opts.MaxString)))
				s.noInflate = true
			case capName != "":
				info = append(info, decode.Bool("not_inflated", true))
				s.noInflate = true
			default:
				info = append(info, decode.Uint("inflated", n))
			}
			if capName != "" {
				limit := d.opts.MaxMessage
				if capName == "ws_inflate_ratio" {
					limit = d.opts.MaxRatio
				}
				defer d.capHit(s, capName, limit, "inflation of this direction", at, emit)
			}
		}
		s.comp = s.comp[:0]
		if s.noInflate {
			s.comp = nil
			s.inf.release()
		}
	}
	e.Info = info
	emit(e)
}

// Skip implements decode.StreamDecoder. A hole inside a frame's payload is
// counted (missing_bytes) and a compressed message in it is not inflated
// (nor, with context takeover, any later one that direction); a hole in a
// frame header loses the framing, and the direction stops with a
// decode-error.
func (d *Decoder) Skip(dir decode.Dir, n uint64, at decode.Position, emit decode.Emit) {
	if dir != decode.C2S && dir != decode.S2C {
		return
	}
	s := &d.dirs[dir.Index()]
	if s.dead {
		return
	}
	if !s.inPayload || n == 0 || n > s.f.length-s.got {
		s.dead = true
		s.comp, s.ctrl = nil, nil
		s.inf.release()
		e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
		derr := &decode.Error{Layer: "ws", Msg: strconv.FormatUint(n, 10) + " bytes missing outside a frame's payload"}
		e.Info = decode.Info{decode.String("decoder", "ws"),
			decode.String("error", dir.String()+": "+derr.Error()+"; stopped decoding this direction")}
		emit(e)
		return
	}
	s.got += n
	s.missing += n
	if s.compressed && s.inMsg && !s.f.op.control() {
		s.compLost = true
		s.comp = s.comp[:0]
	}
	if s.got == s.f.length {
		d.endFrame(s, at, emit)
	}
}

// End implements decode.StreamDecoder: a frame cut by the end of the
// connection is emitted with incomplete set.
func (d *Decoder) End(at decode.Position, emit decode.Emit) {
	for i := range d.dirs {
		s := &d.dirs[i]
		if s.dead || !s.inPayload {
			continue
		}
		f := &s.f
		e := decode.NewEvent(at.Frame, at.TS, s.dir, decode.LayerWS, f.op.Type())
		e.Len = int64(min(f.length, 1<<62))
		e.Info = decode.Info{decode.Bool("fin", f.fin), decode.Bool("masked", f.masked),
			decode.Uint("received", s.got), decode.Bool("incomplete", true)}
		emit(e)
		s.inPayload = false
	}
}

// capHit emits a cap-limit event for direction s.
func (d *Decoder) capHit(s *dirState, name string, limit int, dropped string, at decode.Position, emit decode.Emit) {
	emit(decode.CapLimit(at, s.dir, "ws", name, int64(limit), decode.String("dropped", dropped)))
}
