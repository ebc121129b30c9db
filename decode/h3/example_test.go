package h3_test

import (
	"fmt"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/h3"
)

// The QUIC decoder calls Next with the connection's ALPN and feeds the
// decoder each stream's bytes in order.
func Example() {
	d := h3.Next(h3.Options{})("h3")
	emit := func(e decode.Event) {
		if e.Type == h3.TypeExchange {
			m, _ := e.Info.Get("method")
			p, _ := e.Info.Get("path")
			s, _ := e.Info.Get("status")
			fmt.Println(e.Type, m.Str, p.Str, s.Int)
			return
		}
		fmt.Println(e.Dir, e.Type, e.Stream, e.Len)
	}
	at := decode.Position{Frame: 1, TS: time.Unix(0, 0)}
	// HEADERS: GET https://a/ from the static table.
	d.StreamData(0, decode.C2S, []byte{0x01, 0x08, 0, 0, 0xd1, 0xd7, 0x50, 0x01, 'a', 0xc1}, true, at, emit)
	// HEADERS :status 200, then DATA "hi".
	d.StreamData(0, decode.S2C, []byte{0x01, 0x03, 0, 0, 0xd9, 0x00, 0x02, 'h', 'i'}, true, at, emit)
	d.End(at, emit)
	// Output:
	// c2s HEADERS 0 8
	// s2c HEADERS 0 3
	// s2c DATA 0 2
	// exchange GET / 200
}
