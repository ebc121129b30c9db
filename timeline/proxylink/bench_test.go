package proxylink

import (
	"fmt"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// BenchmarkLinker measures the Linker's cost per event on a proxy's
// stream: 100 front connections of 10 requests each, every request with
// its back exchange, and 20 frame events per request. It reports ns/event
// (the Linker's own time per event passed through) and links/op.
func BenchmarkLinker(b *testing.B) {
	var evs []timeline.Event
	for i := range 100 {
		f := conn(2*i+1, fmt.Sprintf("198.18.1.2:%d", 40000+i), "198.18.2.2:8080", float64(i))
		bc := conn(2*i+2, fmt.Sprintf("198.18.2.2:%d", 50000+i), "198.18.3.2:9000", float64(i)+0.1)
		for r := range 10 {
			at := float64(i) + float64(r)*0.05
			for range 20 {
				e := decode.NewEvent(0, ms(at), decode.C2S, decode.LayerHTTP2, "DATA")
				evs = append(evs, timeline.Event{Event: e, Conn: f})
			}
			path := fmt.Sprintf("/r/%d", r)
			evs = append(evs,
				exch(bc, decode.LayerHTTP1, int64(r+1), "GET", "backend", path, 200, at+0.01, at+0.02, at+0.03),
				exch(f, decode.LayerHTTP2, int64(2*r+1), "GET", "proxy.test", path, 200, at, at+0.025, at+0.04))
		}
		evs = append(evs, summary(f, float64(i)+0.9, 100, 100), summary(bc, float64(i)+0.95, 90, 90))
	}
	var links int
	sink := timeline.SinkFunc(func(ev *timeline.Event) error {
		if ev.Type == TypeProxyLink {
			links++
		}
		return nil
	})
	b.ReportAllocs()
	for b.Loop() {
		links = 0
		l := New(sink, Options{})
		for i := range evs {
			l.Event(&evs[i])
		}
		l.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
	b.ReportMetric(float64(links), "links/op")
}

// BenchmarkLinkerManyConns measures a server-side capture's cost: 100,000
// short connections (SYN-like event, exchange, summary), far more than
// MaxConns records, none of them linked.
func BenchmarkLinkerManyConns(b *testing.B) {
	var evs []timeline.Event
	for i := range 100000 {
		c := conn(i+1, fmt.Sprintf("198.18.%d.%d:%d", 1+i/60000, 1+i%250, 40000+i%20000), "198.18.9.9:80", float64(i)/10)
		at := float64(i) / 10
		evs = append(evs,
			timeline.Event{Event: decode.NewEvent(0, ms(at), decode.C2S, decode.LayerTCP, decode.TypeSYN), Conn: c},
			exch(c, decode.LayerHTTP1, 1, "GET", "s.test", "/", 200, at+0.01, at+0.02, at+0.03),
			summary(c, at+0.05, 100, 200))
	}
	sink := timeline.SinkFunc(func(*timeline.Event) error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		l := New(sink, Options{})
		for i := range evs {
			l.Event(&evs[i])
		}
		l.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}
