package quic

import (
	"testing"
	"time"

	"github.com/quic-go/quic-go/quicvarint"

	"github.com/wiretrace/wiretrace/decode"
)

// encAck encodes an ACK frame acknowledging [largest-first, largest]
// with an encoded ACK Delay.
func encAck(largest, delay, first uint64) []byte {
	b := []byte{byte(FrameAck)}
	b = quicvarint.Append(b, largest)
	b = quicvarint.Append(b, delay)
	b = quicvarint.Append(b, 0)
	return quicvarint.Append(b, first)
}

// TestRTTSamples: samples from the captured send time of the Largest
// Acknowledged to the ACK, the ACK Delay subtracted only where it leaves
// at least min_rtt and never in Initial packets, only for a newly
// acknowledged largest; the summary adds both legs' minimums.
func TestRTTSamples(t *testing.T) {
	d := NewDecoder(Options{RTT: true})
	d.ackExp = [2]uint64{3, 3} // ACK Delay in units of 8 µs
	t0 := time.Unix(100, 0)
	ms := func(n float64) decode.Position {
		return decode.Position{TS: t0.Add(time.Duration(n * float64(time.Millisecond)))}
	}
	sent := func(dir decode.Dir, sp space, pn int64, at float64) { d.sentPacket(dir, sp, pn, ms(at)) }
	ack := func(dir decode.Dir, sp space, frame []byte, at float64) (float64, bool) {
		info := d.walkFrames(dir, sp, frame, nil, ms(at))
		f, ok := info.Get("rtt_ms")
		return float64(f.Duration()) / float64(time.Millisecond), ok
	}
	for _, step := range []struct {
		name string
		do   func() (float64, bool)
		want float64 // -1: no sample
	}{
		{"Initial, delay ignored", func() (float64, bool) {
			sent(decode.C2S, spaceInitial, 0, 0)
			return ack(decode.S2C, spaceInitial, encAck(0, 1250, 0), 20) // 10 ms delay
		}, 20},
		{"not newly acknowledged", func() (float64, bool) { return ack(decode.S2C, spaceInitial, encAck(0, 0, 0), 25) }, -1},
		{"1-RTT, delay subtracted", func() (float64, bool) {
			sent(decode.C2S, spaceApp, 5, 100)
			return ack(decode.S2C, spaceApp, encAck(5, 625, 5), 130) // 5 ms delay
		}, 25},
		{"delay below min_rtt kept", func() (float64, bool) {
			sent(decode.C2S, spaceApp, 6, 200)
			return ack(decode.S2C, spaceApp, encAck(6, 625, 6), 222) // 22-5 < 20
		}, 22},
		{"largest not captured", func() (float64, bool) { return ack(decode.S2C, spaceApp, encAck(9, 0, 9), 300) }, -1},
		{"the other leg", func() (float64, bool) {
			sent(decode.S2C, spaceApp, 3, 400)
			return ack(decode.C2S, spaceApp, encAck(3, 0, 3), 401.5)
		}, 1.5},
	} {
		got, ok := step.do()
		if step.want < 0 && ok || step.want >= 0 && (!ok || got != step.want) {
			t.Errorf("%s: rtt_ms %v (%v); want %v", step.name, got, ok, step.want)
		}
	}
	if f, ok := d.Summary().Get("rtt_ms"); !ok || f.Duration() != 21500*time.Microsecond {
		t.Errorf("summary rtt_ms %v, %v; want 21.5 ms", f.Duration(), ok)
	}
	if _, ok := NewDecoder(Options{}).Summary().Get("rtt_ms"); ok {
		t.Errorf("rtt_ms in the summary without samples")
	}
}
