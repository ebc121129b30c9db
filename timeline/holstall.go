package timeline

import (
	"slices"
	"strconv"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/tcpflow"
)

// Head-of-line stall attribution.
//
// A TCP hol-stall names the streams whose frames had arrived complete
// behind the hole and waited for it (streams, the victims) and the
// streams that owned the missing bytes (culprit_streams). Each direction
// remembers the byte ranges of its last maxUnits units that carried a
// stream, and a stall's ranges are looked up there: victims are the units
// that ended among the held bytes, culprits those that overlap the hole.
//
// A unit is what the decoder completes at once: an HTTP/2 frame on h2c;
// on TLS the records since the last one whose plaintext completed an
// HTTP/2 frame or HTTP/1.1 message part that named a stream (record
// granularity: a frame spanning records owns them all, and so do the
// other frames that end in the last of them); for other decoders the
// bytes since the last event that named a stream. The decoder is fed up
// to one unit end at a time, so that the events of one call belong to the
// unit that ended there. Events name the stream: HTTP/2's stream ID,
// HTTP/1.1's exchange ordinal; stream 0 (the HTTP/2 connection) is left
// out. The memory serves both capture points: at the receiver the units
// complete while the hole's and the held bytes are fed, just before the
// stall is emitted; at the sender they were decoded before the
// acknowledgments showed the hole.

// unitKind says how a direction's bytes divide into units.
type unitKind uint8

const (
	// unitsEvents: the bytes between events that carried a stream.
	unitsEvents unitKind = iota
	// unitsTLS: TLS records (5-byte header, length in bytes 3-4).
	unitsTLS
	// unitsH2: HTTP/2 frames (9-byte header), after the client's
	// 24-byte connection preface.
	unitsH2
)

// maxUnits bounds the units each direction remembers.
const maxUnits = 512

// unitRec is a remembered unit: stream bytes [start, end) carried stream.
type unitRec struct {
	start, end uint64
	stream     int64
}

// holDir is one direction's attribution state.
type holDir struct {
	kind unitKind
	off  uint64 // stream offset of the next byte fed to the decoder
	// start is where the current unit began; for unitsH2 stream is its
	// stream once its header is complete (else NoValue).
	start  uint64
	hdr    [9]byte
	nhdr   int
	left   uint64 // body bytes of the current unit still to come
	skip   int    // preface bytes still to pass
	stream int64
	broken bool // a hole lost the framing: units are events' again
	marked bool // an event carried a stream during the last call
	// lastStream is the stream of the last event that carried one.
	lastStream int64

	// units is a ring of remembered units, grown up to maxUnits; head
	// is the oldest once it is full.
	units []unitRec
	head  int
}

func (d *holDir) hdrLen() int {
	if d.kind == unitsTLS {
		return 5
	}
	return 9
}

// span returns how many of data's bytes to feed next: up to the end of
// the current unit when it ends within data (ended), else all of them.
func (d *holDir) span(data []byte) (n int, ended bool) {
	if d.kind == unitsEvents || d.broken {
		return len(data), false
	}
	for n < len(data) {
		if d.skip > 0 {
			k := min(d.skip, len(data)-n)
			d.skip -= k
			n += k
			if d.skip == 0 {
				return n, true // the preface is a unit of its own
			}
			continue
		}
		if hl := d.hdrLen(); d.nhdr < hl {
			k := copy(d.hdr[d.nhdr:hl], data[n:])
			d.nhdr += k
			n += k
			if d.nhdr < hl {
				return n, false
			}
			if d.kind == unitsTLS {
				if d.hdr[0] < 20 || d.hdr[0] > 24 || d.hdr[1] != 3 {
					// Not a record header (SSL 2, or lost framing):
					// units are events' from here.
					d.broken = true
					return len(data), false
				}
				d.left = uint64(d.hdr[3])<<8 | uint64(d.hdr[4])
			} else {
				d.left = uint64(d.hdr[0])<<16 | uint64(d.hdr[1])<<8 | uint64(d.hdr[2])
				d.stream = int64(d.hdr[5]&0x7f)<<24 | int64(d.hdr[6])<<16 | int64(d.hdr[7])<<8 | int64(d.hdr[8])
			}
			if d.left == 0 {
				return n, true
			}
			continue
		}
		k := min(d.left, uint64(len(data)-n))
		d.left -= k
		n += int(k)
		return n, d.left == 0
	}
	return n, false
}

// advance moves past n fed bytes; ended says a unit ended there. A TLS
// record whose plaintext completed nothing that names a stream (the
// middle of a large frame) joins the next one: the frame that ends there
// owns its bytes too.
func (d *holDir) advance(n int, ended bool) {
	d.off += uint64(n)
	switch {
	case d.kind == unitsEvents || d.broken:
		if d.marked {
			d.start = d.off
		}
	case ended:
		if d.kind == unitsH2 || d.marked {
			d.start = d.off
		}
		d.nhdr, d.stream = 0, decode.NoValue
	}
	d.marked = false
}

// lose accounts for n bytes that will never be fed: the framing is lost.
func (d *holDir) lose(n uint64) {
	d.off += n
	d.start, d.nhdr, d.skip, d.stream, d.broken = d.off, 0, 0, decode.NoValue, true
}

// remember adds a unit that carried a stream, unless the newest is the
// same (several events of one unit).
func (d *holDir) remember(u unitRec) {
	d.marked = true
	if n := len(d.units); n > 0 {
		i := n - 1
		if n == maxUnits {
			i = (d.head + maxUnits - 1) % maxUnits
		}
		last := &d.units[i]
		if *last == u {
			return
		}
	}
	if len(d.units) < maxUnits {
		// Grown as needed: a short connection keeps a short list.
		d.units = append(d.units, u)
		return
	}
	d.units[d.head] = u
	d.head = (d.head + 1) % maxUnits
}

// victims appends to dst the streams of the remembered units that ended
// within [from, to): complete, and readable only when the hole before
// them was filled. A unit that ended later was not held back by the hole.
func (d *holDir) victims(dst []int64, from, to uint64) []int64 {
	for _, u := range d.units {
		if u.end > from && u.end <= to {
			dst = append(dst, u.stream)
		}
	}
	return dst
}

// culprits appends to dst the streams of the units that overlap the hole
// [from, to): the remembered ones, and on h2c a frame still incomplete
// whose header was read.
func (d *holDir) culprits(dst []int64, from, to uint64) []int64 {
	for _, u := range d.units {
		if u.start < to && u.end > from {
			dst = append(dst, u.stream)
		}
	}
	if d.kind == unitsH2 && !d.broken && d.stream > 0 && d.nhdr == 9 && d.start < to {
		dst = append(dst, d.stream)
	}
	return dst
}

// setUnits chooses how the directions' bytes divide into units once the
// decoder named name attached.
func (c *conn) setUnits(name string) {
	x := c.more()
	for i := range x.hol {
		d := &x.hol[i]
		d.stream = decode.NoValue
		switch name {
		case "tls":
			d.kind = unitsTLS
		case "http2":
			d.kind = unitsH2
			if i == decode.C2S.Index() {
				d.skip = len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
			}
		}
	}
}

// feed hands data to the attached decoder one unit end at a time, noting
// which unit each call completes.
func (c *conn) feed(dir decode.Dir, data []byte, at decode.Position) {
	d := &c.x.hol[dir.Index()]
	if c.x.emitFn == nil {
		c.x.emitFn = c.emit // one method value, not one per call
	}
	for len(data) > 0 && c.appState == appAttached {
		n, ended := d.span(data)
		piece := data[:n]
		c.x.feeding, c.x.feedFrom, c.x.feedUnit = dir, d.off, unitRec{start: d.start, end: d.off + uint64(n)}
		c.guard(at, func() error { return c.x.app.Data(dir, piece, at, c.x.emitFn) })
		c.x.feeding = decode.DirNone
		d.advance(n, ended)
		data = data[n:]
	}
}

// noteStream remembers the unit being fed when an event names a stream.
func (c *conn) noteStream(e *decode.Event) {
	if c.x == nil || c.x.feeding == decode.DirNone || e.Stream <= 0 || e.Layer == decode.LayerAnalysis ||
		e.Layer == decode.LayerConn || (e.Dir != c.x.feeding && e.Dir != decode.DirNone) {
		return
	}
	c.x.hasStreams = true
	d := &c.x.hol[c.x.feeding.Index()]
	u := c.x.feedUnit
	u.stream = e.Stream
	if (d.kind == unitsEvents || d.broken) && d.marked && d.lastStream != e.Stream {
		// Without framing, a second stream's event in one call began
		// after the first one's unit ended, within this call's bytes.
		u.start = c.x.feedFrom
	}
	d.lastStream = e.Stream
	d.remember(u)
}

// stall is a filled gap waiting for its held bytes to be decoded.
type stall struct {
	dir decode.Dir
	gap tcpflow.Gap
}

// flushStalls emits the hol-stall events of the gaps filled by the last
// segment, now that the bytes held behind them were decoded.
func (c *conn) flushStalls() {
	if c.x == nil {
		return
	}
	for i := range c.x.stalls {
		c.emitStall(&c.x.stalls[i])
	}
	c.x.stalls = c.x.stalls[:0]
}

func (c *conn) emitStall(s *stall) {
	g := &s.gap
	d := &c.x.hol[s.dir.Index()]
	gapEnd := g.Offset + g.Len
	point, side := "receiver", s.dir == decode.S2C // the receiver of s2c is the client
	if g.Downstream {
		point, side = "sender", s.dir == decode.C2S
	}
	if side {
		c.x.holSides[0]++
	} else {
		c.x.holSides[1]++
	}
	e := decode.NewEvent(g.FilledFrame, g.Filled, s.dir, decode.LayerAnalysis, typeHOLStall)
	e.Len = int64(g.Blocked)
	info := make(decode.Info, 0, 12)
	info = append(info,
		decode.String("scope", "connection"),
		decode.String("start", g.Opened.UTC().Format(time.RFC3339Nano)),
		decode.String("end", g.Filled.UTC().Format(time.RFC3339Nano)),
		decode.Millis("duration_ms", g.Filled.Sub(g.Opened)),
		decode.Int("start_frame", g.OpenedFrame),
		decode.Uint("gap_seq", g.Offset+1),
		decode.Uint("gap_len", g.Len),
		decode.Uint("blocked_bytes", g.Blocked),
	)
	if c.x.hasStreams {
		c.x.scratch = d.victims(c.x.scratch[:0], gapEnd, gapEnd+g.Blocked)
		info = append(info, decode.Strings("streams", streamList(c.x.scratch)))
		c.x.scratch = d.culprits(c.x.scratch[:0], g.Offset, gapEnd)
		info = append(info, decode.Strings("culprit_streams", streamList(c.x.scratch)))
	}
	info = append(info, decode.String("capture_point", point))
	e.Info = info
	c.emit(e)
}

// streamList sorts the streams and names each once.
func streamList(ids []int64) []string {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// capturePoint says where the capture was taken as the stalls tell: near
// the client (the sender of the client's lost data, the receiver of the
// server's), near the server, or between them (stalls of both kinds).
func (c *conn) capturePoint() string {
	if c.x == nil {
		return ""
	}
	switch {
	case c.x.holSides[0] > 0 && c.x.holSides[1] > 0:
		return "middle"
	case c.x.holSides[0] > 0:
		return "client"
	case c.x.holSides[1] > 0:
		return "server"
	}
	return ""
}
