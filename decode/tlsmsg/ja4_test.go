package tlsmsg

import (
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// TestJA4SpecExample rebuilds the worked example of FoxIO's JA4 technical
// details (technical_details/JA4.md; its JA4_r lists the sorted suites,
// the sorted extensions without SNI and ALPN, and the signature
// algorithms): a TLS 1.3 ClientHello with SNI, ALPN h2, 15 suites and 16
// extensions gives t13d1516h2_8daaf6152771_e5627efa2ab1. GREASE values are
// added to check they are ignored.
func TestJA4SpecExample(t *testing.T) {
	suites := []uint16{0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
		0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	sigs := []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}
	ext := func(b *cryptobyte.Builder, typ uint16, body func(*cryptobyte.Builder)) {
		b.AddUint16(typ)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			if body != nil {
				body(b)
			}
		})
	}
	var b cryptobyte.Builder
	b.AddUint16(0x0303)
	b.AddBytes(make([]byte, 32))
	b.AddUint8(0)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, s := range suites {
			b.AddUint16(s)
		}
	})
	b.AddUint8(1)
	b.AddUint8(0)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		ext(b, 0x1a1a, nil)                          // GREASE
		ext(b, 0x0000, func(b *cryptobyte.Builder) { // server_name
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("example.com")) })
			})
		})
		ext(b, 0x0017, nil) // extended_master_secret
		ext(b, 0xff01, func(b *cryptobyte.Builder) { b.AddUint8(0) })
		ext(b, 0x000a, func(b *cryptobyte.Builder) { // supported_groups
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x001d) })
		})
		ext(b, 0x000b, func(b *cryptobyte.Builder) { b.AddUint8(1); b.AddUint8(0) }) // ec_point_formats
		ext(b, 0x0023, nil)                                                          // session_ticket
		ext(b, 0x0010, func(b *cryptobyte.Builder) {                                 // ALPN h2, http/1.1
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("h2")) })
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("http/1.1")) })
			})
		})
		ext(b, 0x0005, func(b *cryptobyte.Builder) { b.AddBytes([]byte{1, 0, 0, 0, 0}) }) // status_request
		ext(b, 0x000d, func(b *cryptobyte.Builder) {                                      // signature_algorithms
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, s := range sigs {
					b.AddUint16(s)
				}
			})
		})
		ext(b, 0x0012, nil)                                                                                     // signed_certificate_timestamp
		ext(b, 0x0033, func(b *cryptobyte.Builder) { b.AddUint16(0) })                                          // key_share, empty
		ext(b, 0x002d, func(b *cryptobyte.Builder) { b.AddUint8(1); b.AddUint8(1) })                            // psk_key_exchange_modes
		ext(b, 0x002b, func(b *cryptobyte.Builder) { b.AddUint8(4); b.AddUint16(0x2a2a); b.AddUint16(0x0304) }) // GREASE, TLS 1.3
		ext(b, 0x001b, func(b *cryptobyte.Builder) { b.AddBytes([]byte{2, 0, 2}) })                             // compress_certificate
		ext(b, 0x4469, func(b *cryptobyte.Builder) { b.AddBytes([]byte{0, 3, 2, 'h', '2'}) })                   // application_settings
		ext(b, 0x0015, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 10)) })                            // padding
	})
	var h ClientHello
	if err := ParseClientHello(b.BytesOrPanic(), &h); err != nil {
		t.Fatal(err)
	}
	if got, want := JA4(&h), "t13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("JA4: got %q; want %q", got, want)
	}
}
