// Package stack assembles wiretrace's stream decoders into the registry
// the timeline attaches to TCP connections: TLS; HTTP/2 with prior
// knowledge and HTTP/1.x on the bare stream; the same HTTP decoders on
// TLS's decrypted application data (ALPN h2 or http/1.1 is recognised from
// the plaintext's first bytes); and the protocol switches HTTP/1.1 makes:
// WebSocket and h2c after an Upgrade, and a CONNECT tunnel, whose bytes
// are sniffed again (usually TLS).
//
// Datagrams does the same for UDP flows: QUIC, and HTTP/3 on its streams.
//
// It is wiring only: each decoder is used through its public API, and
// none of them knows about the others.
package stack

import (
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/h2"
	"github.com/wiretrace/wiretrace/decode/h3"
	"github.com/wiretrace/wiretrace/decode/http1"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/quic"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
	"github.com/wiretrace/wiretrace/decode/ws"
)

// Options configure the decoders. Zero values take each decoder's
// defaults.
type Options struct {
	// Keys holds the key log secrets TLS decryption uses; nil: none.
	Keys *keylog.Store
	// MaxTLSHandshake caps a TLS handshake message (tlsmsg.Options).
	MaxTLSHandshake int
	HTTP1           http1.Options // its Upgrade hook is set by Registry
	H2              h2.Options
	WS              ws.Options
	QUIC            quic.Options // its Keys and Next are set by Datagrams
	H3              h3.Options
}

// maxTunnelDepth bounds CONNECT tunnels nested in tunnels.
const maxTunnelDepth = 4

// Datagrams returns the registry of datagram decoders for a UDP flow:
// QUIC, recognised by its long header, decrypted with Keys, and HTTP/3 on
// its streams when ALPN says h3.
func Datagrams(opts Options) *decode.DatagramRegistry {
	q := opts.QUIC
	q.Keys = opts.Keys
	q.Next = h3.Next(opts.H3)
	q.RTT = true // RTT samples from ACKs (RFC 9002 §5) on packets and in the summary
	reg := &decode.DatagramRegistry{}
	reg.Register(quic.NewSniffer(q))
	return reg
}

// Registry returns the registry of stream decoders for a TCP connection.
func Registry(opts Options) *decode.Registry {
	return registry(opts, 0)
}

// registry builds the registry of one nesting level: depth counts the
// CONNECT tunnels around it.
func registry(opts Options, depth int) *decode.Registry {
	reg := &decode.Registry{}
	reg.Register(tlsmsg.NewSniffer(tlsmsg.Options{
		Keys:         opts.Keys,
		MaxHandshake: opts.MaxTLSHandshake,
		Next:         func() decode.StreamDecoder { return decode.NewSniffing(httpRegistry(opts, depth)) },
	}))
	addHTTP(reg, opts, depth)
	return reg
}

// httpRegistry holds the HTTP decoders only: what may run inside TLS.
func httpRegistry(opts Options, depth int) *decode.Registry {
	reg := &decode.Registry{}
	addHTTP(reg, opts, depth)
	return reg
}

// addHTTP registers HTTP/2 (its preface is unambiguous, so it goes
// first) and HTTP/1.x with its protocol switches.
func addHTTP(reg *decode.Registry, opts Options, depth int) {
	reg.Register(h2.NewSniffer(opts.H2))
	o1 := opts.HTTP1
	o1.Upgrade = func(u *http1.Upgrade, emit decode.Emit) decode.StreamDecoder {
		return upgrade(opts, depth, u, emit)
	}
	reg.Register(http1.NewSniffer(o1))
}

// upgrade picks the decoder that takes over after an HTTP/1.1 protocol
// switch, or nil when wiretrace does not decode the new protocol (the
// http1 decoder then counts the bytes).
func upgrade(opts Options, depth int, u *http1.Upgrade, emit decode.Emit) decode.StreamDecoder {
	switch u.Protocol {
	case "websocket":
		return ws.New(ws.FromHeaders(u.Request, u.Response, u.At), opts.WS, emit)
	case "h2c":
		settings, err := h2.DecodeSettingsHeader(u.Request.Get("Http2-Settings"))
		if err != nil {
			settings = nil // the server switched anyway: decode with defaults
		}
		return h2.NewUpgraded(opts.H2, h2.Upgraded{
			Settings:  settings,
			Method:    u.Method,
			Scheme:    "http",
			Authority: u.Request.Get("Host"),
			Path:      u.Target,
			At:        u.At,
		})
	case "connect":
		if depth >= maxTunnelDepth {
			return nil
		}
		return decode.NewSniffing(registry(opts, depth+1))
	}
	return nil
}
