package decode

import "time"

// Position says where in the capture a run of stream bytes came from.
type Position struct {
	Frame int64
	TS    time.Time
}

// StreamDecoder decodes the reassembled byte streams of one connection,
// both directions. It is created by a Sniffer once the first bytes match.
type StreamDecoder interface {
	// Data hands over the next in-order bytes of dir. data is valid only
	// during the call.
	Data(dir Dir, data []byte, at Position, emit Emit) error
	// Skip says n bytes of dir will never arrive.
	Skip(dir Dir, n uint64, at Position, emit Emit)
	// End says the connection is over.
	End(at Position, emit Emit)
}

// Summarizer is implemented by a StreamDecoder that fills fields of the
// connection summary (docs/events.md), such as tls_version. Each returned
// field replaces the summary field of the same key; keys the summary does
// not have are ignored, so the summary's key order never changes.
type Summarizer interface {
	Summary() Info
}

// Verdict is a sniffer's answer about the first bytes of a stream.
type Verdict uint8

// Sniffer verdicts.
const (
	// NoMatch: this protocol is not on the stream.
	NoMatch Verdict = iota
	// NeedMore: too few bytes to say.
	NeedMore
	// Match: attach this sniffer's decoder.
	Match
)

// Sniffer recognises a protocol from the first bytes a side sent.
type Sniffer struct {
	// Name identifies the protocol, e.g. "tls".
	Name string
	// Sniff inspects the first bytes of dir seen so far (at most
	// Registry.SniffBytes). It must not keep first.
	Sniff func(dir Dir, first []byte) Verdict
	// New makes a decoder for one connection.
	New func() StreamDecoder
}

// Registry holds the stream protocols that can attach to a TCP connection,
// tried in registration order. The zero value is an empty registry.
type Registry struct {
	sniffers []Sniffer
}

// SniffBytes is how many leading bytes of each direction are kept for
// sniffing before a stream is declared unknown.
const SniffBytes = 64

// Register adds a sniffer after those already registered.
func (r *Registry) Register(s Sniffer) { r.sniffers = append(r.sniffers, s) }

// Len reports how many sniffers are registered.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	return len(r.sniffers)
}

// Sniff asks every sniffer about first. It returns the first match, or
// NeedMore if any sniffer needs more bytes, else NoMatch.
func (r *Registry) Sniff(dir Dir, first []byte) (Verdict, *Sniffer) {
	if r == nil {
		return NoMatch, nil
	}
	verdict := NoMatch
	for i := range r.sniffers {
		switch r.sniffers[i].Sniff(dir, first) {
		case Match:
			return Match, &r.sniffers[i]
		case NeedMore:
			verdict = NeedMore
		}
	}
	return verdict, nil
}
