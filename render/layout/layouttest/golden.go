package layouttest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Golden compares got with the file at path. With update it rewrites the
// file instead. On a mismatch it writes got beside the file as path+".got"
// and reports the differing lines.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	gotPath := path + ".got"
	if bytes.Equal(got, want) {
		os.Remove(gotPath)
		return
	}
	if err := os.WriteFile(gotPath, got, 0o644); err != nil {
		t.Error(err)
	}
	t.Errorf("%s differs from the golden file; got written to %s (go test -update accepts it):\n%s", path, gotPath, Diff(string(want), string(got)))
}

// Diff returns the lines that differ between want and got: the common
// prefix and suffix are dropped, a few lines of context kept, and long
// middles cut.
func Diff(want, got string) string {
	const context, maxLines = 3, 40
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	pre := 0
	for pre < len(w) && pre < len(g) && w[pre] == g[pre] {
		pre++
	}
	suf := 0
	for suf < len(w)-pre && suf < len(g)-pre && w[len(w)-1-suf] == g[len(g)-1-suf] {
		suf++
	}
	var b strings.Builder
	from := max(0, pre-context)
	b.WriteString("@@ line " + strconv.Itoa(from+1) + " @@\n")
	for _, l := range w[from:pre] {
		b.WriteString("  " + l + "\n")
	}
	write := func(prefix string, lines []string) {
		for i, l := range lines {
			if i == maxLines {
				b.WriteString(prefix + "… " + strconv.Itoa(len(lines)-i) + " more lines\n")
				return
			}
			b.WriteString(prefix + l + "\n")
		}
	}
	write("- ", w[pre:len(w)-suf])
	write("+ ", g[pre:len(g)-suf])
	for _, l := range w[len(w)-suf : min(len(w), len(w)-suf+context)] {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// CheckGlob fails if pattern matches nothing, or matches a file that is
// not in want, so that goldens cannot silently go missing or stale.
func CheckGlob(t testing.TB, pattern string, want []string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no files match %s", pattern)
	}
	ok := map[string]bool{}
	for _, f := range want {
		ok[filepath.Clean(f)] = true
	}
	for _, f := range files {
		if !ok[filepath.Clean(f)] {
			t.Errorf("%s is not produced by any test case; delete it", f)
		}
	}
}
