package http1

import (
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// BenchmarkDecodeHTTP1 decodes a keep-alive connection of 20 exchanges
// (headers like a browser's, a 4 KiB body each), fed in 1448-byte pieces.
func BenchmarkDecodeHTTP1(b *testing.B) {
	req := "GET /static/app.js?v=42 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: session=" + strings.Repeat("c", 200) + "\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nContent-Length: 4096\r\nCache-Control: max-age=3600\r\n\r\n" +
		strings.Repeat("x", 4096)
	c2s := []byte(strings.Repeat(req, 20))
	s2c := []byte(strings.Repeat(resp, 20))
	emit := func(decode.Event) {}
	b.SetBytes(int64(len(c2s) + len(s2c)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder(Options{})
		for _, st := range []struct {
			dir  decode.Dir
			data []byte
		}{{decode.C2S, c2s}, {decode.S2C, s2c}} {
			for p := st.data; len(p) > 0; {
				n := min(len(p), 1448)
				d.Data(st.dir, p[:n], decode.Position{}, emit)
				p = p[n:]
			}
		}
		d.End(decode.Position{}, emit)
	}
}
