package main

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/timeline"
)

// Reading a file runs as a pipeline of three goroutines, so that a
// second core is used while the output stays exactly what one goroutine
// would write: the capture is read and copied in batches ahead of the
// decoders (readAhead), the timeline and its decoders run on the caller's
// goroutine, and the events go in batches to a goroutine of their own for
// the proxy analysis and the renderers (asyncSink). Each stage hands its
// batches over in order through one channel, so nothing is reordered.

const (
	// packetBatch and packetArena bound a batch of packets read ahead:
	// whichever is reached first. Three batches are in flight at most.
	packetBatch = 256
	packetArena = 1 << 20
	// eventBatch is the events handed to the renderers at a time.
	eventBatch = 256
)

// packetBatchBuf is a batch of packets whose Data point into arena.
type packetBatchBuf struct {
	pkts  []capture.Packet
	arena []byte
	err   error // the read error that ended the input, after pkts
}

// readAhead reads src on its own goroutine and delivers its packets in
// order to f on the caller's, until the input ends (nil), ctx is
// cancelled (nil), f fails or reading fails. Damaged pcapng blocks that
// can be skipped are skipped.
func readAhead(ctx context.Context, src capture.Source, f func(*capture.Packet) error) error {
	full := make(chan *packetBatchBuf, 2)
	free := make(chan *packetBatchBuf, 3)
	for range 3 {
		free <- &packetBatchBuf{pkts: make([]capture.Packet, 0, packetBatch), arena: make([]byte, 0, packetArena)}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		var p capture.Packet
		for n := 0; ; {
			var b *packetBatchBuf
			select {
			case b = <-free:
			case <-stop:
				return
			}
			b.pkts, b.arena, b.err = b.pkts[:0], b.arena[:0], nil
			for len(b.pkts) < packetBatch && len(b.arena) < packetArena {
				if n++; n&1023 == 0 && ctx.Err() != nil {
					b.err = io.EOF
					break
				}
				err := src.Next(&p)
				if err != nil && errors.Is(err, capture.ErrBadBlock) {
					continue
				}
				if err != nil {
					b.err = err
					break
				}
				start := len(b.arena)
				if cap(b.arena)-start < len(p.Data) && start > 0 {
					// Does not fit: keep it for the next batch.
					b.arena = b.arena[:start]
					pending := p
					pending.Data = append([]byte(nil), p.Data...)
					b.pkts = append(b.pkts, pending)
					break
				}
				b.arena = append(b.arena, p.Data...)
				q := p
				q.Data = b.arena[start:len(b.arena):len(b.arena)]
				b.pkts = append(b.pkts, q)
			}
			select {
			case full <- b:
			case <-stop:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for b := range full {
		for i := range b.pkts {
			if err := f(&b.pkts[i]); err != nil {
				return err
			}
		}
		if b.err == io.EOF {
			return nil
		}
		if b.err != nil {
			return b.err
		}
		free <- b
	}
	return nil
}

// asyncSink passes events to next on a goroutine of its own, in batches,
// in order. Event copies the event (its Info and Conn may be kept, as
// timeline.Sink allows). The first error next returns is returned by the
// following Event calls and by Close.
type asyncSink struct {
	next  timeline.Sink
	batch []timeline.Event
	full  chan []timeline.Event
	free  chan []timeline.Event
	done  chan struct{}

	mu  sync.Mutex
	err error
}

func newAsyncSink(next timeline.Sink) *asyncSink {
	s := &asyncSink{next: next, full: make(chan []timeline.Event, 2), free: make(chan []timeline.Event, 3), done: make(chan struct{})}
	for range 2 {
		s.free <- make([]timeline.Event, 0, eventBatch)
	}
	s.batch = make([]timeline.Event, 0, eventBatch)
	go s.run()
	return s
}

func (s *asyncSink) run() {
	defer close(s.done)
	for b := range s.full {
		if s.failed() == nil {
			for i := range b {
				if err := s.next.Event(&b[i]); err != nil {
					s.mu.Lock()
					s.err = err
					s.mu.Unlock()
					break
				}
			}
		}
		clear(b) // drop references to Info and Conn
		s.free <- b[:0]
	}
}

func (s *asyncSink) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Event implements timeline.Sink.
func (s *asyncSink) Event(ev *timeline.Event) error {
	s.batch = append(s.batch, *ev)
	if len(s.batch) == eventBatch {
		s.full <- s.batch
		s.batch = <-s.free
		return s.failed()
	}
	return nil
}

// Close hands over the last batch, waits until next has had every event
// and returns the first error it gave.
func (s *asyncSink) Close() error {
	if len(s.batch) > 0 {
		s.full <- s.batch
		s.batch = nil
	}
	close(s.full)
	<-s.done
	return s.failed()
}
