package h2

import (
	"encoding/base64"
	"strings"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// preface is the client connection preface (RFC 9113 §3.4).
const preface = http2.ClientPreface

// NewSniffer returns the sniffer for HTTP/2 with prior knowledge (RFC 9113
// §3.3): it matches a client whose first bytes are the connection
// preface, on any port. A server that speaks first with a SETTINGS frame
// is waited for. It must be registered before an HTTP/1 sniffer, which
// would take "PRI * HTTP/2.0" for a request line.
func NewSniffer(opts Options) decode.Sniffer {
	return decode.Sniffer{Name: "http2", Sniff: sniff, New: func() decode.StreamDecoder { return NewDecoder(opts) }}
}

func sniff(dir decode.Dir, b []byte) decode.Verdict {
	if dir == decode.C2S {
		n := min(len(b), len(preface))
		if string(b[:n]) != preface[:n] {
			return decode.NoMatch
		}
		if n < len(preface) {
			return decode.NeedMore
		}
		return decode.Match
	}
	// The server's preface is a SETTINGS frame on stream 0 without ACK
	// and a multiple of 6 bytes long (§6.5).
	want := [9]byte{3: byte(http2.FrameSettings)}
	for i := 0; i < len(b) && i < 9; i++ {
		if i >= 3 && b[i] != want[i] {
			return decode.NoMatch
		}
	}
	if len(b) >= 3 && (int(b[0])<<16|int(b[1])<<8|int(b[2]))%6 != 0 {
		return decode.NoMatch
	}
	return decode.NeedMore
}

// NewDecoder returns a Decoder for a connection that speaks HTTP/2 from
// its first byte: prior knowledge, or TLS with ALPN "h2" (RFC 9113 §3.2).
// The client's first bytes must be the connection preface.
func NewDecoder(opts Options) *Decoder {
	d := &Decoder{opts: opts.withDefaults()}
	d.init()
	return d
}

// Upgraded describes the HTTP/1.1 request that upgraded a connection to
// h2c (RFC 7540 §3.2; RFC 9113 §3.1 deprecates the mechanism, peers still
// use it).
type Upgraded struct {
	// Settings is the decoded payload of the request's HTTP2-Settings
	// header (see DecodeSettingsHeader): the client's SETTINGS, in force
	// from the start as if acknowledged.
	Settings []byte
	// Method, Scheme, Authority and Path are the upgrading request's,
	// which becomes stream 1 (Authority from Host).
	Method, Scheme, Authority, Path string
	// At is where the request's first byte was seen: the exchange's start.
	At decode.Position
}

// NewUpgraded returns a Decoder that takes over a connection after the
// server's 101 (Switching Protocols) to h2c: stream 1 is the upgrading
// request, half-closed from the client; the server's first bytes are its
// SETTINGS frame, the client's the connection preface. Bytes of either
// direction that follow the HTTP/1.1 messages go to it.
func NewUpgraded(opts Options, up Upgraded) *Decoder {
	d := NewDecoder(opts)
	d.upgrade(up)
	return d
}

// DecodeSettingsHeader decodes an HTTP2-Settings header value: base64url,
// padding optional (RFC 7540 §3.2.1).
func DecodeSettingsHeader(v string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(v), "="))
}
