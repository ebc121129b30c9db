package h2

import (
	"bytes"
	"slices"
	"testing"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
)

// seedCaptures are the shared captures whose connections seed the fuzzer,
// each for what it brings.
var seedCaptures = []string{
	"http2/sv-http2-continuation.pcap",     // HEADERS + CONTINUATION
	"http2/sv-http2-errorcode.pcap",        // gRPC, GOAWAY with error codes
	"http2/sv-http2-long-frame.pcap",       // a 70,000-byte DATA frame over many segments
	"http2/sv-http2-range.pcap",            // h2c upgrade (the HTTP/1.1 heads are cut off)
	"http2/sv-dns-over-http2.pcap",         // RST_STREAM, several streams
	"http2/sv-http2-multiple-headers.pcap", // the server's preface first, repeated fields
}

// connSeeds returns each connection's two directions from the seed
// captures, the first 16 KiB of each, from the first byte after the
// client preface and after any HTTP/1.1 response head.
func connSeeds(tb testing.TB) [][2][]byte {
	var seeds [][2][]byte
	for _, name := range seedCaptures {
		for _, st := range pcaptest.Streams(tb, pcaptest.Shared(tb, name)) {
			b := st.Bytes(16 << 10)
			c, s := b[0], b[1]
			if i := bytes.Index(c, []byte(http2.ClientPreface)); i >= 0 {
				c = c[i+len(http2.ClientPreface):]
			}
			if bytes.HasPrefix(s, []byte("HTTP/1.1")) {
				if i := bytes.Index(s, []byte("\r\n\r\n")); i >= 0 {
					s = s[i+4:]
				}
			}
			seeds = append(seeds, [2][]byte{c, s})
		}
	}
	return seeds
}

// FuzzFrames feeds the client preface and c2s, then s2c, to a decoder:
// framing, HPACK with CONTINUATION, stream states and flow control.
// Invariants: no panic; every event's len is within the input; every
// event renders; feeding each direction in two chunks gives the same
// events as whole.
func FuzzFrames(f *testing.F) {
	for _, c := range connSeeds(f) {
		f.Add(c[0], c[1], uint16(len(c[0])/2))
	}
	for _, s := range []*script{allFrames(), continuationScript(), flowScript(), stallScript()} {
		c := s.stream(decode.C2S)
		f.Add(c[len(http2.ClientPreface):], s.stream(decode.S2C), uint16(100))
	}
	f.Fuzz(func(t *testing.T, c2s, s2c []byte, cut uint16) {
		c2s = append([]byte(http2.ClientPreface), c2s...)
		total := int64(len(c2s) + len(s2c))
		check := func(e decode.Event) {
			if e.Len > total {
				t.Fatalf("%s: len beyond the input's %d bytes", line(e), total)
			}
			if w, ok := e.Info.Get("window"); e.Type == TypeFlowControlStall && (!ok || w.Int > 0) {
				t.Fatalf("%s: a stall with the window open", line(e))
			}
		}
		whole := feedFuzz(c2s, s2c, len(c2s), len(s2c), check)
		c, s := min(int(cut), len(c2s)), min(int(cut), len(s2c))
		split := feedFuzz(c2s, s2c, c, s, check)
		if !slices.Equal(whole, split) {
			t.Fatalf("cut at %d changed the events:\n%q\n%q", cut, whole, split)
		}
	})
}

// feedFuzz feeds c2s in two pieces cut at c, then s2c cut at s, with
// small caps so that they are reached, and renders the events.
func feedFuzz(c2s, s2c []byte, c, s int, check func(decode.Event)) []string {
	d := NewDecoder(Options{MaxStreams: 8, MaxHeaderListSize: 4096, MaxFrameSize: 8192, MaxHeaderTableSize: 8192, MaxHeaders: 8, MaxString: 64})
	var out []string
	emit := func(e decode.Event) {
		check(e)
		out = append(out, line(e))
	}
	at := decode.Position{Frame: 1, TS: t0}
	d.Data(decode.C2S, c2s[:c], at, emit)
	d.Data(decode.C2S, c2s[c:], at, emit)
	d.Data(decode.S2C, s2c[:s], at, emit)
	d.Data(decode.S2C, s2c[s:], at, emit)
	d.End(at, emit)
	out = append(out, line(decode.Event{Info: d.Summary()}))
	return out
}
