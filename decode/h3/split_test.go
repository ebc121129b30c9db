package h3

import (
	"reflect"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

type step struct {
	id  int64
	dir decode.Dir
	b   []byte
	fin bool
}

// TestSplitInvariance feeds the same streams whole and one byte at a
// time: the events must be the same but for their positions.
func TestSplitInvariance(t *testing.T) {
	set := append([]byte{uniControl}, frame(frameSettings, vi(0x01, 220, 0x07, 4))...)
	steps := []step{
		{0, decode.C2S, append(frame(frameHeaders, unhex(t, "0381 10 11")), frame(frameData, []byte("body"))...), true},
		{3, decode.S2C, set, false},
		{2, decode.C2S, append([]byte{uniEncoder}, unhex(t, "3fbd01 c00f7777772e6578616d706c652e636f6d c10c2f73616d706c652f70617468")...), false},
		{0, decode.S2C, append(frame(frameHeaders, []byte{0, 0, 0xd9}), frame(frameData, make([]byte, 3000))...), true},
		{11, decode.S2C, append([]byte{uniDecoder}, 0x80, 0x01), false},
		{4, decode.C2S, getReq, true},
		{4, decode.S2C, frame(frameHeaders, []byte{0, 0, 0xd9}), true},
	}
	run := func(split bool) []decode.Event {
		r := newRec(Options{})
		for _, s := range steps {
			if !split {
				r.data(s.id, s.dir, s.b, s.fin)
				continue
			}
			for i := range s.b {
				r.data(s.id, s.dir, s.b[i:i+1], s.fin && i == len(s.b)-1)
			}
		}
		r.d.End(r.pos(), r.emit)
		for i := range r.events {
			e := &r.events[i]
			e.Frame, e.TS = 0, time.Time{}
			e.Info = slicesDeleteKeys(e.Info, "start", "start_frame", "first_byte_ms", "duration_ms")
		}
		return r.events
	}
	whole, split := run(false), run(true)
	if len(whole) < 10 {
		t.Fatalf("only %d events", len(whole))
	}
	for i := range max(len(whole), len(split)) {
		if i >= len(whole) || i >= len(split) {
			t.Fatalf("%d events whole, %d split", len(whole), len(split))
		}
		w, s := whole[i], split[i]
		if !reflect.DeepEqual(w, s) {
			t.Errorf("event %d:\nwhole %+v\nsplit %+v", i, w, s)
		}
	}
}

func slicesDeleteKeys(in decode.Info, keys ...string) decode.Info {
	out := in[:0:0]
	for _, f := range in {
		drop := false
		for _, k := range keys {
			drop = drop || f.Key == k
		}
		if !drop {
			out = append(out, f)
		}
	}
	return out
}
