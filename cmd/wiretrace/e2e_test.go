package main

// End-to-end tests: the wiretrace binary, built once in TestMain, run on
// the generated captures in testdata/pcaps (internal/gencap) and live on
// loopback. Golden files live in testdata/golden; -update rewrites them.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/capture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	// e2ePcapDir holds the generated captures (see its README.md).
	e2ePcapDir = "../../testdata/pcaps"
	// e2eGoldenDir holds the expected text and JSON Lines output.
	e2eGoldenDir = "testdata/golden"
	// e2eTimeout bounds every run of the binary.
	e2eTimeout = 60 * time.Second
)

// e2eBin is the wiretrace binary under test.
var e2eBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "wiretrace-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by everyone: the permission test runs it as nobody.
	os.Chmod(dir, 0o755)
	e2eBin = filepath.Join(dir, "wiretrace")
	build := exec.Command("go", "build", "-o", e2eBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// e2eResult is what one run of the binary produced.
type e2eResult struct {
	stdout, stderr string
	code           int
}

// e2eCmd returns a command running the binary with NO_COLOR set and
// stdout and stderr going to pipes (never a terminal).
func e2eCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(e2eBin, args...)
	// A key log in the caller's environment would add keys events.
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SSLKEYLOGFILE=")
	return cmd
}

// e2eRun runs the binary to completion with stdin (may be nil).
func e2eRun(t *testing.T, stdin io.Reader, args ...string) e2eResult {
	t.Helper()
	cmd := e2eCmd(args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(e2eTimeout, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	r := e2eResult{stdout.String(), stderr.String(), 0}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("wiretrace %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// e2eCaptures lists the generated captures, failing on an empty glob.
func e2eCaptures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.pcapng", "*.pcap"} {
		m, err := filepath.Glob(filepath.Join(e2ePcapDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no captures in %s: run sudo go run ./internal/gencap -out testdata/pcaps", e2ePcapDir)
	}
	sort.Strings(files)
	return files
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// e2eCaptureName is a capture's file name without its extension.
func e2eCaptureName(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func TestGolden(t *testing.T) {
	for _, f := range e2eCaptures(t) {
		name := e2eCaptureName(f)
		t.Run(name, func(t *testing.T) {
			// A capture's key log, when it has one, is NAME.keys.
			args := []string{"pcap", f}
			if keys := strings.TrimSuffix(f, filepath.Ext(f)) + ".keys"; fileExists(keys) {
				args = append(args, "--keylog", keys)
			}
			text := e2eRun(t, nil, args...)
			if text.code != 0 || text.stderr != "" {
				t.Fatalf("wiretrace pcap %s: exit %d, stderr %q", f, text.code, text.stderr)
			}
			e2eCompareGolden(t, filepath.Join(e2eGoldenDir, name+".txt"), text.stdout)

			js := e2eRun(t, nil, append(args, "--format", "json")...)
			if js.code != 0 || js.stderr != "" {
				t.Fatalf("wiretrace pcap %s --format json: exit %d, stderr %q", f, js.code, js.stderr)
			}
			e2eParseEvents(t, js.stdout) // checks the contract fields
			e2eCompareGolden(t, filepath.Join(e2eGoldenDir, name+".jsonl"), js.stdout)
		})
	}
}

// e2eCompareGolden compares got with the golden file, or rewrites it with
// -update. On a mismatch it writes got beside it as .got and prints where
// they differ.
func e2eCompareGolden(t *testing.T, golden, got string) {
	t.Helper()
	gotPath := golden + ".got"
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(gotPath)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/wiretrace -update to create it)", err)
	}
	if string(want) == got {
		os.Remove(gotPath)
		return
	}
	if err := os.WriteFile(gotPath, []byte(got), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Errorf("output differs from %s (got: %s; if the change is intended, go test ./cmd/wiretrace -update):\n%s",
		golden, gotPath, e2eDiff(string(want), got))
}

// e2eDiff shows the lines between the common prefix and suffix of want
// and got, at most 20 of each.
func e2eDiff(want, got string) string {
	w, g := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	pre := 0
	for pre < len(w) && pre < len(g) && w[pre] == g[pre] {
		pre++
	}
	suf := 0
	for suf < len(w)-pre && suf < len(g)-pre && w[len(w)-1-suf] == g[len(g)-1-suf] {
		suf++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@@ line %d: %d lines want, %d lines got @@\n", pre+1, len(w)-pre-suf, len(g)-pre-suf)
	show := func(sign string, lines []string) {
		for i, l := range lines {
			if i == 20 {
				fmt.Fprintf(&b, "%s ... %d more\n", sign, len(lines)-i)
				break
			}
			b.WriteString(sign + " " + strings.TrimSuffix(l, "\n") + "\n")
		}
	}
	show("-", w[pre:len(w)-suf])
	show("+", g[pre:len(g)-suf])
	return b.String()
}

// e2eEvent is one line of --format json (docs/events.md).
type e2eEvent struct {
	TS        string         `json:"ts"`
	Frame     int64          `json:"frame"`
	Conn      int            `json:"conn"`
	Transport string         `json:"transport"`
	Client    string         `json:"client"`
	Server    string         `json:"server"`
	Dir       string         `json:"dir"`
	Layer     string         `json:"layer"`
	Type      string         `json:"type"`
	Len       *int64         `json:"len"`
	Info      map[string]any `json:"info"`
}

// e2eParseEvents parses JSON Lines output, requiring on every line the
// contract's fields: ts, frame, layer, type and info, and conn,
// transport, client and server for every event not about the capture.
func e2eParseEvents(t *testing.T, out string) []e2eEvent {
	t.Helper()
	var evs []e2eEvent
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("line %d: not JSON: %v: %q", i+1, err, line)
		}
		required := []string{"ts", "frame", "layer", "type", "info"}
		if string(raw["layer"]) != `"capture"` {
			required = append(required, "conn", "transport", "client", "server")
		}
		for _, k := range required {
			if _, ok := raw[k]; !ok {
				t.Fatalf("line %d: no %q: %s", i+1, k, line)
			}
		}
		var ev e2eEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.TS); err != nil {
			t.Errorf("line %d: ts %q: %v", i+1, ev.TS, err)
		}
		if ev.Frame < 1 || ev.Info == nil || ev.Type == "" {
			t.Errorf("line %d: frame %d, info %v, type %q: want frame ≥ 1, an info object, a type", i+1, ev.Frame, ev.Info, ev.Type)
		}
		evs = append(evs, ev)
	}
	return evs
}

// e2eEvents runs wiretrace pcap --format json on a capture in
// testdata/pcaps and parses its events.
func e2eEvents(t *testing.T, name string) []e2eEvent {
	t.Helper()
	path := filepath.Join(e2ePcapDir, name)
	r := e2eRun(t, nil, "pcap", path, "--format", "json")
	if r.code != 0 {
		t.Fatalf("wiretrace pcap %s --format json: exit %d: %s", path, r.code, r.stderr)
	}
	return e2eParseEvents(t, r.stdout)
}

// e2eCount counts events by type.
func e2eCount(evs []e2eEvent) map[string]int {
	n := map[string]int{}
	for _, ev := range evs {
		n[ev.Type]++
	}
	return n
}

// e2eSummaries returns the summary events in order.
func e2eSummaries(evs []e2eEvent) []e2eEvent {
	var s []e2eEvent
	for _, ev := range evs {
		if ev.Type == "summary" {
			s = append(s, ev)
		}
	}
	return s
}

// e2eOneSummary returns the only connection's summary.
func e2eOneSummary(t *testing.T, evs []e2eEvent) map[string]any {
	t.Helper()
	s := e2eSummaries(evs)
	if len(s) != 1 {
		t.Fatalf("%d summaries; want 1", len(s))
	}
	return s[0].Info
}

// e2eNum reads a numeric info field (-1 when absent).
func e2eNum(info map[string]any, key string) float64 {
	v, ok := info[key].(float64)
	if !ok {
		return -1
	}
	return v
}

// What the generator's peers did (internal/gencap/scenarios.go).
const (
	basicRequestBytes = 85    // the GET request of tcp-basic
	basicAnswerBytes  = 20000 // the server's whole answer in tcp-basic
	halfCloseAnswer   = 50000
	bigAnswerBytes    = 2 << 20 // tcp-zero-window and tcp-loss-*
)

func TestSemanticBasic(t *testing.T) {
	// The link-type variants and the IPv6 run must tell the same story.
	for _, name := range []string{"tcp-basic.pcapng", "tcp-basic-ipv6.pcapng", "tcp-basic-usec.pcap",
		"tcp-basic-null.pcap", "tcp-basic-raw.pcap", "tcp-basic-sll2.pcap"} {
		t.Run(name, func(t *testing.T) {
			evs := e2eEvents(t, name)
			n := e2eCount(evs)
			for _, typ := range []string{"SYN", "SYN-ACK", "ACK"} {
				if n[typ] != 1 {
					t.Errorf("%d %s events; want 1", n[typ], typ)
				}
			}
			var finDirs []string
			for _, ev := range evs {
				if ev.Type == "FIN" {
					finDirs = append(finDirs, ev.Dir)
				}
			}
			if strings.Join(finDirs, ",") != "c2s,s2c" {
				t.Errorf("FINs in directions %v; want c2s (the client closes first), then s2c", finDirs)
			}
			s := e2eOneSummary(t, evs)
			if got := e2eNum(s, "round_trips_before_data"); got != 1 {
				t.Errorf("round_trips_before_data = %v; want 1", got)
			}
			if got := e2eNum(s, "rtt_ms"); got <= 0 {
				t.Errorf("rtt_ms = %v; want > 0", got)
			}
			if got := e2eNum(s, "bytes_s2c"); got != basicAnswerBytes {
				t.Errorf("bytes_s2c = %v; want %d, what the server wrote", got, basicAnswerBytes)
			}
			if got := e2eNum(s, "bytes_c2s"); got != basicRequestBytes {
				t.Errorf("bytes_c2s = %v; want %d, the request", got, basicRequestBytes)
			}
			if s["close"] != "fin" {
				t.Errorf("close = %v; want fin", s["close"])
			}
		})
	}
}

func TestSemanticRefused(t *testing.T) {
	evs := e2eEvents(t, "tcp-refused.pcapng")
	refused := false
	for _, ev := range evs {
		if ev.Type == "RST" && ev.Info["refused"] == true && ev.Dir == "s2c" {
			refused = true
		}
	}
	if !refused {
		t.Errorf("no RST from the server with info.refused")
	}
	if s := e2eOneSummary(t, evs); s["close"] != "refused" {
		t.Errorf("summary close = %v; want refused", s["close"])
	}
}

func TestSemanticReset(t *testing.T) {
	evs := e2eEvents(t, "tcp-reset.pcapng")
	n := e2eCount(evs)
	if n["RST"] != 1 || n["FIN"] != 0 {
		t.Errorf("%d RST and %d FIN events; want 1 and 0", n["RST"], n["FIN"])
	}
	for _, ev := range evs {
		if ev.Type == "RST" && (ev.Dir != "s2c" || ev.Info["refused"] == true) {
			t.Errorf("RST %s refused=%v; want from the server, not refused", ev.Dir, ev.Info["refused"])
		}
	}
	if s := e2eOneSummary(t, evs); s["close"] != "rst" {
		t.Errorf("summary close = %v; want rst", s["close"])
	}
}

func TestSemanticHalfClose(t *testing.T) {
	evs := e2eEvents(t, "tcp-half-close.pcapng")
	s := e2eOneSummary(t, evs)
	if s["half_close"] != true {
		t.Errorf("summary half_close = %v; want true", s["half_close"])
	}
	if got := e2eNum(s, "bytes_s2c"); got != halfCloseAnswer {
		t.Errorf("bytes_s2c = %v; want %d", got, halfCloseAnswer)
	}
}

func TestSemanticZeroWindow(t *testing.T) {
	evs := e2eEvents(t, "tcp-zero-window.pcapng")
	n := e2eCount(evs)
	if n["zero-window"] == 0 {
		t.Errorf("no zero-window events; got %v", n)
	}
	// Linux probes a zero window with an empty segment one below the
	// next sequence number: a keep-alive by Wireshark's rule.
	if n["keep-alive"] == 0 {
		t.Errorf("no window probe (keep-alive) events; got %v", n)
	}
	s := e2eOneSummary(t, evs)
	if got := e2eNum(s, "bytes_s2c"); got < bigAnswerBytes {
		// Snaplen 200: the segments' lengths come from the IP header.
		t.Errorf("bytes_s2c = %v; want %d: bytes cut by the snaplen still crossed the wire", got, bigAnswerBytes)
	}
}

func TestSemanticKeepAlive(t *testing.T) {
	evs := e2eEvents(t, "tcp-keepalive.pcapng")
	var probes []string
	for _, ev := range evs {
		if ev.Type == "keep-alive" {
			probes = append(probes, ev.Dir)
		}
	}
	// Idle 1 s, interval 1 s, closed after 3.5 s: probes at 1, 2 and 3 s.
	if len(probes) != 3 || strings.Count(strings.Join(probes, ","), "c2s") != 3 {
		t.Errorf("keep-alive events in directions %v; want 3 from the client", probes)
	}
}

func TestSemanticLossReceiver(t *testing.T) {
	evs := e2eEvents(t, "tcp-loss-receiver.pcapng")
	n := e2eCount(evs)
	t.Logf("event counts: %v", n)
	for _, typ := range []string{"lost-segment", "dup-ack", "hol-stall"} {
		if n[typ] == 0 {
			t.Errorf("no %s events", typ)
		}
	}
	if n["retransmission"]+n["fast-retransmission"] == 0 {
		t.Errorf("no retransmission or fast-retransmission events")
	}
	s := e2eOneSummary(t, evs)
	if e2eNum(s, "hol_stalls") != float64(n["hol-stall"]) {
		t.Errorf("summary hol_stalls = %v; want %d, the hol-stall events", s["hol_stalls"], n["hol-stall"])
	}
	if got, d := e2eNum(s, "hol_stall_ms"), e2eNum(s, "duration_ms"); got > d {
		t.Errorf("hol_stall_ms = %v exceeds the connection's duration_ms = %v: overlapping stalls must count once", got, d)
	}
}

func TestSemanticLossSender(t *testing.T) {
	evs := e2eEvents(t, "tcp-loss-sender.pcapng")
	n := e2eCount(evs)
	t.Logf("event counts: %v", n)
	if n["retransmission"]+n["fast-retransmission"] == 0 {
		t.Errorf("no retransmission or fast-retransmission events")
	}
	// At the sender every segment is seen: nothing is missing before the
	// capture point.
	if n["lost-segment"] != 0 {
		t.Errorf("%d lost-segment events; want 0", n["lost-segment"])
	}
}

func TestSemanticPipelined(t *testing.T) {
	evs := e2eEvents(t, "tcp-pipelined.pcapng")
	s := e2eSummaries(evs)
	if len(s) != 3 {
		t.Fatalf("%d connections; want 3", len(s))
	}
	gotBytes := map[string]float64{}
	for _, ev := range s {
		gotBytes[ev.Client] = e2eNum(ev.Info, "bytes_s2c")
	}
	want := map[string]float64{"198.18.1.2:40000": 4000, "198.18.1.2:40001": 8000, "198.18.1.2:40002": 12000}
	for c, w := range want {
		if gotBytes[c] != w {
			t.Errorf("conn from %s: bytes_s2c %v; want %v (all: %v)", c, gotBytes[c], w, gotBytes)
		}
	}
	// Staggered 25 ms apart, each longer than that: they overlap, so the
	// second SYN comes before the first summary.
	secondSYN, firstSummary := -1, -1
	syns := 0
	for i, ev := range evs {
		if ev.Type == "SYN" {
			if syns++; syns == 2 {
				secondSYN = i
			}
		}
		if ev.Type == "summary" && firstSummary < 0 {
			firstSummary = i
		}
	}
	if secondSYN < 0 || secondSYN > firstSummary {
		t.Errorf("second SYN at event %d, first summary at %d: the connections do not overlap", secondSYN, firstSummary)
	}
}

func TestSemanticUDP(t *testing.T) {
	s := e2eOneSummary(t, e2eEvents(t, "udp-basic.pcapng"))
	for k, want := range map[string]float64{"bytes_c2s": 21, "bytes_s2c": 300, "packets_c2s": 3, "packets_s2c": 3} {
		if got := e2eNum(s, k); got != want {
			t.Errorf("%s = %v; want %v", k, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	readme := filepath.Join(e2ePcapDir, "README.md")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains []string // each in the one stderr line (or first line for usage)
		usage    bool     // a usage error: the line and a hint to --help
	}{
		{"missing file", []string{"pcap", "no-such-capture.pcap"}, 1, []string{"no-such-capture.pcap"}, false},
		{"not a capture", []string{"pcap", readme}, 1, []string{readme}, false},
		{"no args", []string{"pcap"}, 2, []string{"wiretrace"}, true},
		{"bogus format", []string{"pcap", filepath.Join(e2ePcapDir, "tcp-basic.pcapng"), "--format", "bogus"}, 2, []string{"bogus"}, true},
		{"unknown flag", []string{"pcap", "--no-such-flag"}, 2, []string{"no-such-flag"}, true},
		{"stdin twice", []string{"pcap", "-", "-"}, 2, []string{"-"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e2eRun(t, nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d; want %d", r.code, tc.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q; want nothing", r.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			wantLines := 1
			if tc.usage {
				wantLines = 2
			}
			if len(lines) != wantLines {
				t.Fatalf("stderr has %d lines; want %d:\n%s", len(lines), wantLines, r.stderr)
			}
			if !strings.HasPrefix(lines[0], "wiretrace: ") {
				t.Errorf("stderr %q; want it to start with \"wiretrace: \"", lines[0])
			}
			for _, s := range tc.contains {
				if !strings.Contains(lines[0], s) {
					t.Errorf("stderr %q; want it to name %q", lines[0], s)
				}
			}
			if tc.usage && !strings.Contains(lines[1], "--help") {
				t.Errorf("stderr %q; want a hint to --help", lines[1])
			}
		})
	}
}

func TestStdin(t *testing.T) {
	path := filepath.Join(e2ePcapDir, "tcp-basic.pcapng")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromStdin := e2eRun(t, f, "pcap", "-")
	fromFile := e2eRun(t, nil, "pcap", path)
	if fromStdin.code != 0 || fromStdin.stderr != "" {
		t.Fatalf("pcap -: exit %d, stderr %q", fromStdin.code, fromStdin.stderr)
	}
	if fromStdin.stdout != fromFile.stdout {
		t.Errorf("pcap - differs from pcap %s:\n%s", path, e2eDiff(fromFile.stdout, fromStdin.stdout))
	}
}

func TestMergeTwoFiles(t *testing.T) {
	a, b := filepath.Join(e2ePcapDir, "tcp-basic.pcapng"), filepath.Join(e2ePcapDir, "udp-basic.pcapng")
	r := e2eRun(t, nil, "pcap", a, b, "--format", "json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	evs := e2eParseEvents(t, r.stdout)
	s := e2eSummaries(evs)
	if len(s) != 2 {
		t.Fatalf("%d connections; want 2 (one per file)", len(s))
	}
	transports := map[string]bool{}
	packets := 0.0
	for _, ev := range s {
		transports[ev.Transport] = true
		packets += e2eNum(ev.Info, "packets_c2s") + e2eNum(ev.Info, "packets_s2c")
	}
	if !transports["tcp"] || !transports["udp"] {
		t.Errorf("transports %v; want tcp and udp", transports)
	}
	const want = 36 + 6 // the two files' packets
	if packets != want {
		t.Errorf("%v packets in the summaries; want %d", packets, want)
	}
	// Merged by time: frames are numbered in merged order, timestamps
	// never go back (phase events, emitted with the summary, carry the
	// earlier time their phase ended).
	var last time.Time
	for i, ev := range evs {
		if ev.Type == "phase" {
			continue
		}
		ts, _ := time.Parse(time.RFC3339Nano, ev.TS)
		if ts.Before(last) {
			t.Errorf("event %d (%s frame %d) at %v, before the previous event's %v", i, ev.Type, ev.Frame, ts, last)
		}
		last = ts
	}
}

// TestClosedPipe: a reader that goes away (wiretrace ... | head -1) is
// not an error.
func TestClosedPipe(t *testing.T) {
	cmd := e2eCmd("pcap", filepath.Join(e2ePcapDir, "tcp-loss-receiver.pcapng"), "--segments")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Errorf("exit %d after the reader left; want 0 (stderr %q)", ee.ExitCode(), stderr.String())
	} else if err != nil {
		t.Fatal(err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q; want nothing", stderr.String())
	}
}

// TestExamples runs the Example blocks of each command's help ("$
// wiretrace ..." lines) that use testdata, from a directory where
// testdata/ is the repository's, with the binary first on PATH.
func TestExamples(t *testing.T) {
	abs, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(abs, filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	fileRef := regexp.MustCompile(`testdata/[^\s|'"]+`)
	ran := 0
	for _, cmdName := range []string{"", "pcap", "live"} {
		args := []string{"--help"}
		if cmdName != "" {
			args = []string{cmdName, "--help"}
		}
		help := e2eRun(t, nil, args...)
		if help.code != 0 {
			t.Fatalf("wiretrace %s: exit %d", strings.Join(args, " "), help.code)
		}
		for _, line := range strings.Split(help.stdout, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "$ ") {
				continue
			}
			shell := strings.TrimPrefix(line, "$ ")
			if !strings.Contains(shell, "wiretrace") || !strings.Contains(shell, "testdata/") || strings.Contains(shell, "sudo ") {
				continue
			}
			t.Run(strings.TrimSpace(cmdName+" "+shell), func(t *testing.T) {
				for _, ref := range fileRef.FindAllString(shell, -1) {
					if _, err := os.Stat(filepath.Join(dir, ref)); err != nil {
						t.Fatalf("the example uses %s, which does not exist", ref)
					}
				}
				cmd := exec.Command("sh", "-c", "set -e; "+shell)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "NO_COLOR=1", "PATH="+filepath.Dir(e2eBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", shell, err, out)
				}
				if len(out) == 0 {
					t.Errorf("%s: no output", shell)
				}
			})
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("no examples using testdata found in the help output")
	}
}

// TestTsharkReadsCaptures checks that tshark reads every generated capture
// without complaint and counts the packets capture.OpenFile counts.
func TestTsharkReadsCaptures(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	for _, f := range e2eCaptures(t) {
		t.Run(e2eCaptureName(f), func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(tshark, "-n", "-r", f, "-T", "fields", "-e", "frame.number")
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark -r %s: %v: %s", f, err, stderr.String())
			}
			if msg := e2eTsharkStderr(stderr.String()); msg != "" {
				t.Errorf("tshark -r %s complained: %s", f, msg)
			}
			if got, want := strings.Count(string(out), "\n"), e2eCountPackets(t, f); got != want {
				t.Errorf("tshark counts %d packets; capture.OpenFile %d", got, want)
			}
		})
	}
}

// e2eTsharkStderr drops tshark's note about running as root.
func e2eTsharkStderr(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" && !strings.HasPrefix(l, "Running as user") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// e2eCountPackets counts a capture's packets with capture.OpenFile.
func e2eCountPackets(t *testing.T, path string) int {
	t.Helper()
	src, err := capture.OpenFile(path, 0, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	var p capture.Packet
	for {
		err := src.Next(&p)
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", path, n+1, err)
		}
		n++
	}
}

func e2eSkipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
}

// e2eServe answers every connection on ln: reads a request line, writes
// 5000 bytes, waits for the client's FIN, closes.
func e2eServe(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				return
			}
			c.Write(bytes.Repeat([]byte("w"), 5000))
			io.Copy(io.Discard, c)
		}()
	}
}

// e2eConnect makes one request/response/close connection to addr and
// returns the client's address and when the SYN was sent.
func e2eConnect(addr string) (client string, start time.Time, err error) {
	start = time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", start, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		return "", start, err
	}
	if _, err := io.ReadFull(c, make([]byte, 5000)); err != nil {
		return "", start, err
	}
	return c.LocalAddr().String(), start, nil
}

// e2eLine is one stdout line of a live run and when it arrived.
type e2eLine struct {
	text string
	at   time.Time
}

func e2eLines(r io.Reader) <-chan e2eLine {
	ch := make(chan e2eLine, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			ch <- e2eLine{sc.Text(), time.Now()}
		}
	}()
	return ch
}

func TestLive(t *testing.T) {
	e2eSkipUnlessRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go e2eServe(ln)
	port := ln.Addr().(*net.TCPAddr).Port
	out := filepath.Join(t.TempDir(), "out.pcapng")

	cmd := e2eCmd("live", "-i", "lo", "--filter", fmt.Sprintf("tcp port %d", port), "--format", "json", "-w", out)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := e2eLines(stdout)

	// wiretrace says nothing when the capture is ready, so connect every
	// 300 ms until a line shows up; the connection followed is the first
	// whose SYN appears.
	const overall = 20 * time.Second
	deadline := time.After(overall)
	started := map[string]time.Time{} // client address → SYN sent
	var mine string
	var evs []e2eEvent
	probe := time.NewTicker(300 * time.Millisecond)
	defer probe.Stop()
	connect := func() {
		client, start, err := e2eConnect(ln.Addr().String())
		if err != nil {
			t.Errorf("connect: %v", err)
			return
		}
		started[client] = start
	}
	connect()
	summary := false
	for !summary {
		select {
		case <-probe.C:
			if mine == "" {
				connect()
			}
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stdout closed before the summary; stderr: %s", stderr.String())
			}
			ev := e2eParseEvents(t, l.text)[0]
			if mine == "" && ev.Type == "SYN" {
				if _, ok := started[ev.Client]; ok {
					mine = ev.Client
				}
			}
			if ev.Client != mine {
				continue
			}
			t.Logf("+%v after the SYN: %s %s", l.at.Sub(started[mine]).Round(time.Millisecond), ev.Dir, ev.Type)
			evs = append(evs, ev)
			summary = ev.Type == "summary"
		case <-deadline:
			t.Fatalf("no summary for a connection within %v; events %v; stderr: %s", overall, evs, stderr.String())
		}
	}

	n := e2eCount(evs)
	for typ, want := range map[string]int{"SYN": 1, "SYN-ACK": 1, "ACK": 1, "FIN": 2, "summary": 1} {
		if n[typ] != want {
			t.Errorf("%d %s events; want %d", n[typ], typ, want)
		}
	}
	for _, ev := range evs {
		if ev.Client != mine || ev.Server != ln.Addr().String() || ev.Transport != "tcp" {
			t.Errorf("%s event: transport %s client %s server %s; want tcp %s %s", ev.Type, ev.Transport, ev.Client, ev.Server, mine, ln.Addr())
		}
	}
	liveSummary := evs[len(evs)-1].Info

	// Ctrl-C: outputs flushed, exit 0.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for range lines { // drain what is left
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("after SIGINT: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(overall):
		t.Fatalf("still running %v after SIGINT", overall)
	}
	// "wiretrace: N packets captured on lo, 0 dropped by the kernel"
	m := regexp.MustCompile(`(\d+) packets captured on lo, (\d+) dropped`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr %q: no packet counts", stderr.String())
	}
	captured, _ := strconv.Atoi(m[1])

	// The -w file holds every packet, readable by us and by tshark.
	if got := e2eCountPackets(t, out); got != captured {
		t.Errorf("%s holds %d packets; stderr says %d were captured", out, got, captured)
	}
	replay := e2eRun(t, nil, "pcap", out, "--format", "json")
	if replay.code != 0 {
		t.Fatalf("wiretrace pcap %s: exit %d: %s", out, replay.code, replay.stderr)
	}
	found := false
	for _, s := range e2eSummaries(e2eParseEvents(t, replay.stdout)) {
		if s.Client != mine {
			continue
		}
		found = true
		for _, k := range []string{"packets_c2s", "packets_s2c", "bytes_c2s", "bytes_s2c"} {
			if e2eNum(s.Info, k) != e2eNum(liveSummary, k) {
				t.Errorf("replayed %s = %v; live said %v", k, s.Info[k], liveSummary[k])
			}
		}
	}
	if !found {
		t.Errorf("replaying %s: no connection from %s", out, mine)
	}
	if tshark, err := exec.LookPath("tshark"); err == nil {
		var tsErr bytes.Buffer
		ts := exec.Command(tshark, "-n", "-r", out, "-T", "fields", "-e", "frame.number")
		ts.Stderr = &tsErr
		b, err := ts.Output()
		if err != nil {
			t.Fatalf("tshark -r %s: %v: %s", out, err, tsErr.String())
		}
		if got := strings.Count(string(b), "\n"); got != captured {
			t.Errorf("tshark reads %d packets from %s; want %d", got, out, captured)
		}
		if msg := e2eTsharkStderr(tsErr.String()); msg != "" {
			t.Errorf("tshark complained about %s: %s", out, msg)
		}
	}
}

// TestLiveCount: -c N stops by itself after N packets, exit 0.
func TestLiveCount(t *testing.T) {
	e2eSkipUnlessRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go e2eServe(ln)
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := e2eCmd("live", "-i", "lo", "-c", "5", "--filter", fmt.Sprintf("tcp port %d", port), "--format", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("-c 5: %v; stderr: %s", err, stderr.String())
			}
			for _, ev := range e2eParseEvents(t, stdout.String()) {
				if ev.Frame > 5 {
					t.Errorf("event at frame %d after -c 5", ev.Frame)
				}
			}
			return
		case <-tick.C:
			e2eConnect(ln.Addr().String())
		case <-timeout:
			t.Fatalf("-c 5 still running after 20 s; stderr: %s", stderr.String())
		}
	}
}

// TestLivePermission: without CAP_NET_RAW the capture fails with one line
// that says how to get the permission.
func TestLivePermission(t *testing.T) {
	e2eSkipUnlessRoot(t)
	cmd := e2eCmd("live", "-i", "lo", "-c", "1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Dir = "/"
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("as nobody: %v; want a non-zero exit (stdout %q)", err, stdout.String())
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Errorf("stderr has %d lines; want 1:\n%s", len(lines), stderr.String())
	}
	if !strings.Contains(lines[0], "setcap") && !strings.Contains(lines[0], "sudo") {
		t.Errorf("stderr %q; want it to mention setcap or sudo", lines[0])
	}
}
