package jsonl_test

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/jsonl"
	"github.com/wiretrace/wiretrace/timeline"
)

// BenchmarkEvents writes typical events (TLS, HTTP/2 frames with a few
// info keys, a TCP analysis event) as JSON Lines; bytes are the output's.
func BenchmarkEvents(b *testing.B) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	conn := &timeline.Conn{ID: 7, Transport: timeline.TCP, FirstTS: t0,
		Client: netip.MustParseAddrPort("198.18.1.2:40000"), Server: netip.MustParseAddrPort("198.18.2.2:443")}
	mk := func(layer decode.Layer, typ decode.Type, info decode.Info) timeline.Event {
		e := decode.NewEvent(1234, t0.Add(1500*time.Microsecond), decode.S2C, layer, typ)
		e.Len, e.Stream, e.Info = 16384, 5, info
		return timeline.Event{Event: e, Conn: conn}
	}
	evs := []timeline.Event{
		mk(decode.LayerHTTP2, "DATA", decode.Info{decode.String("flags", ""), decode.String("state", "open"), decode.Int("stream_window", 48000), decode.Int("conn_window", 900000)}),
		mk(decode.LayerTLS, "ApplicationData", decode.Info{decode.String("content", "application_data"), decode.Bool("decrypted", true)}),
		mk(decode.LayerTCP, "dup-ack", decode.Info{decode.Uint("seq", 85), decode.Uint("ack", 7241), decode.Uint("win", 78848), decode.Int("dup_ack_num", 1)}),
		mk(decode.LayerHTTP2, "HEADERS", decode.Info{decode.String("method", "GET"), decode.String("path", "/index.html"), decode.String("authority", "example.org"),
			decode.Strings("headers", []string{":method: GET", ":path: /index.html", "user-agent: curl/8"})}),
	}
	w := jsonl.New(io.Discard)
	var size int64
	for i := range evs {
		size += int64(len(jsonl.AppendEvent(nil, &evs[i])))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			if err := w.Event(&evs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	w.Flush()
}
