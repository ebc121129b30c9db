package quic

import "golang.org/x/crypto/cryptobyte"

// helloExtensions returns the extensions block of a ClientHello or
// ServerHello body (RFC 8446 §4.1.2, §4.1.3), the 2-byte length
// included, or nil when the body does not parse that far.
func helloExtensions(body []byte, client bool) []byte {
	s := cryptobyte.String(body)
	var skip cryptobyte.String
	var cs uint16
	var comp uint8
	if !s.Skip(2+32) || !s.ReadUint8LengthPrefixed(&skip) {
		return nil
	}
	if client {
		if !s.ReadUint16LengthPrefixed(&skip) || !s.ReadUint8LengthPrefixed(&skip) {
			return nil
		}
	} else if !s.ReadUint16(&cs) || !s.ReadUint8(&comp) {
		return nil
	}
	return s
}

// findExtension returns the data of the quic_transport_parameters
// extension (RFC 9001 §8.2; the drafts' codepoint too) in an extensions
// block with its 2-byte length.
func findExtension(block []byte) ([]byte, bool) {
	s := cryptobyte.String(block)
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return nil, false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, false
		}
		if typ == extTransportParameters || typ == extTransportParametersDraft {
			return data, true
		}
	}
	return nil, false
}

// tpUint returns the integer value of transport parameter id, if present
// and well formed.
func tpUint(b []byte, id uint64) (uint64, bool) {
	r := reader{b: b}
	for r.left() > 0 {
		pid, ok1 := r.varint()
		n, ok2 := r.varint()
		v, ok3 := r.bytes(n)
		if !ok1 || !ok2 || !ok3 {
			return 0, false
		}
		if pid == id {
			vr := reader{b: v}
			x, ok := vr.varint()
			return x, ok && vr.left() == 0
		}
	}
	return 0, false
}
