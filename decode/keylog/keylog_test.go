package keylog

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fixed test values. cr is a client random; sec32/sec48 are secrets whose hex
// forms must never appear in output.
var (
	cr    = strings.Repeat("0a", 32)
	crB   = mustHex(cr)
	sec32 = "5ec0" + strings.Repeat("11", 30)
	sec48 = "5ec0" + strings.Repeat("22", 46)
	pfx   = "0102030405060708"
)

func mustHex(s string) (a [32]byte) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		panic(s)
	}
	copy(a[:], b)
	return a
}

func TestAdd(t *testing.T) {
	tls13 := []Label{ClientEarlyTrafficSecret, ClientHandshakeTrafficSecret, ServerHandshakeTrafficSecret,
		ClientTrafficSecret0, ServerTrafficSecret0, EarlyExporterSecret, ExporterSecret}
	type tc struct {
		name  string
		in    string
		added int
		dups  int
		warns []string // substrings, one per warning, in order
	}
	tests := []tc{
		{name: "CLIENT_RANDOM", in: "CLIENT_RANDOM " + cr + " " + sec48 + "\n", added: 1},
		{name: "CLIENT_RANDOM 32 bytes", in: "CLIENT_RANDOM " + cr + " " + sec32 + "\n",
			warns: []string{"k:1: CLIENT_RANDOM: secret is 32 bytes, want 48"}},
		{name: "CLIENT_RANDOM 47 bytes", in: "CLIENT_RANDOM " + cr + " " + sec48[:94] + "\n",
			warns: []string{"k:1: CLIENT_RANDOM: secret is 47 bytes, want 48"}},
		{name: "odd hex digits", in: "CLIENT_RANDOM " + cr + " " + sec48[:95] + "\n",
			warns: []string{"k:1: CLIENT_RANDOM: secret has an odd number of hex digits (95)"}},
		{name: "too long secret", in: "CLIENT_RANDOM " + cr + " " + sec48 + sec48 + "\n",
			warns: []string{"k:1: CLIENT_RANDOM: secret is 96 bytes, want 48"}},
		{name: "bad hex secret", in: "CLIENT_RANDOM " + cr + " " + sec48[:90] + "zz" + sec48[92:] + "\n",
			warns: []string{"k:1: CLIENT_RANDOM: secret is not hex (character 91 of the field)"}},
		{name: "bad hex random", in: "CLIENT_RANDOM g" + cr[1:] + " " + sec48 + "\n",
			warns: []string{"k:1: CLIENT_RANDOM: client random is not hex (character 1 of the field)"}},
		{name: "short random", in: "CLIENT_RANDOM " + cr[:62] + " " + sec48 + "\n",
			warns: []string{"k:1: CLIENT_RANDOM: client random is 31 bytes, want 32"}},
		{name: "upper and lower hex", in: "CLIENT_RANDOM " + strings.ToUpper(cr) + " " + strings.ToUpper(sec48) +
			"\nCLIENT_RANDOM " + cr + " " + sec48 + "\n", added: 1, dups: 1},
		{name: "two fields", in: "CLIENT_RANDOM " + cr + "\n", warns: []string{"k:1: CLIENT_RANDOM: got 2 fields, want 3"}},
		{name: "four fields", in: "CLIENT_RANDOM " + cr + " " + sec48 + " x\n",
			warns: []string{"k:1: CLIENT_RANDOM: got 4 fields, want 3"}},
		{name: "label only", in: "RSA\n", warns: []string{"k:1: RSA: got 1 fields, want 3"}},
		{name: "unknown label", in: "SERVER_TRAFFIC_SECRET_1 " + cr + " " + sec32 + "\n",
			warns: []string{`k:1: unknown label "SERVER_TRAFFIC_SECRET_1", skipped`}},
		{name: "lower-case label", in: "client_random " + cr + " " + sec48 + "\n",
			warns: []string{"k:1: line does not start with a label, skipped"}},
		{name: "secret alone", in: sec48 + "\n", warns: []string{"k:1: line does not start with a label, skipped"}},
		{name: "ECH ignored", in: "ECH_SECRET " + cr + " " + sec32 + "\nECH_CONFIG " + cr + " 0011\n"},
		{name: "comments blank CRLF tabs", in: "# a comment\r\n\r\n   \n\t# indented comment\nCLIENT_RANDOM\t" + cr +
			"  " + sec48 + " \r\n", added: 1},
		{name: "no final newline", in: "CLIENT_RANDOM " + cr + " " + sec48, added: 1},
		{name: "empty", in: ""},
		{name: "RSA", in: "RSA " + pfx + " " + sec48 + "\n", added: 1},
		{name: "RSA short prefix", in: "RSA " + pfx[:14] + " " + sec48 + "\n",
			warns: []string{"k:1: RSA: encrypted premaster secret prefix is 7 bytes, want 8"}},
		{name: "RSA 32-byte pms", in: "RSA " + pfx + " " + sec32 + "\n",
			warns: []string{"k:1: RSA: secret is 32 bytes, want 48"}},
		{name: "duplicate", in: strings.Repeat("CLIENT_RANDOM "+cr+" "+sec48+"\n", 3), added: 1, dups: 2},
		{name: "conflict", in: "CLIENT_RANDOM " + cr + " " + sec48 + "\nCLIENT_RANDOM " + cr + " " + strings.Repeat("33", 48) + "\n",
			added: 1, warns: []string{"k:2: CLIENT_RANDOM: secret differs from one added before for the same connection; keeping the first"}},
		{name: "PMS_CLIENT_RANDOM", in: "PMS_CLIENT_RANDOM " + cr + " " + sec48 + "\n", added: 1},
		{name: "PMS_CLIENT_RANDOM 32 bytes", in: "PMS_CLIENT_RANDOM " + cr + " " + sec32 + "\n",
			warns: []string{"k:1: PMS_CLIENT_RANDOM: secret is 32 bytes, want 48"}},
		{name: "PMS_CLIENT_RANDOM beside CLIENT_RANDOM", in: "PMS_CLIENT_RANDOM " + cr + " " + sec48 + "\nCLIENT_RANDOM " + cr + " " + sec48 + "\n", added: 2},
		{name: "RSA duplicate and conflict", in: "RSA " + pfx + " " + sec48 + "\nRSA " + pfx + " " + sec48 +
			"\nRSA " + pfx + " " + strings.Repeat("33", 48) + "\n",
			added: 1, dups: 1, warns: []string{"k:3: RSA: secret differs"}},
		{name: "mixed hash lengths", in: "CLIENT_TRAFFIC_SECRET_0 " + cr + " " + sec32 + "\nSERVER_TRAFFIC_SECRET_0 " + cr + " " + sec48 + "\n",
			added: 2, warns: []string{"k:2: SERVER_TRAFFIC_SECRET_0: secret is 48 bytes but CLIENT_TRAFFIC_SECRET_0 for the same client random is 32 bytes; kept anyway"}},
		{name: "long line", in: "# " + strings.Repeat("x", 5000) + "\nCLIENT_RANDOM " + cr + " " + sec48 + "\n",
			added: 1, warns: []string{"k:1: line longer than 4096 bytes, skipped"}},
		{name: "long last line", in: "CLIENT_RANDOM " + cr + " " + sec48 + "\n" + strings.Repeat("x", 9000),
			added: 1, warns: []string{"k:2: line longer than 4096 bytes, skipped"}},
		{name: "line of exactly max length", in: "#" + strings.Repeat("x", 4095) + "\r\n"},
		{name: "line one over max length", in: "#" + strings.Repeat("x", 4096) + "\r\n",
			warns: []string{"k:1: line longer than 4096 bytes, skipped"}},
	}
	for _, l := range tls13 {
		for _, s := range []string{sec32, sec48} {
			tests = append(tests, tc{name: fmt.Sprintf("%v %d", l, len(s)/2), in: l.String() + " " + cr + " " + s + "\n", added: 1})
		}
		tests = append(tests, tc{name: l.String() + " 40 bytes", in: l.String() + " " + cr + " " + sec48[:80] + "\n",
			warns: []string{"k:1: " + l.String() + ": secret is 40 bytes, want 32 or 48"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st Store
			rep, err := st.Add(strings.NewReader(tt.in), "k")
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			if rep.Added != tt.added || rep.Duplicates != tt.dups || st.Len() != tt.added {
				t.Errorf("added %d, duplicates %d, Len %d; want %d, %d, %d", rep.Added, rep.Duplicates, st.Len(), tt.added, tt.dups, tt.added)
			}
			if len(rep.Warnings) != len(tt.warns) {
				t.Fatalf("got warnings %q; want %q", rep.Warnings, tt.warns)
			}
			for i, w := range rep.Warnings {
				if !strings.Contains(w.String(), tt.warns[i]) {
					t.Errorf("warning %d is %q; want it to contain %q", i, w.String(), tt.warns[i])
				}
			}
			checkInvariants(t, &st, &rep, tt.in)
		})
	}
}

func TestLookup(t *testing.T) {
	var st Store
	in := "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + cr + " " + sec32 + "\nCLIENT_RANDOM " + cr + " " + sec48 + "\nRSA " + pfx + " " + sec48 +
		"\nPMS_CLIENT_RANDOM " + cr + " " + strings.Repeat("44", 48) + "\n"
	if _, err := st.Add(strings.NewReader(in), "k"); err != nil {
		t.Fatal(err)
	}
	s, ok := st.Lookup(crB)
	if !ok {
		t.Fatal("Lookup: not found")
	}
	if got := hex.EncodeToString(s.Secret(ClientHandshakeTrafficSecret)); got != sec32 {
		t.Errorf("CLIENT_HANDSHAKE_TRAFFIC_SECRET = %s; want %s", got, sec32)
	}
	if got := hex.EncodeToString(s.Secret(ClientRandom)); got != sec48 {
		t.Errorf("CLIENT_RANDOM = %s; want %s", got, sec48)
	}
	if s.Secret(ServerHandshakeTrafficSecret) != nil || s.Has(ServerHandshakeTrafficSecret) || s.Secret(200) != nil {
		t.Error("absent label has a secret")
	}
	if got, want := hex.EncodeToString(s.Secret(PMSClientRandom)), strings.Repeat("44", 48); got != want {
		t.Errorf("PMS_CLIENT_RANDOM = %s; want %s", got, want)
	}
	if got, want := fmt.Sprint(s.Labels()), "[CLIENT_RANDOM CLIENT_HANDSHAKE_TRAFFIC_SECRET PMS_CLIENT_RANDOM]"; got != want {
		t.Errorf("Labels = %s; want %s", got, want)
	}
	if _, ok := st.Lookup([32]byte{1}); ok {
		t.Error("Lookup of an unknown random succeeded")
	}
	var p [8]byte
	copy(p[:], mustHexN(pfx))
	pms, ok := st.LookupRSA(p)
	if !ok || hex.EncodeToString(pms) != sec48 {
		t.Errorf("LookupRSA = %x, %v; want %s", pms, ok, sec48)
	}
	if _, ok := st.LookupRSA([8]byte{}); ok {
		t.Error("LookupRSA of an unknown prefix succeeded")
	}
	// Merging a second source keeps the first and counts duplicates.
	rep, err := st.Add(strings.NewReader("CLIENT_RANDOM "+cr+" "+sec48+"\n"), "DSB")
	if err != nil || rep.Duplicates != 1 || rep.Added != 0 || st.Len() != 4 {
		t.Errorf("second Add: %+v, %v, Len %d; want 1 duplicate, Len 4", rep, err, st.Len())
	}
}

func mustHexN(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestLabelString(t *testing.T) {
	for l := Label(1); l < numLabels; l++ {
		if got := parseLabel([]byte(l.String())); got != l {
			t.Errorf("parseLabel(%q) = %v; want %v", l.String(), got, l)
		}
	}
	for _, l := range []Label{0, numLabels, 255} {
		if got, want := l.String(), fmt.Sprintf("Label(%d)", uint8(l)); got != want {
			t.Errorf("Label(%d).String() = %q; want %q", uint8(l), got, want)
		}
	}
}

func TestMaxEntries(t *testing.T) {
	st := Store{MaxEntries: 2}
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, "CLIENT_RANDOM %02x%s %s\n", i, cr[2:], sec48)
	}
	b.WriteString("CLIENT_RANDOM 00" + cr[2:] + " " + sec48 + "\n") // duplicate of an entry held: fine
	rep, err := st.Add(strings.NewReader(b.String()), "k")
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != 2 || rep.Added != 2 || rep.Dropped != 3 || rep.Duplicates != 1 {
		t.Errorf("Len %d, report %+v; want 2 added, 3 dropped, 1 duplicate", st.Len(), rep)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].String() != "k:3: CLIENT_RANDOM: entry cap 2 reached; this and later new secrets are dropped" {
		t.Errorf("warnings %q; want one cap warning at line 3", rep.Warnings)
	}
}

func TestMaxWarnings(t *testing.T) {
	var st Store
	rep, err := st.Add(strings.NewReader(strings.Repeat("BOGUS\n", 250)), "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != maxWarnings || rep.Omitted != 150 || rep.Lines != 250 {
		t.Errorf("%d warnings, %d omitted, %d lines; want %d, 150, 250", len(rep.Warnings), rep.Omitted, rep.Lines, maxWarnings)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestLongLineNotBuffered feeds a 64 MiB line and checks that the allocation
// stays far below its size.
func TestLongLineNotBuffered(t *testing.T) {
	const size = 64 << 20
	allocs := testing.AllocsPerRun(1, func() {
		r := io.MultiReader(io.LimitReader(repeatReader('x'), size), strings.NewReader("\nCLIENT_RANDOM "+cr+" "+sec48+"\n"))
		var st Store
		rep, err := st.Add(r, "k")
		if err != nil || rep.Added != 1 || len(rep.Warnings) != 1 {
			t.Errorf("Add: %+v, %v", rep, err)
		}
	})
	if allocs > 50 {
		t.Errorf("%v allocations for a long line", allocs)
	}
}

type repeatReader byte

func (c repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadError(t *testing.T) {
	var st Store
	r := io.MultiReader(strings.NewReader("CLIENT_RANDOM "+cr+" "+sec48+"\n"), errReader{})
	rep, err := st.Add(r, "keys.txt")
	if err == nil || err.Error() != "keylog: keys.txt: disk on fire" {
		t.Errorf("err = %v; want keylog: keys.txt: disk on fire", err)
	}
	if rep.Added != 1 {
		t.Errorf("added %d before the error; want 1", rep.Added)
	}
}

func TestAddDSB(t *testing.T) {
	var st Store
	data := []byte("CLIENT_RANDOM " + cr + " " + sec48 + "\n")
	if _, err := st.AddDSB(0x57474b4c, data, "x.pcapng DSB"); !errors.Is(err, ErrSecretsType) { // WireGuard
		t.Errorf("AddDSB(WGKL) err = %v; want ErrSecretsType", err)
	}
	rep, err := st.AddDSB(SecretsTypeTLSKeyLog, data, "x.pcapng DSB")
	if err != nil || rep.Added != 1 {
		t.Errorf("AddDSB(TLSK) = %+v, %v; want 1 added", rep, err)
	}
}

// TestRedaction checks that no fmt verb on Secrets, Store or Report, and no
// warning, shows a secret.
func TestRedaction(t *testing.T) {
	var st Store
	in := strings.Join([]string{
		"CLIENT_RANDOM " + cr + " " + sec48,
		"CLIENT_RANDOM " + cr + " " + strings.Replace(sec48, "22", "23", 1), // conflict
		"CLIENT_RANDOM " + cr + " " + sec48[:94],                            // short
		"CLIENT_RANDOM " + cr + " " + sec48 + "zz",                          // bad hex, long
		"CLIENT_RANDOM " + cr + " " + sec48 + " extra",                      // field count
		"CLIENT_RANDOM " + cr + " " + sec48[:50] + "-" + sec48[51:],         // bad hex
		"CLIENT_RANDOM " + sec48,                                            // two fields
		sec48,                                                               // secret alone
		strings.ToUpper(sec48[:40]),                                         // hex-looking label
		"X" + strings.ToUpper(sec48[:40]) + " " + cr + " " + sec48,          // label glued to a secret
		"EXPORTER_SECRET " + cr + " " + sec32,
		"EXPORTER_SECRET " + cr + " " + sec32[:62],
		"RSA " + pfx + " " + sec48,
		"RSA " + pfx + " " + sec48[:90],
		"RSA " + pfx + " " + sec32 + sec32,
		"PMS_CLIENT_RANDOM " + cr + " " + sec48[:94] + "0",
		"CLIENT_TRAFFIC_SECRET_0 " + cr + " " + sec48, // mixed hash lengths
	}, "\n")
	rep, err := st.Add(strings.NewReader(in), "k")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := st.Lookup(crB)
	var out bytes.Buffer
	for _, v := range []any{s, &st, rep, *s, st, map[int]*Secrets{1: s}, []Store{st}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(&out, w)
	}
	if len(rep.Warnings) < 10 {
		t.Errorf("only %d warnings: %q", len(rep.Warnings), rep.Warnings)
	}
	checkNoSecret(t, out.String(), []string{sec32, sec48})
	if !strings.Contains(out.String(), "CLIENT_RANDOM=<redacted 48 bytes>") {
		t.Errorf("redacted form missing from %s", out.String())
	}
}

// checkNoSecret fails if out contains any 8-byte run (16 hex digits) of the
// secrets, in either case.
func checkNoSecret(t *testing.T, out string, secrets []string) {
	t.Helper()
	lo := strings.ToLower(out)
	for _, s := range secrets {
		s = strings.ToLower(s)
		for i := 0; i+16 <= len(s); i += 2 {
			if strings.Contains(lo, s[i:i+16]) {
				t.Fatalf("output contains secret bytes %s:\n%s", s[i:i+16], out)
			}
		}
	}
}

// sharedKeyFiles returns the key logs in ../../../shared/pcaps (the repo sits
// at /work/main, the shared captures at /work/shared).
func sharedKeyFiles(tb testing.TB) []string {
	var files []string
	for _, root := range []string{"../../../shared/pcaps", "../../shared/pcaps"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".keys") {
				files = append(files, p)
			}
			return nil
		})
		if len(files) > 0 {
			break
		}
	}
	return files
}

func TestSharedKeyFiles(t *testing.T) {
	files := sharedKeyFiles(t)
	if len(files) == 0 {
		t.Skip("no shared/pcaps/**/*.keys")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var st Store
			rep, err := st.Add(bytes.NewReader(b), filepath.Base(f))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range rep.Warnings {
				t.Errorf("%s", w)
			}
			if rep.Added == 0 {
				t.Errorf("no secrets added")
			}
			t.Logf("%d lines, %d added, %d duplicates, %d client randoms", rep.Lines, rep.Added, rep.Duplicates, len(st.byRandom))
			checkInvariants(t, &st, &rep, string(b))
		})
	}
}

// checkInvariants checks what must hold after any Add: every entry has a
// length valid for its label, Len matches the entries, warnings point at
// lines of the input, and nothing that could be a secret is echoed.
func checkInvariants(t testing.TB, st *Store, rep *Report, in string) {
	t.Helper()
	n := 0
	for id, s := range st.byRandom {
		if s.ClientRandom != id {
			t.Fatalf("entry %x has client random %x", id, s.ClientRandom)
		}
		for l := Label(1); l < numLabels; l++ {
			v := s.Secret(l)
			if v == nil {
				continue
			}
			if l == RSA || !l.validLen(len(v)) {
				t.Fatalf("%v secret of %d bytes accepted", l, len(v))
			}
			n++
		}
		if len(s.Labels()) == 0 {
			t.Fatalf("entry %x has no secrets", id)
		}
	}
	n += len(st.rsa)
	if n != st.Len() {
		t.Fatalf("Len() = %d; %d entries held", st.Len(), n)
	}
	lines := strings.Count(in, "\n")
	if in != "" && !strings.HasSuffix(in, "\n") {
		lines++
	}
	if rep.Lines != lines {
		t.Fatalf("report counts %d lines; input has %d", rep.Lines, lines)
	}
	var hexFields []string
	sc := bufio.NewScanner(strings.NewReader(in))
	sc.Buffer(nil, len(in)+1)
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if len(f) >= 16 && isAllHex(f) {
				hexFields = append(hexFields, f)
			}
		}
	}
	for _, w := range rep.Warnings {
		if w.Line < 1 || w.Line > lines {
			t.Fatalf("warning %q has line %d; input has %d lines", w, w.Line, lines)
		}
		ws := w.String()
		for _, f := range hexFields {
			if strings.Contains(ws, f) {
				t.Fatalf("warning %q contains the input field %q", ws, f)
			}
		}
		fmt.Fprint(io.Discard, w, rep)
	}
	fmt.Fprintf(io.Discard, "%v %+v %#v %x", st, st, st, st)
}

func isAllHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func FuzzParse(f *testing.F) {
	// Seeds: every line of the shared key logs (real output of browsers,
	// OpenSSL and the Illustrated TLS/QUIC pages), each alone.
	for _, p := range sharedKeyFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			f.Add(line)
		}
	}
	// Hand-made edges: RSA entry, CRLF, a comment, a duplicate and a
	// conflict, a mixed-hash pair, a bad digit, an ECH line.
	f.Add([]byte("RSA " + pfx + " " + sec48 + "\r\n"))
	f.Add([]byte("PMS_CLIENT_RANDOM " + cr + " " + sec48 + "\nCLIENT_RANDOM " + cr + " " + sec48 + "\n"))
	f.Add([]byte("# c\n\nCLIENT_RANDOM " + cr + " " + sec48 + "\nCLIENT_RANDOM " + cr + " " + sec48 + "\nCLIENT_RANDOM " + cr + " " + sec48[:94] + "ff\n"))
	f.Add([]byte("CLIENT_TRAFFIC_SECRET_0 " + cr + " " + sec32 + "\nSERVER_TRAFFIC_SECRET_0 " + cr + " " + sec48))
	f.Add([]byte("EXPORTER_SECRET " + cr + " " + sec32[:10] + "g" + sec32[11:]))
	f.Add([]byte("ECH_SECRET " + cr + " " + sec32))
	f.Fuzz(func(t *testing.T, in []byte) {
		// A small line cap so that long-line handling is reached.
		st := Store{MaxLineLength: 200, MaxEntries: 4}
		rep, err := st.Add(bytes.NewReader(in), "f")
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		checkInvariants(t, &st, &rep, string(in))
		if st.Len() > 4 {
			t.Fatalf("Len %d exceeds MaxEntries", st.Len())
		}
	})
}

// BenchmarkAdd parses a 10,000-line key log: 2,000 TLS 1.2 connections and
// 1,600 TLS 1.3 connections of five lines each.
func BenchmarkAdd(b *testing.B) {
	var buf bytes.Buffer
	r := [32]byte{}
	for i := 0; buf.Len() == 0 || strings.Count(buf.String(), "\n") < 10000; i++ {
		r[0], r[1] = byte(i), byte(i>>8)
		if i < 2000 {
			fmt.Fprintf(&buf, "CLIENT_RANDOM %x %s\n", r, sec48)
			continue
		}
		for _, l := range []Label{ClientHandshakeTrafficSecret, ServerHandshakeTrafficSecret, ClientTrafficSecret0, ServerTrafficSecret0, ExporterSecret} {
			fmt.Fprintf(&buf, "%v %x %s\n", l, r, sec32)
		}
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var st Store
		rep, err := st.Add(bytes.NewReader(in), "bench")
		if err != nil || rep.Added != 10000 || len(rep.Warnings) != 0 {
			b.Fatalf("Add: %+v, %v", rep, err)
		}
	}
}

// TestAllocs checks that parsing a line that adds nothing (a comment, a
// duplicate) does not allocate: the per-Add cost is the reader's buffer.
func TestAllocs(t *testing.T) {
	var st Store
	line := "CLIENT_RANDOM " + cr + " " + sec48 + "\n"
	if _, err := st.Add(strings.NewReader(line), "k"); err != nil {
		t.Fatal(err)
	}
	in := strings.Repeat(line+"# comment\n", 1000)
	r := strings.NewReader(in)
	allocs := testing.AllocsPerRun(10, func() {
		r.Reset(in)
		rep, _ := st.Add(r, "k")
		if rep.Duplicates != 1000 {
			t.Fatalf("%d duplicates; want 1000", rep.Duplicates)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations for 2000 lines; want at most 2", allocs)
	}
	s, _ := st.Lookup(crB)
	if a := testing.AllocsPerRun(10, func() { st.Lookup(crB); s.Secret(ClientRandom) }); a != 0 {
		t.Errorf("Lookup and Secret: %v allocations; want 0", a)
	}
}
