package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode/keylog"
)

// TestKeyFollower follows a key log being written: a file that appears
// later, a line written in two pieces (kept until its end arrives), a bad
// line warned with its line number in the whole file, and a file
// rewritten from scratch.
func TestKeyFollower(t *testing.T) {
	name := filepath.Join(t.TempDir(), "keys")
	random := func(b byte) (r [32]byte) {
		for i := range r {
			r[i] = b
		}
		return r
	}
	line := func(b byte) string {
		return "CLIENT_RANDOM " + strings.Repeat(string("0123456789abcdef"[b>>4])+string("0123456789abcdef"[b&15]), 32) + " " + strings.Repeat("ab", 48) + "\n"
	}
	var warnings strings.Builder
	store := &keylog.Store{}
	k := newKeyFollower(store, &warnings, []string{name})
	defer k.close()
	store.Refresh = k.refresh
	if store.Empty() {
		t.Fatal("a followed store must not be empty")
	}
	if _, ok := store.Lookup(random(1)); ok {
		t.Fatal("found before the file exists")
	}
	write := func(flag int, s string) {
		f, err := os.OpenFile(name, flag|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	l1 := line(1)
	write(os.O_APPEND, l1[:40])
	if _, ok := store.Lookup(random(1)); ok {
		t.Fatal("found from half a line")
	}
	write(os.O_APPEND, l1[40:]+"garbage\n"+line(2))
	if _, ok := store.Lookup(random(1)); !ok {
		t.Fatal("not found once its line is complete")
	}
	if _, ok := store.Lookup(random(2)); !ok {
		t.Fatal("the line after a bad one not read")
	}
	if !strings.Contains(warnings.String(), name+":2:") {
		t.Errorf("warnings %q; want one for line 2", warnings.String())
	}
	write(os.O_TRUNC, line(3))
	if _, ok := store.Lookup(random(3)); !ok {
		t.Fatal("a rewritten file is not read again")
	}
}
