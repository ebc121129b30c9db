package layout

import "time"

// Options are the limits and choices of a layout. The zero value uses the
// defaults.
type Options struct {
	// MaxEvents bounds the events drawn (DefaultMaxEvents if ≤ 0). Beyond
	// it the first MaxEvents/2 and the last ones are drawn, with a band
	// "N events omitted" between them.
	MaxEvents int
	// IdleBreak is the shortest gap between two rows that is cut out of
	// the time axis and marked "… N s idle …" (DefaultIdleBreak if ≤ 0).
	IdleBreak time.Duration
	// Slope tilts each arrow by its one-way time as seen from the
	// capture point: halves of the TCP handshake's two legs. Connections
	// without a TCP handshake stay horizontal, and so do folded bulk runs.
	Slope bool
	// Omitted describes events the caller dropped before calling
	// Sequence, to bound its own memory; nil if none. They are drawn as
	// part of an omitted band.
	Omitted *Omission
}

// Omission describes a run of events left out of a diagram.
type Omission struct {
	// After is the number of events passed to Sequence that precede the
	// omitted run.
	After int `json:"after"`
	// Count is the number of events omitted.
	Count int64 `json:"count"`
	// FirstFrame and LastFrame are the frames of the first and last
	// omitted events; FirstTS and LastTS their timestamps.
	FirstFrame int64     `json:"first_frame"`
	LastFrame  int64     `json:"last_frame"`
	FirstTS    time.Time `json:"first_ts"`
	LastTS     time.Time `json:"last_ts"`
}

// Add counts one more omitted event.
func (o *Omission) Add(frame int64, ts time.Time) {
	if o.Count == 0 {
		o.FirstFrame, o.FirstTS = frame, ts
	}
	o.Count++
	o.LastFrame, o.LastTS = frame, ts
}

// merge appends the run p, which follows o.
func (o *Omission) merge(p *Omission) {
	if p == nil || p.Count == 0 {
		return
	}
	if o.Count == 0 {
		o.FirstFrame, o.FirstTS = p.FirstFrame, p.FirstTS
	}
	o.Count += p.Count
	o.LastFrame, o.LastTS = p.LastFrame, p.LastTS
}

func (o Options) maxEvents() int {
	if o.MaxEvents <= 0 {
		return DefaultMaxEvents
	}
	return o.MaxEvents
}

func (o Options) idleBreak() time.Duration {
	if o.IdleBreak <= 0 {
		return DefaultIdleBreak
	}
	return o.IdleBreak
}
