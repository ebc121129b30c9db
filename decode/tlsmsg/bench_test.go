package tlsmsg

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
)

// BenchmarkDecodeTLS decodes a client stream: a ClientHello record, then
// 64 application_data records of 1 KiB, delivered in 1460-byte chunks as
// TCP segments would bring them.
func BenchmarkDecodeTLS(b *testing.B) {
	stream := append(h(`16 0301 0061`), clientHello13...)
	rec := append(h(`17 0303 0400`), make([]byte, 1024)...)
	for range 64 {
		stream = append(stream, rec...)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	emit := func(decode.Event) {}
	for b.Loop() {
		d := NewDecoder()
		for off := 0; off < len(stream); off += 1460 {
			d.Data(decode.C2S, stream[off:min(off+1460, len(stream))], decode.Position{}, emit)
		}
	}
}

// BenchmarkDecrypt decrypts a client stream of 1 MiB of application
// data in records of 16 KiB (bulk transfer) or 1400 bytes (what fits a
// packet), delivered in 1460-byte chunks, with the handshake that leads to
// it: TLS 1.3 records under the client's handshake traffic secret (the
// same path as application traffic), TLS 1.2 ones after an RSA key
// exchange (synth_test.go). A fresh decoder per iteration: the key
// derivation is in the cost, spread over the megabyte.
func BenchmarkDecrypt(b *testing.B) {
	for _, s := range []struct {
		name  string
		v     Version
		suite CipherSuite
	}{
		{"TLS1.3-AES-128-GCM", VersionTLS13, 0x1301},
		{"TLS1.3-ChaCha20", VersionTLS13, 0x1303},
		{"TLS1.3-AES-128-CCM", VersionTLS13, 0x1304},
		{"TLS1.2-AES-128-GCM", VersionTLS12, 0xC02F},
		{"TLS1.2-AES-128-CBC-SHA256", VersionTLS12, 0xC027},
	} {
		for _, size := range []int{16384, 1400} {
			b.Run(fmt.Sprintf("%s/%d", s.name, size), func(b *testing.B) {
				data := make([][]byte, (1<<20)/size)
				for i := range data {
					data[i] = make([]byte, size)
				}
				h := synthHello{suite: s.suite}
				h.cr[0] = 0xbe
				var c2s, s2c []byte
				var kl string
				if s.v == VersionTLS13 {
					c2s, s2c, kl = synth13(b, h, data)
				} else {
					c2s, s2c, kl = synth12(b, h, data)
				}
				keys := &keylog.Store{}
				keys.Add(strings.NewReader(kl), "synth")
				var chunks []chunk
				for _, c := range interleave(c2s, s2c) {
					for off := 0; off < len(c.data); off += 1460 {
						chunks = append(chunks, chunk{c.dir, c.data[off:min(off+1460, len(c.data))]})
					}
				}
				decrypted := 0
				count := func(e decode.Event) {
					if f, _ := e.Info.Get("decrypted"); f.Bool() && e.Type == TypeApplicationData && e.Dir == decode.C2S {
						decrypted++
					}
				}
				run := func(emit decode.Emit) {
					d := NewDecoderOptions(Options{Keys: keys})
					for _, c := range chunks {
						d.Data(c.dir, c.data, decode.Position{}, emit)
					}
				}
				if run(count); decrypted != len(data) {
					b.Fatalf("%d records decrypted; want %d", decrypted, len(data))
				}
				b.SetBytes(int64(len(data) * size))
				b.ReportAllocs()
				emit := func(decode.Event) {}
				for b.Loop() {
					run(emit)
				}
			})
		}
	}
}

func ExampleParseRecord() {
	stream := []byte{
		0x15, 0x03, 0x03, 0x00, 0x02, // alert, TLS 1.2, length 2
		0x02, 0x28, // fatal, handshake_failure
		0x17, 0x03, // the start of the next record
	}
	r, n, err := ParseRecord(stream)
	fmt.Println(r.Type, r.Version, n, err)
	fmt.Println(AlertLevel(r.Fragment[0]), AlertDescription(r.Fragment[1]))
	_, _, err = ParseRecord(stream[n:])
	fmt.Println(err)
	// Output:
	// alert TLS1.2 7 <nil>
	// fatal handshake_failure
	// tlsmsg: record truncated (offset 0)
}
