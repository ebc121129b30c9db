package quic

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"

	"github.com/wiretrace/wiretrace/decode"
)

// recorder is a MultiStreamDecoder that keeps what it is handed.
type recorder struct {
	alpn   string
	data   map[streamKey][]byte
	fins   map[streamKey]int
	resets []streamKey
	calls  []string
	ends   int
	fail   bool // StreamData returns an error
}

func newRecorder(alpn string) *recorder {
	return &recorder{alpn: alpn, data: map[streamKey][]byte{}, fins: map[streamKey]int{}}
}

func (r *recorder) StreamData(id int64, dir decode.Dir, data []byte, fin bool, at decode.Position, emit decode.Emit) error {
	k := streamKey{uint64(id), dir}
	r.data[k] = append(r.data[k], data...)
	if fin {
		r.fins[k]++
	}
	r.calls = append(r.calls, fmt.Sprintf("%s %d %q fin=%v", dir, id, data, fin))
	if r.fail {
		return fmt.Errorf("recorder: refused")
	}
	return nil
}

func (r *recorder) StreamReset(id int64, dir decode.Dir, at decode.Position, emit decode.Emit) {
	r.resets = append(r.resets, streamKey{uint64(id), dir})
	r.calls = append(r.calls, fmt.Sprintf("%s %d reset", dir, id))
}

func (r *recorder) End(at decode.Position, emit decode.Emit) { r.ends++ }

// TestPeersStreams sends several streams, one of them large, between
// quic-go peers and checks that each stream's bytes reach Next byte-exact
// in both directions, with one fin each, the ALPN, and the key update
// quic-go makes after its first 100 packets (FirstKeyUpdateInterval).
func TestPeersStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	payloads := [][]byte{[]byte("hello"), make([]byte, 3000), make([]byte, 400<<10), make([]byte, 40<<10), []byte("x")}
	for _, p := range payloads {
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
	}
	ex := runStreams(t, false, []quicgo.Version{quicgo.Version1}, payloads)
	var rec *recorder
	opts := Options{Keys: keyStore(t, ex.keyLog), MaxFrames: 1 << 10, Next: func(alpn string) decode.MultiStreamDecoder {
		if rec != nil {
			t.Errorf("Next called twice")
		}
		rec = newRecorder(alpn)
		return rec
	}}
	evs, d := decodeWith(t, ex.datagrams, opts)
	d.End(decode.Position{}, func(decode.Event) {})
	checkDecrypted(t, evs, decode.C2S, ex.client.packets(), true)
	checkDecrypted(t, evs, decode.S2C, ex.server.packets(), true)
	if rec == nil {
		t.Fatal("Next never called")
	}
	if rec.alpn != peerALPN || rec.ends != 1 {
		t.Errorf("alpn %q, %d End calls; want %q, 1", rec.alpn, rec.ends, peerALPN)
	}
	for i, p := range payloads {
		for _, dir := range []decode.Dir{decode.C2S, decode.S2C} {
			k := streamKey{uint64(4 * i), dir}
			if got := rec.data[k]; !bytes.Equal(got, p) {
				t.Errorf("stream %d %s: %d bytes; want %d (equal prefix %v)", k.id, dir, len(got), len(p), bytes.HasPrefix(p, got))
			}
			if rec.fins[k] != 1 {
				t.Errorf("stream %d %s: %d fins; want 1", k.id, dir, rec.fins[k])
			}
		}
	}
	updates := 0
	for _, e := range evs {
		if e.Info.Has("key_update") {
			updates++
		}
		if e.Type == "hol-stall" || e.Info.Has("retransmitted") {
			t.Logf("loss on loopback: %s %v", e.Type, e.Info)
		}
	}
	if updates == 0 {
		t.Errorf("no key update seen in %d events", len(evs))
	}
}

// streamFrame encodes a STREAM frame with offset and length.
func encStream(id, off uint64, data string, fin bool) []byte {
	t := byte(0x0e)
	if fin {
		t |= 1
	}
	b := []byte{t}
	b = quicvarint.Append(b, id)
	b = quicvarint.Append(b, off)
	b = quicvarint.Append(b, uint64(len(data)))
	return append(b, data...)
}

func encReset(id, size uint64) []byte {
	b := []byte{byte(FrameResetStream)}
	b = quicvarint.Append(b, id)
	b = quicvarint.Append(b, 0)
	return quicvarint.Append(b, size)
}

// TestStreamReassembly feeds hand-made STREAM frames, one packet each, to
// the reassembly: order, holes, retransmissions, resets, caps, and the
// per-stream head-of-line stalls.
func TestStreamReassembly(t *testing.T) {
	type pkt struct {
		frames [][]byte
		ms     int // the packet's time in ms
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		pkts    []pkt
		calls   []string
		retrans []string // per packet, "" for none
		events  []string // the events the packets made, "type key=value ..."
	}{
		{name: "in order", pkts: []pkt{{frames: [][]byte{encStream(0, 0, "abc", false)}}, {frames: [][]byte{encStream(0, 3, "de", true)}}},
			calls: []string{`s2c 0 "abc" fin=false`, `s2c 0 "de" fin=true`}},
		{name: "hole filled", pkts: []pkt{{frames: [][]byte{encStream(0, 3, "de", true)}, ms: 10}, {frames: [][]byte{encStream(0, 0, "abc", false)}, ms: 35}},
			calls:  []string{`s2c 0 "abcde" fin=true`},
			events: []string{"hol-stall scope=stream stream=0 duration_ms=25 start_frame=1 gap_offset=0 gap_len=3 blocked_bytes=2 len=2"}},
		{name: "retransmission", pkts: []pkt{{frames: [][]byte{encStream(4, 0, "abc", false)}}, {frames: [][]byte{encStream(4, 0, "abcdef", false)}}},
			calls: []string{`s2c 4 "abc" fin=false`, `s2c 4 "def" fin=false`}, retrans: []string{"", "id=4 off=0 len=3"}},
		{name: "retransmission beyond a hole", pkts: []pkt{{frames: [][]byte{encStream(4, 5, "fg", false)}}, {frames: [][]byte{encStream(4, 5, "fg", false)}}, {frames: [][]byte{encStream(4, 0, "abcde", false)}}},
			calls: []string{`s2c 4 "abcdefg" fin=false`}, retrans: []string{"", "id=4 off=5 len=2", ""},
			events: []string{"hol-stall scope=stream stream=4 duration_ms=0 start_frame=1 gap_offset=0 gap_len=5 blocked_bytes=2 len=2"}},
		{name: "other streams do not wait", pkts: []pkt{{frames: [][]byte{encStream(4, 2, "cd", false), encStream(8, 0, "xy", true)}}, {frames: [][]byte{encStream(4, 0, "ab", true)}, ms: 7}},
			calls:  []string{`s2c 8 "xy" fin=true`, `s2c 4 "abcd" fin=false`},
			events: []string{"hol-stall scope=stream stream=4 duration_ms=7 start_frame=1 gap_offset=0 gap_len=2 blocked_bytes=2 len=2"}},
		{name: "fin alone", pkts: []pkt{{frames: [][]byte{encStream(0, 0, "ab", false)}}, {frames: [][]byte{encStream(0, 2, "", true)}}},
			calls: []string{`s2c 0 "ab" fin=false`, `s2c 0 "" fin=true`}},
		{name: "reset", pkts: []pkt{{frames: [][]byte{encStream(0, 0, "ab", false)}}, {frames: [][]byte{encReset(0, 9)}}, {frames: [][]byte{encStream(0, 2, "cd", false)}}},
			calls: []string{`s2c 0 "ab" fin=false`, `s2c 0 reset`}},
		{name: "stream buffer cap", opts: Options{MaxStreamBuffer: 8}, pkts: []pkt{{frames: [][]byte{encStream(0, 0, "ab", false)}}, {frames: [][]byte{encStream(0, 10, "z", false)}}},
			calls:  []string{`s2c 0 "ab" fin=false`, `s2c 0 reset`},
			events: []string{"cap-limit decoder=quic cap=stream_buffer limit=8 dropped=1"}},
		{name: "total cap", opts: Options{MaxStreamTotal: 4}, pkts: []pkt{{frames: [][]byte{encStream(0, 1, "abc", false), encStream(4, 1, "def", false)}}},
			calls:  []string{`s2c 4 reset`},
			events: []string{"cap-limit decoder=quic cap=stream_total limit=4 dropped=3"}},
		{name: "finished streams do not count", opts: Options{MaxStreams: 1}, pkts: []pkt{{frames: [][]byte{encStream(0, 0, "a", true), encStream(4, 0, "b", true)}}, {frames: [][]byte{encStream(0, 0, "a", true)}}},
			calls: []string{`s2c 0 "a" fin=true`, `s2c 4 "b" fin=true`}, retrans: []string{"", "id=0 off=0 len=1"}},
		{name: "streams cap", opts: Options{MaxStreams: 1}, pkts: []pkt{{frames: [][]byte{encStream(0, 0, "a", false), encStream(4, 0, "b", false), encStream(8, 0, "c", false)}}},
			calls:  []string{`s2c 0 "a" fin=false`},
			events: []string{"cap-limit decoder=quic cap=streams limit=1 dropped=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder("")
			tc.opts.Next = func(string) decode.MultiStreamDecoder { return rec }
			d := NewDecoder(tc.opts)
			var events []string
			t0 := time.Unix(100, 0)
			for i, p := range tc.pkts {
				at := decode.Position{Frame: int64(i + 1), TS: t0.Add(time.Duration(p.ms) * time.Millisecond)}
				info := d.walkFrames(decode.S2C, spaceApp, bytes.Join(p.frames, nil), nil, at)
				if f, ok := info.Get("error"); ok {
					t.Fatalf("packet %d: %s", i, f.Str)
				}
				want := ""
				if tc.retrans != nil {
					want = tc.retrans[i]
				}
				if f, _ := info.Get("retransmitted"); strings.Join(f.Strs, ",") != want {
					t.Errorf("packet %d: retransmitted %q; want %q", i, f.Strs, want)
				}
				for _, e := range d.pending {
					events = append(events, eventString(e))
				}
				d.pending = d.pending[:0]
			}
			if !slices.Equal(rec.calls, tc.calls) {
				t.Errorf("calls\n%q\nwant\n%q", rec.calls, tc.calls)
			}
			if !slices.Equal(events, tc.events) {
				t.Errorf("events\n%q\nwant\n%q", events, tc.events)
			}
			if d.streams.buffered < 0 || d.streams.buffered > 64 {
				t.Errorf("%d bytes buffered", d.streams.buffered)
			}
		})
	}
}

// eventString renders an event's type and info, start and end left out.
func eventString(e decode.Event) string {
	var b strings.Builder
	b.WriteString(string(e.Type))
	for _, f := range e.Info {
		if f.Key == "start" || f.Key == "end" {
			continue
		}
		b.WriteString(" " + f.Key + "=" + string(f.AppendValue(nil)))
	}
	if e.Type == "hol-stall" {
		fmt.Fprintf(&b, " len=%d", e.Len)
	}
	return b.String()
}

// TestNextError: a Next decoder that fails is switched off with a
// decode-error event; reassembly goes on.
func TestNextError(t *testing.T) {
	rec := newRecorder("")
	rec.fail = true
	d := NewDecoder(Options{Next: func(string) decode.MultiStreamDecoder { return rec }})
	at := decode.Position{Frame: 1, TS: time.Unix(1, 0)}
	d.walkFrames(decode.C2S, spaceApp, append(encStream(0, 0, "a", false), encStream(0, 1, "b", false)...), nil, at)
	if len(rec.calls) != 1 || len(d.pending) != 1 || d.pending[0].Type != decode.TypeDecodeError {
		t.Errorf("calls %q, events %v; want one call, one decode-error", rec.calls, d.pending)
	}
}
