package ladder_test

import (
	"net/netip"
	"os"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/ladder"
	"github.com/wiretrace/wiretrace/timeline"
)

// A connection drawn 64 columns wide, in ASCII: events as the timeline
// gives them, the summary last.
func Example() {
	c := &timeline.Conn{ID: 1, Transport: timeline.TCP,
		Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("198.51.100.1:80"),
		FirstTS: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	at := func(ms float64) time.Time { return c.FirstTS.Add(time.Duration(ms * float64(time.Millisecond))) }
	evs := []timeline.Event{
		{Event: decode.NewEvent(1, at(0), decode.C2S, decode.LayerTCP, decode.TypeSYN), Conn: c},
		{Event: decode.NewEvent(2, at(10.5), decode.S2C, decode.LayerTCP, decode.TypeSYNACK), Conn: c},
		{Event: decode.NewEvent(3, at(10.6), decode.C2S, decode.LayerHTTP1, "request"), Conn: c},
		{Event: decode.NewEvent(4, at(31.2), decode.S2C, decode.LayerHTTP1, "response"), Conn: c},
		{Event: decode.NewEvent(5, at(40), decode.DirNone, decode.LayerConn, decode.TypeSummary), Conn: c},
	}
	evs[2].Info = decode.Info{decode.String("method", "GET"), decode.String("path", "/index.html")}
	evs[3].Info = decode.Info{decode.Int("status", 200), decode.String("reason", "OK")}
	evs[4].Info = decode.Info{decode.String("handshake", "TCP"), decode.Uint("bytes_c2s", 80), decode.Uint("bytes_s2c", 5120)}

	w := ladder.New(os.Stdout, ladder.Options{Width: 64, ASCII: true})
	for i := range evs {
		w.Event(&evs[i])
	}
	w.Close()
	// Output:
	// conn 1 - TCP - 192.0.2.1:40000 -> 198.51.100.1:80
	//      ms client 192.0.2.1:40000            server 198.51.100.1:80
	//  +0.000 |--SYN------------------------------------------------>|
	// +10.500 |<--------------------------------------------SYN-ACK--|
	// +10.600 |--http1 request GET /index.html---------------------->|
	// +31.200 |<------------------------------http1 response 200 OK--|
	//   summary: TCP
	//     80 B -> 5,120 B <-
}
