package capture

import (
	"errors"
	"io"
)

// Merge returns a Source that yields the packets of sources in timestamp
// order. Packets with equal timestamps come in input order (Packet.Input,
// then position in sources); each source's own order is kept, so a file's
// packets never overtake one another. Frame is renumbered 1..n in output
// order.
//
// Each pending packet is copied into a buffer of its source, so a source may
// reuse its Data as soon as its Next is called again.
//
// Errors from a source are passed on as they occur, wrapped as the source
// made them. After an error wrapping ErrBadBlock the source goes on; after
// any other error it is dropped and the others go on, so Next may be called
// again until it returns io.EOF. Close closes every source.
//
// The result implements Progress with the sums of the sources' Size and
// Offset (Size is -1 when any source's is unknown or a source does not
// implement Progress).
func Merge(sources []Source) Source {
	m := &merged{all: make([]*mergeSlot, len(sources))}
	for i, src := range sources {
		m.all[i] = &mergeSlot{src: src, order: i, empty: true}
	}
	return m
}

type mergeSlot struct {
	src   Source
	order int // position in the sources slice
	p     Packet
	buf   []byte
	empty bool // p holds no packet; refill before use
	done  bool
}

type merged struct {
	all   []*mergeSlot
	heap  []*mergeSlot // slots holding a packet, min-heap by less
	frame int64
	// Slots whose packet was handed out or which failed: refilled at the
	// start of the next call, so the handed-out Data stays valid until then.
	refill []*mergeSlot
	primed bool
}

func (m *merged) Next(p *Packet) error {
	if !m.primed {
		m.primed = true
		m.refill = append(m.refill, m.all...)
	}
	for len(m.refill) > 0 {
		sl := m.refill[len(m.refill)-1]
		err := m.fill(sl)
		if err == nil || sl.done {
			m.refill = m.refill[:len(m.refill)-1]
		}
		if err != nil {
			return err
		}
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	sl := m.pop()
	m.frame++
	*p = sl.p
	p.Frame = m.frame
	sl.empty = true
	m.refill = append(m.refill, sl)
	return nil
}

// fill reads the next packet of sl and pushes sl on the heap. An error
// wrapping ErrBadBlock leaves sl to be refilled again; any other error, and
// io.EOF, ends sl. Only non-EOF errors are returned.
func (m *merged) fill(sl *mergeSlot) error {
	if sl.done || !sl.empty {
		return nil
	}
	err := sl.src.Next(&sl.p)
	if err != nil {
		if err == io.EOF {
			sl.done = true
			return nil
		}
		if !errors.Is(err, ErrBadBlock) {
			sl.done = true
		}
		return err
	}
	sl.buf = append(sl.buf[:0], sl.p.Data...)
	sl.p.Data = sl.buf
	sl.empty = false
	m.push(sl)
	return nil
}

// less orders by timestamp, then Input, then position in sources.
func less(a, b *mergeSlot) bool {
	if !a.p.TS.Equal(b.p.TS) {
		return a.p.TS.Before(b.p.TS)
	}
	if a.p.Input != b.p.Input {
		return a.p.Input < b.p.Input
	}
	return a.order < b.order
}

func (m *merged) push(sl *mergeSlot) {
	m.heap = append(m.heap, sl)
	h := m.heap
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !less(h[i], h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (m *merged) pop() *mergeSlot {
	h := m.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = nil
	h = h[:last]
	for i := 0; ; {
		l, r, small := 2*i+1, 2*i+2, i
		if l < len(h) && less(h[l], h[small]) {
			small = l
		}
		if r < len(h) && less(h[r], h[small]) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	m.heap = h
	return top
}

func (m *merged) Close() error {
	var errs []error
	for _, sl := range m.all {
		if err := sl.src.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *merged) Size() int64 {
	var total int64
	for _, sl := range m.all {
		pr, ok := sl.src.(Progress)
		if !ok {
			return -1
		}
		n := pr.Size()
		if n < 0 {
			return -1
		}
		total += n
	}
	return total
}

func (m *merged) Offset() int64 {
	var total int64
	for _, sl := range m.all {
		if pr, ok := sl.src.(Progress); ok {
			total += pr.Offset()
		}
	}
	return total
}
