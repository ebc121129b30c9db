package http1

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/decode"
)

// field is one header or trailer field as sent (name not canonicalised).
type field struct{ name, value string }

// message is a head being parsed, one line at a time.
type message struct {
	start decode.Position // where its first byte arrived
	off   uint64          // its first byte's offset in the stream
	size  int             // head bytes so far
	lines int

	// Request line (RFC 9112 §3).
	method, target string
	// Status line (RFC 9112 §4).
	status int
	reason string

	version string
	fields  []field
}

// get returns the value of the first field named name (ASCII
// case-insensitive), or "".
func (m *message) get(name string) string {
	for _, f := range m.fields {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// has reports whether a field named name is present.
func (m *message) has(name string) bool {
	for _, f := range m.fields {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

// hasToken reports whether a comma-separated list field named name has
// token (case-insensitive) in any of its lines.
func (m *message) hasToken(name, token string) bool {
	for _, f := range m.fields {
		if !strings.EqualFold(f.name, name) {
			continue
		}
		for t := range strings.SplitSeq(f.value, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// joined returns the values of every field named name joined by ", " (RFC
// 9110 §5.3), and whether there was any.
func (m *message) joined(name string) (string, bool) {
	var v string
	found := false
	for _, f := range m.fields {
		if !strings.EqualFold(f.name, name) {
			continue
		}
		if found {
			v += ", "
		}
		v += f.value
		found = true
	}
	return v, found
}

var (
	errMethod   = errors.New("request line: method is not a token")
	errNoTarget = errors.New("request line: no request-target")
	errVersion  = errors.New("bad HTTP version")
	errStatus   = errors.New("status line: status code is not 3 digits")
	errField    = errors.New("header field: no colon")
	errName     = errors.New("header field: name is not a token")
	errFold     = errors.New("header field: continuation line before any field")
	errCTL      = errors.New("start line: control byte")
)

// parseRequestLine parses method SP request-target SP HTTP-version (RFC
// 9112 §3). Like the RFC's lenient recipients it splits on the first and
// last space, so a target with spaces in it is kept whole.
func (m *message) parseRequestLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errMethod
	}
	for _, c := range line[:sp] {
		if !isTchar(c) {
			return errMethod
		}
	}
	rest := line[sp+1:]
	last := bytes.LastIndexByte(rest, ' ')
	if last < 0 {
		// "GET /" alone is HTTP/0.9, which this decoder does not speak.
		return errVersion
	}
	target := bytes.Trim(rest[:last], " \t")
	if len(target) == 0 {
		return errNoTarget
	}
	if hasCTL(target) {
		return errCTL
	}
	ver := rest[last+1:]
	if !isVersion(ver) {
		return errVersion
	}
	m.method, m.target, m.version = string(line[:sp]), string(target), string(ver)
	return nil
}

// parseStatusLine parses HTTP-version SP status-code SP [reason-phrase]
// (RFC 9112 §4); a missing space before an empty reason is accepted.
func (m *message) parseStatusLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || !isVersion(line[:sp]) {
		return errVersion
	}
	rest := line[sp+1:]
	if len(rest) < 3 || !isDigit(rest[0]) || !isDigit(rest[1]) || !isDigit(rest[2]) ||
		len(rest) > 3 && rest[3] != ' ' {
		return errStatus
	}
	m.version = string(line[:sp])
	m.status = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	if len(rest) > 4 {
		m.reason = string(rest[4:])
	}
	return nil
}

// addField parses one field line (RFC 9112 §5): name ":" OWS value OWS. A
// line starting with space or tab continues the previous field's value
// (obs-fold, RFC 9112 §5.2), joined by one space.
func (m *message) addField(line []byte) error {
	if line[0] == ' ' || line[0] == '\t' {
		if len(m.fields) == 0 {
			return errFold
		}
		f := &m.fields[len(m.fields)-1]
		f.value += " " + string(bytes.Trim(line, " \t"))
		return nil
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return errField
	}
	// Whitespace before the colon is forbidden (RFC 9112 §5.1) but seen;
	// it is dropped rather than fatal.
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return errName
	}
	for _, c := range name {
		if !isTchar(c) {
			return errName
		}
	}
	m.fields = append(m.fields, field{string(name), string(bytes.Trim(line[colon+1:], " \t"))})
	return nil
}

// isVersion matches HTTP/1.x (RFC 9112 §2.3; other major versions do not
// use this syntax).
func isVersion(b []byte) bool {
	return len(b) == 8 && string(b[:7]) == "HTTP/1." && isDigit(b[7])
}

// hasCTL reports a control byte other than tab and CR (which ends lines).
func hasCTL(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' && c != '\r' || c == 0x7f {
			return true
		}
	}
	return false
}

// contentLength parses the Content-Length fields (RFC 9110 §8.6, RFC 9112
// §6.3 item 5): all must hold the same decimal number; a comma list of the
// same number is accepted.
func contentLength(m *message) (n uint64, present bool, err error) {
	for _, f := range m.fields {
		if !strings.EqualFold(f.name, "Content-Length") {
			continue
		}
		for v := range strings.SplitSeq(f.value, ",") {
			v = strings.TrimSpace(v)
			if v == "" || v[0] < '0' || v[0] > '9' {
				return 0, true, errors.New("bad Content-Length " + strconv.Quote(decode.Cut(v, 32)))
			}
			x, perr := strconv.ParseUint(v, 10, 64)
			if perr != nil {
				return 0, true, errors.New("bad Content-Length " + strconv.Quote(decode.Cut(v, 32)))
			}
			if present && x != n {
				return 0, true, errors.New("conflicting Content-Length values")
			}
			n, present = x, true
		}
	}
	return n, present, nil
}

// chunkedLast reports whether the last transfer coding is chunked (RFC 9112
// §6.1).
func chunkedLast(te string) bool {
	last := te
	if i := strings.LastIndexByte(te, ','); i >= 0 {
		last = te[i+1:]
	}
	last = strings.TrimSpace(last)
	if i := strings.IndexByte(last, ';'); i >= 0 {
		last = strings.TrimSpace(last[:i])
	}
	return strings.EqualFold(last, "chunked")
}

// parseChunkSize parses chunk-size [chunk-ext] (RFC 9112 §7.1): hex digits,
// then optional whitespace and extensions, which are ignored.
func parseChunkSize(line []byte) (uint64, bool) {
	var n uint64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			goto done
		}
		if n>>60 != 0 {
			return 0, false // more than 16 hex digits' worth
		}
		n = n<<4 | uint64(v)
	}
done:
	if i == 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(line[i:], " \t")
	if len(rest) > 0 && rest[0] != ';' {
		return 0, false
	}
	return n, true
}

// firstToken returns the first comma-separated element of v, trimmed and
// lower-cased.
func firstToken(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}
