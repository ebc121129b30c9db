package h2

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/decode"
)

// Pseudo-header fields (RFC 9113 §8.3, RFC 8441 §4).
const (
	pMethod = iota
	pScheme
	pAuthority
	pPath
	pProtocol
	pStatus
	numPseudo
)

var pseudoKeys = [numPseudo]string{"method", "scheme", "authority", "path", "protocol", "status"}

// maxHeld is how many CONTINUATION events are held back with their
// HEADERS or PUSH_PROMISE until the header block ends; after that the
// held events go out and the header fields are shown on the block's last
// frame.
const maxHeld = 32

// headerBlocks decodes the header blocks of one direction with its own
// HPACK dynamic table (RFC 7541), one block at a time (RFC 9113 §4.3).
type headerBlocks struct {
	dec         *hpack.Decoder
	dead        bool // a decoding error: the table is lost
	maxList     int
	maxHeaders  int
	tableCapped bool // the receiver advertised a table above the cap

	// The block being read.
	active   bool
	kind     http2.FrameType
	request  bool // the HEADERS that opened its stream
	stream   uint32
	promised uint32
	size     int  // header list size so far (RFC 9113 §6.5.2)
	over     bool // size went past maxList: later fields not kept
	nfields  int
	fields   []hpack.HeaderField // the first maxHeaders fields
	pseudo   [numPseudo]string
	ctype    string
	clen     string
	grpcStat string
	grpcMsg  string
	hasGrpc  bool
	err      string // why this block was not decoded
	failMsg  string // a decode-error to emit after the block's events
	strCap   bool   // a string went past maxList

	held   []decode.Event
	infoAt int // index in held of the event that gets the fields; -1: the last
}

func (hb *headerBlocks) init(opts Options, dir decode.Dir) {
	hb.maxList = opts.MaxHeaderListSize
	hb.maxHeaders = opts.MaxHeaders
	hb.dec = hpack.NewDecoder(4096, hb.onField)
	hb.dec.SetMaxStringLength(opts.MaxHeaderListSize)
}

// setAllowed bounds the dynamic table size updates the encoder may send.
func (hb *headerBlocks) setAllowed(v uint32) { hb.dec.SetAllowedMaxDynamicTableSize(v) }

func (hb *headerBlocks) begin(kind http2.FrameType, stream, promised uint32) {
	hb.active, hb.kind, hb.stream, hb.promised = true, kind, stream, promised
	hb.size, hb.over, hb.nfields, hb.fields = 0, false, 0, hb.fields[:0]
	hb.pseudo = [numPseudo]string{}
	hb.ctype, hb.clen, hb.grpcStat, hb.grpcMsg, hb.hasGrpc = "", "", "", "", false
	hb.err, hb.held, hb.infoAt, hb.request = "", hb.held[:0], 0, false
	hb.dec.SetEmitEnabled(true)
}

// onField receives each decoded field.
func (hb *headerBlocks) onField(f hpack.HeaderField) {
	hb.size += len(f.Name) + len(f.Value) + 32
	if hb.size > hb.maxList {
		// Later fields are decoded, for the table's sake, but not built.
		hb.over = true
		hb.dec.SetEmitEnabled(false)
		return
	}
	if strings.HasPrefix(f.Name, ":") {
		for i, k := range pseudoKeys {
			if f.Name[1:] == k && hb.pseudo[i] == "" {
				hb.pseudo[i] = f.Value
			}
		}
	}
	switch f.Name {
	case "content-type":
		hb.ctype = f.Value
	case "content-length":
		hb.clen = f.Value
	case "grpc-status":
		hb.grpcStat, hb.hasGrpc = f.Value, true
	case "grpc-message":
		hb.grpcMsg = f.Value
	}
	hb.nfields++
	if len(hb.fields) < hb.maxHeaders {
		hb.fields = append(hb.fields, f)
	}
}

// write decodes a header block fragment.
func (hb *headerBlocks) write(frag []byte) {
	if hb.dead || !hb.active {
		return
	}
	if _, err := hb.dec.Write(frag); err != nil {
		hb.decodingError(err)
	}
}

func (hb *headerBlocks) decodingError(err error) {
	if errors.Is(err, hpack.ErrStringLength) {
		// Our cap, not the peer's error.
		hb.strCap = true
		hb.err = "a header string is longer than the " + strconv.Itoa(hb.maxList) + "-byte cap"
		hb.fail(hb.err)
		return
	}
	hb.err = "HPACK: " + err.Error()
	if hb.tableCapped {
		hb.err += " (the dynamic table is capped)"
	}
	hb.fail(hb.err + " (COMPRESSION_ERROR, a connection error)")
}

// fail stops header decoding for good: the dynamic table is lost.
func (hb *headerBlocks) fail(msg string) {
	if !hb.dead {
		hb.dead, hb.failMsg = true, msg
	}
}

// hpackFail stops a direction's header decoding and says so.
func (d *Decoder) hpackFail(s *dirState, msg string, at decode.Position, emit decode.Emit) {
	s.hb.fail(msg)
	d.emitFail(s, at, emit)
}

func (d *Decoder) emitFail(s *dirState, at decode.Position, emit decode.Emit) {
	hb := &s.hb
	if hb.strCap {
		hb.strCap = false
		d.capLimit(s.dir, at, emit, "header_list_size", hb.maxList, decode.Uint("stream", uint64(hb.stream)))
	}
	if hb.failMsg != "" {
		d.decodeError(s.dir, hb.failMsg+"; header decoding stopped for this direction", at, emit)
		hb.failMsg = ""
	}
}

// headers handles a HEADERS frame (RFC 9113 §6.2).
func (d *Decoder) headers(s *dirState, f *http2.HeadersFrame, e decode.Event, at decode.Position, emit decode.Emit) {
	id := f.StreamID
	d.headersOpen(s, &e, at, emit)
	frag := f.HeaderBlockFragment()
	if f.Flags.Has(http2.FlagHeadersPadded) {
		pad := int(f.Length) - len(frag) - 1
		if f.HasPriority() {
			pad -= 5
		}
		e.Info = append(e.Info, decode.Int("padding", int64(pad)))
	}
	if f.HasPriority() {
		e.Info = appendPriority(e.Info, f.Priority)
	}
	s.hb.begin(http2.FrameHeaders, id, 0)
	s.hb.request = e.Flags&decode.FlagRequest != 0
	s.hb.write(frag)
	d.blockFrame(s, e, f.HeadersEnded(), at, emit)
}

// headersOpen applies a HEADERS frame to its stream's state; a request
// opens the stream.
func (d *Decoder) headersOpen(s *dirState, e *decode.Event, at decode.Position, emit decode.Emit) *stream {
	id := s.fh.StreamID
	st := d.streams[id]
	if st == nil && s.dir == decode.C2S && id%2 == 1 && d.isNew(id) {
		e.Flags |= decode.FlagRequest
		if st = d.openStream(id, stateIdle, at, emit); st != nil {
			st.start = s.start
		}
	}
	if st != nil {
		st.headersFrame(s.dir, s.fh.Flags.Has(http2.FlagHeadersEndStream), s.start)
		d.blocked(s.dir, st, at)
	}
	return st
}

// pushPromise handles a PUSH_PROMISE frame (RFC 9113 §6.6): it reserves
// the promised stream, whose request is the header block.
func (d *Decoder) pushPromise(s *dirState, f *http2.PushPromiseFrame, e decode.Event, at decode.Position, emit decode.Emit) {
	frag := f.HeaderBlockFragment()
	if f.Flags.Has(http2.FlagPushPromisePadded) {
		e.Info = append(e.Info, decode.Int("padding", int64(int(f.Length)-len(frag)-5)))
	}
	e.Info = append(e.Info, decode.Uint("promised_stream", uint64(f.PromiseID)))
	if p := f.PromiseID; p != 0 && d.isNew(p) {
		if st := d.openStream(p, stateReservedRemote, at, emit); st != nil {
			st.pushed, st.assoc, st.start = true, f.StreamID, s.start
		}
	} else {
		e.Info = append(e.Info, decode.String("error", "promised stream "+strconv.FormatUint(uint64(p), 10)+" is not idle"))
	}
	s.hb.begin(http2.FramePushPromise, f.StreamID, f.PromiseID)
	s.hb.write(frag)
	d.blockFrame(s, e, f.HeadersEnded(), at, emit)
}

// continuation handles a CONTINUATION frame (RFC 9113 §6.10).
func (d *Decoder) continuation(s *dirState, f *http2.ContinuationFrame, e decode.Event, at decode.Position, emit decode.Emit) {
	if !s.hb.active {
		e.Info = append(e.Info, decode.String("state", d.stateOf(f.StreamID)),
			decode.String("error", "CONTINUATION without a header block"))
		emit(e)
		d.hpackFail(s, "a CONTINUATION frame without a header block", at, emit)
		return
	}
	s.hb.write(f.HeaderBlockFragment())
	d.blockFrame(s, e, f.HeadersEnded(), at, emit)
}

// blockFrame holds a header block frame's event until the block ends.
func (d *Decoder) blockFrame(s *dirState, e decode.Event, ended bool, at decode.Position, emit decode.Emit) {
	hb := &s.hb
	hb.held = append(hb.held, e)
	if ended {
		d.finishBlock(s, at, emit)
		return
	}
	if len(hb.held) > maxHeld {
		d.flushHeld(s, emit)
		hb.infoAt = -1
	}
}

// finishBlock ends a header block: its fields go to the stream and onto
// the event of its first frame (or last, if that went out already), and
// the held events are emitted.
func (d *Decoder) finishBlock(s *dirState, at decode.Position, emit decode.Emit) {
	hb := &s.hb
	hb.active = false
	if !hb.dead {
		if err := hb.dec.Close(); err != nil {
			hb.decodingError(err)
		}
	}
	st := d.streams[hb.stream]
	trailers := false
	ok := hb.err == "" && !hb.dead
	if ok {
		switch {
		case hb.kind == http2.FramePushPromise:
			if p := d.streams[hb.promised]; p != nil && p.pushed && !p.request {
				p.applyRequest(hb, d)
			}
		case hb.request:
			if st != nil {
				st.applyRequest(hb, d)
			}
		case s.dir == decode.C2S:
			trailers = true
		case st != nil:
			trailers = st.applyResponse(hb, d)
		}
	}
	i := hb.infoAt
	if i < 0 || i >= len(hb.held) {
		i = len(hb.held) - 1
	}
	if ok {
		hb.held[i].Info = d.appendHeaderInfo(hb.held[i].Info, hb, hb.request || hb.kind == http2.FramePushPromise, trailers)
	} else if hb.err != "" {
		hb.held[i].Info = append(hb.held[i].Info, decode.String("error", hb.err))
	}
	d.flushHeld(s, emit)
	if hb.over {
		d.capLimit(s.dir, at, emit, "header_list_size", hb.maxList, decode.Uint("stream", uint64(hb.stream)))
	}
	d.emitFail(s, at, emit)
	if st != nil {
		d.settle(st, at, emit)
	}
	if p := d.streams[hb.promised]; hb.promised != 0 && p != nil {
		d.settle(p, at, emit)
	}
}

// abortBlock ends a header block that will not be completed: header
// decoding stops, and the held events go out, the first saying why.
func (d *Decoder) abortBlock(s *dirState, why string, at decode.Position, emit decode.Emit) {
	hb := &s.hb
	hb.active = false
	if len(hb.held) > 0 {
		hb.held[0].Info = append(hb.held[0].Info, decode.String("error", why))
	}
	d.flushHeld(s, emit)
	d.hpackFail(s, why, at, emit)
	for _, id := range [2]uint32{hb.stream, hb.promised} {
		if st := d.streams[id]; id != 0 && st != nil {
			d.settle(st, at, emit)
		}
	}
}

// flushHeld emits the held events of a header block, each with the state
// of its stream now.
func (d *Decoder) flushHeld(s *dirState, emit decode.Emit) {
	hb := &s.hb
	for i := range hb.held {
		e := hb.held[i]
		hb.held[i] = decode.Event{}
		e.Info = append(e.Info, decode.String("state", d.stateOf(uint32(e.Stream))))
		// An error found on the way goes last.
		if j := slices.IndexFunc(e.Info, func(f decode.Field) bool { return f.Key == "error" }); j >= 0 {
			errField := e.Info[j]
			e.Info = append(slices.Delete(e.Info, j, j+1), errField)
		}
		emit(e)
	}
	hb.held = hb.held[:0]
}

// appendHeaderInfo adds a decoded header block's fields to an event.
func (d *Decoder) appendHeaderInfo(info decode.Info, hb *headerBlocks, request, trailers bool) decode.Info {
	for i, v := range hb.pseudo {
		if v == "" {
			continue
		}
		if i == pStatus {
			if code, err := strconv.Atoi(v); err == nil {
				info = append(info, decode.Int("status", int64(code)))
				continue
			}
		}
		info = append(info, decode.String(pseudoKeys[i], d.capString(v)))
	}
	if hb.ctype != "" {
		info = append(info, decode.String("content_type", d.capString(hb.ctype)))
	}
	if hb.clen != "" {
		if n, err := strconv.ParseInt(hb.clen, 10, 64); err == nil {
			info = append(info, decode.Int("content_length", n))
		} else {
			info = append(info, decode.String("content_length", d.capString(hb.clen)))
		}
	}
	if request && strings.HasPrefix(hb.ctype, "application/grpc") {
		svc, m := grpcNames(hb.pseudo[pPath])
		info = append(info, decode.String("grpc_service", d.capString(svc)), decode.String("grpc_method", d.capString(m)))
	}
	if hb.hasGrpc {
		info = append(info, decode.String("grpc_status", d.capString(hb.grpcStat)))
		if hb.grpcMsg != "" {
			info = append(info, decode.String("grpc_message", d.capString(hb.grpcMsg)))
		}
	}
	if trailers {
		info = append(info, decode.Bool("trailers", true))
	}
	lines := make([]string, len(hb.fields))
	for i, f := range hb.fields {
		lines[i] = d.capString(f.Name + ": " + f.Value)
	}
	info = append(info, decode.Strings("headers", lines))
	if hb.nfields > len(hb.fields) {
		info = append(info, decode.Int("headers_omitted", int64(hb.nfields-len(hb.fields))))
	}
	if hb.over {
		info = append(info, decode.Bool("headers_truncated", true))
	}
	return info
}
