package h3

import (
	"slices"
	"strconv"
	"time"

	"github.com/quic-go/quic-go/quicvarint"

	"github.com/wiretrace/wiretrace/decode"
)

// Event types besides the frame names.
const (
	// TypeStream opens a unidirectional stream (or a server-initiated
	// bidirectional one): info stream_type.
	TypeStream decode.Type = "stream"
	// TypeExchange is a finished (or abandoned) request stream.
	TypeExchange decode.Type = "exchange"
	// TypeStreamError says a stream ended badly: inside a frame, or a
	// critical stream (control, QPACK) closed. Info: error.
	TypeStreamError decode.Type = "stream-error"
)

type kind uint8

const (
	kindNew     kind = iota // type not read yet
	kindRequest             // client-initiated bidirectional
	kindControl
	kindPush
	kindEncoder
	kindDecoder
	kindIgnored // reserved, unknown, server bidi: counted and dropped
)

type hkey struct {
	id  int64
	dir decode.Dir
}

// half is one direction of one QUIC stream.
type half struct {
	id   int64
	dir  decode.Dir
	kind kind
	buf  []byte // bytes not yet parsed
	n    uint64 // bytes on an ignored stream

	// The frame being read.
	inFrame bool
	ftype   uint64
	flen    uint64
	fgot    uint64
	skip    bool // over MaxFrameSize: counted, not kept
	frames  int  // frames seen

	// A field section waiting for encoder stream inserts.
	blocked bool
	held    decode.Event
	section []byte
	fin     bool // the stream ended while blocked
}

// request is one request stream's exchange.
type request struct {
	id                      int64
	method, authority, path string
	status                  int
	start, first            decode.Position
	hasFirst, headersSeen   bool
	opened                  bool // the request's HEADERS frame was seen
	reqBytes, respBytes     int64
	reset                   bool
	resetBy                 decode.Dir
	done                    bool
}

// settings are the SETTINGS one endpoint sent.
type settings struct {
	have            bool
	tableCapacity   uint64
	blockedStreams  uint64
	fieldSectionMax uint64
}

// qpackDir is the QPACK state of the field sections sent in one direction.
type qpackDir struct {
	t            table
	dead         bool
	blocked      []*half
	blockedBytes int
}

// Decoder decodes the HTTP/3 streams of one QUIC connection. It
// implements decode.MultiStreamDecoder and decode.Summarizer.
type Decoder struct {
	opts     Options
	halves   map[hkey]*half
	reqs     map[int64]*request
	q        [2]qpackDir
	settings [2]settings    // by the direction that sent them
	done     map[int64]bool // request streams whose exchange is out
	requests int
	capped   bool // MaxStreams reached once
}

// NewDecoder returns a decoder for one connection.
func NewDecoder(opts Options) *Decoder {
	opts = opts.withDefaults()
	d := &Decoder{opts: opts, halves: map[hkey]*half{}, reqs: map[int64]*request{}, done: map[int64]bool{}}
	for i := range d.q {
		d.q[i].t.maxCap = opts.MaxTableCapacity
	}
	return d
}

// Summary implements decode.Summarizer.
func (d *Decoder) Summary() decode.Info {
	return decode.Info{decode.Int("requests", int64(d.requests))}
}

func validDir(dir decode.Dir) bool { return dir == decode.C2S || dir == decode.S2C }

// StreamData implements decode.MultiStreamDecoder.
func (d *Decoder) StreamData(id int64, dir decode.Dir, data []byte, fin bool, at decode.Position, emit decode.Emit) error {
	if !validDir(dir) || id < 0 {
		return nil
	}
	h := d.half(id, dir, at, emit)
	if h == nil {
		return nil
	}
	if h.kind == kindRequest {
		d.touch(h, at, emit)
	}
	if h.blocked {
		q := &d.q[dir.Index()]
		h.buf = append(h.buf, data...)
		q.blockedBytes += len(data)
		h.fin = h.fin || fin
		if q.blockedBytes > d.opts.MaxBlockedBytes {
			d.dropBlocked(h, at, emit)
		}
		return nil
	}
	b := data
	if len(h.buf) > 0 {
		b = append(h.buf, data...)
	}
	rest := d.process(h, b, at, emit)
	h.buf = append(h.buf[:0], rest...)
	if h.blocked {
		q := &d.q[dir.Index()]
		q.blockedBytes += len(h.buf)
		h.fin = fin
		if q.blockedBytes > d.opts.MaxBlockedBytes {
			d.dropBlocked(h, at, emit)
		}
		return nil
	}
	if fin {
		d.finish(h, at, emit)
	}
	return nil
}

// half finds or makes a stream direction; nil past MaxStreams.
func (d *Decoder) half(id int64, dir decode.Dir, at decode.Position, emit decode.Emit) *half {
	k := hkey{id, dir}
	if h := d.halves[k]; h != nil {
		return h
	}
	if d.done[id] {
		// Bytes after the exchange went out (a reset already seen, say):
		// stream IDs are never reused, so they are dropped.
		return nil
	}
	if len(d.halves) >= d.opts.MaxStreams {
		if !d.capped {
			d.capped = true
			d.capLimit(dir, at, emit, "streams", d.opts.MaxStreams, decode.Int("stream", id))
		}
		return nil
	}
	h := &half{id: id, dir: dir}
	switch {
	case id&2 != 0: // unidirectional: the type comes first
	case id&1 == 0:
		h.kind = kindRequest
	default:
		h.kind = kindIgnored
		e := d.event(h, TypeStream, at)
		e.Info = decode.Info{decode.String("stream_type", "server_bidi"),
			decode.String("error", "a server-initiated bidirectional stream (H3_STREAM_CREATION_ERROR unless an extension allows it)")}
		emit(e)
	}
	d.halves[k] = h
	return h
}

// touch notes the first byte of a request stream in each direction.
func (d *Decoder) touch(h *half, at decode.Position, emit decode.Emit) {
	r := d.reqs[h.id]
	if r == nil {
		if len(d.reqs) >= d.opts.MaxStreams {
			// Requests still waiting for their response count too.
			if !d.capped {
				d.capped = true
				d.capLimit(h.dir, at, emit, "streams", d.opts.MaxStreams, decode.Int("stream", h.id))
			}
			return
		}
		r = &request{id: h.id, start: at}
		d.reqs[h.id] = r
	}
	if h.dir == decode.S2C && !r.hasFirst {
		r.first, r.hasFirst = at, true
	}
}

// event starts an http3 event of stream h with its flags.
func (d *Decoder) event(h *half, typ decode.Type, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, h.dir, decode.LayerHTTP3, typ)
	e.Stream = h.id
	if h.dir == decode.C2S {
		e.Flags = decode.FlagAppData
	} else {
		e.Flags = decode.FlagReply
		if h.kind == kindRequest || h.kind == kindPush {
			switch typ {
			case "HEADERS", "DATA", "PUSH_PROMISE":
				e.Flags |= decode.FlagAppData
			}
		}
	}
	return e
}

// process parses b on h and returns the bytes to keep for later.
func (d *Decoder) process(h *half, b []byte, at decode.Position, emit decode.Emit) []byte {
	if h.kind == kindNew {
		t, n, err := quicvarint.Parse(b)
		if err != nil {
			return b
		}
		var push uint64
		if t == uniPush {
			p, k, err := quicvarint.Parse(b[n:])
			if err != nil {
				return b
			}
			push, n = p, n+k
		}
		b = b[n:]
		switch t {
		case uniControl:
			h.kind = kindControl
		case uniPush:
			h.kind = kindPush
		case uniEncoder:
			h.kind = kindEncoder
		case uniDecoder:
			h.kind = kindDecoder
		default:
			h.kind = kindIgnored
		}
		e := d.event(h, TypeStream, at)
		e.Info = decode.Info{decode.String("stream_type", uniName(t)), decode.String("type_code", hexCode(t))}
		if t == uniPush {
			e.Info = append(e.Info, decode.Uint("push_id", push))
			if h.dir == decode.C2S {
				e.Info = append(e.Info, decode.String("error", "a push stream from the client (H3_STREAM_CREATION_ERROR)"))
			}
		}
		emit(e)
	}
	switch h.kind {
	case kindIgnored:
		h.n += uint64(len(b))
		return nil
	case kindEncoder:
		return d.encoderStream(h, b, at, emit)
	case kindDecoder:
		return d.decoderStream(h, b, at, emit)
	}
	return d.frames(h, b, at, emit)
}

// frames parses HTTP/3 frames (RFC 9114 §7.1).
func (d *Decoder) frames(h *half, b []byte, at decode.Position, emit decode.Emit) []byte {
	for len(b) > 0 && !h.blocked {
		if !h.inFrame {
			t, n, err := quicvarint.Parse(b)
			if err != nil {
				return b
			}
			l, k, err := quicvarint.Parse(b[n:])
			if err != nil {
				return b
			}
			b = b[n+k:]
			h.inFrame, h.ftype, h.flen, h.fgot, h.skip = true, t, l, 0, false
			if t != frameData && l > uint64(d.opts.MaxFrameSize) {
				h.skip = true
				d.capLimit(h.dir, at, emit, "frame_size", d.opts.MaxFrameSize,
					decode.Int("stream", h.id), decode.String("frame", frameName(t)), decode.Uint("dropped_bytes", l))
			}
		}
		if h.ftype == frameData || h.skip {
			take := min(uint64(len(b)), h.flen-h.fgot)
			h.fgot += take
			b = b[take:]
			if h.fgot < h.flen {
				return nil
			}
			h.inFrame = false
			d.frame(h, h.ftype, nil, at, emit)
			continue
		}
		if uint64(len(b)) < h.flen {
			return b
		}
		p := b[:h.flen]
		b = b[h.flen:]
		h.inFrame = false
		d.frame(h, h.ftype, p, at, emit)
	}
	return b
}

// allowed reports whether a frame type may be sent on h
// (RFC 9114 §7.2, Table 1).
func allowed(h *half, t uint64) bool {
	switch t {
	case frameData, frameHeaders:
		return h.kind == kindRequest || h.kind == kindPush
	case framePushPromise:
		return h.kind == kindRequest && h.dir == decode.S2C
	case frameCancelPush, frameSettings, frameGoaway:
		return h.kind == kindControl
	case frameMaxPushID, framePriorityReq, framePriorityPush:
		return h.kind == kindControl && h.dir == decode.C2S
	case 0x02, 0x06, 0x08, 0x09:
		return false
	}
	return true
}

// frame handles one complete frame; p is nil for DATA and skipped frames.
func (d *Decoder) frame(h *half, t uint64, p []byte, at decode.Position, emit decode.Emit) {
	h.frames++
	e := d.event(h, decode.Type(frameName(t)), at)
	e.Len = int64(h.flen)
	first := h.frames == 1
	if name := frameName(t); name == "RESERVED" || name == "UNKNOWN" {
		e.Info = append(e.Info, decode.String("frame_type", hexCode(t)))
	}
	switch {
	case !allowed(h, t):
		e.Info = append(e.Info, decode.String("error", frameName(t)+" frame not allowed on this stream (H3_FRAME_UNEXPECTED)"))
	case h.kind == kindControl && first && t != frameSettings:
		e.Info = append(e.Info, decode.String("error", "the control stream does not start with SETTINGS (H3_MISSING_SETTINGS)"))
	case h.kind == kindControl && !first && t == frameSettings:
		e.Info = append(e.Info, decode.String("error", "a second SETTINGS frame (H3_FRAME_UNEXPECTED)"))
	}
	if h.skip {
		e.Info = append(e.Info, decode.Bool("skipped", true))
		emit(e)
		return
	}
	r := d.reqs[h.id]
	if h.kind != kindRequest {
		r = nil
	}
	switch t {
	case frameData:
		if r != nil {
			if h.dir == decode.C2S {
				r.reqBytes += int64(h.flen)
			} else {
				r.respBytes += int64(h.flen)
			}
		}
	case frameHeaders:
		if h.kind != kindRequest && h.kind != kindPush {
			break
		}
		if h.dir == decode.C2S && r != nil && !r.opened {
			r.opened = true
			e.Flags |= decode.FlagRequest
		}
		d.fieldSection(h, e, p, at, emit)
		return
	case framePushPromise:
		id, n, err := quicvarint.Parse(p)
		if err != nil {
			e.Info = append(e.Info, decode.String("error", "PUSH_PROMISE without a push ID (H3_FRAME_ERROR)"))
			break
		}
		e.Info = append(e.Info, decode.Uint("push_id", id))
		d.fieldSection(h, e, p[n:], at, emit)
		return
	case frameSettings:
		if h.kind == kindControl {
			d.settingsFrame(h, &e, p, at, emit)
		}
	case frameGoaway, frameCancelPush, frameMaxPushID:
		v, n, err := quicvarint.Parse(p)
		key := "push_id"
		if t == frameGoaway {
			key = "id"
		}
		if err != nil || n != len(p) {
			e.Info = append(e.Info, decode.String("error", "malformed "+frameName(t)+" (H3_FRAME_ERROR)"))
			break
		}
		e.Info = append(e.Info, decode.Uint(key, v))
	case framePriorityReq, framePriorityPush:
		v, n, err := quicvarint.Parse(p)
		if err != nil {
			e.Info = append(e.Info, decode.String("error", "malformed PRIORITY_UPDATE (H3_FRAME_ERROR)"))
			break
		}
		key := "stream_id"
		if t == framePriorityPush {
			key = "push_id"
		}
		e.Info = append(e.Info, decode.Uint(key, v), decode.String("priority", d.capString(string(p[n:]))))
	}
	emit(e)
}

// settingsFrame reads a SETTINGS payload (RFC 9114 §7.2.4).
func (d *Decoder) settingsFrame(h *half, e *decode.Event, p []byte, at decode.Position, emit decode.Emit) {
	s := &d.settings[h.dir.Index()]
	was := s.have
	s.have = true
	var grease int
	var unknown []string
	for len(p) > 0 {
		id, n, err := quicvarint.Parse(p)
		if err != nil {
			e.Info = append(e.Info, decode.String("error", "malformed SETTINGS (H3_FRAME_ERROR)"))
			break
		}
		v, k, err := quicvarint.Parse(p[n:])
		if err != nil {
			e.Info = append(e.Info, decode.String("error", "malformed SETTINGS (H3_FRAME_ERROR)"))
			break
		}
		p = p[n+k:]
		switch id {
		case 0x01:
			s.tableCapacity = v
		case 0x06:
			s.fieldSectionMax = v
		case 0x07:
			s.blockedStreams = v
		}
		switch name := settingName(id); {
		case name == "enable_connect_protocol" || name == "h3_datagram":
			e.Info = append(e.Info, decode.Bool(name, v == 1))
		case name != "":
			e.Info = append(e.Info, decode.Uint(name, v))
		case isGrease(id):
			grease++
		case id >= 0x02 && id <= 0x05:
			e.Info = append(e.Info, decode.String("error", "HTTP/2 setting "+hexCode(id)+" (H3_SETTINGS_ERROR)"))
		default:
			if len(unknown) < d.opts.MaxHeaders {
				unknown = append(unknown, hexCode(id)+"="+strconv.FormatUint(v, 10))
			}
		}
	}
	if grease > 0 {
		e.Info = append(e.Info, decode.Int("grease_settings", int64(grease)))
	}
	if len(unknown) > 0 {
		e.Info = append(e.Info, decode.Strings("unknown_settings", unknown))
	}
	if !was {
		// Field sections sent towards this endpoint may have waited for
		// its table capacity; they go out after this SETTINGS event.
		defer d.unblock(h.dir.Reverse(), at, emit)
	}
}

// finish ends a stream direction.
func (d *Decoder) finish(h *half, at decode.Position, emit decode.Emit) {
	if h.inFrame || len(h.buf) > 0 {
		e := d.event(h, TypeStreamError, at)
		e.Flags = 0
		what := "a frame"
		if h.kind == kindEncoder || h.kind == kindDecoder {
			what = "an instruction"
		} else if !h.inFrame {
			what = "a frame header"
		}
		e.Info = decode.Info{decode.String("error", "stream ended inside "+what+" (H3_FRAME_ERROR)")}
		emit(e)
	}
	switch h.kind {
	case kindControl, kindEncoder, kindDecoder:
		e := d.event(h, TypeStreamError, at)
		e.Flags = 0
		e.Info = decode.Info{decode.String("error", "a critical stream was closed (H3_CLOSED_CRITICAL_STREAM)")}
		emit(e)
	}
	delete(d.halves, hkey{h.id, h.dir})
	if r := d.reqs[h.id]; r != nil && h.id&3 == 0 && h.dir == decode.S2C {
		d.exchange(r, at, false, emit)
	}
}

// StreamReset implements decode.MultiStreamDecoder.
func (d *Decoder) StreamReset(id int64, dir decode.Dir, at decode.Position, emit decode.Emit) {
	if !validDir(dir) {
		return
	}
	if h := d.halves[hkey{id, dir}]; h != nil {
		if h.blocked {
			d.removeBlocked(h)
		}
		delete(d.halves, hkey{id, dir})
	}
	if r := d.reqs[id]; r != nil && id&3 == 0 {
		// The exchange ends with the response: a client's reset alone
		// (it may stop sending while the response goes on) is noted.
		if !r.reset || dir == decode.S2C {
			r.reset, r.resetBy = true, dir
		}
		if dir == decode.S2C {
			d.exchange(r, at, false, emit)
		}
	}
}

// End implements decode.MultiStreamDecoder: held field sections are shown
// with an error, and every unfinished request gets an exchange event.
func (d *Decoder) End(at decode.Position, emit decode.Emit) {
	for i := range d.q {
		for _, h := range d.q[i].blocked {
			e := h.held
			e.Info = append(e.Info, decode.Bool("blocked", true),
				decode.String("error", "field section still waiting for encoder stream inserts at the end"))
			emit(e)
			h.blocked = false
		}
		d.q[i].blocked, d.q[i].blockedBytes = nil, 0
	}
	ids := make([]int64, 0, len(d.reqs))
	for id := range d.reqs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d.exchange(d.reqs[id], at, true, emit)
	}
}

// exchange emits a request stream's exchange event once and forgets it.
func (d *Decoder) exchange(r *request, at decode.Position, incomplete bool, emit decode.Emit) {
	if r.done {
		return
	}
	r.done = true
	if len(d.done) >= d.opts.MaxStreams {
		clear(d.done)
	}
	d.done[r.id] = true
	delete(d.reqs, r.id)
	delete(d.halves, hkey{r.id, decode.C2S})
	delete(d.halves, hkey{r.id, decode.S2C})
	d.requests++
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerHTTP3, TypeExchange)
	e.Stream = r.id
	e.Info = decode.Info{
		decode.String("method", r.method),
		decode.String("authority", r.authority),
		decode.String("path", r.path),
		decode.Int("status", int64(r.status)),
		decode.String("start", r.start.TS.UTC().Format(time.RFC3339Nano)),
		decode.Int("start_frame", r.start.Frame),
	}
	if r.hasFirst {
		e.Info = append(e.Info, decode.Millis("first_byte_ms", r.first.TS.Sub(r.start.TS)))
	}
	e.Info = append(e.Info,
		decode.Millis("duration_ms", at.TS.Sub(r.start.TS)),
		decode.Int("req_bytes", r.reqBytes),
		decode.Int("resp_bytes", r.respBytes))
	if r.reset {
		e.Info = append(e.Info, decode.Bool("reset", true), decode.String("reset_by", r.resetBy.String()))
	}
	if incomplete {
		e.Info = append(e.Info, decode.Bool("incomplete", true))
	}
	emit(e)
}

func (d *Decoder) decodeError(dir decode.Dir, msg string, at decode.Position, emit decode.Emit) {
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
	e.Info = decode.Info{decode.String("decoder", "http3"), decode.String("error", dir.String()+": "+msg)}
	emit(e)
}

// capLimit emits a conn/cap-limit event: the cap's name and limit, then
// what was dropped.
func (d *Decoder) capLimit(dir decode.Dir, at decode.Position, emit decode.Emit, name string, limit int, dropped ...decode.Field) {
	emit(decode.CapLimit(at, dir, "http3", name, int64(limit), dropped...))
}

func (d *Decoder) capString(s string) string { return decode.Cut(s, d.opts.MaxString) }

var (
	_ decode.MultiStreamDecoder = (*Decoder)(nil)
	_ decode.Summarizer         = (*Decoder)(nil)
)

// Next returns a hook for the QUIC decoder: a Decoder for connections
// that negotiated HTTP/3 by ALPN ("h3", or "h3-29" for draft 29, whose
// framing is the same for what is decoded here), nil for anything else.
func Next(opts Options) func(alpn string) decode.MultiStreamDecoder {
	return func(alpn string) decode.MultiStreamDecoder {
		switch alpn {
		case "h3", "h3-29":
			return NewDecoder(opts)
		}
		return nil
	}
}
