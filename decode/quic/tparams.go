package quic

import (
	"net/netip"
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
)

// TLS extension types that carry QUIC transport parameters: RFC 9001
// §8.2, and the codepoint drafts up to 33 used.
const (
	extTransportParameters      = 0x39
	extTransportParametersDraft = 0xffa5
)

// Transport parameter IDs (RFC 9000 §18.2 and the IANA registry).
const (
	tpOriginalDCID         = 0x00
	tpMaxIdleTimeout       = 0x01
	tpStatelessResetToken  = 0x02
	tpPreferredAddress     = 0x0d
	tpDisableMigration     = 0x0c
	tpInitialSCID          = 0x0f
	tpRetrySCID            = 0x10
	tpVersionInformation   = 0x11
	tpGreaseQUICBit        = 0x2ab2
	tpAckDelayExponent     = 0x0a
	tpMaxAckDelay          = 0x0b
	tpMaxDatagramFrameSize = 0x20
)

// tpKind says how a transport parameter's value is encoded.
type tpKind uint8

const (
	tpInt   tpKind = iota // a variable-length integer
	tpBytes               // opaque bytes, shown in hex
	tpEmpty               // zero-length: present or not
	tpOther               // decoded by hand
)

var tpNames = map[uint64]struct {
	name string
	kind tpKind
}{
	tpOriginalDCID:         {"original_destination_connection_id", tpBytes},
	tpMaxIdleTimeout:       {"max_idle_timeout", tpInt},
	tpStatelessResetToken:  {"stateless_reset_token", tpBytes},
	0x03:                   {"max_udp_payload_size", tpInt},
	0x04:                   {"initial_max_data", tpInt},
	0x05:                   {"initial_max_stream_data_bidi_local", tpInt},
	0x06:                   {"initial_max_stream_data_bidi_remote", tpInt},
	0x07:                   {"initial_max_stream_data_uni", tpInt},
	0x08:                   {"initial_max_streams_bidi", tpInt},
	0x09:                   {"initial_max_streams_uni", tpInt},
	tpAckDelayExponent:     {"ack_delay_exponent", tpInt},
	tpMaxAckDelay:          {"max_ack_delay", tpInt},
	tpDisableMigration:     {"disable_active_migration", tpEmpty},
	tpPreferredAddress:     {"preferred_address", tpOther},
	0x0e:                   {"active_connection_id_limit", tpInt},
	tpInitialSCID:          {"initial_source_connection_id", tpBytes},
	tpRetrySCID:            {"retry_source_connection_id", tpBytes},
	tpVersionInformation:   {"version_information", tpOther},   // RFC 9368 §3
	tpMaxDatagramFrameSize: {"max_datagram_frame_size", tpInt}, // RFC 9221 §3
	tpGreaseQUICBit:        {"grease_quic_bit", tpEmpty},       // RFC 9287 §3
	0xff04de1b:             {"min_ack_delay", tpInt},           // draft-ietf-quic-ack-frequency
	0x1d:                   {"reset_stream_at", tpEmpty},       // draft-ietf-quic-reliable-stream-reset-09
	0x17f7586d2cb571:       {"reset_stream_at", tpEmpty},       // draft-ietf-quic-reliable-stream-reset-07
}

// ParseTransportParameters parses the quic_transport_parameters extension
// data (RFC 9000 §18) into strings "name=value": integers in decimal,
// connection IDs and tokens in hex (cut after maxString bytes),
// zero-length parameters by name alone, reserved ones (31*N+27, RFC 9000
// §18.1) as "GREASE", unknown ones as "0x1234=hex". A malformed list gives
// the parameters before the fault and an error.
func ParseTransportParameters(b []byte, maxString int) ([]string, error) {
	var out []string
	r := reader{b: b}
	for r.left() > 0 {
		start := r.off
		id, ok := r.varint()
		if !ok {
			return out, errAt("transport parameter ID", start, decode.ErrTruncated)
		}
		n, ok := r.varint()
		if !ok {
			return out, errAt("transport parameter "+tpName(id)+": length", r.off, decode.ErrTruncated)
		}
		v, ok := r.bytes(n)
		if !ok {
			return out, errAt("transport parameter "+tpName(id)+": length "+itoa(n)+" exceeds remaining "+itoa(uint64(r.left())), r.off, decode.ErrTruncated)
		}
		s, err := formatTP(id, v, maxString)
		if err != nil {
			return out, errAt("transport parameter "+tpName(id)+": "+err.Error(), start, decode.ErrMalformed)
		}
		out = append(out, s)
	}
	return out, nil
}

func tpName(id uint64) string {
	if p, ok := tpNames[id]; ok {
		return p.name
	}
	if id >= 27 && (id-27)%31 == 0 {
		return "GREASE"
	}
	return "0x" + strconv.FormatUint(id, 16)
}

type tpError string

func (e tpError) Error() string { return string(e) }

func formatTP(id uint64, v []byte, maxString int) (string, error) {
	name := tpName(id)
	p, known := tpNames[id]
	if !known {
		if name == "GREASE" {
			return name, nil
		}
		return string(appendHex([]byte(name+"="), v, maxString)), nil
	}
	switch p.kind {
	case tpInt:
		r := reader{b: v}
		n, ok := r.varint()
		if !ok || r.left() != 0 {
			return "", tpError("not one variable-length integer")
		}
		return name + "=" + strconv.FormatUint(n, 10), nil
	case tpEmpty:
		if len(v) != 0 {
			return "", tpError("length " + itoa(uint64(len(v))) + ", want 0")
		}
		return name, nil
	case tpBytes:
		return string(appendHex([]byte(name+"="), v, maxString)), nil
	}
	switch id {
	case tpPreferredAddress:
		// RFC 9000 §18.2: IPv4 Address (32), IPv4 Port (16), IPv6
		// Address (128), IPv6 Port (16), Connection ID Length (8),
		// Connection ID (..), Stateless Reset Token (128)
		if len(v) < 4+2+16+2+1+16 {
			return "", tpError("preferred_address too short")
		}
		v4 := netip.AddrPortFrom(netip.AddrFrom4([4]byte(v[0:4])), uint16(v[4])<<8|uint16(v[5]))
		v6 := netip.AddrPortFrom(netip.AddrFrom16([16]byte(v[6:22])), uint16(v[22])<<8|uint16(v[23]))
		n := int(v[24])
		if n > MaxCIDLen || len(v) != 25+n+16 {
			return "", tpError("preferred_address connection ID length " + itoa(uint64(n)))
		}
		b := []byte(name + "=" + v4.String() + "," + v6.String() + ",cid:")
		return string(appendHex(b, v[25:25+n], maxString)), nil
	default: // version_information: Chosen Version (32), Available Versions (32) ...
		if len(v) < 4 || len(v)%4 != 0 {
			return "", tpError("version_information length " + itoa(uint64(len(v))))
		}
		b := []byte(name + "=")
		for i := 0; i < len(v); i += 4 {
			if i > 0 {
				b = append(b, '/')
			}
			b = append(b, Version(uint32(v[i])<<24|uint32(v[i+1])<<16|uint32(v[i+2])<<8|uint32(v[i+3])).String()...)
		}
		return string(b), nil
	}
}
