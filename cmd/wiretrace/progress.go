package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/wiretrace/wiretrace/capture"
)

// progressMinSize is the smallest input that gets a progress bar: smaller
// files are read before a bar would be seen.
const progressMinSize = 16 << 20

// progressBar redraws one stderr line with how much of the input was read.
type progressBar struct {
	w    io.Writer
	p    capture.Progress
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(w io.Writer, p capture.Progress) *progressBar {
	if p.Size() < progressMinSize {
		return nil
	}
	b := &progressBar{w: w, p: p, done: make(chan struct{})}
	b.wg.Add(1)
	go b.loop()
	return b
}

func (b *progressBar) loop() {
	defer b.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	drawn := false
	for {
		select {
		case <-b.done:
			if drawn {
				fmt.Fprint(b.w, "\r\x1b[K")
			}
			return
		case <-t.C:
			b.draw()
			drawn = true
		}
	}
}

func (b *progressBar) draw() {
	const width = 30
	size, off := b.p.Size(), b.p.Offset()
	if size <= 0 {
		return
	}
	frac := min(float64(off)/float64(size), 1)
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%%  %s / %s", strings.Repeat("=", n), strings.Repeat(" ", width-n),
		frac*100, mib(off), mib(size))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func (b *progressBar) stop() {
	close(b.done)
	b.wg.Wait()
}
