package tlsmsg

import (
	"crypto/tls"
	"strconv"
	"strings"
)

func hexName(prefix string, v uint64, width int) string {
	s := strconv.FormatUint(v, 16)
	for len(s) < width {
		s = "0" + s
	}
	return prefix + "(0x" + s + ")"
}

// ContentType is a record's content type (RFC 8446 §5.1, RFC 6520).
type ContentType uint8

// Record content types.
const (
	ContentChangeCipherSpec ContentType = 20
	ContentAlert            ContentType = 21
	ContentHandshake        ContentType = 22
	ContentApplicationData  ContentType = 23
	ContentHeartbeat        ContentType = 24
)

var contentNames = map[ContentType]string{
	ContentChangeCipherSpec: "change_cipher_spec",
	ContentAlert:            "alert",
	ContentHandshake:        "handshake",
	ContentApplicationData:  "application_data",
	ContentHeartbeat:        "heartbeat",
}

func (c ContentType) String() string {
	if s, ok := contentNames[c]; ok {
		return s
	}
	return hexName("ContentType", uint64(c), 2)
}

// HandshakeType is a handshake message's type (RFC 8446 §4, RFC 5246 §7.4,
// RFC 6066 §8).
type HandshakeType uint8

// Handshake message types.
const (
	TypeHelloRequest        HandshakeType = 0
	TypeClientHello         HandshakeType = 1
	TypeServerHello         HandshakeType = 2
	TypeNewSessionTicket    HandshakeType = 4
	TypeEndOfEarlyData      HandshakeType = 5
	TypeEncryptedExtensions HandshakeType = 8
	TypeCertificate         HandshakeType = 11
	TypeServerKeyExchange   HandshakeType = 12
	TypeCertificateRequest  HandshakeType = 13
	TypeServerHelloDone     HandshakeType = 14
	TypeCertificateVerify   HandshakeType = 15
	TypeClientKeyExchange   HandshakeType = 16
	TypeFinished            HandshakeType = 20
	TypeCertificateStatus   HandshakeType = 22
	TypeKeyUpdate           HandshakeType = 24
	// TypeCompressedCertificate replaces Certificate when both sides
	// offered compress_certificate (RFC 8879); Chrome does.
	TypeCompressedCertificate HandshakeType = 25
)

// Names are the event types of docs/events.md.
var handshakeNames = map[HandshakeType]string{
	TypeHelloRequest:          "HelloRequest",
	TypeClientHello:           "ClientHello",
	TypeServerHello:           "ServerHello",
	TypeNewSessionTicket:      "NewSessionTicket",
	TypeEndOfEarlyData:        "EndOfEarlyData",
	TypeEncryptedExtensions:   "EncryptedExtensions",
	TypeCertificate:           "Certificate",
	TypeServerKeyExchange:     "ServerKeyExchange",
	TypeCertificateRequest:    "CertificateRequest",
	TypeServerHelloDone:       "ServerHelloDone",
	TypeCertificateVerify:     "CertificateVerify",
	TypeClientKeyExchange:     "ClientKeyExchange",
	TypeFinished:              "Finished",
	TypeCertificateStatus:     "CertificateStatus",
	TypeKeyUpdate:             "KeyUpdate",
	TypeCompressedCertificate: "CompressedCertificate",
}

// String returns the RFC name, or HandshakeType(0x63).
func (t HandshakeType) String() string {
	if s, ok := handshakeNames[t]; ok {
		return s
	}
	return hexName("HandshakeType", uint64(t), 2)
}

// Known reports whether t has a name.
func (t HandshakeType) Known() bool { _, ok := handshakeNames[t]; return ok }

// Version is a protocol version (RFC 8446 §4.2.1).
type Version uint16

// Protocol versions.
const (
	VersionSSL30 Version = 0x0300
	VersionTLS10 Version = 0x0301
	VersionTLS11 Version = 0x0302
	VersionTLS12 Version = 0x0303
	VersionTLS13 Version = 0x0304
)

// String returns "TLS1.3", "TLS1.3-draft28", "SSL3.0", or Version(0x1234).
func (v Version) String() string {
	switch v {
	case VersionSSL30:
		return "SSL3.0"
	case VersionTLS10:
		return "TLS1.0"
	case VersionTLS11:
		return "TLS1.1"
	case VersionTLS12:
		return "TLS1.2"
	case VersionTLS13:
		return "TLS1.3"
	case 0x0002:
		return "SSL2.0"
	}
	if v>>8 == 0x7f {
		return "TLS1.3-draft" + strconv.Itoa(int(v&0xff))
	}
	if isGREASE(uint16(v)) {
		return "GREASE"
	}
	return hexName("Version", uint64(v), 4)
}

// is13 reports TLS 1.3 or one of its drafts.
func (v Version) is13() bool { return v == VersionTLS13 || v>>8 == 0x7f }

// CipherSuite is a cipher suite codepoint (IANA TLS Cipher Suites).
type CipherSuite uint16

// String uses crypto/tls's names, falling back to CipherSuite(0x1a2b).
func (c CipherSuite) String() string {
	if isGREASE(uint16(c)) {
		return "GREASE"
	}
	if n, ok := legacySuites[c]; ok {
		return n
	}
	s := tls.CipherSuiteName(uint16(c))
	if strings.HasPrefix(s, "0x") {
		return hexName("CipherSuite", uint64(c), 4)
	}
	return s
}

// legacySuites names common suites crypto/tls does not implement (IANA
// TLS Cipher Suites registry).
var legacySuites = map[CipherSuite]string{
	0x0001: "TLS_RSA_WITH_NULL_MD5", 0x0002: "TLS_RSA_WITH_NULL_SHA", 0x0004: "TLS_RSA_WITH_RC4_128_MD5",
	0x0013: "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", 0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
	0x0032: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", 0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
	0x0038: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", 0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
	0x003d: "TLS_RSA_WITH_AES_256_CBC_SHA256", 0x0040: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
	0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0x006a: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
	0x006b: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 0x009e: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
	0x009f: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
	0x5600: "TLS_FALLBACK_SCSV", 0xc024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
	0xc028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0xccaa: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	// AES-CCM (RFC 8446 §B.4, RFC 6655, RFC 7251)
	0x1304: "TLS_AES_128_CCM_SHA256", 0x1305: "TLS_AES_128_CCM_8_SHA256",
	0xc09c: "TLS_RSA_WITH_AES_128_CCM", 0xc09d: "TLS_RSA_WITH_AES_256_CCM",
	0xc09e: "TLS_DHE_RSA_WITH_AES_128_CCM", 0xc09f: "TLS_DHE_RSA_WITH_AES_256_CCM",
	0xc0a0: "TLS_RSA_WITH_AES_128_CCM_8", 0xc0a1: "TLS_RSA_WITH_AES_256_CCM_8",
	0xc0a2: "TLS_DHE_RSA_WITH_AES_128_CCM_8", 0xc0a3: "TLS_DHE_RSA_WITH_AES_256_CCM_8",
	0xc0a4: "TLS_PSK_WITH_AES_128_CCM", 0xc0a5: "TLS_PSK_WITH_AES_256_CCM",
	0xc0a6: "TLS_DHE_PSK_WITH_AES_128_CCM", 0xc0a7: "TLS_DHE_PSK_WITH_AES_256_CCM",
	0xc0a8: "TLS_PSK_WITH_AES_128_CCM_8", 0xc0a9: "TLS_PSK_WITH_AES_256_CCM_8",
	0xc0aa: "TLS_PSK_DHE_WITH_AES_128_CCM_8", 0xc0ab: "TLS_PSK_DHE_WITH_AES_256_CCM_8",
	0xc0ac: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", 0xc0ad: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
	0xc0ae: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", 0xc0af: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
}

// Group is a named group (RFC 8446 §4.2.7).
type Group uint16

// String uses crypto/tls's names, falling back to Group(0x1a2b).
func (g Group) String() string {
	if isGREASE(uint16(g)) {
		return "GREASE"
	}
	switch g {
	case 23:
		return "secp256r1"
	case 24:
		return "secp384r1"
	case 25:
		return "secp521r1"
	case 29:
		return "x25519"
	case 30:
		return "x448"
	case 256:
		return "ffdhe2048"
	case 257:
		return "ffdhe3072"
	case 0x11ec:
		return "X25519MLKEM768"
	case 0x6399:
		return "X25519Kyber768Draft00"
	}
	return hexName("Group", uint64(g), 4)
}

// SignatureScheme is a signature algorithm (RFC 8446 §4.2.3).
type SignatureScheme uint16

var sigNames = map[SignatureScheme]string{
	0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512",
	0x0403: "ecdsa_secp256r1_sha256", 0x0503: "ecdsa_secp384r1_sha384", 0x0603: "ecdsa_secp521r1_sha512",
	0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512",
	0x0807: "ed25519", 0x0808: "ed448",
	0x0809: "rsa_pss_pss_sha256", 0x080a: "rsa_pss_pss_sha384", 0x080b: "rsa_pss_pss_sha512",
	0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1",
}

// String returns the RFC 8446 name, or SignatureScheme(0x1a2b).
func (s SignatureScheme) String() string {
	if n, ok := sigNames[s]; ok {
		return n
	}
	if isGREASE(uint16(s)) {
		return "GREASE"
	}
	return hexName("SignatureScheme", uint64(s), 4)
}

// ExtensionType is a hello extension (IANA TLS ExtensionType Values).
type ExtensionType uint16

// Extensions the decoder reads.
const (
	ExtServerName           ExtensionType = 0
	ExtStatusRequest        ExtensionType = 5
	ExtSupportedGroups      ExtensionType = 10
	ExtECPointFormats       ExtensionType = 11
	ExtSignatureAlgorithms  ExtensionType = 13
	ExtALPN                 ExtensionType = 16
	ExtSCT                  ExtensionType = 18
	ExtEncryptThenMAC       ExtensionType = 22
	ExtExtendedMasterSecret ExtensionType = 23
	ExtSessionTicket        ExtensionType = 35
	ExtPreSharedKey         ExtensionType = 41
	ExtEarlyData            ExtensionType = 42
	ExtSupportedVersions    ExtensionType = 43
	ExtCookie               ExtensionType = 44
	ExtPSKModes             ExtensionType = 45
	ExtKeyShare             ExtensionType = 51
	ExtECH                  ExtensionType = 0xfe0d
	ExtRenegotiationInfo    ExtensionType = 0xff01
)

var extNames = map[ExtensionType]string{
	0: "server_name", 1: "max_fragment_length", 5: "status_request", 10: "supported_groups",
	11: "ec_point_formats", 13: "signature_algorithms", 14: "use_srtp", 15: "heartbeat",
	16: "application_layer_protocol_negotiation", 18: "signed_certificate_timestamp",
	21: "padding", 22: "encrypt_then_mac", 23: "extended_master_secret", 27: "compress_certificate",
	28: "record_size_limit", 35: "session_ticket", 41: "pre_shared_key", 42: "early_data",
	43: "supported_versions", 44: "cookie", 45: "psk_key_exchange_modes", 47: "certificate_authorities",
	49: "post_handshake_auth", 50: "signature_algorithms_cert", 51: "key_share",
	57: "quic_transport_parameters", 17513: "application_settings", 17613: "application_settings",
	0xfe0d: "encrypted_client_hello", 0xff01: "renegotiation_info",
}

// String returns the IANA name, or ExtensionType(0x1a2b).
func (e ExtensionType) String() string {
	if n, ok := extNames[e]; ok {
		return n
	}
	if isGREASE(uint16(e)) {
		return "GREASE"
	}
	return hexName("ExtensionType", uint64(e), 4)
}

// AlertLevel is an alert's level (RFC 8446 §6).
type AlertLevel uint8

// String returns "warning", "fatal", or AlertLevel(0x03).
func (l AlertLevel) String() string {
	switch l {
	case 1:
		return "warning"
	case 2:
		return "fatal"
	}
	return hexName("AlertLevel", uint64(l), 2)
}

// AlertDescription is an alert's description (RFC 8446 §6, RFC 5246 §7.2).
type AlertDescription uint8

var alertNames = map[AlertDescription]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
	109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
	112: "unrecognized_name", 113: "bad_certificate_status_response",
	114: "bad_certificate_hash_value", 115: "unknown_psk_identity", 116: "certificate_required",
	120: "no_application_protocol", 121: "ech_required",
}

// String returns the RFC name, or AlertDescription(0x63).
func (a AlertDescription) String() string {
	if n, ok := alertNames[a]; ok {
		return n
	}
	return hexName("AlertDescription", uint64(a), 2)
}

// isGREASE reports an RFC 8701 GREASE value: 0x?a?a with equal bytes.
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }
