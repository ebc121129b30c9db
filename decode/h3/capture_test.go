package h3_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/h3"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/quic"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// TestChromeCloudflare decodes the HTTP/3 of a real Chrome to Cloudflare
// capture whose pcapng carries the TLS secrets, through decode/quic.
// tshark 4.0 shows no http3 layer for it, so the expectations were read
// off the decrypted STREAM bytes (and agree with the frame list tshark
// gives for the QUIC packets: client streams 0, 2, 6, 10; server 3, 7,
// 11, 15, with 15 reset).
func TestChromeCloudflare(t *testing.T) {
	path := pcaptest.Shared(t, "quic/chrome-cloudflare-quic-with-secrets.pcapng")
	keys := &keylog.Store{}
	reg := &decode.DatagramRegistry{}
	reg.Register(quic.NewSniffer(quic.Options{Keys: keys, Next: h3.Next(h3.Options{})}))
	var evs []decode.Event
	pcaptest.Run(t, path, pcaptest.Options{Keys: keys, Timeline: timeline.Options{Datagrams: reg}}, func(ev *timeline.Event) {
		if ev.Layer == decode.LayerHTTP3 || ev.Layer == decode.LayerConn && ev.Type != decode.TypeSummary {
			evs = append(evs, ev.Event)
		}
	})
	var streams []string
	var exchanges []decode.Event
	for _, e := range evs {
		t.Logf("#%d %s %s %s stream=%d len=%d %v", e.Frame, e.Dir, e.Layer, e.Type, e.Stream, e.Len, e.Info)
		if e.Layer == decode.LayerConn || e.Info.Has("error") {
			t.Errorf("#%d: %s %v", e.Frame, e.Type, e.Info)
		}
		switch e.Type {
		case h3.TypeStream:
			f, _ := e.Info.Get("stream_type")
			streams = append(streams, e.Dir.String()+":"+strconv.FormatInt(e.Stream, 10)+":"+f.Str)
		case h3.TypeExchange:
			exchanges = append(exchanges, e)
		}
	}
	// Chrome sent nothing on QPACK streams of its own: its STREAM frames
	// are for streams 0 and 2 only (tshark agrees).
	want := []string{"c2s:2:control", "s2c:3:control", "s2c:7:qpack_encoder", "s2c:11:qpack_decoder", "s2c:15:reserved"}
	if !slices.Equal(streams, want) {
		t.Errorf("streams %q, want %q", streams, want)
	}
	if len(exchanges) != 1 {
		t.Fatalf("exchanges: %v", exchanges)
	}
	e := exchanges[0]
	get := func(k string) decode.Field { f, _ := e.Info.Get(k); return f }
	if e.Frame != 78 || get("method").Str != "GET" || get("authority").Str != "cloudflare-quic.com" || get("path").Str != "/" ||
		get("status").Int != 200 || get("resp_bytes").Int != 10111 || get("start_frame").Int != 55 || e.Info.Has("incomplete") {
		t.Errorf("exchange #%d %v", e.Frame, e.Info)
	}
}
