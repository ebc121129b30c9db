package h2

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/decode"
)

// step is a run of bytes one side sent.
type step struct {
	dir  decode.Dir
	data []byte
}

// script writes a connection's frames with x/net's Framer and HPACK
// encoder, one step per call.
type script struct {
	steps []step
	buf   [2]bytes.Buffer
	fr    [2]*http2.Framer
	hbuf  [2]bytes.Buffer
	enc   [2]*hpack.Encoder
}

func newScript() *script {
	s := &script{}
	for i := range s.fr {
		s.fr[i] = http2.NewFramer(&s.buf[i], nil)
		s.fr[i].AllowIllegalWrites = true
		s.enc[i] = hpack.NewEncoder(&s.hbuf[i])
	}
	return s
}

// preface adds the client preface and both sides' empty SETTINGS.
func (s *script) preface() *script {
	s.raw(decode.C2S, []byte(http2.ClientPreface))
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteSettings() })
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteSettings() })
	return s
}

// do runs write with dir's Framer and records what it wrote.
func (s *script) do(dir decode.Dir, write func(f *http2.Framer)) *script {
	i := dir.Index()
	write(s.fr[i])
	s.raw(dir, bytes.Clone(s.buf[i].Bytes()))
	s.buf[i].Reset()
	return s
}

func (s *script) raw(dir decode.Dir, b []byte) *script {
	s.steps = append(s.steps, step{dir, b})
	return s
}

// block encodes name, value pairs with dir's HPACK encoder.
func (s *script) block(dir decode.Dir, kv ...string) []byte {
	i := dir.Index()
	s.hbuf[i].Reset()
	for j := 0; j+1 < len(kv); j += 2 {
		s.enc[i].WriteField(hpack.HeaderField{Name: kv[j], Value: kv[j+1]})
	}
	return bytes.Clone(s.hbuf[i].Bytes())
}

// headers writes one HEADERS frame with the block of kv.
func (s *script) headers(dir decode.Dir, id uint32, end bool, kv ...string) *script {
	b := s.block(dir, kv...)
	return s.do(dir, func(f *http2.Framer) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true})
	})
}

func (s *script) request(id uint32, end bool, method, path string, kv ...string) *script {
	return s.headers(decode.C2S, id, end, append([]string{":method", method, ":scheme", "http", ":authority", "example.test", ":path", path}, kv...)...)
}

func (s *script) response(id uint32, end bool, status string, kv ...string) *script {
	return s.headers(decode.S2C, id, end, append([]string{":status", status}, kv...)...)
}

func (s *script) data(dir decode.Dir, id uint32, end bool, n int) *script {
	return s.do(dir, func(f *http2.Framer) { f.WriteData(id, end, make([]byte, n)) })
}

// stream returns one direction's bytes.
func (s *script) stream(dir decode.Dir) []byte {
	var b []byte
	for _, st := range s.steps {
		if st.dir == dir {
			b = append(b, st.data...)
		}
	}
	return b
}

// t0 is the capture time of step 0; step i is i milliseconds later.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// run feeds the steps to d whole, each at its own frame and time, then
// ends the connection.
func run(d *Decoder, steps []step) []decode.Event {
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	for i, st := range steps {
		at := decode.Position{Frame: int64(i + 1), TS: t0.Add(time.Duration(i) * time.Millisecond)}
		d.Data(st.dir, st.data, at, emit)
	}
	d.End(decode.Position{Frame: int64(len(steps) + 1), TS: t0.Add(time.Duration(len(steps)) * time.Millisecond)}, emit)
	return evs
}

// runChunks feeds each step in random-sized chunks.
func runChunks(d *Decoder, steps []step, rng *rand.Rand) []decode.Event {
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	for i, st := range steps {
		at := decode.Position{Frame: int64(i + 1), TS: t0.Add(time.Duration(i) * time.Millisecond)}
		for b := st.data; len(b) > 0; {
			n := min(len(b), 1+rng.Intn(20))
			d.Data(st.dir, b[:n], at, emit)
			b = b[n:]
		}
	}
	d.End(decode.Position{Frame: int64(len(steps) + 1), TS: t0.Add(time.Duration(len(steps)) * time.Millisecond)}, emit)
	return evs
}

// get returns an info field's value as text, "" when absent.
func get(e decode.Event, key string) string {
	f, ok := e.Info.Get(key)
	if !ok {
		return ""
	}
	return string(f.AppendValue(nil))
}

// line renders an event on one line for test messages and comparisons.
func line(e decode.Event) string {
	var b strings.Builder
	b.WriteString(e.Dir.String())
	b.WriteByte(' ')
	b.WriteString(e.Layer.String())
	b.WriteByte('/')
	b.WriteString(string(e.Type))
	if e.Stream != decode.NoValue {
		b.WriteString(" s")
		b.Write(decode.AppendInt(nil, e.Stream))
	}
	if e.Len != decode.NoValue {
		b.WriteString(" len=")
		b.Write(decode.AppendInt(nil, e.Len))
	}
	for _, f := range e.Info {
		b.WriteByte(' ')
		b.WriteString(f.Key)
		b.WriteByte('=')
		b.Write(f.AppendValue(nil))
	}
	return b.String()
}

// lines renders events without positions, to compare runs.
func lines(evs []decode.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = line(e)
	}
	return out
}

// ofType returns the events of one type.
func ofType(evs []decode.Event, typ decode.Type) []decode.Event {
	var out []decode.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func dump(t *testing.T, evs []decode.Event) {
	t.Helper()
	for _, e := range evs {
		t.Log(line(e))
	}
}

// preamble is what a script's preface() gives.
func preamble() []want {
	return []want{
		{TypePreface, decode.C2S, -1, nil, nil},
		{TypeSettings, decode.C2S, 0, nil, nil},
		{TypeSettings, decode.S2C, 0, nil, nil},
	}
}
