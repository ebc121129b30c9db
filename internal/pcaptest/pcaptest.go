// Package pcaptest is what the tests of several packages need to run
// captures: where the shared and the project's captures are, tshark
// (found, required or skipped) and the fields it prints, a capture's key
// log, a capture driven through the timeline with a registry of decoders,
// per-connection counts compared with tshark's, and the connections' bytes
// as fuzz seeds.
//
// Only tests import it. It imports capture, decode, decode/keylog and
// timeline (and through them decode/netpkt and decode/tcpflow), so the
// internal tests of those packages cannot.
package pcaptest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/timeline"
)

// root is the repository's root directory, found from this file's path.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Shared returns the path of a file under the shared captures
// (../shared/pcaps beside the repository), skipping the test when the
// shared corpus is not there.
func Shared(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(root(), "..", "shared", "pcaps")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared captures missing: ", err)
	}
	return filepath.Join(dir, name)
}

// SharedGlob returns the shared captures matching pattern (relative to
// the shared capture directory), skipping the test when there are none.
func SharedGlob(t testing.TB, pattern string) []string {
	t.Helper()
	files, _ := filepath.Glob(Shared(t, pattern))
	if len(files) == 0 {
		t.Skip("no shared captures match ", pattern)
	}
	return files
}

// Project returns the path of one of the project's own captures, in
// testdata/pcaps.
func Project(name string) string {
	return filepath.Join(root(), "testdata", "pcaps", name)
}

// KeyLogFile returns the key log that belongs to a capture, NAME.keys
// beside NAME.pcap or NAME.pcapng, or "" when there is none.
func KeyLogFile(path string) string {
	k := strings.TrimSuffix(path, filepath.Ext(path)) + ".keys"
	if _, err := os.Stat(k); err != nil {
		return ""
	}
	return k
}

// Options configure Run.
type Options struct {
	// Registry holds the stream decoders; nil runs TCP analysis only.
	Registry *decode.Registry
	// Keys, when set, receives the capture's key log (KeyLogFile) and its
	// Decryption Secrets Blocks before the first packet is read; pass the
	// same Store to the decoders in Registry.
	Keys *keylog.Store
	// Timeline is passed on, Registry set from above.
	Timeline timeline.Options
}

// Run drives a capture through the timeline and calls f with every event.
// A damaged pcapng block is skipped like the command does; any other read
// error fails the test.
func Run(t testing.TB, path string, opts Options, f func(ev *timeline.Event)) {
	t.Helper()
	var onSecrets func(uint32, []byte)
	if opts.Keys != nil {
		if k := KeyLogFile(path); k != "" {
			kf, err := os.Open(k)
			if err != nil {
				t.Fatal(err)
			}
			_, err = opts.Keys.Add(kf, k)
			kf.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		onSecrets = func(typ uint32, data []byte) { opts.Keys.AddDSB(typ, data, path) }
	}
	src, err := capture.OpenFile(path, 0, capture.FileOptions{OnSecrets: onSecrets})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	topts := opts.Timeline
	topts.Registry = opts.Registry
	b := timeline.New(topts, timeline.SinkFunc(func(ev *timeline.Event) error {
		f(ev)
		return nil
	}))
	var p capture.Packet
	for {
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, capture.ErrBadBlock) {
				continue
			}
			if errors.Is(err, capture.ErrTruncatedFile) {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		if err := b.Packet(&p); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// Endpoints names a connection by its two endpoints, sorted, so that
// wiretrace's and tshark's views of it get the same key.
func Endpoints(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + " " + b
}
