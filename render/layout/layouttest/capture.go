package layouttest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// RunCapture drives one of the project's captures (testdata/pcaps/name)
// through every decoder, as the command does, into sink: TLS and QUIC
// decrypted with the capture's key log (name.keys) or its pcapng secrets.
func RunCapture(t testing.TB, name string, sink timeline.Sink) {
	t.Helper()
	keys := &keylog.Store{}
	sopts := stack.Options{Keys: keys}
	opts := pcaptest.Options{Registry: stack.Registry(sopts), Keys: keys, Timeline: timeline.Options{Datagrams: stack.Datagrams(sopts)}}
	pcaptest.Run(t, pcaptest.Project(name), opts, func(ev *timeline.Event) {
		if err := sink.Event(ev); err != nil {
			t.Fatal(err)
		}
	})
}

// DumpDOM loads the page at path (a file in a directory of its own, with
// what it loads beside it) in headless Chromium, lets its scripts run for
// budget of virtual time, and returns the DOM as HTML. It skips the test
// when Chromium is not installed.
func DumpDOM(t testing.TB, path string, budget time.Duration) string {
	t.Helper()
	browser := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
		"--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10), "--dump-dom", "file://"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", browser, err, stderr.String())
	}
	return string(out)
}

// Chromium returns the path of a Chromium (or Chrome) binary, or skips
// the test when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("WIRETRACE_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium not found and WIRETRACE_REQUIRE_CHROMIUM is set")
	}
	t.Skip("needs chromium")
	return ""
}

// NodeModules returns node and the directory named by the environment
// variable env, where `npm install` put the packages a test runs in node
// (dir/node_modules/pkg). ok is false when either is missing; the test
// then fails if the variable require is set, else it goes on without
// them (the caller logs what it did not check).
func NodeModules(t testing.TB, env, require, pkg string) (node, dir string, ok bool) {
	t.Helper()
	dir = os.Getenv(env)
	node, err := exec.LookPath("node")
	if err == nil && dir != "" {
		if _, err = os.Stat(filepath.Join(dir, "node_modules", pkg)); err == nil {
			return node, dir, true
		}
	}
	if os.Getenv(require) != "" {
		t.Fatalf("%s is set but node or %s/node_modules/%s is missing (npm install --prefix DIR %s; %s=DIR)", require, env, pkg, pkg, env)
	}
	return "", "", false
}

// NodeJSON runs `node script dir` with in, encoded as JSON, on its
// standard input, and decodes its standard output as JSON into out.
func NodeJSON(t testing.TB, node, script, dir string, in, out any) {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, dir)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(got, out); err != nil {
		t.Fatalf("node %s: output: %v", script, err)
	}
}
