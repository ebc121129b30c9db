package http1

import (
	"slices"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
)

// A fuzz input is a script of steps: each a 2-byte big-endian header (top
// bit: direction, 1 = s2c; low 15 bits: length) and that many bytes. The
// seeds are the first steps of every connection in these shared captures,
// as the timeline's reassembly delivered them, each for the edge it brings:
var seedCaptures = []string{
	"tcp/zeek-http-206-zero-window.pcap",       // 206 partial content, keep-alive
	"tcp/sv-tcp-rst-unacked-stream.pcap",       // long cookies, body with holes
	"tcp/tcpdump-ipv4_tcp_http_xml.pcap",       // POST with an XML body
	"tcp/sv-tcp-fastopen.pcap",                 // request on the SYN
	"websocket/zeek-reply-ping-coalesced.pcap", // 101 and a frame in one segment
	"websocket/sv-websocket-compressed.pcap",   // permessage-deflate upgrade
	"http2/sv-http2-range.pcap",                // h2c upgrade, then HTTP/2
}

const maxSeed = 4 << 10

// script encodes steps as a fuzz input (pcaptest.Script).
func script(steps []step) []byte {
	ps := make([]pcaptest.Step, len(steps))
	for i, s := range steps {
		ps[i] = pcaptest.Step{Dir: s.dir, Data: []byte(s.data)}
	}
	return pcaptest.Script(ps)
}

// parseScript decodes a fuzz input (pcaptest.ParseScript).
func parseScript(b []byte) []step {
	var steps []step
	for _, s := range pcaptest.ParseScript(b) {
		steps = append(steps, step{dir: s.Dir, data: string(s.Data)})
	}
	return steps
}

// captureSeeds returns the scripts of every connection in the seed
// captures: the steps that start within its first maxSeed bytes.
func captureSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range seedCaptures {
		for _, st := range pcaptest.Streams(tb, pcaptest.Shared(tb, name)) {
			n, size := 0, 0
			for ; n < len(st) && size < maxSeed; n++ {
				size += len(st[n].Data)
			}
			seeds = append(seeds, pcaptest.Script(st[:n]))
		}
	}
	return seeds
}

// FuzzHTTP1 feeds a script whole and cut into 7-byte pieces, with small
// caps so that they are hit. Invariants: no panic; the same events both
// ways (a stop may be reported as a different cap or error, at a different
// byte, so stops compare by direction only); every field renders; http1
// events carry an exchange ordinal.
func FuzzHTTP1(f *testing.F) {
	for _, s := range captureSeeds(f) {
		f.Add(s)
	}
	f.Add(script([]step{
		c2s("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\nxx"),
		s2c("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00"),
	}))
	f.Add(script([]step{
		c2s("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n"),
		s2c("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody"),
	}))
	// Pipelined, the second request waiting behind the first answer.
	f.Add(script([]step{
		c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"),
		s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
		c2s("HEAD /3 HTTP/1.1\r\n\r\n"),
		s2c("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"),
	}))
	opts := Options{MaxHeaderBytes: 600, MaxLineLen: 200, MaxHeaders: 4, MaxString: 40, MaxPending: 4, MaxHold: 100}
	f.Fuzz(func(t *testing.T, in []byte) {
		steps := parseScript(in)
		whole := fuzzRun(t, opts, steps, whole)
		cut := fuzzRun(t, opts, steps, func(n int) []int {
			var s []int
			for ; n > 7; n -= 7 {
				s = append(s, 7)
			}
			return append(s, n)
		})
		if !slices.Equal(whole, cut) {
			t.Fatalf("whole:\n%s\ncut:\n%s", strings.Join(whole, "\n"), strings.Join(cut, "\n"))
		}
	})
}

func fuzzRun(t *testing.T, opts Options, steps []step, split func(int) []int) []string {
	var out []string
	emit := func(e decode.Event) {
		var b []byte
		for _, f := range e.Info {
			b = f.AppendValue(b)
		}
		if e.Layer == decode.LayerHTTP1 && e.Type != TypeTunnel && e.Stream < 1 {
			t.Errorf("%s without an ordinal", e.Type)
		}
		if e.Type == TypeHOLStall {
			by, _ := e.Info.Get("blocked_by")
			ahead, _ := e.Info.Get("ahead")
			d, _ := e.Info.Get("duration_ms")
			if by.Int < 1 || by.Int >= e.Stream || ahead.Int < 1 || ahead.Int >= e.Stream || d.Duration() <= 0 {
				t.Errorf("bad stall: %s", render(e))
			}
		}
		if e.Layer == decode.LayerConn {
			dir := e.Dir.String()
			if f, ok := e.Info.Get("error"); ok {
				dir, _, _ = strings.Cut(f.Str, ":")
			}
			out = append(out, dir+" stopped")
			return
		}
		out = append(out, render(e))
	}
	d := NewDecoder(opts)
	if err := feed(d, steps, split, emit); err != nil {
		t.Fatalf("Data: %v", err)
	}
	return out
}
