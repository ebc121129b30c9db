package quic

import (
	"strconv"

	"github.com/quic-go/quic-go/quicvarint"

	"github.com/wiretrace/wiretrace/decode"
)

// PacketType is a QUIC packet's type, as named by docs/events.md.
type PacketType uint8

// Packet types (RFC 9000 §17). PacketUnknown is a long-header packet of a
// version this package does not decode.
const (
	PacketUnknown PacketType = iota
	PacketInitial
	Packet0RTT
	PacketHandshake
	PacketRetry
	PacketVersionNegotiation
	Packet1RTT
)

var packetTypeNames = [...]string{
	PacketUnknown:            "UNKNOWN",
	PacketInitial:            "Initial",
	Packet0RTT:               "0-RTT",
	PacketHandshake:          "Handshake",
	PacketRetry:              "Retry",
	PacketVersionNegotiation: "VersionNegotiation",
	Packet1RTT:               "1-RTT",
}

// String returns the event type name: "Initial", "0-RTT", "Handshake",
// "Retry", "VersionNegotiation", "1-RTT" or "UNKNOWN".
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "PacketType(" + itoa(uint64(t)) + ")"
}

// space is a packet number space (RFC 9000 §12.3).
type space uint8

const (
	spaceInitial space = iota
	spaceHandshake
	spaceApp
	numSpaces
)

var spaceNames = [numSpaces]string{"initial", "handshake", "application"}

func (s space) String() string { return spaceNames[s] }

// space returns the packet number space of a packet type that has packet
// numbers.
func (t PacketType) space() (space, bool) {
	switch t {
	case PacketInitial:
		return spaceInitial, true
	case PacketHandshake:
		return spaceHandshake, true
	case Packet0RTT, Packet1RTT:
		return spaceApp, true
	}
	return 0, false
}

// Limits from RFC 9000.
const (
	// MaxCIDLen is the longest connection ID of QUIC versions 1 and 2
	// (RFC 9000 §17.2); other versions may use up to 255 bytes (RFC 8999).
	MaxCIDLen = 20
	// retryTagLen is the Retry Integrity Tag's length (RFC 9001 §5.8).
	retryTagLen = 16
	// sampleLen is the header protection sample's length (RFC 9001
	// §5.4.2).
	sampleLen = 16
)

// Header is a parsed QUIC packet header. Byte slices alias the datagram.
type Header struct {
	// Long is set for the long header form (RFC 9000 §17.2).
	Long bool
	Type PacketType
	// First is the first byte as on the wire, header protection not
	// removed.
	First   byte
	Version Version
	DCID    []byte
	// DCIDKnown is false for a short header parsed without knowing the
	// connection ID's length: DCID is then empty and the packet number's
	// offset unknown.
	DCIDKnown bool
	SCID      []byte
	// Token is the Initial packet's token or the Retry packet's Retry
	// Token.
	Token []byte
	// Length is the Length field of Initial, 0-RTT and Handshake packets:
	// the packet number and payload bytes.
	Length uint64
	// PNOffset is where the (protected) packet number starts, from the
	// start of the packet; 0 for packets without one.
	PNOffset int
	// Versions holds a Version Negotiation packet's Supported Versions,
	// 4 bytes each.
	Versions []byte
	// Tag is a Retry packet's Retry Integrity Tag.
	Tag []byte
	// Size is how many bytes of the datagram the packet occupies.
	Size int
}

// reader is a cursor over a packet that remembers where it is, so that
// each failure names an offset.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) u8() (byte, bool) {
	if r.off >= len(r.b) {
		return 0, false
	}
	r.off++
	return r.b[r.off-1], true
}

func (r *reader) u32() (uint32, bool) {
	if r.left() < 4 {
		return 0, false
	}
	b := r.b[r.off : r.off+4]
	r.off += 4
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}

func (r *reader) bytes(n uint64) ([]byte, bool) {
	if n > uint64(r.left()) {
		return nil, false
	}
	b := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return b, true
}

// varint reads a variable-length integer (RFC 9000 §16).
func (r *reader) varint() (uint64, bool) {
	v, n, err := quicvarint.Parse(r.b[r.off:])
	if err != nil {
		return 0, false
	}
	r.off += n
	return v, true
}

// errAt builds the package's *decode.Error.
func errAt(msg string, off int, err error) error {
	return &decode.Error{Layer: "quic", Msg: msg, Offset: off, Err: err}
}

// ParseHeader parses the header of the QUIC packet at the start of b into
// h, which it resets first, and sets h.Size to the bytes of b the packet
// occupies, so that coalesced packets (RFC 9000 §12.2) are found at
// b[h.Size:]. shortDCIDLen is the connection ID length of a short header,
// which the header itself does not say; pass -1 when it is not known.
//
// A packet whose Length runs past the end of b (cut by the snap length)
// gives the parsed header with h.Size = len(b) and an error wrapping
// decode.ErrTruncated. Long headers of unknown versions are parsed to the
// invariants of RFC 8999 and take the rest of the datagram.
//
// RFC 9000 §17.2:
//
//	Long Header Packet {
//	  Header Form (1) = 1,
//	  Fixed Bit (1) = 1,
//	  Long Packet Type (2),
//	  Type-Specific Bits (4),
//	  Version (32),
//	  Destination Connection ID Length (8),
//	  Destination Connection ID (0..160),
//	  Source Connection ID Length (8),
//	  Source Connection ID (0..160),
//	  Type-Specific Payload (..),
//	}
func ParseHeader(b []byte, shortDCIDLen int, h *Header) error {
	*h = Header{}
	r := reader{b: b}
	first, ok := r.u8()
	if !ok {
		return errAt("header: empty packet", 0, decode.ErrTruncated)
	}
	h.First = first
	if first&0x80 == 0 {
		return parseShort(b, shortDCIDLen, h)
	}
	h.Long = true
	v, ok := r.u32()
	if !ok {
		return errAt("long header: version", r.off, decode.ErrTruncated)
	}
	h.Version = Version(v)
	p := h.Version.params()
	maxCID := uint64(255)
	if p != nil {
		maxCID = MaxCIDLen
	}
	var err error
	if h.DCID, err = readCID(&r, maxCID); err != nil {
		return err
	}
	if h.SCID, err = readCID(&r, maxCID); err != nil {
		return err
	}
	h.DCIDKnown = true
	switch {
	case h.Version == VersionNegotiation:
		// RFC 9000 §17.2.1: Supported Version (32) ...
		h.Type = PacketVersionNegotiation
		h.Versions = b[r.off:len(b):len(b)]
		h.Size = len(b)
		if len(h.Versions)%4 != 0 {
			return errAt("version negotiation: supported versions length "+itoa(uint64(len(h.Versions)))+" not a multiple of 4", r.off, decode.ErrMalformed)
		}
		return nil
	case p == nil:
		h.Type = PacketUnknown
		h.Size = len(b)
		return nil
	}
	h.Type = p.types[first>>4&3]
	switch h.Type {
	case PacketRetry:
		// RFC 9000 §17.2.5: Retry Token (..), Retry Integrity Tag (128).
		if r.left() < retryTagLen {
			h.Size = len(b)
			return errAt("retry: integrity tag", r.off, decode.ErrTruncated)
		}
		h.Token = b[r.off : len(b)-retryTagLen : len(b)-retryTagLen]
		h.Tag = b[len(b)-retryTagLen:]
		h.Size = len(b)
		return nil
	case PacketInitial:
		// RFC 9000 §17.2.2: Token Length (i), Token (..).
		n, ok := r.varint()
		if !ok {
			h.Size = len(b)
			return errAt("initial: token length", r.off, decode.ErrTruncated)
		}
		if h.Token, ok = r.bytes(n); !ok {
			h.Size = len(b)
			return errAt("initial: token length "+itoa(n)+" exceeds remaining "+itoa(uint64(r.left())), r.off, decode.ErrTruncated)
		}
	}
	// Length (i), Packet Number (8..32), Packet Payload (8..).
	n, ok := r.varint()
	if !ok {
		h.Size = len(b)
		return errAt(h.Type.String()+": length", r.off, decode.ErrTruncated)
	}
	h.Length, h.PNOffset = n, r.off
	if n > uint64(r.left()) {
		h.Size = len(b)
		return errAt(h.Type.String()+": length "+itoa(n)+" exceeds remaining "+itoa(uint64(r.left())), r.off, decode.ErrTruncated)
	}
	h.Size = r.off + int(n)
	return nil
}

// readCID reads a connection ID with its 8-bit length.
func readCID(r *reader, maxCID uint64) ([]byte, error) {
	n, ok := r.u8()
	if !ok {
		return nil, errAt("long header: connection ID length", r.off, decode.ErrTruncated)
	}
	if uint64(n) > maxCID {
		return nil, errAt("long header: connection ID length "+itoa(uint64(n))+" exceeds 20", r.off-1, decode.ErrMalformed)
	}
	cid, ok := r.bytes(uint64(n))
	if !ok {
		return nil, errAt("long header: connection ID", r.off, decode.ErrTruncated)
	}
	return cid, nil
}

// parseShort parses a 1-RTT packet's header (RFC 9000 §17.3.1):
//
//	1-RTT Packet {
//	  Header Form (1) = 0,
//	  Fixed Bit (1) = 1,
//	  Spin Bit (1),
//	  Reserved Bits (2),
//	  Key Phase (1),
//	  Packet Number Length (2),
//	  Destination Connection ID (0..160),
//	  Packet Number (8..32),
//	  Packet Payload (8..),
//	}
//
// A short header packet takes the rest of the datagram.
func parseShort(b []byte, dcidLen int, h *Header) error {
	h.Type = Packet1RTT
	h.Size = len(b)
	if dcidLen < 0 || dcidLen > MaxCIDLen {
		return nil
	}
	if 1+dcidLen > len(b) {
		return errAt("1-RTT: destination connection ID", 1, decode.ErrTruncated)
	}
	h.DCID, h.DCIDKnown = b[1:1+dcidLen:1+dcidLen], true
	h.PNOffset = 1 + dcidLen
	return nil
}

// Spin returns a short header's latency spin bit (RFC 9000 §17.4), which
// header protection leaves in the clear.
func (h *Header) Spin() bool { return !h.Long && h.First&0x20 != 0 }

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
