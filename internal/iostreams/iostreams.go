// Package iostreams decides, in one place, where wiretrace's output goes and
// how it looks: data to Out, progress, warnings and errors to Err; colour
// only on a terminal and only when NO_COLOR is unset; a progress bar only
// when Err is a terminal. Tests swap the streams for buffers with Test.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// Streams are the process's standard streams and what they support.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// OutTTY and ErrTTY report terminals.
	OutTTY, ErrTTY bool
	// NoColor is set by the NO_COLOR convention (https://no-color.org).
	NoColor bool
	// Width is the terminal width of Out, 0 when unknown.
	Width int
}

// System returns the process's streams.
func System() *Streams {
	s := &Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	s.OutTTY = term.IsTerminal(int(os.Stdout.Fd()))
	s.ErrTTY = term.IsTerminal(int(os.Stderr.Fd()))
	if v, ok := os.LookupEnv("NO_COLOR"); ok && v != "" {
		s.NoColor = true
	}
	if s.OutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.Width = w
		}
	}
	return s
}

// Test returns streams on buffers, none of them terminals.
func Test() (s *Streams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &Streams{In: in, Out: out, Err: errOut}, in, out, errOut
}

// Color reports whether data written to Out should be coloured.
func (s *Streams) Color() bool { return s.OutTTY && !s.NoColor }

// Progress reports whether a progress bar may be drawn on Err.
func (s *Streams) Progress() bool { return s.ErrTTY }
