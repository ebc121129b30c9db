package h2

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// stream is one tracked stream: its state, its windows and what its
// exchange event will say.
type stream struct {
	id    uint32
	state streamState
	// adj is what each direction's flow-control window on the stream
	// differs from the initial window by: WINDOW_UPDATE less DATA.
	adj [2]int64
	// stall is each direction's sender's flow-control stall on the
	// stream, while one is in progress.
	stall [2]fcStall

	pushed bool
	assoc  uint32 // pushed: the stream the PUSH_PROMISE came on

	method, scheme, authority, path, protocol string
	status                                    int
	grpc                                      bool
	grpcStatus, grpcMessage                   string
	hasGrpcStatus                             bool
	request                                   bool // request headers seen
	response                                  bool // final response headers seen

	start, firstByte    decode.Position
	hasFirst            bool
	reqBytes, respBytes int64
	respEnded           bool // END_STREAM from the server
	reset               bool
	resetCode           http2.ErrCode
	resetDir            decode.Dir
	goaway              bool
	exchanged           bool
}

// openStream starts tracking a stream, unless MaxStreams streams are
// tracked already: then a cap-limit event is emitted (once per
// connection) and nil returned.
func (d *Decoder) openStream(id uint32, state streamState, at decode.Position, emit decode.Emit) *stream {
	side := 0
	if id%2 == 0 {
		side = 1
	}
	d.maxID[side] = max(d.maxID[side], id)
	if len(d.streams) >= d.opts.MaxStreams {
		if !d.streamsCap {
			d.streamsCap = true
			d.capLimit(decode.DirNone, at, emit, "streams", d.opts.MaxStreams, decode.Uint("stream", uint64(id)))
		}
		return nil
	}
	st := &stream{id: id, state: state}
	d.streams[id] = st
	return st
}

// isNew reports whether id is above every stream opened by its initiator.
func (d *Decoder) isNew(id uint32) bool {
	if id%2 == 0 {
		return id > d.maxID[1]
	}
	return id > d.maxID[0]
}

// stateOf names a stream's state; a stream not tracked is idle above the
// highest ID its initiator used, else closed (and forgotten).
func (d *Decoder) stateOf(id uint32) string {
	if st := d.streams[id]; st != nil {
		return st.state.String()
	}
	if d.isNew(id) {
		return stateIdle.String()
	}
	return stateClosed.String()
}

// headersFrame moves a stream on a HEADERS frame from dir (RFC 9113 §5.1).
func (st *stream) headersFrame(dir decode.Dir, endStream bool, start decode.Position) {
	switch st.state {
	case stateIdle:
		st.state = stateOpen
	case stateReservedRemote:
		if dir == decode.S2C {
			st.state = stateHalfClosedLocal
		}
	}
	if dir == decode.S2C && !st.hasFirst {
		st.firstByte, st.hasFirst = start, true
	}
	if endStream {
		st.endStream(dir)
	}
}

// dataFrame counts a DATA frame's body bytes.
func (st *stream) dataFrame(dir decode.Dir, body int64, start decode.Position) {
	if dir == decode.C2S {
		st.reqBytes += body
		return
	}
	st.respBytes += body
	if !st.hasFirst {
		st.firstByte, st.hasFirst = start, true
	}
}

// endStream moves a stream on END_STREAM from dir.
func (st *stream) endStream(dir decode.Dir) {
	if dir == decode.S2C {
		st.respEnded = true
	}
	switch {
	case st.state == stateOpen && dir == decode.C2S:
		st.state = stateHalfClosedLocal
	case st.state == stateOpen:
		st.state = stateHalfClosedRemote
	case st.state == stateHalfClosedLocal && dir == decode.S2C,
		st.state == stateHalfClosedRemote && dir == decode.C2S:
		st.state = stateClosed
	}
}

// resetBy closes a stream on RST_STREAM from dir.
func (st *stream) resetBy(dir decode.Dir, code http2.ErrCode) {
	if st.state != stateClosed && !st.exchanged {
		st.reset, st.resetCode, st.resetDir = true, code, dir
	}
	st.state = stateClosed
}

// settle emits a stream's exchange once its response has ended or the
// stream closed, unless one of its header blocks is still being read, and
// forgets a closed stream whose exchange is out.
func (d *Decoder) settle(st *stream, at decode.Position, emit decode.Emit) {
	for i := range d.dirs {
		if hb := &d.dirs[i].hb; hb.active && (hb.stream == st.id || hb.promised == st.id) {
			return
		}
	}
	if !st.exchanged && (st.respEnded || st.state == stateClosed) {
		d.exchange(st, at, false, emit)
	}
	if st.state == stateClosed {
		delete(d.streams, st.id)
	}
}

// endStreams emits at the end of the connection the exchanges of the
// streams still open, in stream order, with incomplete set.
func (d *Decoder) endStreams(at decode.Position, emit decode.Emit) {
	for _, id := range d.sortedStreams() {
		if st := d.streams[id]; !st.exchanged {
			d.exchange(st, at, true, emit)
		}
	}
}

func (d *Decoder) sortedStreams() []uint32 {
	ids := make([]uint32, 0, len(d.streams))
	for id := range d.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// exchange emits a stream's exchange event (docs/events.md).
func (d *Decoder) exchange(st *stream, at decode.Position, incomplete bool, emit decode.Emit) {
	st.exchanged = true
	d.requests++
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerHTTP2, TypeExchange)
	e.Stream = int64(st.id)
	info := make(decode.Info, 0, 20)
	info = append(info,
		decode.String("method", st.method),
		decode.String("authority", st.authority),
		decode.String("path", st.path),
		decode.Int("status", int64(st.status)),
		decode.String("start", st.start.TS.UTC().Format(time.RFC3339Nano)),
		decode.Int("start_frame", st.start.Frame))
	if st.hasFirst {
		info = append(info, decode.Millis("first_byte_ms", st.firstByte.TS.Sub(st.start.TS)))
	}
	info = append(info,
		decode.Millis("duration_ms", at.TS.Sub(st.start.TS)),
		decode.Int("req_bytes", st.reqBytes),
		decode.Int("resp_bytes", st.respBytes))
	if st.reset {
		info = append(info, decode.Bool("reset", true), decode.String("error_code", errCodeName(st.resetCode)),
			decode.String("reset_by", st.resetDir.String()))
	}
	if st.goaway {
		info = append(info, decode.Bool("goaway", true))
	}
	if incomplete || st.goaway || !st.respEnded && !st.reset {
		info = append(info, decode.Bool("incomplete", true))
	}
	if st.pushed {
		info = append(info, decode.Bool("pushed", true), decode.Uint("promised_on", uint64(st.assoc)))
	}
	if st.grpc {
		svc, method := grpcNames(st.path)
		info = append(info, decode.String("grpc_service", svc), decode.String("grpc_method", method))
		if st.hasGrpcStatus {
			info = append(info, decode.String("grpc_status", st.grpcStatus))
			if st.grpcMessage != "" {
				info = append(info, decode.String("grpc_message", st.grpcMessage))
			}
		}
	}
	e.Info = info
	emit(e)
}

// grpcNames splits a gRPC path, "/package.Service/Method".
func grpcNames(path string) (service, method string) {
	path = strings.TrimPrefix(path, "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i], path[i+1:]
	}
	return path, ""
}

// upgrade sets up stream 1 for h2c after an HTTP/1.1 Upgrade (RFC 7540
// §3.2): the request is sent, and the client's HTTP2-Settings are in force.
func (d *Decoder) upgrade(up Upgraded) {
	c := &d.dirs[decode.C2S.Index()]
	for p := up.Settings; len(p) >= 6; p = p[6:] {
		set := http2.Setting{ID: http2.SettingID(uint16(p[0])<<8 | uint16(p[1])),
			Val: uint32(p[2])<<24 | uint32(p[3])<<16 | uint32(p[4])<<8 | uint32(p[5])}
		if set.ID == http2.SettingHeaderTableSize {
			c.tableAcked = set.Val
			d.tableBound(c)
			continue
		}
		d.applySetting(c, set, up.At, func(decode.Event) {})
	}
	st := d.openStream(1, stateHalfClosedLocal, up.At, func(decode.Event) {})
	st.method, st.scheme, st.authority, st.path = up.Method, up.Scheme, up.Authority, up.Path
	st.request, st.start = true, up.At
}

// applyRequest fills a stream's request from a header block: the client's
// HEADERS or a PUSH_PROMISE.
func (st *stream) applyRequest(hb *headerBlocks, d *Decoder) {
	st.request = true
	st.method = d.capString(hb.pseudo[pMethod])
	st.scheme = d.capString(hb.pseudo[pScheme])
	st.authority = d.capString(hb.pseudo[pAuthority])
	st.path = d.capString(hb.pseudo[pPath])
	st.protocol = d.capString(hb.pseudo[pProtocol])
	st.grpc = strings.HasPrefix(hb.ctype, "application/grpc")
}

// applyResponse takes the status and gRPC fields of a server header
// block; it reports whether the block is trailers.
func (st *stream) applyResponse(hb *headerBlocks, d *Decoder) (trailers bool) {
	if s := hb.pseudo[pStatus]; s != "" {
		code, _ := strconv.Atoi(s)
		if code >= 200 || code < 100 {
			st.status, st.response = code, true
		}
	} else if st.response {
		trailers = true
	}
	if hb.hasGrpc {
		st.grpcStatus, st.grpcMessage, st.hasGrpcStatus = d.capString(hb.grpcStat), d.capString(hb.grpcMsg), true
	}
	return trailers
}
