package tlsmsg

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"

	"github.com/wiretrace/wiretrace/decode"
)

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest
// (RFC 8446 §4.1.3): SHA-256("HelloRetryRequest").
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// Limits on what one hello may list; longer lists are cut (the counts
// stay exact).
const maxListed = 128

// ClientHello is the parsed ClientHello (RFC 8446 §4.1.2, RFC 5246
// §7.4.1.2). Slices alias the message except the strings.
type ClientHello struct {
	LegacyVersion  Version
	Random         []byte
	SessionIDLen   int
	CipherSuites   []CipherSuite
	Compression    int
	Extensions     []ExtensionType
	ServerName     string
	ALPN           []string
	Versions       []Version
	Groups         []Group
	PointFormats   []uint8
	KeyShares      []Group
	SigAlgs        []SignatureScheme
	PSKModes       []uint8
	PSKIdentities  int
	EarlyData      bool
	SessionTicket  bool
	TicketLen      int
	EncryptThenMAC bool
	ExtendedMS     bool
	Renegotiation  bool
	ECH            bool
	SSLv2          bool
}

// errAt builds a *decode.Error at the cursor's position in msg.
func errAt(msg string, whole []byte, s cryptobyte.String, err error) error {
	return &decode.Error{Layer: "tlsmsg", Msg: msg + ": " + err.Error(), Offset: len(whole) - len(s), Err: err}
}

// ParseClientHello parses a ClientHello body (without the 4-byte handshake
// header) into h, which it resets first.
//
// RFC 8446 §4.1.2:
//
//	uint16 ProtocolVersion; opaque Random[32];
//	struct {
//	    ProtocolVersion legacy_version = 0x0303;
//	    Random random;
//	    opaque legacy_session_id<0..32>;
//	    CipherSuite cipher_suites<2..2^16-2>;
//	    opaque legacy_compression_methods<1..2^8-1>;
//	    Extension extensions<8..2^16-1>;
//	} ClientHello;
func ParseClientHello(body []byte, h *ClientHello) error {
	*h = ClientHello{}
	s := cryptobyte.String(body)
	var v uint16
	var sid, suites, comp cryptobyte.String
	if !s.ReadUint16(&v) {
		return errAt("ClientHello: legacy_version", body, s, decode.ErrTruncated)
	}
	h.LegacyVersion = Version(v)
	if !s.ReadBytes(&h.Random, 32) {
		return errAt("ClientHello: random", body, s, decode.ErrTruncated)
	}
	if !s.ReadUint8LengthPrefixed(&sid) {
		return errAt("ClientHello: legacy_session_id", body, s, decode.ErrTruncated)
	}
	h.SessionIDLen = len(sid)
	if !s.ReadUint16LengthPrefixed(&suites) {
		return errAt("ClientHello: cipher_suites", body, s, decode.ErrTruncated)
	}
	if len(suites)%2 != 0 {
		return errAt("ClientHello: cipher_suites: odd length", body, s, decode.ErrMalformed)
	}
	for !suites.Empty() {
		var c uint16
		suites.ReadUint16(&c)
		h.CipherSuites = append(h.CipherSuites, CipherSuite(c))
	}
	if !s.ReadUint8LengthPrefixed(&comp) {
		return errAt("ClientHello: legacy_compression_methods", body, s, decode.ErrTruncated)
	}
	h.Compression = len(comp)
	return walkExtensions("ClientHello", body, s, func(et ExtensionType, ext cryptobyte.String) error {
		h.Extensions = append(h.Extensions, et)
		return h.extension(et, ext)
	})
}

// readUint16s reads a vector of 16-bit codepoints with a one-byte (short)
// or two-byte length prefix; a length that is odd or past the end fails.
func readUint16s[T ~uint16](s *cryptobyte.String, short bool) ([]T, bool) {
	var list cryptobyte.String
	ok := false
	if short {
		ok = s.ReadUint8LengthPrefixed(&list)
	} else {
		ok = s.ReadUint16LengthPrefixed(&list)
	}
	if !ok || len(list)%2 != 0 {
		return nil, false
	}
	out := make([]T, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		out = append(out, T(v))
	}
	return out, true
}

// walkExtensions reads the extensions block that ends a ClientHello or
// ServerHello; s holds the rest of the message. The block may be absent
// (RFC 5246 §7.4.1.2); trailing bytes and a repeated extension type (RFC
// 8446 §4.2) are errors. visit sees each extension in order; its error is
// returned with the extension's name and offset.
func walkExtensions(msg string, body []byte, s cryptobyte.String, visit func(ExtensionType, cryptobyte.String) error) error {
	if s.Empty() {
		return nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return errAt(msg+": extensions", body, s, decode.ErrTruncated)
	}
	if !s.Empty() {
		return errAt(msg+": trailing bytes", body, s, decode.ErrMalformed)
	}
	seen := map[ExtensionType]bool{}
	for !exts.Empty() {
		var typ uint16
		var ext cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&ext) {
			return errAt(msg+": extension", body, exts, decode.ErrTruncated)
		}
		et := ExtensionType(typ)
		if seen[et] {
			return errAt(msg+": duplicate extension "+et.String(), body, exts, decode.ErrMalformed)
		}
		seen[et] = true
		if err := visit(et, ext); err != nil {
			return errAt(msg+": extension "+et.String(), body, exts, err)
		}
	}
	return nil
}

func (h *ClientHello) extension(et ExtensionType, ext cryptobyte.String) error {
	bad := decode.ErrMalformed
	switch et {
	case ExtServerName: // RFC 6066 §3
		var list cryptobyte.String
		if !ext.ReadUint16LengthPrefixed(&list) {
			return bad
		}
		for !list.Empty() {
			var nt uint8
			var name cryptobyte.String
			if !list.ReadUint8(&nt) || !list.ReadUint16LengthPrefixed(&name) {
				return bad
			}
			if nt == 0 && h.ServerName == "" {
				h.ServerName = string(name)
			}
		}
	case ExtALPN: // RFC 7301 §3.1
		var list cryptobyte.String
		if !ext.ReadUint16LengthPrefixed(&list) {
			return bad
		}
		for !list.Empty() {
			var p cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&p) {
				return bad
			}
			if len(h.ALPN) < maxListed {
				h.ALPN = append(h.ALPN, string(p))
			}
		}
	case ExtSupportedVersions: // RFC 8446 §4.2.1
		var ok bool
		if h.Versions, ok = readUint16s[Version](&ext, true); !ok {
			return bad
		}
	case ExtSupportedGroups: // RFC 8446 §4.2.7
		var ok bool
		if h.Groups, ok = readUint16s[Group](&ext, false); !ok {
			return bad
		}
	case ExtECPointFormats: // RFC 8422 §5.1.2
		var list cryptobyte.String
		if !ext.ReadUint8LengthPrefixed(&list) {
			return bad
		}
		h.PointFormats = []uint8(list)
	case ExtKeyShare: // RFC 8446 §4.2.8
		var list cryptobyte.String
		if !ext.ReadUint16LengthPrefixed(&list) {
			return bad
		}
		for !list.Empty() {
			var g uint16
			var kx cryptobyte.String
			if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&kx) {
				return bad
			}
			h.KeyShares = append(h.KeyShares, Group(g))
		}
	case ExtSignatureAlgorithms: // RFC 8446 §4.2.3
		var ok bool
		if h.SigAlgs, ok = readUint16s[SignatureScheme](&ext, false); !ok {
			return bad
		}
	case ExtPSKModes: // RFC 8446 §4.2.9
		var list cryptobyte.String
		if !ext.ReadUint8LengthPrefixed(&list) {
			return bad
		}
		h.PSKModes = []uint8(list)
	case ExtPreSharedKey: // RFC 8446 §4.2.11
		var ids cryptobyte.String
		if !ext.ReadUint16LengthPrefixed(&ids) {
			return bad
		}
		for !ids.Empty() {
			var id cryptobyte.String
			var age uint32
			if !ids.ReadUint16LengthPrefixed(&id) || !ids.ReadUint32(&age) {
				return bad
			}
			h.PSKIdentities++
		}
	case ExtEarlyData: // RFC 8446 §4.2.10
		h.EarlyData = true
	case ExtSessionTicket: // RFC 5077 §3.2
		h.SessionTicket, h.TicketLen = true, len(ext)
	case ExtEncryptThenMAC: // RFC 7366
		h.EncryptThenMAC = true
	case ExtExtendedMasterSecret: // RFC 7627
		h.ExtendedMS = true
	case ExtRenegotiationInfo: // RFC 5746 §3.2
		h.Renegotiation = true
	case ExtECH: // draft-ietf-tls-esni
		h.ECH = true
	}
	return nil
}

// parseSSLv2Hello parses an SSLv2-compatible CLIENT-HELLO body after the
// 2-byte record header (RFC 5246 appendix E.2):
//
//	uint8 msg_type = 1; Version version; uint16 cipher_spec_length;
//	uint16 session_id_length; uint16 challenge_length;
//	V2CipherSpec cipher_specs[cipher_spec_length]; (3 bytes each)
//	opaque session_id[..]; opaque challenge[..];
func parseSSLv2Hello(body []byte, h *ClientHello) error {
	*h = ClientHello{SSLv2: true}
	s := cryptobyte.String(body)
	var mt uint8
	var v, cl, sl, chl uint16
	if !s.ReadUint8(&mt) || !s.ReadUint16(&v) || !s.ReadUint16(&cl) || !s.ReadUint16(&sl) || !s.ReadUint16(&chl) {
		return errAt("SSLv2 ClientHello: header", body, s, decode.ErrTruncated)
	}
	if mt != 1 || cl%3 != 0 {
		return errAt("SSLv2 ClientHello: not a CLIENT-HELLO", body, s, decode.ErrMalformed)
	}
	h.LegacyVersion = Version(v)
	var specs, sid, ch []byte
	if !s.ReadBytes(&specs, int(cl)) || !s.ReadBytes(&sid, int(sl)) || !s.ReadBytes(&ch, int(chl)) {
		return errAt("SSLv2 ClientHello: cipher_specs", body, s, decode.ErrTruncated)
	}
	h.SessionIDLen = len(sid)
	h.Random = ch
	for i := 0; i+3 <= len(specs); i += 3 {
		if specs[i] == 0 { // SSLv3/TLS suites have a zero first byte
			h.CipherSuites = append(h.CipherSuites, CipherSuite(uint16(specs[i+1])<<8|uint16(specs[i+2])))
		}
	}
	return nil
}

// ServerHello is a parsed ServerHello or HelloRetryRequest (RFC 8446
// §4.1.3, RFC 5246 §7.4.1.3).
type ServerHello struct {
	LegacyVersion Version
	// Version is supported_versions' selected_version, else LegacyVersion.
	Version      Version
	Random       []byte
	Retry        bool
	SessionIDLen int
	CipherSuite  CipherSuite
	Compression  uint8
	Extensions   []ExtensionType
	KeyShare     Group
	HasKeyShare  bool
	ALPN         string
	Cookie       bool
	PSK          bool
	EarlyData    bool
}

// ParseServerHello parses a ServerHello body into h, which it resets.
//
// RFC 8446 §4.1.3:
//
//	struct {
//	    ProtocolVersion legacy_version = 0x0303;
//	    Random random;
//	    opaque legacy_session_id_echo<0..32>;
//	    CipherSuite cipher_suite;
//	    uint8 legacy_compression_method = 0;
//	    Extension extensions<6..2^16-1>;
//	} ServerHello;
func ParseServerHello(body []byte, h *ServerHello) error {
	*h = ServerHello{}
	s := cryptobyte.String(body)
	var v, cs uint16
	var sid cryptobyte.String
	if !s.ReadUint16(&v) || !s.ReadBytes(&h.Random, 32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16(&cs) || !s.ReadUint8(&h.Compression) {
		return errAt("ServerHello", body, s, decode.ErrTruncated)
	}
	h.LegacyVersion, h.Version, h.CipherSuite, h.SessionIDLen = Version(v), Version(v), CipherSuite(cs), len(sid)
	h.Retry = bytes.Equal(h.Random, helloRetryRandom)
	return walkExtensions("ServerHello", body, s, func(et ExtensionType, ext cryptobyte.String) error {
		h.Extensions = append(h.Extensions, et)
		return h.extension(et, ext)
	})
}

// extension records what the ServerHello's extension et says.
func (h *ServerHello) extension(et ExtensionType, ext cryptobyte.String) error {
	ok := true
	switch et {
	case ExtSupportedVersions: // RFC 8446 §4.2.1: selected_version
		var sv uint16
		ok = ext.ReadUint16(&sv)
		h.Version = Version(sv)
	case ExtKeyShare: // RFC 8446 §4.2.8: KeyShareEntry, or selected_group in an HRR
		var g uint16
		ok = ext.ReadUint16(&g)
		h.KeyShare, h.HasKeyShare = Group(g), true
	case ExtALPN: // RFC 7301 §3.1: exactly one name
		var list, p cryptobyte.String
		ok = ext.ReadUint16LengthPrefixed(&list) && list.ReadUint8LengthPrefixed(&p)
		h.ALPN = string(p)
	case ExtCookie:
		h.Cookie = true
	case ExtPreSharedKey:
		h.PSK = true
	case ExtEarlyData:
		h.EarlyData = true
	}
	if !ok {
		return decode.ErrMalformed
	}
	return nil
}
