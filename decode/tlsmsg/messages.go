package tlsmsg

import (
	"crypto/x509"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/wiretrace/wiretrace/decode"
)

// MaxCertificates caps how many certificates of a chain are parsed.
const MaxCertificates = 10

// parseCertificate reads a TLS 1.2 Certificate (RFC 5246 §7.4.2) or a
// TLS 1.3 one (RFC 8446 §4.4.2, with certificate_request_context and
// per-entry extensions) far enough for names and validity.
//
//	opaque ASN.1Cert<1..2^24-1>;
//	struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
func parseCertificate(body []byte, tls13 bool) (decode.Info, error) {
	s := cryptobyte.String(body)
	if tls13 {
		var ctx cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&ctx) {
			return nil, errAt("Certificate: certificate_request_context", body, s, decode.ErrTruncated)
		}
	}
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) {
		return nil, errAt("Certificate: certificate_list", body, s, decode.ErrTruncated)
	}
	if !s.Empty() {
		return nil, errAt("Certificate: trailing bytes", body, s, decode.ErrMalformed)
	}
	var subjects, issuers, notBefore, notAfter []string
	n := 0
	for !list.Empty() {
		var der cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) {
			return nil, errAt("Certificate: ASN.1Cert", body, list, decode.ErrTruncated)
		}
		if tls13 {
			var ext cryptobyte.String
			if !list.ReadUint16LengthPrefixed(&ext) {
				return nil, errAt("Certificate: extensions", body, list, decode.ErrTruncated)
			}
		}
		n++
		if n > MaxCertificates {
			continue
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			subjects, issuers = append(subjects, "?"), append(issuers, "?")
			notBefore, notAfter = append(notBefore, ""), append(notAfter, "")
			continue
		}
		subjects = append(subjects, commonName(c.Subject.CommonName, c.Subject.String()))
		issuers = append(issuers, commonName(c.Issuer.CommonName, c.Issuer.String()))
		notBefore = append(notBefore, c.NotBefore.UTC().Format(time.RFC3339))
		notAfter = append(notAfter, c.NotAfter.UTC().Format(time.RFC3339))
	}
	info := decode.Info{decode.Int("certificates", int64(n))}
	if n > 0 {
		info = append(info, decode.Strings("subjects", subjects), decode.Strings("issuers", issuers),
			decode.Strings("not_before", notBefore), decode.Strings("not_after", notAfter))
	}
	return info, nil
}

// parseServerKeyExchange reads the curve of an ECDHE ServerKeyExchange
// (RFC 8422 §5.4): ECCurveType curve_type (3 = named_curve); NamedCurve.
// Other key exchanges (DHE, RSA export) only report their length.
func parseServerKeyExchange(body []byte) (decode.Info, error) {
	s := cryptobyte.String(body)
	var ct uint8
	var g uint16
	var pub cryptobyte.String
	if len(body) >= 4 && body[0] == 3 {
		if !s.ReadUint8(&ct) || !s.ReadUint16(&g) || !s.ReadUint8LengthPrefixed(&pub) {
			return nil, errAt("ServerKeyExchange", body, s, decode.ErrTruncated)
		}
		return decode.Info{decode.String("group", Group(g).String())}, nil
	}
	return decode.Info{}, nil
}

// parseNewSessionTicket (RFC 8446 §4.6.1; RFC 5077 §3.3 for TLS 1.2):
//
//	uint32 ticket_lifetime; [uint32 ticket_age_add; opaque ticket_nonce<0..255>;]
//	opaque ticket<1..2^16-1>; [Extension extensions<0..2^16-2>;]
func parseNewSessionTicket(body []byte, tls13 bool) (decode.Info, error) {
	s := cryptobyte.String(body)
	var life, add uint32
	var nonce, ticket cryptobyte.String
	if !s.ReadUint32(&life) {
		return nil, errAt("NewSessionTicket", body, s, decode.ErrTruncated)
	}
	if tls13 && (!s.ReadUint32(&add) || !s.ReadUint8LengthPrefixed(&nonce)) {
		return nil, errAt("NewSessionTicket", body, s, decode.ErrTruncated)
	}
	if !s.ReadUint16LengthPrefixed(&ticket) {
		return nil, errAt("NewSessionTicket: ticket", body, s, decode.ErrTruncated)
	}
	return decode.Info{decode.Int("lifetime_s", int64(life)), decode.Int("ticket_len", int64(len(ticket)))}, nil
}

// parseEncryptedExtensions reads ALPN (RFC 8446 §4.3.1).
func parseEncryptedExtensions(body []byte) (decode.Info, error) {
	s := cryptobyte.String(body)
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return nil, errAt("EncryptedExtensions", body, s, decode.ErrTruncated)
	}
	var names []string
	info := decode.Info{}
	for !exts.Empty() {
		var typ uint16
		var ext cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&ext) {
			return nil, errAt("EncryptedExtensions: extension", body, exts, decode.ErrTruncated)
		}
		names = append(names, ExtensionType(typ).String())
		if ExtensionType(typ) == ExtALPN {
			var list, p cryptobyte.String
			if ext.ReadUint16LengthPrefixed(&list) && list.ReadUint8LengthPrefixed(&p) {
				info = append(info, decode.String("alpn", string(p)))
			}
		}
	}
	return append(info, decode.Strings("extensions", names)), nil
}

// parseKeyUpdate (RFC 8446 §4.6.3): KeyUpdateRequest request_update.
func parseKeyUpdate(body []byte) (decode.Info, error) {
	if len(body) < 1 {
		return nil, errAt("KeyUpdate", body, cryptobyte.String(body), decode.ErrTruncated)
	}
	return decode.Info{decode.Bool("update_requested", body[0] == 1)}, nil
}

// certCompression names the certificate compression algorithms (RFC 8879
// §7.3).
var certCompression = map[uint16]string{1: "zlib", 2: "brotli", 3: "zstd"}

// parseCompressedCertificate (RFC 8879 §4): CertificateCompressionAlgorithm
// algorithm; uint24 uncompressed_length; opaque
// compressed_certificate_message<1..2^24-1>. The chain is not inflated.
func parseCompressedCertificate(body []byte) (decode.Info, error) {
	s := cryptobyte.String(body)
	var alg uint16
	var n uint32
	var msg cryptobyte.String
	if !s.ReadUint16(&alg) || !s.ReadUint24(&n) || !s.ReadUint24LengthPrefixed(&msg) {
		return nil, errAt("CompressedCertificate", body, s, decode.ErrTruncated)
	}
	name, ok := certCompression[alg]
	if !ok {
		name = hexName("algorithm", uint64(alg), 4)
	}
	return decode.Info{decode.String("algorithm", name), decode.Int("uncompressed_length", int64(n)),
		decode.Int("compressed_length", int64(len(msg)))}, nil
}

// parseCertificateStatus (RFC 6066 §8): CertificateStatusType status_type; OCSPResponse.
func parseCertificateStatus(body []byte) (decode.Info, error) {
	s := cryptobyte.String(body)
	var t uint8
	var resp cryptobyte.String
	if !s.ReadUint8(&t) || !s.ReadUint24LengthPrefixed(&resp) {
		return nil, errAt("CertificateStatus", body, s, decode.ErrTruncated)
	}
	return decode.Info{decode.Int("status_type", int64(t))}, nil
}

// commonName is the CN, or the whole distinguished name when there is none.
func commonName(cn, dn string) string {
	if cn != "" {
		return cn
	}
	return dn
}

// parseCertificateVerify reads the signature algorithm (RFC 8446 §4.4.3,
// RFC 5246 §7.4.8 for TLS 1.2; TLS 1.0 and 1.1 have none):
//
//	SignatureScheme algorithm; opaque signature<0..2^16-1>;
func parseCertificateVerify(body []byte, version Version) (decode.Info, error) {
	if version != 0 && version < VersionTLS12 {
		return decode.Info{}, nil
	}
	s := cryptobyte.String(body)
	var alg uint16
	var sig cryptobyte.String
	if !s.ReadUint16(&alg) || !s.ReadUint16LengthPrefixed(&sig) {
		return nil, errAt("CertificateVerify", body, s, decode.ErrTruncated)
	}
	return decode.Info{decode.String("signature_algorithm", SignatureScheme(alg).String())}, nil
}
