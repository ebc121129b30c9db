package h3

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/decode"
)

// fields gathers a decoded field section for an event.
type fields struct {
	pseudo  map[string]string
	ctype   string
	clen    string
	lines   []string
	n       int
	size    int
	over    bool
	maxSize int
	max     int
}

func (fs *fields) add(f field, d *Decoder) {
	fs.size += len(f.name) + len(f.value) + 32
	if fs.size > fs.maxSize {
		fs.over = true
		return
	}
	if strings.HasPrefix(f.name, ":") {
		if _, ok := fs.pseudo[f.name[1:]]; !ok {
			fs.pseudo[f.name[1:]] = f.value
		}
	}
	switch f.name {
	case "content-type":
		fs.ctype = f.value
	case "content-length":
		fs.clen = f.value
	}
	fs.n++
	if len(fs.lines) < fs.max {
		fs.lines = append(fs.lines, d.capString(f.name+": "+f.value))
	}
}

var pseudoOrder = [...]string{"method", "scheme", "authority", "path", "protocol", "status"}

// fieldSection decodes a HEADERS or PUSH_PROMISE field section p for
// event e, or holds it while it waits for inserts (RFC 9204 §2.1.2).
func (d *Decoder) fieldSection(h *half, e decode.Event, p []byte, at decode.Position, emit decode.Emit) {
	q := &d.q[h.dir.Index()]
	if q.dead {
		e.Info = append(e.Info, decode.String("error", "not decoded: header decoding stopped for this direction"))
		emit(e)
		return
	}
	if d.mustWait(h.dir, p) {
		limit := d.opts.MaxBlockedStreams
		if s := d.settings[h.dir.Reverse().Index()]; s.have && s.blockedStreams < uint64(limit) {
			limit = int(s.blockedStreams)
		}
		if len(q.blocked) >= limit {
			if limit < d.opts.MaxBlockedStreams {
				e.Info = append(e.Info, decode.String("error", "more blocked streams than SETTINGS_QPACK_BLOCKED_STREAMS "+strconv.Itoa(limit)+" (QPACK_DECOMPRESSION_FAILED)"))
			} else {
				d.capLimit(h.dir, at, emit, "blocked_streams", limit, decode.Int("stream", h.id))
				e.Info = append(e.Info, decode.String("error", "not decoded: too many blocked streams"))
			}
			emit(e)
			return
		}
		h.blocked, h.held, h.section = true, e, append([]byte(nil), p...)
		q.blocked = append(q.blocked, h)
		q.blockedBytes += len(p)
		return
	}
	d.decodeSection(h, e, p, at, emit)
}

// mustWait reports whether a field section needs inserts (or the
// receiver's SETTINGS) not yet seen.
func (d *Decoder) mustWait(dir decode.Dir, p []byte) bool {
	enc, _, err := readInt(p, 8)
	if err != nil || enc == 0 {
		return false
	}
	s := d.settings[dir.Reverse().Index()]
	if !s.have {
		return true
	}
	q := &d.q[dir.Index()]
	pre, err := readPrefix(p, s.tableCapacity, q.t.inserts())
	return err == nil && pre.ric > q.t.inserts()
}

// decodeSection decodes p and emits e with the fields.
func (d *Decoder) decodeSection(h *half, e decode.Event, p []byte, at decode.Position, emit decode.Emit) {
	q := &d.q[h.dir.Index()]
	s := d.settings[h.dir.Reverse().Index()]
	fs := fields{pseudo: map[string]string{}, maxSize: d.opts.MaxFieldSectionSize, max: d.opts.MaxHeaders}
	pre, err := readPrefix(p, s.tableCapacity, q.t.inserts())
	if err == nil {
		if pre.ric > 0 {
			e.Info = append(e.Info, decode.Uint("required_insert_count", pre.ric))
		}
		err = decodeSection(p[pre.n:], pre, &q.t, d.opts.MaxFieldSectionSize, func(f field) { fs.add(f, d) })
	} else if err == errShort {
		err = fieldErr(err)
	}
	if err == errLength {
		d.capLimit(h.dir, at, emit, "field_section_size", d.opts.MaxFieldSectionSize, decode.Int("stream", h.id))
		e.Info = append(e.Info, decode.String("error", "a field string is longer than the cap"))
		emit(e)
		return
	}
	if err != nil {
		q.dead = true
		e.Info = append(e.Info, decode.String("error", "QPACK: "+err.Error()+" (QPACK_DECOMPRESSION_FAILED)"))
		emit(e)
		d.decodeError(h.dir, "QPACK: "+err.Error()+"; header decoding stopped for this direction", at, emit)
		return
	}
	r := d.reqs[h.id]
	if h.kind != kindRequest || e.Type != "HEADERS" {
		r = nil
	}
	trailers := false
	if r != nil {
		switch {
		case h.dir == decode.C2S && !r.headersSeen:
			r.headersSeen = true
			r.method, r.authority, r.path = fs.pseudo["method"], fs.pseudo["authority"], fs.pseudo["path"]
		case h.dir == decode.C2S:
			trailers = true
		default:
			st, _ := strconv.Atoi(fs.pseudo["status"])
			switch {
			case fs.pseudo["status"] == "" && r.status != 0:
				trailers = true
			case st >= 200 && r.status == 0:
				r.status = st // 1xx responses are interim
			}
		}
	}
	e.Info = d.appendFields(e.Info, &fs, trailers)
	if s.fieldSectionMax > 0 && uint64(fs.size) > s.fieldSectionMax {
		e.Info = append(e.Info, decode.String("error", "field section of "+strconv.Itoa(fs.size)+
			" bytes is over the receiver's SETTINGS_MAX_FIELD_SECTION_SIZE "+strconv.FormatUint(s.fieldSectionMax, 10)))
	}
	emit(e)
	if fs.over {
		d.capLimit(h.dir, at, emit, "field_section_size", d.opts.MaxFieldSectionSize, decode.Int("stream", h.id))
	}
}

// appendFields adds a decoded section's fields to an event, as
// decode/h2 does.
func (d *Decoder) appendFields(info decode.Info, fs *fields, trailers bool) decode.Info {
	for _, k := range pseudoOrder {
		v, ok := fs.pseudo[k]
		if !ok {
			continue
		}
		if k == "status" {
			if code, err := strconv.Atoi(v); err == nil {
				info = append(info, decode.Int("status", int64(code)))
				continue
			}
		}
		info = append(info, decode.String(k, d.capString(v)))
	}
	if fs.ctype != "" {
		info = append(info, decode.String("content_type", d.capString(fs.ctype)))
	}
	if fs.clen != "" {
		if n, err := strconv.ParseInt(fs.clen, 10, 64); err == nil {
			info = append(info, decode.Int("content_length", n))
		} else {
			info = append(info, decode.String("content_length", d.capString(fs.clen)))
		}
	}
	if trailers {
		info = append(info, decode.Bool("trailers", true))
	}
	info = append(info, decode.Strings("headers", fs.lines))
	if fs.n > len(fs.lines) {
		info = append(info, decode.Int("headers_omitted", int64(fs.n-len(fs.lines))))
	}
	if fs.over {
		info = append(info, decode.Bool("headers_truncated", true))
	}
	return info
}

// unblock decodes the held field sections of dir whose inserts have
// arrived, then resumes their streams.
func (d *Decoder) unblock(dir decode.Dir, at decode.Position, emit decode.Emit) {
	q := &d.q[dir.Index()]
	for i := 0; i < len(q.blocked); {
		h := q.blocked[i]
		if q.dead {
			d.dropBlocked(h, at, emit)
			continue
		}
		if d.mustWait(dir, h.section) {
			i++
			continue
		}
		d.removeBlocked(h)
		e := h.held
		e.Frame, e.TS = at.Frame, at.TS
		e.Info = append(e.Info, decode.Bool("was_blocked", true))
		d.decodeSection(h, e, h.section, at, emit)
		h.section = nil
		buf, fin := h.buf, h.fin
		h.buf, h.fin = nil, false
		rest := d.process(h, buf, at, emit)
		h.buf = append(h.buf[:0], rest...)
		if h.blocked {
			q.blockedBytes += len(h.buf)
			h.fin = fin
		} else if fin {
			d.finish(h, at, emit)
		}
		i = 0 // the list changed
	}
}

// removeBlocked takes h off its direction's blocked list.
func (d *Decoder) removeBlocked(h *half) {
	q := &d.q[h.dir.Index()]
	if i := slices.Index(q.blocked, h); i >= 0 {
		q.blocked = slices.Delete(q.blocked, i, i+1)
	}
	q.blockedBytes -= len(h.section) + len(h.buf)
	h.blocked = false
}

// dropBlocked gives up a blocked stream direction: its held event goes
// out with an error and its later bytes are ignored.
func (d *Decoder) dropBlocked(h *half, at decode.Position, emit decode.Emit) {
	d.removeBlocked(h)
	if !d.q[h.dir.Index()].dead {
		d.capLimit(h.dir, at, emit, "blocked_bytes", d.opts.MaxBlockedBytes, decode.Int("stream", h.id))
	}
	e := h.held
	e.Info = append(e.Info, decode.Bool("blocked", true), decode.String("error", "not decoded: dropped while blocked"))
	emit(e)
	h.section, h.buf, h.kind, h.inFrame = nil, nil, kindIgnored, false
	if h.fin {
		d.finish(h, at, emit)
	}
}

// encoderStream applies encoder instructions (RFC 9204 §4.3) to the
// table of h's direction.
func (d *Decoder) encoderStream(h *half, b []byte, at decode.Position, emit decode.Emit) []byte {
	q := &d.q[h.dir.Index()]
	for len(b) > 0 && !q.dead {
		in, n, err := readEncoderInstruction(b, d.opts.MaxFieldSectionSize)
		if err == errShort {
			if len(b) > 2*d.opts.MaxFieldSectionSize+32 {
				err = errLength
			} else {
				return b
			}
		}
		e := d.event(h, decode.Type(in.name), at)
		if err == errLength {
			d.capLimit(h.dir, at, emit, "field_section_size", d.opts.MaxFieldSectionSize, decode.Int("stream", h.id))
			q.dead = true
			d.decodeError(h.dir, "QPACK encoder stream: an instruction is over the cap; header decoding stopped for this direction", at, emit)
			break
		}
		if err != nil {
			q.dead = true
			d.decodeError(h.dir, "QPACK encoder stream: "+err.Error()+"; header decoding stopped for this direction", at, emit)
			break
		}
		e.Len = int64(n)
		b = b[n:]
		if in.name == insSetCapacity {
			if st := d.settings[h.dir.Reverse().Index()]; st.have && in.n > st.tableCapacity {
				err = errors.New("table capacity " + strconv.FormatUint(in.n, 10) +
					" is above the receiver's SETTINGS_QPACK_MAX_TABLE_CAPACITY " + strconv.FormatUint(st.tableCapacity, 10))
			} else if in.n > q.t.maxCap {
				// Allowed by the peer (or its SETTINGS not seen), but
				// above our cap.
				e.Info = append(e.Info, decode.Uint("capacity", in.n))
				emit(e)
				d.capLimit(h.dir, at, emit, "table_capacity", int(min(q.t.maxCap, 1<<62)), decode.Uint("capacity", in.n))
				q.dead = true
				break
			}
		}
		if err == nil {
			err = q.t.apply(&in)
		}
		switch in.name {
		case insSetCapacity:
			e.Info = append(e.Info, decode.Uint("capacity", in.n))
		case insNameRef:
			e.Info = append(e.Info, decode.Uint("name_index", in.n), decode.Bool("static", in.static))
		case insDuplicate:
			e.Info = append(e.Info, decode.Uint("index", in.n))
		}
		if in.name != insSetCapacity && err == nil {
			e.Info = append(e.Info, decode.String("name", d.capString(in.f.name)), decode.String("value", d.capString(in.f.value)))
		}
		e.Info = append(e.Info, decode.Uint("inserts", q.t.inserts()), decode.Uint("table_size", q.t.size))
		if err != nil {
			q.dead = true
			e.Info = append(e.Info, decode.String("error", err.Error()+" (QPACK_ENCODER_STREAM_ERROR)"))
			emit(e)
			d.decodeError(h.dir, "QPACK encoder stream: "+err.Error()+"; header decoding stopped for this direction", at, emit)
			break
		}
		emit(e)
		if in.name != insSetCapacity && len(q.blocked) > 0 {
			d.unblock(h.dir, at, emit)
		}
	}
	if q.dead {
		for len(q.blocked) > 0 {
			d.dropBlocked(q.blocked[0], at, emit)
		}
		h.kind = kindIgnored
		return nil
	}
	return b
}

// decoderStream shows decoder instructions (RFC 9204 §4.4); they
// acknowledge the field sections of the other direction.
func (d *Decoder) decoderStream(h *half, b []byte, at decode.Position, emit decode.Emit) []byte {
	for len(b) > 0 {
		in, n, err := readDecoderInstruction(b)
		if err == errShort {
			return b
		}
		if err != nil {
			d.decodeError(h.dir, "QPACK decoder stream: "+err.Error(), at, emit)
			h.kind = kindIgnored
			return nil
		}
		b = b[n:]
		e := d.event(h, decode.Type(in.name), at)
		e.Len = int64(n)
		switch in.name {
		case insIncrement:
			e.Info = decode.Info{decode.Uint("increment", in.n)}
		default:
			e.Info = decode.Info{decode.Uint("stream", in.n)}
		}
		emit(e)
	}
	return nil
}
