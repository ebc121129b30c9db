package http1

import (
	"net/http"

	"github.com/wiretrace/wiretrace/decode"
)

// Default caps; see Options.
const (
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxLineLen     = 16 << 10
	DefaultMaxHeaders     = 64
	DefaultMaxString      = 512
	DefaultMaxPending     = 1024
	DefaultMaxHold        = 64 << 10
)

// Options configure a Decoder. Zero fields take the defaults above.
type Options struct {
	// MaxHeaderBytes caps a message head (start line, header fields and
	// the empty line) and, separately, a chunked body's trailer section.
	MaxHeaderBytes int
	// MaxLineLen caps one line: a start line, a header field, a chunk-size
	// line or a trailer field.
	MaxLineLen int
	// MaxHeaders caps how many fields the headers info key lists; the
	// rest are counted in a last "+N more" entry.
	MaxHeaders int
	// MaxString caps every string put in an event's info, in bytes; a cut
	// string ends in "…".
	MaxString int
	// MaxPending caps the requests waiting for their response
	// (pipelining).
	MaxPending int
	// MaxHold caps the client bytes held after an Upgrade or CONNECT
	// request until the server's answer says whose they are.
	MaxHold int

	// Upgrade, if set, is asked for the decoder that takes over both
	// directions after a 101 Switching Protocols response, or a 2xx
	// answer to CONNECT (Protocol "connect"). It may return nil. The
	// returned decoder gets every later byte of both directions, Skip and
	// End.
	Upgrade func(u *Upgrade, emit decode.Emit) decode.StreamDecoder
}

func (o *Options) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	def(&o.MaxLineLen, DefaultMaxLineLen)
	def(&o.MaxHeaders, DefaultMaxHeaders)
	def(&o.MaxString, DefaultMaxString)
	def(&o.MaxPending, DefaultMaxPending)
	def(&o.MaxHold, DefaultMaxHold)
}

// Upgrade describes a protocol switch (RFC 9110 §7.8, §15.2.2) or a
// CONNECT tunnel (RFC 9110 §9.3.6) for Options.Upgrade.
type Upgrade struct {
	// Protocol is the first token of the response's Upgrade header field
	// (else the request's), lower-cased: "websocket", "h2c". It is
	// "connect" for a CONNECT tunnel.
	Protocol string
	// Request and Response hold the two heads' fields, names in canonical
	// form, values as sent.
	Request, Response http.Header
	// Method and Target are the request line's, as sent (at most
	// Options.MaxLineLen bytes).
	Method, Target string
	// At is where the switching response's head ended.
	At decode.Position
}
