package h2

import (
	"encoding/binary"
	"io"
	"strconv"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// initialWindow is every flow-control window's size before SETTINGS and
// WINDOW_UPDATE change it (RFC 9113 §6.9.2).
const initialWindow = 65535

// payload modes of the frame being read.
const (
	modeBuffer = iota // buffered, then parsed by the Framer
	modeData          // DATA: counted as it arrives, never buffered
	modeSkip          // over Options.MaxFrameSize: skipped
)

// bigBuffer is the size above which a frame buffer is dropped after use
// rather than kept for the next frame.
const bigBuffer = 64 << 10

// dirState is one direction's framing, header decoding and the SETTINGS
// its sender advertised.
type dirState struct {
	dir     decode.Dir
	stopped bool

	// Framing.
	preface int // client preface bytes matched (C2S); len(preface) when done
	hdr     [9]byte
	nhdr    int
	fh      http2.FrameHeader
	left    uint32 // payload bytes still to come
	mode    int
	pad     int // DATA: pad length, -1 until read
	start   decode.Position
	buf     []byte
	rd      frameReader
	fr      *http2.Framer

	// The header blocks this direction sends.
	hb headerBlocks

	// What this direction's sender advertised as a receiver.
	maxFrame     uint32  // SETTINGS_MAX_FRAME_SIZE
	tableAcked   uint32  // SETTINGS_HEADER_TABLE_SIZE, acknowledged
	pendingTable []int64 // per SETTINGS frame not yet acknowledged: its HEADER_TABLE_SIZE or -1
}

// Decoder decodes both directions of one HTTP/2 connection: frames,
// header blocks, stream states, flow-control windows and exchanges. It
// implements decode.StreamDecoder and decode.Summarizer.
type Decoder struct {
	opts Options
	dirs [2]dirState

	streams map[uint32]*stream
	// maxID is the highest stream ID the client opened (0) and the
	// server promised (1): lower IDs not in streams are closed.
	maxID [2]uint32
	// initWin is the initial stream window of each direction's sender:
	// the peer's SETTINGS_INITIAL_WINDOW_SIZE.
	initWin [2]int64
	// connWin is each direction's sender's connection window.
	connWin [2]int64
	// connStall is each direction's sender's stall on the connection
	// window, while one is in progress.
	connStall [2]fcStall

	goaways [2]goawaySeen

	requests   int
	streamsCap bool // the MaxStreams cap event was emitted
}

func (d *Decoder) init() {
	d.streams = make(map[uint32]*stream)
	for i := range d.dirs {
		s := &d.dirs[i]
		s.dir = decode.Dir(i + 1)
		s.maxFrame = 16384
		s.tableAcked = 4096
		s.fr = newFramer(&s.rd)
		s.hb.init(d.opts, s.dir)
		d.initWin[i] = initialWindow
		d.connWin[i] = initialWindow
	}
	d.dirs[decode.S2C.Index()].preface = len(preface)
}

func newFramer(r *frameReader) *http2.Framer {
	fr := http2.NewFramer(nil, r)
	fr.AllowIllegalReads = true
	fr.SetReuseFrames()
	return fr
}

// Data implements decode.StreamDecoder.
func (d *Decoder) Data(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) error {
	if dir != decode.C2S && dir != decode.S2C {
		return nil
	}
	s := &d.dirs[dir.Index()]
	for len(data) > 0 && !s.stopped {
		if s.preface < len(preface) {
			data = d.readPreface(s, data, at, emit)
			continue
		}
		if s.nhdr < len(s.hdr) {
			if s.nhdr == 0 {
				s.start = at
			}
			n := copy(s.hdr[s.nhdr:], data)
			s.nhdr += n
			data = data[n:]
			if s.nhdr < len(s.hdr) {
				break
			}
			d.beginFrame(s, at, emit)
			if s.left == 0 {
				d.endFrame(s, nil, at, emit)
			}
			continue
		}
		n := min(int(s.left), len(data))
		switch s.mode {
		case modeData:
			if s.pad < 0 {
				s.pad = int(data[0])
			}
		case modeBuffer:
			if len(s.buf) == 0 && n == int(s.left) {
				// The whole payload is here: parse it in place.
				s.left = 0
				d.endFrame(s, data[:n], at, emit)
				data = data[n:]
				continue
			}
			s.buf = append(s.buf, data[:n]...)
		}
		s.left -= uint32(n)
		data = data[n:]
		if s.left == 0 {
			d.endFrame(s, s.buf, at, emit)
		}
	}
	return nil
}

// readPreface matches the client connection preface and returns the bytes
// after it.
func (d *Decoder) readPreface(s *dirState, data []byte, at decode.Position, emit decode.Emit) []byte {
	if s.preface == 0 {
		s.start = at
	}
	n := min(len(data), len(preface)-s.preface)
	if string(data[:n]) != preface[s.preface:s.preface+n] {
		d.stop(s, "the client's first bytes are not the HTTP/2 connection preface", at, emit)
		return nil
	}
	s.preface += n
	if s.preface == len(preface) {
		e := decode.NewEvent(at.Frame, at.TS, decode.C2S, decode.LayerHTTP2, TypePreface)
		e.Len = int64(len(preface))
		e.Flags = decode.FlagAppData
		e.Info = decode.Info{}
		emit(e)
	}
	return data[n:]
}

// beginFrame reads a complete frame header and chooses how its payload is
// read.
func (d *Decoder) beginFrame(s *dirState, at decode.Position, emit decode.Emit) {
	h := &s.hdr
	s.fh = http2.FrameHeader{
		Type:     http2.FrameType(h[3]),
		Flags:    http2.Flags(h[4]),
		Length:   uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2]),
		StreamID: binary.BigEndian.Uint32(h[5:9]) & (1<<31 - 1),
	}
	s.left = s.fh.Length
	s.buf = s.buf[:0]
	switch {
	case s.fh.Type == http2.FrameData:
		s.mode, s.pad = modeData, 0
		if s.fh.Flags.Has(http2.FlagDataPadded) {
			s.pad = -1
		}
	case int(s.fh.Length) > d.opts.MaxFrameSize:
		s.mode = modeSkip
		d.capLimit(s.dir, at, emit, "frame_size", d.opts.MaxFrameSize,
			decode.String("frame_type", string(frameTypeName(s.fh.Type))), decode.Uint("skipped", uint64(s.fh.Length)))
	default:
		s.mode = modeBuffer
	}
}

// endFrame handles a complete frame; payload is nil for DATA and skipped
// frames.
func (d *Decoder) endFrame(s *dirState, payload []byte, at decode.Position, emit decode.Emit) {
	s.nhdr = 0
	switch s.mode {
	case modeData:
		d.data(s, at, emit)
	case modeSkip:
		if s.hb.active {
			d.abortBlock(s, "a header block frame was skipped", at, emit)
		}
		e := d.frameEvent(s, frameTypeName(s.fh.Type), at)
		var st *stream
		if s.fh.Type == http2.FrameHeaders {
			st = d.headersOpen(s, &e, at, emit)
		}
		if s.fh.StreamID != 0 {
			e.Info = append(e.Info, decode.String("state", d.stateOf(s.fh.StreamID)))
		}
		e.Info = append(e.Info, decode.String("error", "payload of "+strconv.FormatUint(uint64(s.fh.Length), 10)+
			" bytes over the "+strconv.Itoa(d.opts.MaxFrameSize)+"-byte frame cap skipped"))
		emit(e)
		if s.fh.Type == http2.FrameHeaders || s.fh.Type == http2.FrameContinuation || s.fh.Type == http2.FramePushPromise {
			d.hpackFail(s, "a header block fragment was skipped", at, emit)
		}
		if st != nil {
			d.settle(st, at, emit)
		}
	default:
		s.rd = frameReader{s.hdr[:], payload}
		f, err := s.fr.ReadFrame()
		s.rd = frameReader{}
		d.frame(s, f, err, at, emit)
		if s.fh.Length > bigBuffer {
			// Neither buffer keeps a rare large frame's memory.
			s.buf = nil
			s.fr = newFramer(&s.rd)
		}
	}
}

// stop gives up on a direction: a decode-error event says why; its later
// bytes are ignored. Events held for a header block are flushed.
func (d *Decoder) stop(s *dirState, msg string, at decode.Position, emit decode.Emit) {
	d.flushHeld(s, emit)
	s.hb.active = false
	s.stopped, s.buf = true, nil
	d.decodeError(s.dir, msg+"; stopped decoding this direction", at, emit)
}

func (d *Decoder) decodeError(dir decode.Dir, msg string, at decode.Position, emit decode.Emit) {
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerConn, decode.TypeDecodeError)
	e.Info = decode.Info{decode.String("decoder", "http2"), decode.String("error", dir.String()+": "+msg)}
	emit(e)
}

// capLimit emits a conn/cap-limit event: the cap's name and limit, then
// what was dropped.
func (d *Decoder) capLimit(dir decode.Dir, at decode.Position, emit decode.Emit, name string, limit int, dropped ...decode.Field) {
	emit(decode.CapLimit(at, dir, "http2", name, int64(limit), dropped...))
}

// Skip implements decode.StreamDecoder: a hole loses the framing, so the
// direction is given up.
func (d *Decoder) Skip(dir decode.Dir, n uint64, at decode.Position, emit decode.Emit) {
	if dir != decode.C2S && dir != decode.S2C {
		return
	}
	if s := &d.dirs[dir.Index()]; !s.stopped {
		msg := "bytes missing"
		if n > 0 {
			msg = strconv.FormatUint(n, 10) + " " + msg
		}
		d.stop(s, msg, at, emit)
	}
}

// End implements decode.StreamDecoder: events held for an unfinished
// header block are emitted, then an exchange for every stream whose
// response did not end, with incomplete set.
func (d *Decoder) End(at decode.Position, emit decode.Emit) {
	for i := range d.dirs {
		s := &d.dirs[i]
		if s.hb.active && len(s.hb.held) > 0 {
			s.hb.held[0].Info = append(s.hb.held[0].Info, decode.String("error", "header block not ended"))
		}
		s.hb.active = false
		d.flushHeld(s, emit)
	}
	d.endStreams(at, emit)
}

// Summary implements decode.Summarizer: requests is the number of exchange
// events.
func (d *Decoder) Summary() decode.Info {
	return decode.Info{decode.Int("requests", int64(d.requests))}
}

// Window returns the flow-control window the sender of dir has left on a
// stream (0: the connection), as the frames seen so far imply (RFC 9113
// §6.9): its initial size, less the DATA sent, plus the peer's
// WINDOW_UPDATE increments and SETTINGS_INITIAL_WINDOW_SIZE changes. ok is
// false for a stream not being tracked. A window at or below zero with
// data left to send is a flow-control stall.
func (d *Decoder) Window(dir decode.Dir, stream uint32) (win int64, ok bool) {
	if dir != decode.C2S && dir != decode.S2C {
		return 0, false
	}
	if stream == 0 {
		return d.connWin[dir.Index()], true
	}
	st := d.streams[stream]
	if st == nil {
		return 0, false
	}
	return d.streamWindow(st, dir.Index()), true
}

// streamWindow is a stream's window for the sender of direction index i:
// the current initial window plus the stream's WINDOW_UPDATEs less its
// DATA.
func (d *Decoder) streamWindow(st *stream, i int) int64 { return d.initWin[i] + st.adj[i] }

// goawaySeen is the last GOAWAY of a direction that closed streams.
type goawaySeen struct {
	seen      bool
	last, max uint32 // its last stream ID; the highest stream ID then
}

// frameReader hands the Framer one buffered frame: the header, then the
// payload, which may still be the caller's bytes.
type frameReader struct{ hdr, payload []byte }

func (r *frameReader) Read(p []byte) (int, error) {
	if len(r.hdr) > 0 {
		n := copy(p, r.hdr)
		r.hdr = r.hdr[n:]
		return n, nil
	}
	if len(r.payload) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.payload)
	r.payload = r.payload[n:]
	return n, nil
}
