package quic_test

import (
	"encoding/hex"
	"fmt"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/quic"
)

// ExampleParseHeader reads the Retry packet of RFC 9001 appendix A.4.
func ExampleParseHeader() {
	pkt, _ := hex.DecodeString("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")
	var h quic.Header
	if err := quic.ParseHeader(pkt, -1, &h); err != nil {
		panic(err)
	}
	fmt.Println(h.Type, h.Version, hex.EncodeToString(h.SCID), string(h.Token), h.Size)
	// Output: Retry v1 f067a5502a4262b5 token 36
}

// ExampleDecoder decodes a server's Version Negotiation packet, then
// prints the connection summary's fields.
func ExampleDecoder() {
	vn, _ := hex.DecodeString("80" + "00000000" + "00" + "0401020304" + "00000001" + "6b3343cf")
	d := quic.NewDecoder(quic.Options{})
	d.Datagram(decode.S2C, vn, decode.Position{Frame: 2}, func(e decode.Event) {
		fmt.Println(e.Frame, e.Dir, e.Layer, e.Type)
		for _, f := range e.Info {
			fmt.Printf("  %s=%s\n", f.Key, f.AppendValue(nil))
		}
	})
	for _, f := range d.Summary() {
		fmt.Printf("%s=%q\n", f.Key, f.Str)
	}
	// Output:
	// 2 s2c quic VersionNegotiation
	//   version=0x00000000
	//   dcid=
	//   scid=01020304
	//   versions=v1,v2
	// handshake="UDP+QUIC"
	// tls_version=""
	// sni=""
	// alpn=""
}

// ExampleParseFrame lists the frames of a packet payload.
func ExampleParseFrame() {
	payload, _ := hex.DecodeString("0203190001" + "0600036162630000")
	var f quic.Frame
	for off := 0; off < len(payload); {
		n, err := quic.ParseFrame(payload[off:], &f)
		if err != nil {
			panic(err)
		}
		fmt.Println(f.Type, n)
		off += n
	}
	// Output:
	// ACK 5
	// CRYPTO 6
	// PADDING 2
}
