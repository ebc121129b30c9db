package layout

import "github.com/wiretrace/wiretrace/timeline"

// Held is one connection's events, buffered by a renderer until the
// connection ends, in bounded memory: the first Max events, then a ring
// of the last Max; those pushed out of the ring are only counted in
// Omitted. The zero value holds nothing; set Max before the first Add.
type Held struct {
	// Max bounds each half (DefaultMaxEvents if ≤ 0).
	Max  int
	head []timeline.Event
	tail []timeline.Event
	next int
	// Omitted counts the events left out between the head and the tail,
	// with After set to the number of head events.
	Omitted Omission
}

// Add keeps a copy of ev (the caller may reuse *ev).
func (h *Held) Add(ev *timeline.Event) {
	max := h.Max
	if max <= 0 {
		max = DefaultMaxEvents
	}
	switch {
	case len(h.head) < max:
		h.head = append(h.head, *ev)
	case len(h.tail) < max:
		h.tail = append(h.tail, *ev)
	default:
		old := &h.tail[h.next]
		h.Omitted.Add(old.Frame, old.TS)
		h.Omitted.After = len(h.head)
		*old = *ev
		h.next = (h.next + 1) % max
	}
}

// Events returns the events kept, in order.
func (h *Held) Events() []timeline.Event {
	out := make([]timeline.Event, 0, len(h.head)+len(h.tail))
	out = append(out, h.head...)
	out = append(out, h.tail[h.next:]...)
	return append(out, h.tail[:h.next]...)
}
