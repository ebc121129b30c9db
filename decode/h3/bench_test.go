package h3

import (
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// BenchmarkExchanges decodes 100 requests, each answered with 64 KiB of
// DATA, fed in 1200-byte chunks as QUIC packets would carry them.
func BenchmarkExchanges(b *testing.B) {
	res := append(frame(frameHeaders, []byte{0, 0, 0xd9, 0xc0 | 53}), frame(frameData, make([]byte, 64<<10))...)
	b.SetBytes(int64(100 * (len(getReq) + len(res))))
	emit := func(decode.Event) {}
	at := decode.Position{Frame: 1}
	for b.Loop() {
		d := NewDecoder(Options{})
		for i := int64(0); i < 100; i++ {
			id := 4 * i
			_ = d.StreamData(id, decode.C2S, getReq, true, at, emit)
			for p := res; len(p) > 0; {
				n := min(len(p), 1200)
				_ = d.StreamData(id, decode.S2C, p[:n], n == len(p), at, emit)
				p = p[n:]
			}
		}
		d.End(at, emit)
	}
}
