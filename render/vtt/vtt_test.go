package vtt_test

import (
	"bytes"
	"flag"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/vtt"
	"github.com/wiretrace/wiretrace/timeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// captures are the project's captures with golden captions and chapters;
// TLS and QUIC ones are decrypted with their key logs.
var captures = []string{
	"tcp-basic.pcapng", "tcp-refused.pcapng", "tcp-loss-receiver.pcapng", "tcp-pipelined.pcapng",
	"tls13-hrr.pcapng", "h2-tls.pcapng", "http1-keepalive.pcapng", "ws-basic.pcapng", "h3-quic.pcapng",
	"hostile.pcapng", // script tags, quotes, escapes from real peers: SNI, ALPN, path, Host, reason, WebSocket close
}

// render returns the captions and the chapters of a capture.
func render(t testing.TB, name string, opts vtt.Options) (captions, chapters []byte) {
	t.Helper()
	var c, ch bytes.Buffer
	opts.Chapters = &ch
	w := vtt.New(&c, opts)
	layouttest.RunCapture(t, name, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return c.Bytes(), ch.Bytes()
}

// renderCase writes the captions and chapters of a built connection.
func renderCase(t testing.TB, c layouttest.Case, opts vtt.Options) (captions, chapters []byte) {
	t.Helper()
	var cb, chb bytes.Buffer
	opts.Chapters = &chb
	w := vtt.New(&cb, opts)
	for i := range c.Events {
		if err := w.Event(&c.Events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return cb.Bytes(), chb.Bytes()
}

// TestGolden writes each capture's captions and chapters (with phase
// chapters) and compares them with testdata/<capture>.vtt.golden and
// <capture>.chapters.vtt.golden; every file must pass the format check.
func TestGolden(t *testing.T) {
	var files []string
	for _, name := range captures {
		base := "testdata/" + strings.TrimSuffix(name, filepath.Ext(name))
		files = append(files, base+".vtt.golden", base+".chapters.vtt.golden")
		t.Run(name, func(t *testing.T) {
			opts := vtt.Options{PhaseChapters: true}
			c, ch := render(t, name, opts)
			c2, ch2 := render(t, name, opts)
			if !bytes.Equal(c, c2) || !bytes.Equal(ch, ch2) {
				t.Fatal("two renderings of the same capture differ")
			}
			checkVTT(t, c, false)
			checkVTT(t, ch, true)
			layouttest.Golden(t, base+".vtt.golden", c, *update)
			layouttest.Golden(t, base+".chapters.vtt.golden", ch, *update)
		})
	}
	layouttest.CheckGlob(t, "testdata/*.golden", files)
}

var timing = regexp.MustCompile(`^(\d\d):([0-5]\d):([0-5]\d)\.(\d\d\d) --> (\d\d):([0-5]\d):([0-5]\d)\.(\d\d\d)$`)

// cueTime parses the start or end of a timing line in milliseconds.
func cueTime(m []string, i int) int64 {
	var v [4]int64
	for k := range v {
		for _, c := range m[i+k] {
			v[k] = v[k]*10 + int64(c-'0')
		}
	}
	return ((v[0]*60+v[1])*60+v[2])*1000 + v[3]
}

// checkVTT checks the WebVTT rules our files rely on: the header, blocks
// separated by one blank line, a timing line per cue with start < end,
// starts in order, cue text without "-->", raw '<' or '&' other than a
// character reference, or control characters; chapters do not overlap
// unless nested.
func checkVTT(t testing.TB, b []byte, chapters bool) {
	t.Helper()
	s := string(b)
	if !strings.HasPrefix(s, "WEBVTT\n\n") {
		t.Fatalf("no WEBVTT header: %.40q", s)
	}
	if strings.Contains(s, "\r") || strings.Contains(s, "\n\n\n") || !strings.HasSuffix(s, "\n") {
		t.Error("stray carriage return, double blank line or missing final newline")
	}
	type span struct{ start, end int64 }
	var last int64 = -1
	var open []span // enclosing chapters
	for n, block := range strings.Split(strings.TrimSuffix(s, "\n"), "\n\n")[1:] {
		lines := strings.Split(block, "\n")
		if lines[0] == "NOTE" || strings.HasPrefix(lines[0], "NOTE ") {
			if strings.Contains(block, "-->") {
				t.Errorf("block %d: NOTE with -->", n+1)
			}
			continue
		}
		m := timing.FindStringSubmatch(lines[0])
		if m == nil {
			t.Errorf("block %d: timing line %q", n+1, lines[0])
			continue
		}
		start, end := cueTime(m, 1), cueTime(m, 5)
		if end <= start {
			t.Errorf("block %d: %s: end not after start", n+1, lines[0])
		}
		if start < last {
			t.Errorf("block %d: %s: starts before the cue before it", n+1, lines[0])
		}
		last = start
		if len(lines) < 2 {
			t.Errorf("block %d: cue without text", n+1)
		}
		for _, l := range lines[1:] {
			if l == "" || strings.Contains(l, "-->") || strings.ContainsAny(l, "<>\x00\x1b\x7f") {
				t.Errorf("block %d: bad cue text %q", n+1, l)
			}
			for i := strings.IndexByte(l, '&'); i >= 0; i = next(l, i) {
				if !strings.HasPrefix(l[i:], "&amp;") && !strings.HasPrefix(l[i:], "&lt;") && !strings.HasPrefix(l[i:], "&gt;") {
					t.Errorf("block %d: '&' that is not &amp; &lt; &gt; in %q", n+1, l)
				}
			}
		}
		if chapters {
			for len(open) > 0 && open[len(open)-1].end <= start {
				open = open[:len(open)-1]
			}
			if len(open) > 0 && end > open[len(open)-1].end {
				t.Errorf("block %d: chapter %s overlaps the one before without nesting in it", n+1, lines[0])
			}
			open = append(open, span{start, end})
		}
	}
}

func next(l string, i int) int {
	j := strings.IndexByte(l[i+1:], '&')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// TestTimeOrigin moves the origin: cue times move with it, and captions
// before it are left out.
func TestTimeOrigin(t *testing.T) {
	c := layouttest.HandshakeDataFIN()
	base, _ := renderCase(t, c, vtt.Options{})
	if !strings.Contains(string(base), "\n00:00:00.000 --> ") {
		t.Errorf("default origin is not the first packet:\n%s", base)
	}
	later, _ := renderCase(t, c, vtt.Options{TimeOrigin: layouttest.Epoch.Add(-90 * time.Minute)})
	if !strings.Contains(string(later), "\n01:30:00.000 --> ") || !strings.Contains(string(later), "\n01:30:02.501 --> ") {
		t.Errorf("origin 90 min before the capture:\n%s", later)
	}
	checkVTT(t, later, false)
	offset, _ := renderCase(t, c, vtt.Options{TimeOffset: -90 * time.Minute})
	if !bytes.Equal(offset[bytes.Index(offset, []byte("\n\n0")):], later[bytes.Index(later, []byte("\n\n0")):]) {
		t.Errorf("an offset of -90 min from the first packet differs from an origin 90 min before it:\n%s", offset)
	}
	if !strings.Contains(string(offset), "the capture's first packet -1h30m0s.") {
		t.Errorf("the NOTE does not give the offset:\n%s", offset)
	}
	cut, _ := renderCase(t, c, vtt.Options{TimeOrigin: layouttest.Epoch.Add(time.Second)})
	if strings.Contains(string(cut), "SYN") || !strings.Contains(string(cut), "\n00:00:01.501 --> ") {
		t.Errorf("captions before the origin must be left out:\n%s", cut)
	}
	checkVTT(t, cut, false)
}

// TestHostile captions connections whose wire strings are built to break
// cues: the files must keep the format, and a WebVTT parser must read
// every cue's text as the cleaned strings themselves.
func TestHostile(t *testing.T) {
	for _, c := range []layouttest.Case{layouttest.HostileWire(), layouttest.Hostile()} {
		t.Run(c.Name, func(t *testing.T) {
			caps, ch := renderCase(t, c, vtt.Options{PhaseChapters: true})
			checkVTT(t, caps, false)
			checkVTT(t, ch, true)
			for _, bad := range []string{"<script", "<b>", "\x1b", "<v ", "<c.", "\n\n\n"} {
				if bytes.Contains(caps, []byte(bad)) || bytes.Contains(ch, []byte(bad)) {
					t.Errorf("output contains %q", bad)
				}
			}
			if c.Name == "hostile-wire" {
				for _, want := range []string{
					`TLS ClientHello → &lt;script&gt;alert("x")&lt;/script&gt;`,
					`00:00:01.000 --&gt; 00:00:02.000 line\nbreak\r\n\r\nNOTE blank line above`,
					`esc \x1b[31mred\x1b]0;title\x07 nul\x00 del\x7f`,
				} {
					if !bytes.Contains(caps, []byte(want)) {
						t.Errorf("captions lack %q", want)
					}
				}
				if !bytes.Contains(ch, []byte("&lt;script&gt;")) {
					t.Errorf("chapter title lacks the escaped SNI:\n%s", ch)
				}
			}
			validate(t, []file{{"subtitles", caps}, {"chapters", ch}})
		})
	}
}

// TestValidator runs the goldens through the W3C validator's parser.
func TestValidator(t *testing.T) {
	var files []file
	for _, name := range captures {
		c, ch := render(t, name, vtt.Options{PhaseChapters: true})
		files = append(files, file{"subtitles", c}, file{"chapters", ch})
	}
	validate(t, files)
}

type file struct {
	kind string
	text []byte
}

// validate parses files with webvtt-parser, the parser of the W3C WebVTT
// validator (skipped unless node and $WIRETRACE_WEBVTT_DIR, a directory
// where `npm install webvtt-parser` ran, are there; required when
// $WIRETRACE_REQUIRE_WEBVTT is set): it must report no
// error, find every cue we wrote, and read each cue's text as we meant
// it.
func validate(t *testing.T, files []file) {
	t.Helper()
	node, dir, ok := layouttest.NodeModules(t, "WIRETRACE_WEBVTT_DIR", "WIRETRACE_REQUIRE_WEBVTT", "webvtt-parser")
	if !ok {
		t.Log("webvtt-parser not run: set WIRETRACE_WEBVTT_DIR to a directory with node_modules/webvtt-parser, and install node")
		return
	}
	type in struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	}
	var ins []in
	for _, f := range files {
		ins = append(ins, in{f.kind, string(f.text)})
	}
	var res []struct {
		Errors []string `json:"errors"`
		Cues   [][3]any `json:"cues"`
	}
	layouttest.NodeJSON(t, node, "testdata/validate.mjs", dir, ins, &res)
	unescape := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	for i, f := range files {
		for _, e := range res[i].Errors {
			t.Errorf("file %d (%s): %s", i, f.kind, e)
		}
		var want []string
		for _, block := range strings.Split(strings.TrimSuffix(string(f.text), "\n"), "\n\n")[1:] {
			if strings.HasPrefix(block, "NOTE") {
				continue
			}
			_, text, _ := strings.Cut(block, "\n")
			want = append(want, unescape.Replace(text))
		}
		if len(res[i].Cues) != len(want) {
			t.Errorf("file %d (%s): the parser found %d cues; we wrote %d", i, f.kind, len(res[i].Cues), len(want))
			continue
		}
		for k, c := range res[i].Cues {
			if got, _ := c[2].(string); got != want[k] {
				t.Errorf("file %d (%s), cue %d: read as %q; want %q", i, f.kind, k+1, got, want[k])
			}
		}
	}
}

// TestBounded holds at most MaxCaptions captions and says how many it
// left out.
func TestBounded(t *testing.T) {
	c := layouttest.Loss()
	var evs []timeline.Event
	for i := 0; i < 200; i++ {
		for _, e := range c.Events[:len(c.Events)-1] {
			e.TS = e.TS.Add(time.Duration(i) * time.Second)
			evs = append(evs, e)
		}
	}
	var b bytes.Buffer
	w := vtt.New(&b, vtt.Options{MaxCaptions: 100})
	for i := range evs {
		if err := w.Event(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkVTT(t, b.Bytes(), false)
	if n := strings.Count(b.String(), " --> "); n > 100 {
		t.Errorf("%d cues; want at most 100", n)
	}
	if !strings.Contains(b.String(), "more captions left out (MaxCaptions).") {
		t.Error("no NOTE counting the captions left out")
	}
}

// TestOverlapping captions two connections at the same time: their cues
// interleave in time order, each prefixed with its connection, and they
// share one chapter.
func TestOverlapping(t *testing.T) {
	a, b := layouttest.HandshakeDataFIN(), layouttest.Loss()
	evs := append(append([]timeline.Event(nil), a.Events...), b.Events...)
	slices.SortStableFunc(evs, func(x, y timeline.Event) int { return x.TS.Compare(y.TS) })
	caps, ch := renderCase(t, layouttest.Case{Conn: a.Conn, Events: evs}, vtt.Options{})
	checkVTT(t, caps, false)
	checkVTT(t, ch, true)
	s := string(caps)
	if !strings.Contains(s, "#1 TCP SYN") || !strings.Contains(s, "#3 TCP SYN") {
		t.Errorf("captions lack a connection:\n%s", s)
	}
	if !strings.Contains(string(ch), "2 connections (#1, #3)") {
		t.Errorf("overlapping connections must share a chapter:\n%s", ch)
	}
}

// TestManyConnections follows at most MaxCaptions connections.
func TestManyConnections(t *testing.T) {
	var b bytes.Buffer
	w := vtt.New(&b, vtt.Options{MaxCaptions: 10})
	for i := 1; i <= 50; i++ {
		c := layouttest.Refused()
		c.Conn.ID = i
		for k := range c.Events {
			if err := w.Event(&c.Events[k]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkVTT(t, b.Bytes(), false)
	if !strings.Contains(b.String(), "\n40 more connections left out") {
		t.Errorf("no NOTE for the connections left out:\n%s", b.String())
	}
}

// TestMinDuration merges captions closer than MinDuration into one cue
// that lasts at least that long, and bounds a cue's lines.
func TestMinDuration(t *testing.T) {
	c := layouttest.HostileWire()
	caps, _ := renderCase(t, c, vtt.Options{MinDuration: time.Second})
	checkVTT(t, caps, false)
	s := string(caps)
	if n := strings.Count(s, " --> "); n != 1 {
		t.Errorf("%d cues; want the 10 ms connection in one cue:\n%s", n, s)
	}
	if !strings.Contains(s, "00:00:00.000 --> 00:00:04.000\n#9 … ") {
		t.Errorf("want one 4 s cue whose first line counts the captions left out:\n%s", s)
	}
	if n := strings.Count(s, "\n#9 "); n != 6 {
		t.Errorf("%d lines in the cue; want 6", n)
	}
}

// TestStalls captions stalls at their start.
func TestStalls(t *testing.T) {
	for _, tt := range []struct {
		c    layouttest.Case
		want string
	}{
		{layouttest.Loss(), "\n#3 TCP lost-segment seq=2857 len=1428 (client)\n#3 HOL stall 48.68 ms, 2,856 B blocked\n"},
		{layouttest.FlowControlStall(), "\n#8 flow-control stall 12.5 ms (stream 3)\n"},
	} {
		caps, _ := renderCase(t, tt.c, vtt.Options{})
		checkVTT(t, caps, false)
		if !strings.Contains(string(caps), tt.want) {
			t.Errorf("captions lack %q:\n%s", tt.want, caps)
		}
	}
}
