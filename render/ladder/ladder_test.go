package ladder_test

import (
	"bytes"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/render/ladder"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// captures are the project's captures with a golden ladder each; TLS and
// QUIC ones are decrypted with their key logs.
var captures = []string{
	"tcp-basic.pcapng", "tcp-refused.pcapng", "tcp-reset.pcapng", "tcp-loss-receiver.pcapng",
	"tcp-zero-window.pcapng", "udp-basic.pcapng", "tls12-full.pcapng", "tls13-hrr.pcapng", "tls13-resumed.pcapng",
	"h2-tls.pcapng", "h2c-upgrade.pcapng", "h2c-prior-knowledge.pcapng", "http1-pipelined.pcapng", "ws-basic.pcapng",
	"h3-quic.pcapng", "h3-migration.pcapng", "hostile.pcapng",
}

func renderCapture(t testing.TB, name string, opts ladder.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	w := ladder.New(&b, opts)
	layouttest.RunCapture(t, name, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden draws each capture 100 columns wide, and once more in the
// stream layout; both are goldens.
func TestGolden(t *testing.T) {
	var files []string
	for _, name := range captures {
		base := strings.TrimSuffix(name, filepath.Ext(name))
		for _, mode := range []struct {
			suffix string
			opts   ladder.Options
		}{
			{".txt", ladder.Options{Width: 100}},
			{".stream.txt", ladder.Options{Width: 100, Stream: true}},
		} {
			path := "testdata/" + base + mode.suffix + ".golden"
			files = append(files, path)
			t.Run(base+mode.suffix, func(t *testing.T) {
				got := renderCapture(t, name, mode.opts)
				if again := renderCapture(t, name, mode.opts); !bytes.Equal(got, again) {
					t.Fatal("two renderings of the same capture differ")
				}
				checkWidth(t, got, 100)
				layouttest.Golden(t, path, got, *update)
			})
		}
	}
	// TestProxy writes proxy.txt.golden.
	layouttest.CheckGlob(t, "testdata/*.golden", append(files, "testdata/proxy.txt.golden"))
}

// checkWidth fails on a line wider than width columns, or with a control
// character.
func checkWidth(t testing.TB, out []byte, width int) {
	t.Helper()
	for n, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if w := ladder.TextWidth(l); w > width {
			t.Errorf("line %d is %d columns wide; want at most %d:\n%s", n+1, w, width, l)
		}
		for _, r := range l {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
				t.Errorf("line %d has control character %U: %q", n+1, r, l)
			}
		}
	}
}
