package http1

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/decode"
)

// Event types of layer http1 (docs/events.md).
const (
	TypeRequest  decode.Type = "request"
	TypeResponse decode.Type = "response"
	TypeExchange decode.Type = "exchange"
	// TypeTunnel reports, at the connection's end, the bytes that followed
	// a protocol switch no decoder took.
	TypeTunnel decode.Type = "tunnel"
)

// state is where one direction's parser is.
type state uint8

const (
	stHead      state = iota // a start line and header fields
	stLength                 // a body delimited by Content-Length
	stChunkSize              // a chunk-size line
	stChunkData              // chunk data
	stChunkEnd               // the CRLF after chunk data
	stTrailer                // trailer fields after the last chunk
	stClose                  // a response body delimited by the connection's close
	stHold                   // client bytes after Upgrade/CONNECT, until the answer
	stSwitched               // after the protocol switch
	stDead                   // given up
)

type held struct {
	data []byte
	at   decode.Position
}

// side is one direction's parsing state.
type side struct {
	dir     decode.Dir
	st      state
	line    []byte // a partial line
	started bool   // msg holds a head being parsed
	msg     message
	remain  uint64    // body or chunk bytes still to come
	ex      *exchange // the message whose body is being read
	trailer int       // trailer section bytes so far
	held    []held
	heldLen int
	off     uint64 // bytes consumed, for error offsets
	lineOff uint64 // stream offset of the current line's first byte
}

// exchange is one request and its response.
type exchange struct {
	ord                       int64
	method, target, authority string
	head, connect             bool
	upgrade                   string  // the request's Upgrade protocol
	reqFields                 []field // kept for Upgrade and CONNECT requests

	reqStart            decode.Position
	respFirst           decode.Position // first byte of the first response (interim included)
	responded           bool
	final               bool // the final status line was seen
	status              int
	reqDone, respDone   bool
	unmatched           bool // a response without a request
	reqBytes            uint64
	respBytes           uint64
	missing             uint64 // body bytes lost in capture holes
	reqChunks           int64
	respChunks          int64
	reqChunked          bool
	respChunked         bool
	reqTrail, respTrail []string
	switched            string // the protocol switched to
	end                 decode.Position
	// reqEnd is where the request was complete; ahead how many earlier
	// responses were still owed then (pipelining, see pipeline.go).
	reqEnd decode.Position
	ahead  int64
}

// Decoder decodes both directions of one HTTP/1.x connection. It
// implements decode.StreamDecoder and decode.Summarizer.
type Decoder struct {
	opts  Options
	sides [2]side
	// queue holds the exchanges in request order until both halves are
	// done; resp indexes the one the server answers next.
	queue    []*exchange
	resp     int
	ords     int64
	holdFor  *exchange // the Upgrade/CONNECT request the client waits on
	switched bool
	next     decode.StreamDecoder
	nextName string
	tunnel   [2]uint64 // bytes after a switch that no decoder took
	// answered counts the responses completed; ending is set while End
	// runs.
	answered int64
	ending   bool
}

// NewDecoder returns a Decoder for one connection.
func NewDecoder(opts Options) *Decoder {
	opts.setDefaults()
	d := &Decoder{opts: opts}
	d.sides[0].dir, d.sides[1].dir = decode.C2S, decode.S2C
	return d
}

// Data implements decode.StreamDecoder. It never returns an error: a
// malformed message or a cap stops only its direction, with an event.
func (d *Decoder) Data(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) error {
	if dir != decode.C2S && dir != decode.S2C {
		return nil
	}
	d.data(&d.sides[dir.Index()], data, at, emit)
	return nil
}

func (d *Decoder) data(s *side, data []byte, at decode.Position, emit decode.Emit) {
	for len(data) > 0 {
		var n int
		switch s.st {
		case stDead:
			return
		case stSwitched:
			d.forward(s.dir, data, at, emit)
			return
		case stHold:
			d.hold(s, data, at, emit)
			return
		case stHead:
			n = d.head(s, data, at, emit)
		case stLength, stChunkData:
			n = d.body(s, data, at, emit)
		case stChunkSize, stChunkEnd, stTrailer:
			n = d.chunkLine(s, data, at, emit)
		case stClose:
			n = len(data)
			d.count(s, uint64(n))
		}
		s.off += uint64(n)
		data = data[n:]
	}
}

var errLineTooLong = errors.New("line too long")

// readLine consumes data up to and including the next LF. It returns the
// line without its CR LF once complete (valid until the next call), the
// bytes consumed, and errLineTooLong past Options.MaxLineLen. base is
// data's offset in the stream. A lone LF
// ends a line too (RFC 9112 §2.2).
func (d *Decoder) readLine(s *side, data []byte, base uint64) (line []byte, n int, ok bool, err error) {
	if len(s.line) == 0 {
		s.lineOff = base
	}
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		if len(s.line)+len(data) > d.opts.MaxLineLen {
			return nil, 0, false, errLineTooLong
		}
		s.line = append(s.line, data...)
		return nil, len(data), false, nil
	}
	if len(s.line)+i > d.opts.MaxLineLen {
		return nil, 0, false, errLineTooLong
	}
	if len(s.line) == 0 {
		line = data[:i]
	} else {
		s.line = append(s.line, data[:i]...)
		line = s.line
		s.line = s.line[:0]
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, i + 1, true, nil
}

// head parses a start line and header fields, one line per call.
func (d *Decoder) head(s *side, data []byte, at decode.Position, emit decode.Emit) int {
	skipped := 0
	if !s.started {
		// Empty lines before a message are ignored (RFC 9112 §2.2).
		if len(s.line) == 0 {
			for skipped < len(data) && (data[skipped] == '\r' || data[skipped] == '\n') {
				skipped++
			}
			if skipped == len(data) {
				return skipped
			}
			data = data[skipped:]
		}
		s.started = true
		s.msg = message{start: at, off: s.off + uint64(skipped)}
	}
	m := &s.msg
	line, n, ok, err := d.readLine(s, data, s.off+uint64(skipped))
	if err != nil {
		d.capHit(s, "line_length", d.opts.MaxLineLen, at, emit)
		return skipped
	}
	if m.size += n; m.size > d.opts.MaxHeaderBytes {
		d.capHit(s, "header_bytes", d.opts.MaxHeaderBytes, at, emit)
		return skipped
	}
	if !ok {
		if m.lines == 0 && hasCTL(data) {
			d.stop(s, errCTL.Error(), s.lineOff, at, emit)
		}
		return skipped + n
	}
	switch {
	case m.lines == 0 && hasCTL(line):
		err = errCTL
	case m.lines == 0 && s.dir == decode.C2S:
		err = m.parseRequestLine(line)
	case m.lines == 0:
		err = m.parseStatusLine(line)
	case len(line) == 0:
		d.endHead(s, at, emit)
		return skipped + n
	default:
		err = m.addField(line)
	}
	if err != nil {
		d.stop(s, err.Error()+": "+strconv.Quote(decode.Cut(string(line), 64)), s.lineOff, at, emit)
		return skipped
	}
	m.lines++
	return skipped + n
}

// endHead handles a complete head.
func (d *Decoder) endHead(s *side, at decode.Position, emit decode.Emit) {
	s.started = false
	if s.dir == decode.C2S {
		d.endRequestHead(s, at, emit)
	} else {
		d.endResponseHead(s, at, emit)
	}
}

func (d *Decoder) endRequestHead(s *side, at decode.Position, emit decode.Emit) {
	m := &s.msg
	if len(d.queue) >= d.opts.MaxPending {
		d.capHit(s, "pending_requests", d.opts.MaxPending, at, emit)
		return
	}
	// Body length (RFC 9112 §6.3): Transfer-Encoding overrides
	// Content-Length; a request without either has no body.
	te, hasTE := m.joined("Transfer-Encoding")
	cl, hasCL, err := contentLength(m)
	switch {
	case hasTE && !chunkedLast(te):
		d.stop(s, "request Transfer-Encoding "+strconv.Quote(decode.Cut(te, 64))+" does not end in chunked", m.off, at, emit)
		return
	case !hasTE && err != nil:
		d.stop(s, err.Error(), m.off, at, emit)
		return
	}
	d.ords++
	ex := &exchange{
		ord: d.ords, method: m.method, target: m.target, reqStart: m.start,
		head: m.method == "HEAD", connect: m.method == "CONNECT",
		authority: authority(m),
	}
	if up := m.get("Upgrade"); up != "" {
		ex.upgrade = firstToken(up)
	}
	if ex.upgrade != "" || ex.connect {
		ex.reqFields = m.fields
	}
	d.queue = append(d.queue, ex)
	emit(d.requestEvent(m, ex, at))
	s.ex = ex
	switch {
	case hasTE:
		ex.reqChunked = true
		s.st = stChunkSize
	case hasCL && cl > 0:
		s.st, s.remain = stLength, cl
	default:
		d.requestDone(s, at, emit)
	}
}

// authority is the request's target host: the authority of an
// absolute-form or authority-form target, else Host (RFC 9112 §3.2).
func authority(m *message) string {
	t := m.target
	if m.method == "CONNECT" {
		return t
	}
	if i := strings.Index(t, "://"); i > 0 && i < 16 {
		rest := t[i+3:]
		for j := 0; j < len(rest); j++ {
			if rest[j] == '/' || rest[j] == '?' || rest[j] == '#' {
				return rest[:j]
			}
		}
		return rest
	}
	return m.get("Host")
}

func (d *Decoder) endResponseHead(s *side, at decode.Position, emit decode.Emit) {
	m := &s.msg
	var ex *exchange
	if d.resp < len(d.queue) {
		ex = d.queue[d.resp]
	} else {
		// No request for it: the capture missed it or the client side
		// stopped decoding.
		if len(d.queue) >= d.opts.MaxPending {
			d.capHit(s, "pending_requests", d.opts.MaxPending, at, emit)
			return
		}
		d.ords++
		ex = &exchange{ord: d.ords, reqStart: m.start, reqDone: true, unmatched: true}
		d.queue = append(d.queue, ex)
	}
	if !ex.responded {
		ex.responded, ex.respFirst = true, m.start
	}
	te, hasTE := m.joined("Transfer-Encoding")
	cl, hasCL, clErr := contentLength(m)
	interim := m.status >= 100 && m.status < 200 && m.status != 101
	emit(d.responseEvent(m, ex, interim, at))
	if interim {
		// 100 Continue, 103 Early Hints ...: the final response follows
		// (RFC 9110 §15.2).
		return
	}
	ex.final, ex.status = true, m.status
	if m.status == 101 || ex.connect && m.status/100 == 2 {
		d.switchProtocols(s, ex, at, emit)
		return
	}
	if d.holdFor == ex {
		// The server declined the upgrade: what the client sent after
		// the request is HTTP again.
		d.release(at, emit)
	}
	s.ex = ex
	switch {
	case ex.head || m.status == 204 || m.status == 304 || m.status/100 == 1:
		d.responseDone(s, at, emit)
	case hasTE && chunkedLast(te):
		ex.respChunked = true
		s.st = stChunkSize
	case hasTE:
		s.st = stClose
	case clErr != nil:
		d.stop(s, clErr.Error(), m.off, at, emit)
	case hasCL && cl > 0:
		s.st, s.remain = stLength, cl
	case hasCL:
		d.responseDone(s, at, emit)
	default:
		s.st = stClose
	}
}

// body counts Content-Length body or chunk-data bytes.
func (d *Decoder) body(s *side, data []byte, at decode.Position, emit decode.Emit) int {
	n := min(uint64(len(data)), s.remain)
	s.remain -= n
	d.count(s, n)
	if s.remain == 0 {
		d.bodyEnd(s, at, emit)
	}
	return int(n)
}

// bodyEnd moves on after a body or chunk's data.
func (d *Decoder) bodyEnd(s *side, at decode.Position, emit decode.Emit) {
	switch s.st {
	case stChunkData:
		s.st = stChunkEnd
	case stLength, stTrailer, stClose:
		if s.dir == decode.C2S {
			d.requestDone(s, at, emit)
		} else {
			d.responseDone(s, at, emit)
		}
	}
}

func (d *Decoder) count(s *side, n uint64) {
	if s.ex == nil {
		return
	}
	if s.dir == decode.C2S {
		s.ex.reqBytes += n
	} else {
		s.ex.respBytes += n
	}
}

// chunkLine reads the line-based parts of the chunked coding (RFC 9112
// §7.1): chunk-size lines, the CRLF after each chunk's data and the
// trailer section.
func (d *Decoder) chunkLine(s *side, data []byte, at decode.Position, emit decode.Emit) int {
	line, n, ok, err := d.readLine(s, data, s.off)
	if err != nil {
		d.capHit(s, "line_length", d.opts.MaxLineLen, at, emit)
		return 0
	}
	if s.st == stTrailer {
		if s.trailer += n; s.trailer > d.opts.MaxHeaderBytes {
			d.capHit(s, "header_bytes", d.opts.MaxHeaderBytes, at, emit)
			return 0
		}
	}
	if !ok {
		return n
	}
	switch s.st {
	case stChunkSize:
		size, valid := parseChunkSize(line)
		if !valid {
			d.stop(s, "bad chunk size line "+strconv.Quote(decode.Cut(string(line), 64)), s.lineOff, at, emit)
			return 0
		}
		if size == 0 {
			s.st, s.trailer = stTrailer, 0
			break
		}
		if s.dir == decode.C2S {
			s.ex.reqChunks++
		} else {
			s.ex.respChunks++
		}
		s.st, s.remain = stChunkData, size
	case stChunkEnd:
		if len(line) != 0 {
			d.stop(s, "chunk data longer than its size", s.lineOff, at, emit)
			return 0
		}
		s.st = stChunkSize
	case stTrailer:
		if len(line) == 0 {
			d.bodyEnd(s, at, emit)
			break
		}
		t := &s.ex.respTrail
		if s.dir == decode.C2S {
			t = &s.ex.reqTrail
		}
		*t = appendCapped(*t, string(line), d.opts.MaxHeaders, d.opts.MaxString)
	}
	return n
}

// requestDone ends the request's body; the client's next bytes are the
// next request, held until the answer to an Upgrade or CONNECT, or the
// new protocol's.
func (d *Decoder) requestDone(s *side, at decode.Position, emit decode.Emit) {
	ex := s.ex
	s.ex = nil
	s.st = stHead
	switch {
	case d.switched:
		s.st = stSwitched
	case (ex.upgrade != "" || ex.connect) && !ex.final:
		s.st, d.holdFor = stHold, ex
	}
	ex.reqDone = true
	ex.reqEnd, ex.ahead = at, max(ex.ord-1-d.answered, 0)
	d.complete(at, emit)
}

func (d *Decoder) responseDone(s *side, at decode.Position, emit decode.Emit) {
	ex := s.ex
	s.ex = nil
	s.st = stHead
	ex.respDone, ex.end = true, at
	d.resp++
	d.answered++
	next := d.waiting(ex, at)
	d.complete(at, emit)
	if next != nil {
		emit(d.pipelineStall(next, ex, at))
	}
}

// complete emits the exchanges at the queue's head whose halves are both
// done; requests and responses each complete in order, so these are the
// only ones.
func (d *Decoder) complete(at decode.Position, emit decode.Emit) {
	for len(d.queue) > 0 && d.queue[0].reqDone && d.queue[0].respDone {
		emit(d.exchangeEvent(d.queue[0], false, at))
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.resp--
	}
}

// hold keeps client bytes sent after an Upgrade or CONNECT request until
// the server's answer says which protocol they are.
func (d *Decoder) hold(s *side, data []byte, at decode.Position, emit decode.Emit) {
	if s.heldLen+len(data) > d.opts.MaxHold {
		d.capHit(s, "hold_bytes", d.opts.MaxHold, at, emit)
		return
	}
	s.heldLen += len(data)
	s.held = append(s.held, held{append([]byte(nil), data...), at})
}

// release parses the held client bytes as HTTP after a declined upgrade.
func (d *Decoder) release(at decode.Position, emit decode.Emit) {
	d.holdFor = nil
	c := &d.sides[decode.C2S.Index()]
	if c.st != stHold {
		return
	}
	hs := c.held
	c.held, c.heldLen, c.st = nil, 0, stHead
	for _, h := range hs {
		d.data(c, h.data, h.at, emit)
	}
}

// switchProtocols hands the connection to Options.Upgrade after a 101 or a
// CONNECT's 2xx: the server's bytes after this head, the held client bytes
// and every later byte go to the new decoder.
func (d *Decoder) switchProtocols(s *side, ex *exchange, at decode.Position, emit decode.Emit) {
	m := &s.msg
	proto := firstToken(m.get("Upgrade"))
	if proto == "" {
		proto = ex.upgrade
	}
	if ex.connect && m.status != 101 {
		proto = "connect"
	}
	d.switched, d.holdFor = true, nil
	ex.switched, ex.respDone, ex.end = proto, true, at
	s.st, s.ex = stSwitched, nil
	d.resp++
	d.answered++
	d.complete(at, emit)
	d.nextName = proto
	if d.opts.Upgrade != nil {
		u := &Upgrade{
			Protocol: proto, Request: header(ex.reqFields), Response: header(m.fields),
			Method: ex.method, Target: ex.target, At: at,
		}
		d.next = d.opts.Upgrade(u, emit)
	}
	c := &d.sides[decode.C2S.Index()]
	switch {
	case c.st == stHold:
		hs := c.held
		c.held, c.heldLen, c.st = nil, 0, stSwitched
		for _, h := range hs {
			d.forward(decode.C2S, h.data, h.at, emit)
		}
	case c.st == stHead:
		// A 101 the client did not ask for: its bytes from the next
		// message on are the new protocol's.
		c.st, c.started = stSwitched, false
		if len(c.line) > 0 {
			d.forward(decode.C2S, c.line, at, emit)
			c.line = nil
		}
	}
	// Else the client is inside a request body: requestDone switches.
}

// forward hands bytes after the switch to the next decoder, or counts them.
func (d *Decoder) forward(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) {
	if d.next == nil {
		d.tunnel[dir.Index()] += uint64(len(data))
		return
	}
	if err := d.next.Data(dir, data, at, emit); err != nil {
		d.nextFailed(err, at, emit)
	}
}

// nextFailed reports the next decoder's error the way the timeline does,
// and counts the rest of the bytes.
func (d *Decoder) nextFailed(err error, at decode.Position, emit decode.Emit) {
	d.next = nil
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
	e.Info = decode.Info{decode.String("decoder", d.nextName), decode.String("error", err.Error())}
	emit(e)
}

// header builds an http.Header from fields.
func header(fields []field) http.Header {
	h := make(http.Header, len(fields))
	for _, f := range fields {
		h.Add(f.name, f.value)
	}
	return h
}

// Skip implements decode.StreamDecoder. A hole inside a body delimited by
// Content-Length, a chunk's data or a read-until-close body is counted
// (missing_bytes) and decoding goes on; anywhere else the direction stops
// with a decode-error, as message framing is lost.
func (d *Decoder) Skip(dir decode.Dir, n uint64, at decode.Position, emit decode.Emit) {
	if dir != decode.C2S && dir != decode.S2C {
		return
	}
	s := &d.sides[dir.Index()]
	switch s.st {
	case stDead:
	case stSwitched:
		if d.next != nil {
			d.next.Skip(dir, n, at, emit)
		} else {
			d.tunnel[dir.Index()] += n
		}
	case stLength, stChunkData:
		if n == 0 || n > s.remain {
			d.stop(s, strconv.FormatUint(n, 10)+" bytes missing past the body's end", s.off, at, emit)
			return
		}
		s.ex.missing += n
		s.off += n
		d.count(s, n)
		if s.remain -= n; s.remain == 0 {
			d.bodyEnd(s, at, emit)
		}
	case stClose:
		if s.ex != nil {
			s.ex.missing += n
		}
		d.count(s, n)
		s.off += n
	default:
		d.stop(s, strconv.FormatUint(n, 10)+" bytes missing", s.off, at, emit)
	}
}

// End implements decode.StreamDecoder: a read-until-close response ends
// here; exchanges still open are emitted with incomplete set; the next
// decoder is ended.
func (d *Decoder) End(at decode.Position, emit decode.Emit) {
	d.ending = true
	if s := &d.sides[decode.S2C.Index()]; s.st == stClose && s.ex != nil {
		d.responseDone(s, at, emit)
	}
	for _, ex := range d.queue {
		emit(d.exchangeEvent(ex, true, at))
	}
	d.queue, d.resp = nil, 0
	switch {
	case d.next != nil:
		d.next.End(at, emit)
	case d.switched:
		e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerHTTP1, TypeTunnel)
		e.Info = decode.Info{decode.String("protocol", decode.Cut(d.nextName, d.opts.MaxString)),
			decode.Uint("bytes_c2s", d.tunnel[0]), decode.Uint("bytes_s2c", d.tunnel[1])}
		emit(e)
	}
}

// Summary implements decode.Summarizer: requests is the number of
// exchanges (requests, and responses that had none).
func (d *Decoder) Summary() decode.Info {
	if d.nextName == "" {
		return decode.Info{decode.Int("requests", d.ords)}
	}
	// After a protocol switch, the summary names both protocols
	// ("http1/http2") and counts the new one's requests too.
	n, proto := d.ords, switchedNames[d.nextName]
	if proto == "" {
		proto = decode.Cut(d.nextName, d.opts.MaxString)
	}
	var more decode.Info
	if sum, ok := d.next.(decode.Summarizer); ok {
		for _, f := range sum.Summary() {
			switch f.Key {
			case "requests":
				n += f.Int
				if d.nextName == "h2c" && f.Int > 0 {
					n-- // stream 1 is the upgrading request itself
				}
			case "protocol":
				proto = f.Str
			default:
				more = append(more, f)
			}
		}
	}
	return append(decode.Info{decode.Int("requests", n), decode.String("protocol", "http1/"+proto)}, more...)
}

// switchedNames are the summary's names of the protocols an Upgrade or
// CONNECT switches to, when the next decoder does not name itself.
var switchedNames = map[string]string{"h2c": "http2", "websocket": "ws", "connect": "tunnel"}

// stop emits a decode-error naming the direction and the stream offset
// off, and ignores the rest of its bytes; the other direction goes on.
func (d *Decoder) stop(s *side, msg string, off uint64, at decode.Position, emit decode.Emit) {
	s.st, s.line, s.held = stDead, nil, nil
	derr := &decode.Error{Layer: "http1", Msg: msg, Offset: int(min(off, 1<<62))}
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
	e.Info = decode.Info{decode.String("decoder", "http1"),
		decode.String("error", s.dir.String()+": "+derr.Error()+"; stopped decoding this direction")}
	emit(e)
}

// capHit emits a cap-limit event and ignores the rest of the direction.
func (d *Decoder) capHit(s *side, name string, limit int, at decode.Position, emit decode.Emit) {
	s.st, s.line, s.held = stDead, nil, nil
	emit(decode.CapLimit(at, s.dir, "http1", name, int64(limit), decode.String("dropped", "the rest of the "+s.dir.String()+" stream")))
}
