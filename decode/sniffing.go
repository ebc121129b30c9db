package decode

// Sniffing is a StreamDecoder that recognises the protocol on a pair of
// byte streams with a Registry and then hands every byte, the sniffed ones
// first, to that protocol's decoder. It serves layers that carry other
// protocols, such as TLS's decrypted application data.
//
// Until a sniffer matches, the first bytes of each direction (up to
// SniffBytes) are held; when no sniffer can match, the streams are left
// undecoded and later bytes are dropped. A hole before the protocol is
// known gives up the same way.
type Sniffing struct {
	reg   *Registry
	dec   StreamDecoder
	name  string
	state sniffState
	first [2][]byte
	held  []heldBytes
	// heldLen is the bytes in held.
	heldLen int
}

type sniffState uint8

const (
	sniffing sniffState = iota
	sniffAttached
	sniffNone
)

type heldBytes struct {
	dir  Dir
	data []byte
	at   Position
}

// NewSniffing returns a Sniffing decoder over reg.
func NewSniffing(reg *Registry) *Sniffing { return &Sniffing{reg: reg} }

// Name returns the name of the attached protocol, or "" before one
// matched or when none did.
func (s *Sniffing) Name() string { return s.name }

// Data implements StreamDecoder. An error comes from the attached decoder.
func (s *Sniffing) Data(dir Dir, data []byte, at Position, emit Emit) error {
	switch s.state {
	case sniffAttached:
		return s.dec.Data(dir, data, at, emit)
	case sniffNone:
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	i := dir.Index()
	room := SniffBytes - len(s.first[i])
	s.first[i] = append(s.first[i], data[:min(room, len(data))]...)
	verdict, sn := s.reg.Sniff(dir, s.first[i])
	switch {
	case verdict == Match:
		s.dec, s.name, s.state = sn.New(), sn.Name, sniffAttached
		held := s.held
		s.held, s.heldLen, s.first = nil, 0, [2][]byte{}
		for _, h := range held {
			if err := s.dec.Data(h.dir, h.data, h.at, emit); err != nil {
				return err
			}
		}
		return s.dec.Data(dir, data, at, emit)
	case verdict == NeedMore && s.heldLen+len(data) <= MaxSniffHold &&
		(len(s.first[0]) < SniffBytes || len(s.first[1]) < SniffBytes):
		// Undecided: a server may speak first (an HTTP/2 server's
		// SETTINGS) and the client's bytes decide.
		s.held = append(s.held, heldBytes{dir, append([]byte(nil), data...), at})
		s.heldLen += len(data)
	default:
		s.giveUp()
	}
	return nil
}

// MaxSniffHold bounds the bytes held per connection while no sniffer has
// decided (a server's greeting waiting for the client's first bytes):
// past it, or once both directions' first SniffBytes are in and still
// undecided, the streams are given up. It is small because every
// connection may hold it.
const MaxSniffHold = 4 << 10

func (s *Sniffing) giveUp() {
	s.state, s.held, s.heldLen, s.first = sniffNone, nil, 0, [2][]byte{}
}

// Skip implements StreamDecoder.
func (s *Sniffing) Skip(dir Dir, n uint64, at Position, emit Emit) {
	switch s.state {
	case sniffAttached:
		s.dec.Skip(dir, n, at, emit)
	case sniffing:
		s.giveUp()
	}
}

// End implements StreamDecoder.
func (s *Sniffing) End(at Position, emit Emit) {
	if s.state == sniffAttached {
		s.dec.End(at, emit)
	}
}

// Summary returns the attached decoder's summary fields, if it has any,
// and "protocol": its name.
func (s *Sniffing) Summary() Info {
	if s.state != sniffAttached {
		return nil
	}
	var info Info
	if sum, ok := s.dec.(Summarizer); ok {
		info = sum.Summary()
	}
	return append(info, String("protocol", s.name))
}
