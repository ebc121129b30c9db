package main

import (
	"strings"
	"testing"
)

type fakeProgress struct{ size, off int64 }

func (f *fakeProgress) Size() int64   { return f.size }
func (f *fakeProgress) Offset() int64 { return f.off }

func TestProgressBar(t *testing.T) {
	var buf strings.Builder
	if b := startProgress(&buf, &fakeProgress{size: 1 << 20}); b != nil {
		t.Fatal("a bar for a small file; want none")
	}
	if b := startProgress(&buf, &fakeProgress{size: -1}); b != nil {
		t.Fatal("a bar for an input of unknown size; want none")
	}
	p := &fakeProgress{size: 100 << 20, off: 50 << 20}
	b := &progressBar{w: &buf, p: p}
	b.draw()
	if got, want := buf.String(), "\r[===============               ]  50%  50.0 MiB / 100.0 MiB"; got != want {
		t.Errorf("draw() = %q; want %q", got, want)
	}
	started := startProgress(&buf, p)
	if started == nil {
		t.Fatal("no bar for a 100 MiB file")
	}
	started.stop() // must return, and clear the line if it drew
}
