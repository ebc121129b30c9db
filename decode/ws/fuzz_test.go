package ws

import (
	"slices"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/http1"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// A fuzz input is a script of steps: each a 2-byte big-endian header (top
// bit: direction, 1 = s2c; low 15 bits: length) and that many bytes, fed
// to a Decoder made with the fuzzed extensions. The seeds are the bytes
// after the upgrade in these shared captures, each for the edge it brings:
var seedCaptures = []string{
	"websocket/sv-websocket-compressed.pcap",                // permessage-deflate, server messages
	"websocket/sv-websocket-control-frag.pcap",              // control frames inside a fragmented message
	"websocket/zeek-two-binary-fragments.pcap",              // binary message in two fragments
	"websocket/zeek-reply-ping-coalesced.pcap",              // frame in the 101's segment
	"websocket/zeek-jupyter-websocket.pcap",                 // large binary frames, 16-bit lengths
	"malformed/zeek-websocket-oversized-close-frame.pcapng", // close frame > 125 bytes, 64-bit length
}

const maxSeed = 4 << 10

// script encodes steps as a fuzz input (pcaptest.Script).
func script(steps []step) []byte {
	ps := make([]pcaptest.Step, len(steps))
	for i, s := range steps {
		ps[i] = pcaptest.Step{Dir: s.dir, Data: s.data}
	}
	return pcaptest.Script(ps)
}

// parseScript decodes a fuzz input (pcaptest.ParseScript).
func parseScript(b []byte) []step {
	var steps []step
	for _, s := range pcaptest.ParseScript(b) {
		steps = append(steps, step{dir: s.Dir, data: s.Data})
	}
	return steps
}

// afterUpgrade records what http1 hands over after the switch.
type afterUpgrade struct {
	steps []step
	size  int
	ext   string
}

func (r *afterUpgrade) Data(dir decode.Dir, b []byte, _ decode.Position, _ decode.Emit) error {
	if r.size < maxSeed {
		r.steps = append(r.steps, step{dir: dir, data: slices.Clone(b)})
		r.size += len(b)
	}
	return nil
}
func (r *afterUpgrade) Skip(decode.Dir, uint64, decode.Position, decode.Emit) {}
func (r *afterUpgrade) End(decode.Position, decode.Emit)                      {}

func FuzzFrames(f *testing.F) {
	for _, name := range seedCaptures {
		var recs []*afterUpgrade
		reg := &decode.Registry{}
		reg.Register(http1.NewSniffer(http1.Options{Upgrade: func(u *http1.Upgrade, _ decode.Emit) decode.StreamDecoder {
			r := &afterUpgrade{ext: u.Response.Get("Sec-WebSocket-Extensions")}
			recs = append(recs, r)
			return r
		}}))
		pcaptest.Run(f, pcaptest.Shared(f, name), pcaptest.Options{Registry: reg}, func(*timeline.Event) {})
		for _, r := range recs {
			f.Add(r.ext, script(r.steps))
		}
	}
	nt := deflateMsgs(f, false, []byte("hello hello hello"))
	f.Add("permessage-deflate; client_no_context_takeover", script([]step{
		c2s(wsFrame(false, 4, OpText, key, nt[0][:2]), cf(OpPing, "x"), wsFrame(true, 0, OpContinuation, key, nt[0][2:])),
		s2c(sf(OpClose, "\x03\xe8done"), wsFrame(true, 0, 5, nil, []byte("?"))),
	}))
	f.Add("", script([]step{c2s([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 9})}))
	opts := Options{MaxMessage: 1 << 16, MaxRatio: 50, MaxString: 40}
	f.Fuzz(func(t *testing.T, ext string, in []byte) {
		steps := parseScript(in)
		h := Handshake{Key: sampleKey, Accept: sampleAccept, Extensions: ext}
		whole := fuzzRun(t, h, opts, steps, 0)
		if cut := fuzzRun(t, h, opts, steps, 3); !slices.Equal(whole, cut) {
			t.Fatalf("whole:\n%s\ncut:\n%s", strings.Join(whole, "\n"), strings.Join(cut, "\n"))
		}
	})
}

// fuzzRun is run with invariants checked on every event.
func fuzzRun(t *testing.T, h Handshake, opts Options, steps []step, chunk int) []string {
	out := run(h, opts, steps, chunk)
	for _, s := range out {
		if strings.Contains(s, "len=-") {
			t.Errorf("negative length: %s", s)
		}
	}
	return out
}
