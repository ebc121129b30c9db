package pcaptest

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// Step is a run of bytes one side of a TCP connection sent.
type Step struct {
	Dir  decode.Dir
	Data []byte
}

// Stream is one TCP connection's Steps, as the timeline's reassembly
// delivered them.
type Stream []Step

// Streams runs a capture through the timeline with a decoder that claims
// every TCP connection and returns each connection's Stream, whole: real
// bytes to seed fuzz targets with. Holes in the capture are left out.
func Streams(tb testing.TB, path string) []Stream {
	tb.Helper()
	var recs []*recorder
	reg := &decode.Registry{}
	reg.Register(decode.Sniffer{
		Name:  "pcaptest",
		Sniff: func(decode.Dir, []byte) decode.Verdict { return decode.Match },
		New: func() decode.StreamDecoder {
			r := &recorder{}
			recs = append(recs, r)
			return r
		},
	})
	Run(tb, path, Options{Registry: reg}, func(*timeline.Event) {})
	out := make([]Stream, len(recs))
	for i, r := range recs {
		out[i] = r.steps
	}
	return out
}

// Bytes returns the first n bytes of each direction, the client's first.
func (s Stream) Bytes(n int) [2][]byte {
	var b [2][]byte
	for _, st := range s {
		i := st.Dir.Index()
		if room := n - len(b[i]); room > 0 {
			b[i] = append(b[i], st.Data[:min(room, len(st.Data))]...)
		}
	}
	return b
}

// recorder is the decoder behind Streams.
type recorder struct{ steps Stream }

func (r *recorder) Data(dir decode.Dir, b []byte, _ decode.Position, _ decode.Emit) error {
	r.steps = append(r.steps, Step{Dir: dir, Data: slices.Clone(b)})
	return nil
}
func (r *recorder) Skip(decode.Dir, uint64, decode.Position, decode.Emit) {}
func (r *recorder) End(decode.Position, decode.Emit)                      {}

// maxStep is the most one step of a script holds.
const maxStep = 1<<15 - 1

// Script encodes steps as one fuzz input: each step a 2-byte big-endian
// header (top bit: the direction, 1 for S2C; low 15 bits: the length) and
// that many bytes. A step longer than 32767 bytes is cut.
func Script(steps []Step) []byte {
	var b []byte
	for _, s := range steps {
		data := s.Data[:min(len(s.Data), maxStep)]
		h := uint16(len(data))
		if s.Dir == decode.S2C {
			h |= 1 << 15
		}
		b = binary.BigEndian.AppendUint16(b, h)
		b = append(b, data...)
	}
	return b
}

// ParseScript decodes a fuzz input written by Script. Any input decodes:
// a short last step keeps what there is. The steps' data alias b.
func ParseScript(b []byte) []Step {
	var steps []Step
	for len(b) >= 2 {
		h := binary.BigEndian.Uint16(b)
		n := min(int(h&maxStep), len(b)-2)
		dir := decode.C2S
		if h&(1<<15) != 0 {
			dir = decode.S2C
		}
		steps = append(steps, Step{Dir: dir, Data: b[2 : 2+n]})
		b = b[2+n:]
	}
	return steps
}
