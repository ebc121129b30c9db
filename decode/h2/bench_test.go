package h2

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// benchSession records x/net's client fetching 100 resources of 1 to
// 64 KiB from x/net's server with browser-like request headers, and
// returns both directions cut into 1460-byte chunks as TCP segments
// would bring them.
func benchSession(b *testing.B) []step {
	addr, _ := h2cServer(b, http.HandlerFunc(testHandler), nil)
	rec := &recorder{}
	tr := h2cClient(rec)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for i := range 100 {
		req, _ := http.NewRequest("GET", "http://"+addr+"/size/"+strconv.Itoa(1+(i*7919)%(64<<10)), nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		req.Header.Set("Accept-Language", "en-US,en;q=0.5")
		req.Header.Set("Cookie", "session=4f2a9c1e77b04d3f; theme=dark; id="+strconv.Itoa(i%3))
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var out []step
	for _, st := range rec.get() {
		for p := st.data; len(p) > 0; {
			n := min(len(p), 1460)
			out = append(out, step{st.dir, p[:n]})
			p = p[n:]
		}
	}
	return out
}

// BenchmarkDecodeHTTP2 decodes a recorded connection: 100 requests and
// responses, HPACK with a warm dynamic table, DATA frames up to 16 KiB,
// WINDOW_UPDATEs. events/op is how many events one pass emits.
func BenchmarkDecodeHTTP2(b *testing.B) {
	steps := benchSession(b)
	total := 0
	for _, st := range steps {
		total += len(st.data)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	events := 0
	emit := func(decode.Event) { events++ }
	for b.Loop() {
		d := NewDecoder(Options{})
		for _, st := range steps {
			d.Data(st.dir, st.data, decode.Position{}, emit)
		}
		d.End(decode.Position{}, emit)
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// TestDataAllocs: a DATA frame costs one allocation, its event's Info,
// whether it comes whole or in pieces.
func TestDataAllocs(t *testing.T) {
	s := newScript().preface()
	s.request(1, false, "POST", "/")
	d := NewDecoder(Options{})
	run(d, s.steps)
	s = newScript()
	s.data(decode.C2S, 1, false, 1000)
	frame := s.steps[0].data
	emit := func(decode.Event) {}
	for _, tc := range []struct {
		name  string
		parts int
	}{{"whole", 1}, {"in 4 pieces", 4}} {
		n := testing.AllocsPerRun(100, func() {
			step := (len(frame) + tc.parts - 1) / tc.parts
			for p := frame; len(p) > 0; p = p[min(step, len(p)):] {
				d.Data(decode.C2S, p[:min(step, len(p))], decode.Position{}, emit)
			}
		})
		if n > 1 {
			t.Errorf("%s: %.1f allocations per DATA frame; want 1", tc.name, n)
		}
	}
	_ = http2.FrameData
}
