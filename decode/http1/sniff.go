package http1

import (
	"bytes"

	"github.com/wiretrace/wiretrace/decode"
)

// NewSniffer returns the sniffer that attaches a Decoder configured by opts
// to a TCP stream whose first bytes are an HTTP/1.x request line (or, on a
// stream picked up mid-way, a status line from the server). It looks at the
// bytes, not the port.
func NewSniffer(opts Options) decode.Sniffer {
	return decode.Sniffer{
		Name:  "http1",
		Sniff: Sniff,
		New:   func() decode.StreamDecoder { return NewDecoder(opts) },
	}
}

// knownMethods are the methods of RFC 9110 §9, PATCH (RFC 5789) and the
// common WebDAV ones (RFC 4918). A request line with one of these and a
// plausible request-target is taken for HTTP even when it is longer than
// the sniff window; other method tokens need the whole line with its
// HTTP/1.x version inside the window.
var knownMethods = []string{
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH",
}

const maxMethodLen = 32

// Sniff says whether first, the first bytes a side sent, start an HTTP/1.x
// stream: a request line (RFC 9112 §3: method SP request-target SP
// HTTP-version CRLF) from either side, or a status line ("HTTP/1.x NNN")
// from the server. The HTTP/2 connection preface ("PRI * HTTP/2.0") does
// not match. It never answers NeedMore once first holds
// decode.SniffBytes bytes.
func Sniff(dir decode.Dir, first []byte) decode.Verdict {
	if dir == decode.S2C && bytes.HasPrefix(first, []byte("HTTP/")) {
		return sniffStatus(first)
	}
	full := len(first) >= decode.SniffBytes
	v := sniffRequest(first, full)
	if v == decode.NeedMore && full {
		return decode.NoMatch
	}
	return v
}

// sniffStatus matches "HTTP/1.x NNN".
func sniffStatus(b []byte) decode.Verdict {
	const pat = "HTTP/1.d ddd"
	for i := 0; i < len(pat); i++ {
		if i >= len(b) {
			return decode.NeedMore
		}
		if ok := pat[i] == 'd' && isDigit(b[i]) || pat[i] == b[i]; !ok {
			return decode.NoMatch
		}
	}
	return decode.Match
}

// sniffRequest matches a request line; full says the sniff window is full.
func sniffRequest(b []byte, full bool) decode.Verdict {
	// Empty lines before a request line are allowed (RFC 9112 §2.2).
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	sp := 0
	for sp < len(b) && isTchar(b[sp]) {
		sp++
	}
	switch {
	case sp == len(b) && sp <= maxMethodLen:
		return decode.NeedMore
	case sp == 0 || sp > maxMethodLen || b[sp] != ' ':
		return decode.NoMatch
	}
	method := b[:sp]
	target := b[sp+1:]
	if len(target) == 0 {
		return decode.NeedMore
	}
	// origin-form, asterisk-form, absolute-form or authority-form.
	if c := target[0]; c != '/' && c != '*' && !isAlpha(c) && !isDigit(c) && c != '[' {
		return decode.NoMatch
	}
	end := 0
	for end < len(target) && target[end] > ' ' && target[end] != 0x7f {
		end++
	}
	known := isKnownMethod(method)
	if end == len(target) {
		if known {
			// A long target: the method is enough.
			return matchIf(full)
		}
		return decode.NeedMore
	}
	if target[end] != ' ' {
		return decode.NoMatch
	}
	rest := target[end+1:]
	const ver = "HTTP/1.d"
	// Cut inside the version by the window's end, the line is still
	// method SP target SP "HTTP/...": enough.
	for i := 0; i < len(ver); i++ {
		if i >= len(rest) {
			return matchIf(full)
		}
		if ok := ver[i] == 'd' && isDigit(rest[i]) || ver[i] == rest[i]; !ok {
			return decode.NoMatch
		}
	}
	if len(rest) == len(ver) {
		return matchIf(full)
	}
	if c := rest[len(ver)]; c != '\r' && c != '\n' {
		return decode.NoMatch
	}
	return decode.Match
}

func matchIf(ok bool) decode.Verdict {
	if ok {
		return decode.Match
	}
	return decode.NeedMore
}

func isKnownMethod(m []byte) bool {
	for _, k := range knownMethods {
		if string(m) == k {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isTchar reports whether c may appear in a token (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
