package tlsmsg

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// JA3 returns the JA3 string of a ClientHello (salesforce/ja3):
// SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats,
// decimal values joined by "-", GREASE values left out.
func JA3(h *ClientHello) string {
	var b []byte
	b = strconv.AppendUint(b, uint64(h.LegacyVersion), 10)
	b = append(b, ',')
	b = appendDashed(b, h.CipherSuites)
	b = append(b, ',')
	b = appendDashed(b, h.Extensions)
	b = append(b, ',')
	b = appendDashed(b, h.Groups)
	b = append(b, ',')
	b = appendDashed(b, h.PointFormats)
	return string(b)
}

// JA3S returns the JA3S string of a ServerHello: SSLVersion,Cipher,Extensions.
func JA3S(h *ServerHello) string {
	var b []byte
	b = strconv.AppendUint(b, uint64(h.LegacyVersion), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(h.CipherSuite), 10)
	b = append(b, ',')
	b = appendDashed(b, h.Extensions)
	return string(b)
}

// MD5Hex returns the hex MD5 of s, as JA3 hashes are written.
func MD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func appendDashed[T ~uint8 | ~uint16](b []byte, vs []T) []byte {
	first := true
	for _, v := range vs {
		if uint64(v) > 0xff && isGREASE(uint16(v)) {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}

// JA4 returns the JA4 fingerprint of a ClientHello over TCP (FoxIO JA4
// spec, technical details): ja4_a "t" + version + "d"/"i" (SNI or not) +
// cipher count + extension count + ALPN first and last characters;
// ja4_b the first 12 hex digits of SHA-256 over the sorted cipher suites
// in 4-digit hex joined by ","; ja4_c likewise over the sorted
// extensions without SNI and ALPN, then "_" and the signature algorithms
// in their original order. GREASE values are ignored throughout.
func JA4(h *ClientHello) string {
	var b []byte
	b = append(b, 't')
	// The highest supported_versions entry, else legacy_version.
	v := h.LegacyVersion
	if len(h.Versions) > 0 {
		v = 0
		for _, sv := range h.Versions {
			if !isGREASE(uint16(sv)) && sv > v {
				v = sv
			}
		}
	}
	switch v {
	case VersionTLS13:
		b = append(b, "13"...)
	case VersionTLS12:
		b = append(b, "12"...)
	case VersionTLS11:
		b = append(b, "11"...)
	case VersionTLS10:
		b = append(b, "10"...)
	case VersionSSL30:
		b = append(b, "s3"...)
	case 0x0002:
		b = append(b, "s2"...)
	default:
		b = append(b, "00"...)
	}
	if h.ServerName != "" || slices.Contains(h.Extensions, ExtServerName) {
		b = append(b, 'd')
	} else {
		b = append(b, 'i')
	}
	var ciphers, exts []string
	for _, c := range h.CipherSuites {
		if !isGREASE(uint16(c)) {
			ciphers = append(ciphers, hex4(uint16(c)))
		}
	}
	extCount := 0
	for _, e := range h.Extensions {
		if isGREASE(uint16(e)) {
			continue
		}
		extCount++
		if e != ExtServerName && e != ExtALPN {
			exts = append(exts, hex4(uint16(e)))
		}
	}
	b = append(b, count2(len(ciphers))...)
	b = append(b, count2(extCount)...)
	alpn := ""
	if len(h.ALPN) > 0 {
		alpn = h.ALPN[0]
	}
	switch {
	case alpn == "":
		b = append(b, "00"...)
	case isAlnum(alpn[0]) && isAlnum(alpn[len(alpn)-1]):
		b = append(b, alpn[0], alpn[len(alpn)-1])
	default:
		x := hex.EncodeToString([]byte(alpn))
		b = append(b, x[0], x[len(x)-1])
	}
	slices.Sort(ciphers)
	slices.Sort(exts)
	b = append(b, '_')
	b = append(b, hash12(strings.Join(ciphers, ","))...)
	b = append(b, '_')
	c := strings.Join(exts, ",")
	var sigs []string
	for _, s := range h.SigAlgs {
		if !isGREASE(uint16(s)) {
			sigs = append(sigs, hex4(uint16(s)))
		}
	}
	if len(sigs) > 0 {
		c += "_" + strings.Join(sigs, ",")
	}
	if len(exts) == 0 {
		c = ""
	}
	b = append(b, hash12(c)...)
	return string(b)
}

func hex4(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf]})
}

func count2(n int) string {
	n = min(n, 99)
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// hash12 is the first 12 hex digits of SHA-256, or twelve zeros for "".
func hash12(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
