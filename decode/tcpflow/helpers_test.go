package tcpflow

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
)

// t0 is the time of every test's first segment; times are fixed so that
// reruns are identical.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// seg describes one segment for a test. Frames are numbered from 1 in the
// order of the list.
type seg struct {
	dir      decode.Dir
	ms       float64 // time since t0
	flags    string  // letters S A F R P: "S", "SA", "PA", "FA", "R", "RA"
	seq, ack uint32
	data     string
	wire     int    // payload length on the wire when the snap length cut data; 0 means len(data)
	win      uint16 // raw window; 0 means 65535 unless zero
	zero     bool
	wscale   int8                            // window scale option plus one; 0 means none
	sackOK   bool                            // SACK permitted option (SYNs)
	sacks    [netpkt.MaxSACKBlocks][2]uint32 // SACK blocks; empty ones are left out
}

func parseFlags(s string) uint16 {
	var f uint16
	for _, c := range s {
		switch c {
		case 'S':
			f |= netpkt.FlagSYN
		case 'A':
			f |= netpkt.FlagACK
		case 'F':
			f |= netpkt.FlagFIN
		case 'R':
			f |= netpkt.FlagRST
		case 'P':
			f |= netpkt.FlagPSH
		default:
			panic("bad flag letter " + string(c))
		}
	}
	return f
}

// segment builds the Segment and its TCP header for frame.
func (s seg) segment(frame int64) (*Segment, *netpkt.TCP) {
	t := &netpkt.TCP{Seq: s.seq, Ack: s.ack, Flags: parseFlags(s.flags), Window: s.win, WScale: s.wscale - 1,
		SACKPermitted: s.sackOK}
	for _, b := range s.sacks {
		if b != [2]uint32{} {
			t.SACK[t.NSACK] = netpkt.SACKBlock{Left: b[0], Right: b[1]}
			t.NSACK++
		}
	}
	if s.win == 0 && !s.zero {
		t.Window = 65535
	}
	n := len(s.data)
	if s.wire > n {
		n = s.wire
	}
	return &Segment{Frame: frame, TS: at(s.ms), TCP: t, Payload: []byte(s.data), PayloadLen: n}, t
}

// op is one Handler call as the recorder saw it.
type op struct {
	kind string // "data", "gap", "skip"
	dir  decode.Dir
	c    Chunk // Data copied
	g    Gap
	s    Skip
}

// recorder is a Handler that keeps every call and checks that each
// direction's deliveries are contiguous.
type recorder struct {
	t      testing.TB
	ops    []op
	next   [2]uint64 // next expected offset per direction
	stream [2][]byte // delivered bytes, skipped bytes as '?'
}

func newRecorder(t testing.TB) *recorder { return &recorder{t: t} }

func (r *recorder) at(dir decode.Dir, off uint64, what string) {
	r.t.Helper()
	if off != r.next[dir.Index()] {
		r.t.Fatalf("%s %s at offset %d; want %d (contiguous)", dir, what, off, r.next[dir.Index()])
	}
}

func (r *recorder) Data(dir decode.Dir, c *Chunk) {
	r.t.Helper()
	r.at(dir, c.Offset, "data")
	if len(c.Data) == 0 {
		r.t.Fatalf("%s empty data chunk at %d", dir, c.Offset)
	}
	cc := *c
	cc.Data = bytes.Clone(c.Data)
	r.ops = append(r.ops, op{kind: "data", dir: dir, c: cc})
	r.next[dir.Index()] += uint64(len(c.Data))
	r.stream[dir.Index()] = append(r.stream[dir.Index()], c.Data...)
}

func (r *recorder) GapFilled(dir decode.Dir, g *Gap) {
	r.ops = append(r.ops, op{kind: "gap", dir: dir, g: *g})
}

func (r *recorder) Skip(dir decode.Dir, s *Skip) {
	r.t.Helper()
	r.at(dir, s.Offset, "skip")
	if s.Len == 0 {
		r.t.Fatalf("%s empty skip at %d", dir, s.Offset)
	}
	r.ops = append(r.ops, op{kind: "skip", dir: dir, s: *s})
	r.next[dir.Index()] += s.Len
	r.stream[dir.Index()] = append(r.stream[dir.Index()], bytes.Repeat([]byte{'?'}, int(min(s.Len, 1<<20)))...)
}

// kinds lists the recorded calls compactly: "data c2s 0+5 f1", "gap ...".
func (r *recorder) kinds() []string {
	var out []string
	for _, o := range r.ops {
		switch o.kind {
		case "data":
			s := fmt.Sprintf("data %s %d+%d f%d", o.dir, o.c.Offset, len(o.c.Data), o.c.Frame)
			if o.c.Held {
				s += fmt.Sprintf(" held>f%d", o.c.ReleasedFrame)
			}
			out = append(out, s)
		case "gap":
			s := fmt.Sprintf("gap %s %d+%d f%d>f%d blocked %d", o.dir, o.g.Offset, o.g.Len, o.g.OpenedFrame, o.g.FilledFrame, o.g.Blocked)
			if o.g.Downstream {
				s += " downstream"
			}
			out = append(out, s)
		case "skip":
			out = append(out, fmt.Sprintf("skip %s %d+%d %s f%d", o.dir, o.s.Offset, o.s.Len, o.s.Reason, o.s.Frame))
		}
	}
	return out
}

// run feeds segs to a new Conn and returns the events.
func run(t testing.TB, opts Options, h Handler, segs []seg) (*Conn, []decode.Event) {
	t.Helper()
	c := New(opts, h)
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	for i, s := range segs {
		sg, _ := s.segment(int64(i + 1))
		c.Segment(s.dir, sg, emit)
	}
	return c, evs
}

// evString renders an event compactly for comparisons: "f3 c2s retransmission".
func evString(e decode.Event) string {
	return fmt.Sprintf("f%d %s %s", e.Frame, e.Dir, e.Type)
}

func evStrings(evs []decode.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, evString(e))
	}
	return out
}

// infoOf renders selected info keys of an event: "rtt_ms=20 refused=true".
func infoOf(e decode.Event, keys ...string) string {
	var parts []string
	for _, k := range keys {
		f, ok := e.Info.Get(k)
		if !ok {
			continue
		}
		parts = append(parts, k+"="+string(f.AppendValue(nil)))
	}
	return strings.Join(parts, " ")
}

func find(evs []decode.Event, frame int64, typ decode.Type) (decode.Event, bool) {
	for _, e := range evs {
		if e.Frame == frame && e.Type == typ {
			return e, true
		}
	}
	return decode.Event{}, false
}

const (
	cISN = 1000
	sISN = 5000
)

// hs is a plain handshake: SYN at 0, SYN-ACK at 10 ms, ACK at 11 ms.
func hs() []seg {
	return []seg{
		{dir: decode.C2S, ms: 0, flags: "S", seq: cISN},
		{dir: decode.S2C, ms: 10, flags: "SA", seq: sISN, ack: cISN + 1},
		{dir: decode.C2S, ms: 11, flags: "A", seq: cISN + 1, ack: sISN + 1},
	}
}

func cat(parts ...[]seg) []seg {
	var out []seg
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
