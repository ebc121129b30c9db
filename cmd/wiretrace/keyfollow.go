package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/wiretrace/wiretrace/decode/keylog"
)

// keyFollower reads what key log files gained since it last looked.
// wiretrace live makes it the store's Refresh, so that the secrets a
// client logs while the capture runs (curl, a browser or Go with
// SSLKEYLOGFILE) decrypt its connection: a decoder that does not find a
// connection's client random asks again after the follower has read the
// new lines.
type keyFollower struct {
	store *keylog.Store
	errw  io.Writer
	files []*followedFile
}

// followedFile is one key log being followed. A file that does not exist
// yet is opened when it appears; one that shrinks (rewritten) is read
// again from its start.
type followedFile struct {
	name    string
	f       *os.File
	off     int64
	lines   int    // complete lines read so far: warnings' line numbers go on from here
	partial []byte // a last line still being written
	buf     []byte
}

func newKeyFollower(store *keylog.Store, errw io.Writer, names []string) *keyFollower {
	k := &keyFollower{store: store, errw: errw}
	for _, n := range names {
		k.files = append(k.files, &followedFile{name: n})
	}
	return k
}

// refresh reads every file's new complete lines into the store.
func (k *keyFollower) refresh() {
	for _, ff := range k.files {
		if err := ff.read(k.store, k.errw); err != nil {
			fmt.Fprintf(k.errw, "wiretrace: warning: key log: %v\n", err)
		}
	}
}

func (ff *followedFile) read(store *keylog.Store, errw io.Writer) error {
	if ff.f == nil {
		f, err := os.Open(ff.name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // not written yet
		}
		if err != nil {
			return err
		}
		ff.f = f
	}
	if fi, err := ff.f.Stat(); err == nil && fi.Size() < ff.off {
		// Truncated or rewritten: start again.
		if _, err := ff.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		ff.off, ff.lines, ff.partial = 0, 0, ff.partial[:0]
	}
	if ff.buf == nil {
		ff.buf = make([]byte, 64<<10)
	}
	for {
		n, err := ff.f.Read(ff.buf)
		ff.off += int64(n)
		ff.partial = append(ff.partial, ff.buf[:n]...)
		if err == io.EOF || n == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", ff.name, err)
		}
	}
	end := bytes.LastIndexByte(ff.partial, '\n')
	if end < 0 {
		return nil
	}
	rep, err := store.Add(bytes.NewReader(ff.partial[:end+1]), ff.name)
	for i := range rep.Warnings {
		rep.Warnings[i].Line += ff.lines
	}
	ff.lines += rep.Lines
	warnKeys(errw, rep)
	ff.partial = append(ff.partial[:0], ff.partial[end+1:]...)
	return err
}

// close closes the files.
func (k *keyFollower) close() {
	for _, ff := range k.files {
		if ff.f != nil {
			ff.f.Close()
		}
	}
}
