package ws

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// BenchmarkDecodeWS decodes 100 masked 1 KiB text frames and 100
// permessage-deflate messages (context takeover), fed in 1448-byte pieces.
func BenchmarkDecodeWS(b *testing.B) {
	var plain, comp []byte
	for range 100 {
		plain = append(plain, cf(OpText, strings.Repeat("a", 1024))...)
	}
	msgs := make([][]byte, 100)
	for i := range msgs {
		msgs[i] = []byte(strings.Repeat(`{"id":1,"v":"abc"},`, 50))
	}
	for _, m := range deflateMsgs(b, true, msgs...) {
		comp = append(comp, wsFrame(true, 4, OpText, nil, m)...)
	}
	h := Handshake{Key: sampleKey, Accept: sampleAccept, Extensions: "permessage-deflate"}
	emit := func(decode.Event) {}
	b.SetBytes(int64(len(plain) + len(comp)))
	b.ReportAllocs()
	for b.Loop() {
		d := New(h, Options{}, emit)
		for _, st := range []step{{dir: decode.C2S, data: plain}, {dir: decode.S2C, data: bytes.Clone(comp)}} {
			for p := st.data; len(p) > 0; {
				n := min(len(p), 1448)
				d.Data(st.dir, p[:n], decode.Position{}, emit)
				p = p[n:]
			}
		}
		d.End(decode.Position{}, emit)
	}
}
