package quic

import (
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// sentSlots is how many recent packets per space and direction keep
// their capture time for RTT samples: an ACK's Largest Acknowledged is
// almost always among the last few packets sent.
const sentSlots = 128

// sentLog maps recent packet numbers to the time they were captured,
// slot pn % sentSlots.
type sentLog struct {
	pn [sentSlots]int64
	ts [sentSlots]int64 // Unix nanoseconds
}

// rttState is the RTT sampling of one connection (RFC 9002 §5, as seen
// from the capture point).
type rttState struct {
	sent [numSpaces][2]*sentLog
	// acked is the largest packet number acknowledged so far, per space
	// and direction of the acknowledged packets, -1 for none.
	acked [numSpaces][2]int64
	// min is each leg's smallest sample, indexed by the ACK sender's
	// direction; 0 for none.
	min [2]time.Duration
}

func (r *rttState) init() {
	for i := range r.acked {
		r.acked[i] = [2]int64{-1, -1}
	}
}

// sentPacket notes when packet pn of space sp, sent in dir, was captured.
func (d *Decoder) sentPacket(dir decode.Dir, sp space, pn int64, at decode.Position) {
	if !d.opts.RTT {
		return
	}
	l := d.rtt.sent[sp][dir.Index()]
	if l == nil {
		l = &sentLog{}
		for i := range l.pn {
			l.pn[i] = -1
		}
		d.rtt.sent[sp][dir.Index()] = l
	}
	l.pn[pn%sentSlots], l.ts[pn%sentSlots] = pn, at.TS.UnixNano()
}

// ackSample takes an RTT sample from an ACK frame sent in dir (RFC 9002
// §5.1): when its Largest Acknowledged is newly acknowledged and was
// captured, latest_rtt is the time from that packet to this ACK, both at
// the capture point — the leg from the capture point to the ACK's sender
// and back. The ACK Delay is subtracted when that leaves at least the
// leg's min_rtt (§5.3), except in Initial packets, whose ACK Delay is
// ignored; the result is the sample.
func (d *Decoder) ackSample(dir decode.Dir, sp space, f *Frame, at decode.Position) (time.Duration, bool) {
	peer := dir.Reverse().Index()
	if f.Largest > 1<<62 || int64(f.Largest) <= d.rtt.acked[sp][peer] {
		return 0, false
	}
	largest := int64(f.Largest)
	d.rtt.acked[sp][peer] = largest
	l := d.rtt.sent[sp][peer]
	if l == nil || l.pn[largest%sentSlots] != largest {
		return 0, false
	}
	latest := time.Duration(at.TS.UnixNano() - l.ts[largest%sentSlots])
	if latest < 0 {
		return 0, false
	}
	di := dir.Index()
	minRTT := d.rtt.min[di]
	if minRTT == 0 || latest < minRTT {
		minRTT = latest
		d.rtt.min[di] = latest
	}
	sample := latest
	if sp != spaceInitial && d.ackExp[di] <= 20 && f.Delay < 1<<40 {
		delay := time.Duration(f.Delay<<d.ackExp[di]) * time.Microsecond
		if latest >= minRTT+delay {
			sample = latest - delay
		}
	}
	return sample, true
}

// minRTT is the summary's RTT: the smallest sample of each leg added,
// the capture point's two sides; 0 when either has none.
func (r *rttState) minRTT() time.Duration {
	if r.min[0] == 0 || r.min[1] == 0 {
		return 0
	}
	return r.min[0] + r.min[1]
}
