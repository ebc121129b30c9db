package tlsmsg

import (
	"fmt"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
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
