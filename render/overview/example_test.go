package overview_test

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/overview"
	"github.com/wiretrace/wiretrace/timeline"
)

// Two connections from one client to one HTTPS server aggregate into one
// edge; DOT shows the graph that Close lays out as SVG.
func Example() {
	w := overview.New(io.Discard, overview.Options{Title: "example.pcap"})
	for id := 1; id <= 2; id++ {
		c := &timeline.Conn{ID: id, Transport: timeline.TCP,
			Client: netip.MustParseAddrPort(fmt.Sprintf("192.0.2.1:%d", 40000+id)), Server: netip.MustParseAddrPort("198.51.100.1:443")}
		e := decode.NewEvent(int64(id), time.Time{}, decode.DirNone, decode.LayerConn, decode.TypeSummary)
		e.Info = decode.Info{decode.String("handshake", "TCP+TLS1.3"), decode.Millis("rtt_ms", time.Millisecond),
			decode.String("sni", "example.com"), decode.Uint("bytes_c2s", 900), decode.Uint("bytes_s2c", 15000),
			decode.String("protocol", "tls/http2")}
		w.Event(&timeline.Event{Event: e, Conn: c})
	}
	// The nodes and edges (the lines before them set the style).
	for _, l := range strings.Split(string(w.DOT()), "\n") {
		if strings.HasPrefix(l, "  h") {
			fmt.Println(l)
		}
	}
	// Output:
	//   h1 [label="192.0.2.1", fillcolor="#ffffff", class="client"];
	//   h2 [label="198.51.100.1\nport 443\nexample.com", class="server"];
	//   h1 -> h2 [label=":443 tcp/tls/http2\n2 conns · 1.8 kB → 30.0 kB ←", penwidth=1.00];
}
