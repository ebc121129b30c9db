package quic

import "strconv"

// Version is a QUIC version number (RFC 9000 §15).
type Version uint32

// The versions whose packets this package decodes beyond the invariants
// of RFC 8999.
const (
	// VersionNegotiation is the version field of a Version Negotiation
	// packet (RFC 9000 §17.2.1).
	VersionNegotiation Version = 0
	// Version1 is QUIC version 1 (RFC 9000).
	Version1 Version = 0x00000001
	// Version2 is QUIC version 2 (RFC 9369).
	Version2 Version = 0x6b3343cf
	// VersionDraft29 is draft-ietf-quic-transport-29, still seen in older
	// captures.
	VersionDraft29 Version = 0xff00001d
)

// String returns "v1", "v2", "draft-29", or the number in hex
// ("0x1a2a3a4a").
func (v Version) String() string {
	switch v {
	case Version1:
		return "v1"
	case Version2:
		return "v2"
	case VersionDraft29:
		return "draft-29"
	}
	return hex32(uint32(v))
}

// Known reports whether packets of version v are decoded (v1, v2,
// draft-29).
func (v Version) Known() bool { return v.params() != nil }

// Reserved reports whether v is one of the versions reserved to exercise
// version negotiation, 0x?a?a?a?a (RFC 9000 §15).
func (v Version) Reserved() bool { return v&0x0f0f0f0f == 0x0a0a0a0a }

func hex32(v uint32) string {
	b := []byte("0x00000000")
	s := strconv.FormatUint(uint64(v), 16)
	copy(b[10-len(s):], s)
	return string(b)
}

// versionParams are the constants a version fixes for Initial and Retry
// protection.
type versionParams struct {
	// salt is the initial_salt (RFC 9001 §5.2, RFC 9369 §3.3.1).
	salt []byte
	// keyLabel, ivLabel and hpLabel are the HKDF labels of the packet
	// protection keys (RFC 9001 §5.1, RFC 9369 §3.3.2).
	keyLabel, ivLabel, hpLabel string
	// kuLabel derives the next 1-RTT secret at a key update (RFC 9001
	// §6.1, RFC 9369 §3.3.2).
	kuLabel string
	// retryKey and retryNonce protect the Retry integrity tag (RFC 9001
	// §5.8, RFC 9369 §3.3.3).
	retryKey   [16]byte
	retryNonce [12]byte
	// types maps the two type bits of a long header to a packet type
	// (RFC 9000 §17.2, RFC 9369 §3.2).
	types [4]PacketType
}

var (
	v1Types = [4]PacketType{PacketInitial, Packet0RTT, PacketHandshake, PacketRetry}

	paramsV1 = versionParams{
		salt: []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
			0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
		keyLabel: "quic key", ivLabel: "quic iv", hpLabel: "quic hp", kuLabel: "quic ku",
		retryKey: [16]byte{0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
			0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e},
		retryNonce: [12]byte{0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb},
		types:      v1Types,
	}
	paramsV2 = versionParams{
		salt: []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
			0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
		keyLabel: "quicv2 key", ivLabel: "quicv2 iv", hpLabel: "quicv2 hp", kuLabel: "quicv2 ku",
		retryKey: [16]byte{0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
			0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92},
		retryNonce: [12]byte{0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a},
		// RFC 9369 §3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
		types: [4]PacketType{PacketRetry, PacketInitial, Packet0RTT, PacketHandshake},
	}
	paramsDraft29 = versionParams{
		salt: []byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
			0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99},
		keyLabel: "quic key", ivLabel: "quic iv", hpLabel: "quic hp", kuLabel: "quic ku",
		retryKey: [16]byte{0xcc, 0xce, 0x18, 0x7e, 0xd0, 0x9a, 0x09, 0xd0,
			0x57, 0x28, 0x15, 0x5a, 0x6c, 0xb9, 0x6b, 0xe1},
		retryNonce: [12]byte{0xe5, 0x49, 0x30, 0xf9, 0x7f, 0x21, 0x36, 0xf0, 0x53, 0x0a, 0x8c, 0x1c},
		types:      v1Types,
	}
)

func (v Version) params() *versionParams {
	switch v {
	case Version1:
		return &paramsV1
	case Version2:
		return &paramsV2
	case VersionDraft29:
		return &paramsDraft29
	}
	return nil
}
