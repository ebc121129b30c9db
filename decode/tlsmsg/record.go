package tlsmsg

import (
	"github.com/wiretrace/wiretrace/decode"
)

// Caps (RFC 8446 §5.1, RFC 5246 §6.2.3: a TLSCiphertext fragment is at
// most 2^14 + 2048 bytes).
const (
	RecordHeaderLen = 5
	MaxRecordLen    = 1<<14 + 2048
	// MaxHandshakeLen bounds a handshake message reassembled across
	// records (certificate chains are the large ones).
	MaxHandshakeLen = 1 << 18
)

// Record is one TLS record. Fragment aliases the input.
type Record struct {
	Type     ContentType
	Version  Version
	Fragment []byte
}

// ParseRecord reads one record from the start of b (RFC 8446 §5.1):
//
//	struct {
//	    ContentType type;
//	    ProtocolVersion legacy_record_version;
//	    uint16 length;
//	    opaque fragment[TLSPlaintext.length];
//	} TLSPlaintext;
//
// It returns the bytes consumed. A short b gives decode.ErrTruncated, a
// length above MaxRecordLen decode.ErrTooLarge, a major version other than
// 3 decode.ErrMalformed; the error keeps the header bytes in its message.
// It does not allocate.
func ParseRecord(b []byte) (Record, int, error) {
	if len(b) < RecordHeaderLen {
		return Record{}, 0, errTruncated
	}
	n := int(b[3])<<8 | int(b[4])
	if b[1] != 3 {
		return Record{}, 0, &decode.Error{Layer: "tlsmsg", Msg: "record header " + hexBytes(b[:5]) + ": not TLS", Err: decode.ErrMalformed}
	}
	if n > MaxRecordLen {
		return Record{}, 0, &decode.Error{Layer: "tlsmsg", Msg: "record header " + hexBytes(b[:5]) + ": length exceeds 2^14+2048", Offset: 3, Err: decode.ErrTooLarge}
	}
	if len(b) < RecordHeaderLen+n {
		return Record{}, 0, errTruncated
	}
	r := Record{Type: ContentType(b[0]), Version: Version(uint16(b[1])<<8 | uint16(b[2])), Fragment: b[5 : 5+n : 5+n]}
	return r, 5 + n, nil
}

// errTruncated is shared so that ParseRecord does not allocate when it
// needs more bytes.
var errTruncated = &decode.Error{Layer: "tlsmsg", Msg: "record truncated", Err: decode.ErrTruncated}

func hexBytes(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// Sniffer recognises TLS from a stream's first bytes: a handshake record
// (0x16) with major version 3 and minor 0 to 4, or an SSLv2-compatible
// ClientHello (RFC 5246 appendix E.2).
func Sniffer() decode.Sniffer { return NewSniffer(Options{}) }

// NewSniffer is Sniffer with decoders configured by opts (key log,
// next layer).
func NewSniffer(opts Options) decode.Sniffer {
	return decode.Sniffer{Name: "tls", Sniff: sniff, New: func() decode.StreamDecoder { return NewDecoderOptions(opts) }}
}

func sniff(dir decode.Dir, b []byte) decode.Verdict {
	if len(b) == 0 {
		return decode.NeedMore
	}
	if b[0] == 0x16 {
		if len(b) < 3 {
			return decode.NeedMore
		}
		if b[1] == 3 && b[2] <= 4 {
			return decode.Match
		}
		return decode.NoMatch
	}
	if dir == decode.C2S && b[0]&0x80 != 0 {
		if len(b) < 5 {
			return decode.NeedMore
		}
		if isSSLv2Hello(b) {
			return decode.Match
		}
	}
	return decode.NoMatch
}

// isSSLv2Hello checks a 2-byte SSLv2 header, msg_type 1 and a version of
// 3.0 to 3.3.
func isSSLv2Hello(b []byte) bool {
	return len(b) >= 5 && b[0]&0x80 != 0 && b[2] == 1 && b[3] == 3 && b[4] <= 3 && (int(b[0]&0x7f)<<8|int(b[1])) >= 9
}
