package h3

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// qpackEncoder builds testdata/qpack-encode.c against nghttp3 (Debian
// libnghttp3-dev): a QPACK encoder that uses the dynamic table, which
// quic-go's does not. Skipped when it cannot be built, unless
// WIRETRACE_REQUIRE_NGHTTP3=1.
func qpackEncoder(t *testing.T) string {
	t.Helper()
	skip := func(why string, args ...any) {
		t.Helper()
		if os.Getenv("WIRETRACE_REQUIRE_NGHTTP3") == "1" {
			t.Fatalf(why, args...)
		}
		t.Skipf(why, args...)
	}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libnghttp3").Output()
	if err != nil {
		skip("libnghttp3-dev not installed: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "qpack-encode")
	args := append([]string{"-o", bin, "testdata/qpack-encode.c"}, strings.Fields(string(flags))...)
	if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		skip("building the nghttp3 QPACK encoder: %v\n%s", err, out)
	}
	return bin
}

// TestNghttp3DynamicTable decodes field sections that nghttp3's encoder
// wrote with its dynamic table: inserts on the encoder stream, sections
// referring to them (one arriving before its inserts, so held), and a
// section acknowledgment fed back to the encoder.
func TestNghttp3DynamicTable(t *testing.T) {
	bin := qpackEncoder(t)
	sections := [][]string{
		{":method: GET", ":scheme: https", ":authority: example.com", ":path: /index.html", "user-agent: wiretrace-test/1.0", "x-custom: value-one"},
		{":method: GET", ":scheme: https", ":authority: example.com", ":path: /style.css", "user-agent: wiretrace-test/1.0", "cookie: session=0123456789abcdef"},
		{":method: POST", ":scheme: https", ":authority: example.com", ":path: /api", "user-agent: wiretrace-test/1.0", "cookie: session=0123456789abcdef", "content-type: application/json"},
		{":method: GET", ":scheme: https", ":authority: other.example.com", ":path: /", "user-agent: wiretrace-test/1.0", "cookie: session=0123456789abcdef"},
	}
	var in bytes.Buffer
	for i, s := range sections {
		fmt.Fprintf(&in, "H %d\n", 4*i)
		for _, l := range s {
			name, value, _ := strings.Cut(l, ": ")
			fmt.Fprintf(&in, "%s\t%s\n", name, value)
		}
		in.WriteString(".\n")
		if i == 1 {
			in.WriteString("A 0\nA 4\n")
		}
	}
	cmd := exec.Command(bin, "4096", "16")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qpack-encode: %v", err)
	}

	r := newRec(Options{})
	r.data(3, decode.S2C, append([]byte{uniControl}, frame(frameSettings, vi(0x01, 4096, 0x07, 16))...), false)
	r.data(2, decode.C2S, []byte{uniEncoder}, false)
	r.data(11, decode.S2C, []byte{uniDecoder}, false)
	var held []byte // the first section's inserts go after the section
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		b, err := hex.DecodeString(f[len(f)-1])
		if err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		switch f[0] {
		case "E":
			if held == nil && len(r.find("HEADERS", -1)) == 0 {
				held = b
				continue
			}
			r.data(2, decode.C2S, b, false)
		case "S":
			id, _ := strconv.ParseInt(f[1], 10, 64)
			r.data(id, decode.C2S, frame(frameHeaders, b), true)
			if held != nil {
				r.data(2, decode.C2S, held, false)
				held = []byte{}
			}
		case "D":
			r.data(11, decode.S2C, b, false)
		}
	}
	t.Logf("nghttp3 output:\n%s", out)
	for _, e := range r.events {
		if e.Info.Has("error") || e.Layer == decode.LayerConn {
			t.Errorf("error event %s/%s: %v", e.Layer, e.Type, e.Info)
		}
	}
	hs := r.find("HEADERS", -1)
	if len(hs) != len(sections) {
		t.Fatalf("%d HEADERS, want %d", len(hs), len(sections))
	}
	dynamic, blocked := 0, 0
	for i, h := range hs {
		if h.Stream != int64(4*i) || !slices.Equal(headers(h), sections[i]) {
			t.Errorf("stream %d: headers %q, want %q", h.Stream, headers(h), sections[i])
		}
		if h.Info.Has("required_insert_count") {
			dynamic++
		}
		if h.Info.Has("was_blocked") {
			blocked++
		}
	}
	if dynamic == 0 || blocked != 1 {
		t.Errorf("%d sections used the dynamic table, %d were held; want some and 1", dynamic, blocked)
	}
	if len(r.find(insNameRef, 2))+len(r.find(insLiteral, 2))+len(r.find(insDuplicate, 2)) < 2 {
		t.Errorf("few inserts: %v", r.events)
	}
}
