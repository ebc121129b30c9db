package h3

import (
	"slices"
	"testing"

	"github.com/quic-go/quic-go/quicvarint"

	"github.com/wiretrace/wiretrace/decode"
)

func vi(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = quicvarint.Append(b, v)
	}
	return b
}

// getReq is GET https://a/ with the static table only.
var getReq = frame(frameHeaders, []byte{0, 0, 0xd1, 0xd7, 0x50, 0x01, 'a', 0xc1})

// TestEdges checks frames, stream types, caps, resets and ends, each by
// the events it must produce.
func TestEdges(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		run   func(r *rec)
		check func(t *testing.T, r *rec)
	}{{
		name: "control frames",
		run: func(r *rec) {
			r.data(3, decode.S2C, append([]byte{uniControl}, frame(frameSettings, vi(0x33, 1, 0x08, 1, 0x1234, 5))...), false)
			r.data(3, decode.S2C, frame(frameGoaway, vi(8)), false)
			r.data(2, decode.C2S, append([]byte{uniControl}, frame(frameSettings, nil)...), false)
			r.data(2, decode.C2S, frame(frameMaxPushID, vi(3)), false)
			r.data(2, decode.C2S, frame(framePriorityReq, append(vi(0), "u=1, i"...)), false)
			r.data(2, decode.C2S, frame(0x21+0x1f, []byte{1, 2, 3}), false)
			r.data(2, decode.C2S, frame(0x02, nil), false)
		},
		check: func(t *testing.T, r *rec) {
			s := r.find("SETTINGS", 3)[0]
			if f, _ := s.Info.Get("h3_datagram"); !f.Bool() {
				t.Errorf("SETTINGS %v", s.Info)
			}
			if f, _ := s.Info.Get("unknown_settings"); !slices.Equal(f.Strs, []string{"0x1234=5"}) {
				t.Errorf("unknown settings %v", f.Strs)
			}
			if g := r.find("GOAWAY", 3)[0]; num(g, "id") != 8 || g.Flags != decode.FlagReply || g.Len != 1 {
				t.Errorf("GOAWAY %+v", g)
			}
			if m := r.find("MAX_PUSH_ID", 2)[0]; num(m, "push_id") != 3 || m.Flags != decode.FlagAppData {
				t.Errorf("MAX_PUSH_ID %+v", m)
			}
			if p := r.find("PRIORITY_UPDATE", 2)[0]; str(p, "priority") != "u=1, i" || num(p, "stream_id") != 0 {
				t.Errorf("PRIORITY_UPDATE %v", p.Info)
			}
			rs := r.find("RESERVED", 2)
			if len(rs) != 2 || str(rs[0], "frame_type") != "0x40" || rs[0].Info.Has("error") || !rs[1].Info.Has("error") {
				t.Errorf("RESERVED %v", rs)
			}
		},
	}, {
		name: "stream types",
		run: func(r *rec) {
			r.data(6, decode.C2S, vi(0x21, 1, 2, 3), true)
			r.data(10, decode.C2S, vi(0x54), false)
			r.data(7, decode.S2C, vi(uniPush, 9), false)
			r.data(7, decode.S2C, frame(frameHeaders, []byte{0, 0, 0xd9}), true)
			r.data(1, decode.S2C, []byte{1, 2}, false)
		},
		check: func(t *testing.T, r *rec) {
			var got []string
			for _, e := range r.find(TypeStream, -1) {
				got = append(got, str(e, "stream_type"))
			}
			if !slices.Equal(got, []string{"reserved", "unknown", "push", "server_bidi"}) {
				t.Errorf("stream types %q", got)
			}
			if p := r.find(TypeStream, 7)[0]; num(p, "push_id") != 9 {
				t.Errorf("push stream %v", p.Info)
			}
			if h := r.find("HEADERS", 7); len(h) != 1 || num(h[0], "status") != 200 || h[0].Flags != decode.FlagReply|decode.FlagAppData {
				t.Errorf("pushed HEADERS %v", h)
			}
		},
	}, {
		name: "frame size cap",
		opts: Options{MaxFrameSize: 10},
		run: func(r *rec) {
			r.data(0, decode.C2S, frame(frameHeaders, make([]byte, 20)), false)
			r.data(0, decode.C2S, frame(frameData, make([]byte, 100)), true)
		},
		check: func(t *testing.T, r *rec) {
			if c := r.find(decode.TypeCapLimit, -1); len(c) != 1 || str(c[0], "cap") != "frame_size" {
				t.Errorf("cap-limit %v", c)
			}
			if h := r.find("HEADERS", 0); len(h) != 1 || !h[0].Info.Has("skipped") || h[0].Len != 20 {
				t.Errorf("HEADERS %v", h)
			}
			if d := r.find("DATA", 0); len(d) != 1 || d[0].Len != 100 {
				t.Errorf("DATA is counted, not capped: %v", d)
			}
		},
	}, {
		name: "blocked streams cap",
		opts: Options{MaxBlockedStreams: 1},
		run: func(r *rec) {
			sec := frame(frameHeaders, []byte{0x02, 0x80, 0x10}) // needs one insert
			r.data(0, decode.C2S, sec, true)
			r.data(4, decode.C2S, sec, true)
			r.d.End(r.pos(), r.emit)
		},
		check: func(t *testing.T, r *rec) {
			if c := r.find(decode.TypeCapLimit, -1); len(c) != 1 || str(c[0], "cap") != "blocked_streams" {
				t.Errorf("cap-limit %v", c)
			}
			h := r.find("HEADERS", -1)
			if len(h) != 2 || h[0].Stream != 4 || h[1].Stream != 0 || !h[1].Info.Has("blocked") {
				t.Errorf("HEADERS %v", h)
			}
		},
	}, {
		name: "blocked bytes cap",
		opts: Options{MaxBlockedBytes: 64},
		run: func(r *rec) {
			r.data(0, decode.C2S, frame(frameHeaders, []byte{0x02, 0x80, 0x10}), false)
			r.data(0, decode.C2S, frame(frameData, make([]byte, 100)), true)
		},
		check: func(t *testing.T, r *rec) {
			if c := r.find(decode.TypeCapLimit, -1); len(c) != 1 || str(c[0], "cap") != "blocked_bytes" {
				t.Errorf("cap-limit %v", c)
			}
			if h := r.find("HEADERS", 0); len(h) != 1 || !h[0].Info.Has("error") {
				t.Errorf("HEADERS %v", h)
			}
			if len(r.d.halves) != 0 {
				t.Errorf("streams still tracked: %v", r.d.halves)
			}
		},
	}, {
		name: "blocked response dropped",
		opts: Options{MaxBlockedBytes: 64},
		run: func(r *rec) {
			r.data(0, decode.C2S, getReq, true)
			r.data(0, decode.S2C, frame(frameHeaders, []byte{0x02, 0x80, 0x10}), false)
			r.data(0, decode.S2C, frame(frameData, make([]byte, 100)), true)
		},
		check: func(t *testing.T, r *rec) {
			if ex := r.find(TypeExchange, 0); len(ex) != 1 || ex[0].Info.Has("incomplete") {
				t.Errorf("exchange %v", ex)
			}
		},
	}, {
		name: "table capacity cap",
		opts: Options{MaxTableCapacity: 100},
		run: func(r *rec) {
			r.data(2, decode.C2S, append([]byte{uniEncoder}, 0x3f, 0xbd, 0x01), false) // 220
		},
		check: func(t *testing.T, r *rec) {
			if c := r.find(decode.TypeCapLimit, -1); len(c) != 1 || str(c[0], "cap") != "table_capacity" {
				t.Errorf("cap-limit %v", r.events)
			}
		},
	}, {
		name: "table capacity above SETTINGS",
		run: func(r *rec) {
			serverSettings(r)                                                          // 220
			r.data(2, decode.C2S, append([]byte{uniEncoder}, 0x3f, 0xa1, 0x02), false) // 320
		},
		check: func(t *testing.T, r *rec) {
			c := r.find(insSetCapacity, 2)
			if len(c) != 1 || !c[0].Info.Has("error") || len(r.find(decode.TypeDecodeError, -1)) != 1 {
				t.Errorf("events %v", r.events)
			}
		},
	}, {
		name: "streams cap",
		opts: Options{MaxStreams: 2},
		run: func(r *rec) {
			for id := int64(0); id < 16; id += 4 {
				r.data(id, decode.C2S, getReq, false)
			}
		},
		check: func(t *testing.T, r *rec) {
			if c := r.find(decode.TypeCapLimit, -1); len(c) != 1 || str(c[0], "cap") != "streams" {
				t.Errorf("cap-limit %v", c)
			}
			if h := r.find("HEADERS", -1); len(h) != 2 {
				t.Errorf("HEADERS %v", h)
			}
		},
	}, {
		name: "reset and end",
		run: func(r *rec) {
			r.data(0, decode.C2S, getReq, true)
			r.d.StreamReset(0, decode.S2C, r.pos(), r.emit)
			r.data(0, decode.S2C, []byte{1, 2, 3}, true) // ignored: the exchange is out
			r.data(4, decode.C2S, getReq, true)
			r.data(4, decode.S2C, frame(frameHeaders, []byte{0, 0, 0xd9})[:3], false)
			r.data(8, decode.C2S, getReq[:5], false)
			r.d.StreamReset(8, decode.C2S, r.pos(), r.emit) // the client gives up; the exchange waits for the response side
			r.d.End(r.pos(), r.emit)
		},
		check: func(t *testing.T, r *rec) {
			ex := r.find(TypeExchange, -1)
			if len(ex) != 3 {
				t.Fatalf("exchanges %v", ex)
			}
			if ex[2].Stream != 8 || str(ex[2], "reset_by") != "c2s" || !ex[2].Info.Has("incomplete") {
				t.Errorf("client reset exchange %v", ex[2].Info)
			}
			if f, _ := ex[0].Info.Get("reset"); !f.Bool() || str(ex[0], "reset_by") != "s2c" || ex[0].Info.Has("incomplete") {
				t.Errorf("reset exchange %v", ex[0].Info)
			}
			if f, _ := ex[1].Info.Get("incomplete"); !f.Bool() || str(ex[1], "path") != "/" || num(ex[1], "status") != 0 {
				t.Errorf("incomplete exchange %v", ex[1].Info)
			}
			if n := num(decode.Event{Info: r.d.Summary()}, "requests"); n != 3 {
				t.Errorf("requests %d", n)
			}
		},
	}, {
		name: "interim and trailers",
		run: func(r *rec) {
			r.data(0, decode.C2S, getReq, true)
			r.data(0, decode.S2C, frame(frameHeaders, []byte{0, 0, 0xff, 0x00}), false) // 100 (index 63)
			r.data(0, decode.S2C, frame(frameHeaders, []byte{0, 0, 0xc0 | 27}), false)  // 404
			r.data(0, decode.S2C, frame(frameHeaders, []byte{0, 0, 0x23, 'f', 'o', 'o', 0x01, 'x'}), true)
		},
		check: func(t *testing.T, r *rec) {
			if ex := r.find(TypeExchange, 0); len(ex) != 1 || num(ex[0], "status") != 404 {
				t.Errorf("exchange %v", ex)
			}
			if h := r.find("HEADERS", 0); len(h) != 4 || !h[3].Info.Has("trailers") {
				t.Errorf("trailers %v", h)
			}
		},
	}, {
		name: "QPACK error",
		run: func(r *rec) {
			r.data(0, decode.C2S, frame(frameHeaders, []byte{0, 0, 0xff, 0xff, 0x7f}), true) // static index 63+127+127<<7
			r.data(4, decode.C2S, getReq, true)
		},
		check: func(t *testing.T, r *rec) {
			h := r.find("HEADERS", -1)
			if len(h) != 2 || !h[0].Info.Has("error") || !h[1].Info.Has("error") || len(r.find(decode.TypeDecodeError, -1)) != 1 {
				t.Errorf("HEADERS %v", h)
			}
		},
	}, {
		name: "ends inside a frame",
		run: func(r *rec) {
			r.data(0, decode.C2S, getReq[:4], true)
		},
		check: func(t *testing.T, r *rec) {
			if e := r.find(TypeStreamError, 0); len(e) != 1 {
				t.Errorf("events %v", r.events)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRec(tt.opts)
			tt.run(r)
			tt.check(t, r)
		})
	}
}
