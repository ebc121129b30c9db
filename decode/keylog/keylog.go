package keylog

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Default limits of a Store whose fields are zero.
const (
	// DefaultMaxEntries caps the number of secrets a Store holds. At about
	// 200 bytes per TLS 1.2 entry, the default costs some 200 MB at most.
	DefaultMaxEntries = 1_000_000
	// DefaultMaxLineLength caps the length of one line, without its line
	// ending. The longest valid line (a 48-byte TLS 1.3 secret with the
	// longest label) is 162 bytes.
	DefaultMaxLineLength = 4096
	// maxWarnings caps the warnings kept in one Report; the rest are
	// counted in Report.Omitted.
	maxWarnings = 100
)

// SecretsTypeTLSKeyLog is the pcapng Decryption Secrets Block secrets type
// for an NSS key log ("TLSK"). Pass the block's data to Store.AddDSB.
const SecretsTypeTLSKeyLog = 0x544c534b

// ErrSecretsType is returned by AddDSB for a secrets type other than
// SecretsTypeTLSKeyLog.
var ErrSecretsType = errors.New("keylog: not a TLS key log secrets type")

// Secrets holds the secrets logged for one TLS connection, identified by its
// ClientHello random. It never prints the secrets: String, GoString and
// Format show the client random and which labels are present.
type Secrets struct {
	// ClientRandom is the 32-byte random of the ClientHello (RFC 8446,
	// section 4.1.2). It is sent in the clear, so it is not redacted.
	ClientRandom [32]byte

	// Secrets live in buf; label l is buf[off[l]:off[l]+n[l]] when n[l] > 0.
	off [numLabels]uint16
	n   [numLabels]uint8
	buf []byte
}

// Secret returns the secret logged for label l, or nil if there is none. The
// slice is read-only and stays valid for the Store's lifetime.
func (s *Secrets) Secret(l Label) []byte {
	if l >= numLabels || s.n[l] == 0 {
		return nil
	}
	o, n := int(s.off[l]), int(s.n[l])
	return s.buf[o : o+n : o+n]
}

// Has reports whether a secret for label l is present.
func (s *Secrets) Has(l Label) bool { return l < numLabels && s.n[l] != 0 }

// Labels returns the labels present, in Label order.
func (s *Secrets) Labels() []Label {
	var ls []Label
	for l := Label(1); l < numLabels; l++ {
		if s.n[l] != 0 {
			ls = append(ls, l)
		}
	}
	return ls
}

func (s *Secrets) set(l Label, v []byte) {
	if s.buf == nil {
		// A TLS 1.3 connection usually logs five secrets of one length:
		// one allocation for all of them.
		c := len(v)
		if l.TLS13() {
			c *= 5
		}
		s.buf = make([]byte, 0, c)
	}
	s.off[l] = uint16(len(s.buf))
	s.n[l] = uint8(len(v))
	s.buf = append(s.buf, v...)
}

// String describes s without its secrets, e.g.
// "client_random=0001…1f CLIENT_RANDOM=<redacted 48 bytes>".
//
// String, GoString and Format have value receivers so that a Secrets value,
// not only a pointer, is redacted too.
func (s Secrets) String() string {
	b := []byte("client_random=")
	b = hex.AppendEncode(b, s.ClientRandom[:])
	for _, l := range s.Labels() {
		b = append(b, ' ')
		b = append(b, l.String()...)
		b = append(b, "=<redacted "...)
		b = strconv.AppendInt(b, int64(s.n[l]), 10)
		b = append(b, " bytes>"...)
	}
	return string(b)
}

// GoString is like String, so that %#v redacts too.
func (s Secrets) GoString() string { return "keylog.Secrets{" + s.String() + "}" }

// Format makes every fmt verb print the redacted String, so that secrets
// never reach a log through %v, %+v, %x or %q.
func (s Secrets) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

// Store holds the secrets of any number of key logs, merged. The zero Store
// is ready to use. A Store is not safe for concurrent Add; concurrent
// lookups without Add are fine.
type Store struct {
	// MaxEntries caps the number of secrets held (one per line accepted;
	// duplicates do not count). Zero means DefaultMaxEntries. Lines past
	// the cap are dropped with one warning per Add.
	MaxEntries int
	// MaxLineLength caps a line's length without its line ending. Zero
	// means DefaultMaxLineLength. Longer lines are skipped with a warning
	// without being read into memory.
	MaxLineLength int
	// Refresh, when set, is called by Lookup and LookupRSA before they
	// report a miss, and they look again after it: a live capture's key
	// log may have grown since it was read, and Refresh reads what is new
	// with Add. It runs on the caller's goroutine and must not look up.
	Refresh func()

	byRandom map[[32]byte]*Secrets
	rsa      map[[8]byte][48]byte
	entries  int
}

// Len returns the number of secrets held: one per distinct (label, client
// random) pair, plus one per RSA premaster secret.
func (st *Store) Len() int { return st.entries }

// Empty reports whether the store holds no secret and cannot get any:
// decoders then need not look connections up. A store with Refresh set is
// never empty, its key log may still grow.
func (st *Store) Empty() bool { return st.entries == 0 && st.Refresh == nil }

// Lookup returns the secrets logged for the connection whose ClientHello
// carried clientRandom. The Secrets are read-only.
func (st *Store) Lookup(clientRandom [32]byte) (*Secrets, bool) {
	s, ok := st.byRandom[clientRandom]
	if !ok && st.Refresh != nil {
		st.Refresh()
		s, ok = st.byRandom[clientRandom]
	}
	return s, ok
}

// LookupRSA returns the 48-byte premaster secret of a TLS 1.2 RSA key
// exchange, given the first 8 bytes of the encrypted premaster secret in the
// ClientKeyExchange (RFC 5246, section 7.4.7.1). The result is a copy.
func (st *Store) LookupRSA(prefix [8]byte) ([]byte, bool) {
	pms, ok := st.rsa[prefix]
	if !ok && st.Refresh != nil {
		st.Refresh()
		pms, ok = st.rsa[prefix]
	}
	if !ok {
		return nil, false
	}
	return pms[:], true
}

// String describes the store without its secrets. Like Format, it has a
// value receiver so that a Store value is redacted too.
func (st Store) String() string {
	return "keylog.Store{" + strconv.Itoa(st.entries) + " entries}"
}

// Format makes every fmt verb print String, so that no secret is printed.
func (st Store) Format(f fmt.State, verb rune) { io.WriteString(f, st.String()) }

// Warning is a line of a key log that was skipped or not fully used. Its
// text never contains a secret.
type Warning struct {
	Source string // the name given to Add
	Line   int    // 1-based line number
	Label  Label  // zero when the label is unknown or missing
	Msg    string // what was wrong, lower case
}

// String formats w as "source:line: LABEL: msg".
func (w Warning) String() string {
	s := w.Source + ":" + strconv.Itoa(w.Line) + ": "
	if w.Label != 0 {
		s += w.Label.String() + ": "
	}
	return s + w.Msg
}

// Report says what one Add did.
type Report struct {
	Source     string
	Lines      int       // lines read, including comments and blank lines
	Added      int       // new secrets stored
	Duplicates int       // lines repeating a secret already held
	Ignored    int       // lines with labels deliberately not used (ECH)
	Dropped    int       // valid lines not stored because MaxEntries was hit
	Warnings   []Warning // at most 100; see Omitted
	Omitted    int       // warnings not kept in Warnings
}

func (r *Report) warn(line int, l Label, msg string) {
	if len(r.Warnings) >= maxWarnings {
		r.Omitted++
		return
	}
	r.Warnings = append(r.Warnings, Warning{Source: r.Source, Line: line, Label: l, Msg: msg})
}

// AddDSB adds the secrets of a pcapng Decryption Secrets Block. It returns
// ErrSecretsType, and adds nothing, unless secretsType is
// SecretsTypeTLSKeyLog.
func (st *Store) AddDSB(secretsType uint32, data []byte, source string) (Report, error) {
	if secretsType != SecretsTypeTLSKeyLog {
		return Report{Source: source}, fmt.Errorf("%w: 0x%08x", ErrSecretsType, secretsType)
	}
	return st.Add(bytes.NewReader(data), source)
}

// Add reads a key log from r and merges its secrets into st. source names
// r in warnings ("keys.txt", "SSLKEYLOGFILE").
//
// Malformed lines never fail the whole log: each becomes a Warning in the
// Report and is skipped. A line that repeats a secret already held is
// counted as a duplicate; one that gives a different value for the same
// label and client random is a warning, and the first value is kept. Only
// an error reading r is returned as an error, with the report of the lines
// read before it.
func (st *Store) Add(r io.Reader, source string) (Report, error) {
	rep := Report{Source: source}
	maxLine := st.MaxLineLength
	if maxLine <= 0 {
		maxLine = DefaultMaxLineLength
	}
	// Room for the line ending, so a line of exactly maxLine fits.
	br := bufio.NewReaderSize(r, maxLine+2)
	capWarned := false
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				err = nil
			}
			return rep, readErr(source, err)
		}
		rep.Lines++
		if err == bufio.ErrBufferFull {
			rep.warn(rep.Lines, 0, "line longer than "+strconv.Itoa(maxLine)+" bytes, skipped")
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return rep, readErr(source, err)
			}
			continue
		}
		line = trimEOL(line)
		if len(line) > maxLine {
			rep.warn(rep.Lines, 0, "line longer than "+strconv.Itoa(maxLine)+" bytes, skipped")
		} else {
			st.addLine(&rep, line, &capWarned)
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return rep, readErr(source, err)
		}
	}
}

func readErr(source string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("keylog: %s: %w", source, err)
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// fields splits line at runs of spaces and tabs into at most len(f) fields
// and returns the number of fields found, which may exceed len(f).
func fields(line []byte, f *[3][]byte) int {
	n := 0
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return n
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		if n < len(f) {
			f[n] = line[i:j]
		}
		n++
		i = j
	}
}

// addLine parses one line without its line ending. Warnings never quote the
// second or third field, and quote the first only when it looks like a
// label and cannot be hex (see printableLabel).
func (st *Store) addLine(rep *Report, line []byte, capWarned *bool) {
	var f [3][]byte
	nf := fields(line, &f)
	if nf == 0 || f[0][0] == '#' {
		return // blank or comment
	}
	lineNo := rep.Lines
	label := parseLabel(f[0])
	if label == 0 {
		if ignoredLabel(f[0]) {
			rep.Ignored++
			return
		}
		if printableLabel(f[0]) {
			rep.warn(lineNo, 0, "unknown label "+strconv.Quote(string(f[0]))+", skipped")
		} else {
			rep.warn(lineNo, 0, "line does not start with a label, skipped")
		}
		return
	}
	if nf != 3 {
		rep.warn(lineNo, label, "got "+strconv.Itoa(nf)+" fields, want 3")
		return
	}
	var id [32]byte
	idName, idLen := "client random", 32
	if label == RSA {
		idName, idLen = "encrypted premaster secret prefix", 8
	}
	if msg := decodeHex(id[:idLen], f[1], idName, strconv.Itoa(idLen)); msg != "" {
		rep.warn(lineNo, label, msg)
		return
	}
	var sec [48]byte
	n := len(f[2]) / 2
	if len(f[2])%2 == 0 && !label.validLen(n) || n > len(sec) {
		rep.warn(lineNo, label, "secret is "+strconv.Itoa(n)+" bytes, want "+label.wantLen())
		return
	}
	if msg := decodeHex(sec[:n], f[2], "secret", label.wantLen()); msg != "" {
		rep.warn(lineNo, label, msg)
		return
	}
	v := sec[:n]

	if label == RSA {
		var prefix [8]byte
		copy(prefix[:], id[:8])
		if old, ok := st.rsa[prefix]; ok {
			st.dupOrConflict(rep, lineNo, label, bytes.Equal(old[:], v))
			return
		}
		if !st.room(rep, lineNo, label, capWarned) {
			return
		}
		if st.rsa == nil {
			st.rsa = make(map[[8]byte][48]byte)
		}
		st.rsa[prefix] = sec
		st.entries++
		rep.Added++
		return
	}

	s := st.byRandom[id]
	if s != nil && s.Has(label) {
		st.dupOrConflict(rep, lineNo, label, bytes.Equal(s.Secret(label), v))
		return
	}
	if !st.room(rep, lineNo, label, capWarned) {
		return
	}
	if s == nil {
		if st.byRandom == nil {
			st.byRandom = make(map[[32]byte]*Secrets)
		}
		s = &Secrets{ClientRandom: id}
		st.byRandom[id] = s
	}
	if label.TLS13() {
		for l := ClientEarlyTrafficSecret; l <= ExporterSecret; l++ {
			if s.n[l] != 0 && int(s.n[l]) != n {
				rep.warn(lineNo, label, "secret is "+strconv.Itoa(n)+" bytes but "+l.String()+
					" for the same client random is "+strconv.Itoa(int(s.n[l]))+" bytes; kept anyway")
				break
			}
		}
	}
	s.set(label, v)
	st.entries++
	rep.Added++
}

func (st *Store) dupOrConflict(rep *Report, lineNo int, label Label, same bool) {
	if same {
		rep.Duplicates++
		return
	}
	rep.warn(lineNo, label, "secret differs from one added before for the same connection; keeping the first")
}

// room reports whether another entry fits under MaxEntries, warning once
// per Add when it does not.
func (st *Store) room(rep *Report, lineNo int, label Label, capWarned *bool) bool {
	max := st.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	if st.entries < max {
		return true
	}
	rep.Dropped++
	if !*capWarned {
		*capWarned = true
		rep.warn(lineNo, label, "entry cap "+strconv.Itoa(max)+" reached; this and later new secrets are dropped")
	}
	return false
}

// decodeHex decodes src into dst, which must be len(dst) bytes, and returns
// a warning message or "". The message never contains src.
func decodeHex(dst, src []byte, name, want string) string {
	if len(src) != 2*len(dst) {
		if len(src)%2 == 1 {
			return name + " has an odd number of hex digits (" + strconv.Itoa(len(src)) + ")"
		}
		return name + " is " + strconv.Itoa(len(src)/2) + " bytes, want " + want
	}
	for i, c := range src {
		if !isHex(c) {
			return name + " is not hex (character " + strconv.Itoa(i+1) + " of the field)"
		}
	}
	hex.Decode(dst, src) // cannot fail: length and digits checked
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// printableLabel reports whether an unknown first field may be quoted in a
// warning: it must look like a label ([A-Z][A-Z0-9_]*, at most 48 bytes) and
// hold no run of more than 4 hex digits, so that a secret on a broken line
// ("X" followed by a secret, say) is never echoed.
func printableLabel(b []byte) bool {
	if len(b) == 0 || len(b) > 48 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	run := 0
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c == '_', c >= '0' && c <= '9':
		default:
			return false
		}
		if isHex(c) {
			run++
			if run > 4 {
				return false
			}
		} else {
			run = 0
		}
	}
	return true
}
