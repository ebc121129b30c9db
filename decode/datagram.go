package decode

// DatagramDecoder decodes the datagrams of one UDP flow, both directions,
// in capture order. Datagrams are not a stream: each is whole or lost.
type DatagramDecoder interface {
	// Datagram hands over one datagram's payload; payload is valid only
	// during the call. An error switches the decoder off for the flow.
	Datagram(dir Dir, payload []byte, at Position, emit Emit) error
	// End says the flow is over.
	End(at Position, emit Emit)
}

// DatagramSniffer recognises a protocol from a UDP flow's first datagram.
type DatagramSniffer struct {
	// Name identifies the protocol, e.g. "quic".
	Name string
	// Sniff inspects the flow's first datagram (from either side). It
	// must not keep payload.
	Sniff func(dir Dir, payload []byte) bool
	// New makes a decoder for one flow.
	New func() DatagramDecoder
}

// DatagramRegistry holds the protocols that can attach to a UDP flow,
// tried in registration order. The zero value is an empty registry.
type DatagramRegistry struct {
	sniffers []DatagramSniffer
}

// Register adds a sniffer after those already registered.
func (r *DatagramRegistry) Register(s DatagramSniffer) { r.sniffers = append(r.sniffers, s) }

// Len reports how many sniffers are registered.
func (r *DatagramRegistry) Len() int {
	if r == nil {
		return 0
	}
	return len(r.sniffers)
}

// Sniff returns the first sniffer that recognises payload, or nil.
func (r *DatagramRegistry) Sniff(dir Dir, payload []byte) *DatagramSniffer {
	if r == nil {
		return nil
	}
	for i := range r.sniffers {
		if r.sniffers[i].Sniff(dir, payload) {
			return &r.sniffers[i]
		}
	}
	return nil
}

// MultiStreamDecoder decodes a connection made of independent ordered
// byte streams (QUIC's streams): each stream's bytes arrive in order per
// stream, streams interleave freely. The transport decoder (quic) feeds
// it; an application protocol (HTTP/3) implements it.
type MultiStreamDecoder interface {
	// StreamData hands over the next in-order bytes of stream id in dir;
	// fin says the stream ends after them. data is valid only during the
	// call. An error switches the decoder off for the connection.
	StreamData(id int64, dir Dir, data []byte, fin bool, at Position, emit Emit) error
	// StreamReset says stream id in dir was reset: its bytes after those
	// delivered will never arrive.
	StreamReset(id int64, dir Dir, at Position, emit Emit)
	// End says the connection is over.
	End(at Position, emit Emit)
}

// PathClaimer is implemented by DatagramDecoders whose connection can
// move to other addresses while it lasts (QUIC connection migration and
// NAT rebinding, RFC 9000 §9). The caller asks it about a datagram on a
// flow that has no connection of its own yet.
type PathClaimer interface {
	// ClaimPath reports whether payload, the first datagram of an
	// unknown flow, belongs to this connection, and if so which
	// direction it travels (C2S: its sender is the client) and what
	// matched (e.g. the connection ID). It must not keep payload.
	ClaimPath(payload []byte) (dir Dir, info Info, ok bool)
}

// Closer is implemented by DatagramDecoders that can tell from the
// datagrams that their connection is over (QUIC's CONNECTION_CLOSE). The
// caller then ends the flow after a short linger, as for a closed TCP
// connection, instead of waiting for its idle timeout.
type Closer interface {
	Closed() bool
}
