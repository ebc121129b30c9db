package h2

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strconv"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// frameEvent starts the event of the current frame: its type, stream,
// length, flags (docs/events.md) and the names of its flags.
func (d *Decoder) frameEvent(s *dirState, typ decode.Type, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, s.dir, decode.LayerHTTP2, typ)
	e.Stream = int64(s.fh.StreamID)
	e.Len = int64(s.fh.Length)
	e.Flags = decode.FlagAppData
	if s.dir == decode.S2C {
		switch s.fh.Type {
		case http2.FrameData, http2.FrameHeaders, http2.FramePushPromise, http2.FrameContinuation:
			e.Flags = decode.FlagReply | decode.FlagAppData
		default:
			e.Flags = decode.FlagReply
		}
	}
	// Room for the fields each type usually gets: header blocks many,
	// most frames a few.
	n := 6
	switch s.fh.Type {
	case http2.FrameHeaders, http2.FramePushPromise, http2.FrameContinuation:
		n = 20
	case http2.FrameSettings:
		n = 10
	}
	e.Info = make(decode.Info, 0, n)
	if names := flagNames(s.fh.Type, s.fh.Flags); names != nil {
		e.Info = append(e.Info, decode.Strings("flags", names))
	}
	if s.fh.Length > d.dirs[s.dir.Reverse().Index()].maxFrame {
		// Over the receiver's SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2).
		e.Info = append(e.Info, decode.Bool("oversize", true))
	}
	return e
}

// frameError words a Framer error.
func frameError(fr *http2.Framer, err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "payload too short"
	}
	msg := err.Error()
	if detail := fr.ErrorDetail(); detail != nil {
		msg += ": " + detail.Error()
	}
	return msg
}

// frame handles one complete frame other than DATA, as the Framer parsed
// it.
func (d *Decoder) frame(s *dirState, f http2.Frame, err error, at decode.Position, emit decode.Emit) {
	id := s.fh.StreamID
	if s.hb.active && (s.fh.Type != http2.FrameContinuation || id != s.hb.stream) {
		// A header block goes on in CONTINUATION frames of its stream
		// and nothing else (RFC 9113 §6.10).
		d.abortBlock(s, "header block of stream "+strconv.FormatUint(uint64(s.hb.stream), 10)+
			" interrupted by "+string(frameTypeName(s.fh.Type))+" on stream "+strconv.FormatUint(uint64(id), 10), at, emit)
	}
	typ := frameTypeName(s.fh.Type)
	e := d.frameEvent(s, typ, at)
	if err != nil {
		if id != 0 {
			e.Info = append(e.Info, decode.String("state", d.stateOf(id)))
		}
		e.Info = append(e.Info, decode.String("error", frameError(s.fr, err)))
		emit(e)
		switch s.fh.Type {
		case http2.FrameHeaders, http2.FrameContinuation, http2.FramePushPromise:
			d.hpackFail(s, "a header block fragment could not be read", at, emit)
		}
		return
	}
	var bad string // a violation found: the event's error
	switch f := f.(type) {
	case *http2.HeadersFrame:
		d.headers(s, f, e, at, emit)
		return
	case *http2.ContinuationFrame:
		d.continuation(s, f, e, at, emit)
		return
	case *http2.PushPromiseFrame:
		d.pushPromise(s, f, e, at, emit)
		return
	case *http2.PriorityFrame:
		e.Info = appendPriority(e.Info, f.PriorityParam)
	case *http2.RSTStreamFrame:
		e.Info = append(e.Info, decode.String("error_code", errCodeName(f.ErrCode)))
		if st := d.streams[id]; st != nil {
			st.resetBy(s.dir, f.ErrCode)
			e.Info = append(e.Info, decode.String("state", d.stateOf(id)))
			emit(e)
			d.settle(st, at, emit)
			return
		}
	case *http2.SettingsFrame:
		peer := s.dir.Reverse()
		old := d.initWin[peer.Index()]
		d.settings(s, f, &e, at, emit)
		emit(e)
		if d.initWin[peer.Index()] > old {
			d.initialWindowRaised(peer, at, emit)
		}
		return
	case *http2.PingFrame:
		e.Info = append(e.Info, decode.Bool("ack", f.IsAck()), decode.String("opaque", hex.EncodeToString(f.Data[:])))
	case *http2.GoAwayFrame:
		e.Info = append(e.Info, decode.Uint("last_stream_id", uint64(f.LastStreamID)),
			decode.String("error_code", errCodeName(f.ErrCode)))
		if dd := f.DebugData(); len(dd) > 0 {
			e.Info = append(e.Info, decode.String("debug_data", d.capString(string(dd))))
		}
		emit(e)
		d.goAway(s.dir, f.LastStreamID, at, emit)
		return
	case *http2.WindowUpdateFrame:
		e.Info = append(e.Info, decode.Uint("increment", uint64(f.Increment)))
		e.Info, bad = d.windowUpdate(s.dir, id, int64(f.Increment), e.Info)
	case *http2.PriorityUpdateFrame:
		e.Info = append(e.Info, decode.Uint("frame_type", uint64(s.fh.Type)),
			decode.Uint("prioritized_stream", uint64(f.PrioritizedStreamID)),
			decode.String("priority", d.capString(f.Priority)))
	case *http2.UnknownFrame:
		e.Info = append(e.Info, decode.Uint("frame_type", uint64(s.fh.Type)))
		switch s.fh.Type {
		case frameAltSvc:
			e.Info = d.altSvc(f.Payload(), e.Info)
		case frameOrigin:
			e.Info = d.origin(f.Payload(), e.Info)
		}
	}
	if id != 0 {
		e.Info = append(e.Info, decode.String("state", d.stateOf(id)))
	}
	if bad != "" {
		e.Info = append(e.Info, decode.String("error", bad))
	}
	emit(e)
	if s.fh.Type == http2.FrameWindowUpdate {
		d.windowReopened(s.dir.Reverse(), id, at, emit)
	}
}

// appendPriority adds the stream dependency fields of a PRIORITY frame or
// HEADERS with PRIORITY (RFC 9113 §5.3.2 and §6.3, deprecated but sent);
// weight is the wire value plus one, 1 to 256.
func appendPriority(info decode.Info, p http2.PriorityParam) decode.Info {
	return append(info, decode.Uint("stream_dep", uint64(p.StreamDep)), decode.Bool("exclusive", p.Exclusive),
		decode.Int("weight", int64(p.Weight)+1))
}

// data handles a complete DATA frame (RFC 9113 §6.1), whose payload was
// counted but not kept.
func (d *Decoder) data(s *dirState, at decode.Position, emit decode.Emit) {
	id := s.fh.StreamID
	if s.hb.active {
		d.abortBlock(s, "header block of stream "+strconv.FormatUint(uint64(s.hb.stream), 10)+
			" interrupted by DATA on stream "+strconv.FormatUint(uint64(id), 10), at, emit)
	}
	e := d.frameEvent(s, TypeData, at)
	body := int64(s.fh.Length)
	var bad string
	if s.fh.Flags.Has(http2.FlagDataPadded) {
		switch {
		case s.pad < 0:
			bad, body = "PADDED without a pad length", 0
		case s.pad+1 > int(s.fh.Length):
			bad, body = "pad length "+strconv.Itoa(s.pad)+" exceeds the payload", 0
		default:
			body -= int64(s.pad) + 1
			e.Info = append(e.Info, decode.Int("padding", int64(s.pad)))
		}
	}
	if id == 0 {
		bad = "DATA on stream 0"
	}
	// The whole payload, padding included, counts against both windows
	// (RFC 9113 §6.9.1).
	i := s.dir.Index()
	n := int64(s.fh.Length)
	d.connWin[i] -= n
	st := d.streams[id]
	if st != nil && id != 0 {
		st.adj[i] -= n
		e.Info = append(e.Info, decode.Int("stream_window", d.streamWindow(st, i)))
	}
	e.Info = append(e.Info, decode.Int("conn_window", d.connWin[i]))
	if d.connWin[i] <= 0 || st != nil && d.streamWindow(st, i) <= 0 {
		e.Info = append(e.Info, decode.Bool("window_exhausted", true))
	}
	if st != nil {
		st.dataFrame(s.dir, body, s.start)
		if s.fh.Flags.Has(http2.FlagDataEndStream) {
			st.endStream(s.dir)
		}
		if n > 0 {
			d.blocked(s.dir, st, at)
		}
	}
	if id != 0 {
		e.Info = append(e.Info, decode.String("state", d.stateOf(id)))
	}
	if bad != "" {
		e.Info = append(e.Info, decode.String("error", bad))
	}
	emit(e)
	if st != nil {
		d.settle(st, at, emit)
	}
}

// windowUpdate applies a WINDOW_UPDATE sent by dir, which raises the
// window of the other direction's sender (RFC 9113 §6.9.1), and adds the
// windows after it to info; bad says if a window went over the maximum.
func (d *Decoder) windowUpdate(dir decode.Dir, id uint32, inc int64, info decode.Info) (_ decode.Info, bad string) {
	i := dir.Reverse().Index()
	over := false
	if id == 0 {
		d.connWin[i] += inc
		over = d.connWin[i] > 1<<31-1
	} else if st := d.streams[id]; st != nil {
		st.adj[i] += inc
		w := d.streamWindow(st, i)
		over = w > 1<<31-1
		info = append(info, decode.Int("stream_window", w))
	}
	info = append(info, decode.Int("conn_window", d.connWin[i]))
	if over {
		bad = "window above 2^31-1 (FLOW_CONTROL_ERROR)"
	}
	return info, bad
}

// settings applies a SETTINGS frame sent by s's direction (RFC 9113
// §6.5) and adds its values to the event. Values take effect when the
// frame is seen, the ACK only settles the HPACK table bound; see doc.go.
func (d *Decoder) settings(s *dirState, f *http2.SettingsFrame, e *decode.Event, at decode.Position, emit decode.Emit) {
	if f.IsAck() {
		e.Info = append(e.Info, decode.Bool("ack", true))
		// Acknowledges the other direction's oldest SETTINGS.
		peer := &d.dirs[s.dir.Reverse().Index()]
		if len(peer.pendingTable) > 0 {
			if v := peer.pendingTable[0]; v >= 0 {
				peer.tableAcked = uint32(v)
			}
			peer.pendingTable = peer.pendingTable[1:]
			d.tableBound(peer)
		}
		return
	}
	// One entry per SETTINGS frame, so that ACKs pair with them.
	if len(s.pendingTable) == maxPendingSettings {
		if v := s.pendingTable[0]; v >= 0 {
			s.tableAcked = uint32(v)
		}
		s.pendingTable = s.pendingTable[1:]
	}
	s.pendingTable = append(s.pendingTable, -1)
	var unknown []string
	f.ForeachSetting(func(set http2.Setting) error {
		key := settingKey(set.ID)
		if key == "" {
			if len(unknown) < d.opts.MaxHeaders {
				unknown = append(unknown, "0x"+strconv.FormatUint(uint64(set.ID), 16)+"="+strconv.FormatUint(uint64(set.Val), 10))
			}
		} else {
			e.Info = setField(e.Info, decode.Uint(key, uint64(set.Val)))
		}
		d.applySetting(s, set, at, emit)
		return nil
	})
	if unknown != nil {
		e.Info = append(e.Info, decode.Strings("unknown_settings", unknown))
	}
}

// setField replaces the field of the same key (a repeated setting: the
// last one counts) or appends f.
func setField(info decode.Info, f decode.Field) decode.Info {
	for i := range info {
		if info[i].Key == f.Key {
			info[i] = f
			return info
		}
	}
	return append(info, f)
}

// applySetting applies one setting sent by s's direction, as a receiver.
func (d *Decoder) applySetting(s *dirState, set http2.Setting, at decode.Position, emit decode.Emit) {
	peer := s.dir.Reverse()
	switch set.ID {
	case http2.SettingHeaderTableSize:
		// Bounds the encoder of the other direction (RFC 7541 §4.2).
		s.pendingTable[len(s.pendingTable)-1] = int64(set.Val)
		d.tableBound(s)
		if hb := &d.dirs[peer.Index()].hb; set.Val > d.opts.MaxHeaderTableSize && !hb.tableCapped {
			hb.tableCapped = true
			d.capLimit(peer, at, emit, "header_table_size", int(d.opts.MaxHeaderTableSize),
				decode.Uint("advertised", uint64(set.Val)))
		}
	case http2.SettingInitialWindowSize:
		// Every stream window of the other direction's sender moves by
		// the difference (RFC 9113 §6.9.2): windows are kept relative to
		// the initial size.
		d.initWin[peer.Index()] = int64(set.Val)
	case http2.SettingMaxFrameSize:
		if set.Val >= 16384 && set.Val <= maxFramePayload {
			s.maxFrame = set.Val
		}
	}
}

// maxPendingSettings bounds the SETTINGS frames awaiting an ACK that are
// remembered; beyond it the oldest counts as acknowledged.
const maxPendingSettings = 16

// tableBound sets the HPACK table bound of the header blocks s's
// direction receives: its acknowledged SETTINGS_HEADER_TABLE_SIZE or,
// while a change is not acknowledged, the larger of old and new, as the
// encoder may use either (RFC 7541 §4.2); at most MaxHeaderTableSize.
func (d *Decoder) tableBound(s *dirState) {
	bound := int64(s.tableAcked)
	for _, v := range s.pendingTable {
		bound = max(bound, v)
	}
	d.dirs[s.dir.Reverse().Index()].hb.setAllowed(uint32(min(bound, int64(d.opts.MaxHeaderTableSize))))
}

// goAway closes the streams a GOAWAY from dir says were not processed:
// those the receiver initiated above lastID (RFC 9113 §6.8).
func (d *Decoder) goAway(dir decode.Dir, lastID uint32, at decode.Position, emit decode.Emit) {
	side, parity := 0, uint32(1) // the server's GOAWAY: client streams, odd
	if dir == decode.C2S {
		side, parity = 1, 0
	}
	// Streams above lastID that were there at an earlier GOAWAY with
	// the same or a lower lastID are closed already: repeated GOAWAY
	// frames cost no walk through the stream table.
	g := &d.goaways[dir.Index()]
	if d.maxID[side] <= lastID || g.seen && lastID >= g.last && d.maxID[side] == g.max {
		return
	}
	*g = goawaySeen{seen: true, last: lastID, max: d.maxID[side]}
	var ids []uint32
	for id, st := range d.streams {
		if id%2 == parity && id > lastID && st.state != stateClosed {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		st := d.streams[id]
		st.state = stateClosed
		st.goaway = true
		d.settle(st, at, emit)
	}
}

// altSvc reads an ALTSVC frame (RFC 7838 §4): origin and field value.
func (d *Decoder) altSvc(p []byte, info decode.Info) decode.Info {
	if len(p) < 2 || int(binary.BigEndian.Uint16(p))+2 > len(p) {
		return append(info, decode.String("error", "origin length exceeds the payload"))
	}
	n := int(binary.BigEndian.Uint16(p))
	if n > 0 {
		info = append(info, decode.String("origin", d.capString(string(p[2:2+n]))))
	}
	return append(info, decode.String("alt_svc", d.capString(string(p[2+n:]))))
}

// origin reads an ORIGIN frame (RFC 8336 §2): a list of origins, at most
// MaxHeaders shown.
func (d *Decoder) origin(p []byte, info decode.Info) decode.Info {
	var origins []string
	for len(p) > 0 {
		if len(p) < 2 || int(binary.BigEndian.Uint16(p))+2 > len(p) {
			return append(info, decode.Strings("origins", origins), decode.String("error", "origin entry exceeds the payload"))
		}
		n := int(binary.BigEndian.Uint16(p))
		if len(origins) < d.opts.MaxHeaders {
			origins = append(origins, d.capString(string(p[2:2+n])))
		}
		p = p[2+n:]
	}
	return append(info, decode.Strings("origins", origins))
}

// capString cuts s to MaxString bytes, marking the cut with "…".
func (d *Decoder) capString(s string) string { return decode.Cut(s, d.opts.MaxString) }
