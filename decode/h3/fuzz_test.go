package h3

import (
	"encoding/hex"
	"testing"

	"github.com/quic-go/quic-go/quicvarint"

	"github.com/wiretrace/wiretrace/decode"
)

// fuzzOpts keeps the caps small so fuzzing reaches them.
var fuzzOpts = Options{MaxFrameSize: 256, MaxFieldSectionSize: 512, MaxTableCapacity: 1024,
	MaxBlockedStreams: 3, MaxBlockedBytes: 2048, MaxStreams: 16, MaxHeaders: 8, MaxString: 32}

// feed splits data into stream chunks: each chunk is a header byte (the
// stream, the direction, fin, reset) and a length byte, then the bytes.
func feed(d *Decoder, data []byte, emit decode.Emit) {
	ids := [...]int64{0, 2, 3, 4, 6, 7, 10, 11, 1, 14}
	var frame int64
	for len(data) >= 2 {
		h, n := data[0], int(data[1])
		data = data[2:]
		n = min(n, len(data))
		chunk := data[:n]
		data = data[n:]
		frame++
		at := decode.Position{Frame: frame}
		dir := decode.C2S
		if h&0x10 != 0 {
			dir = decode.S2C
		}
		id := ids[int(h&0x0f)%len(ids)]
		if h&0x40 != 0 {
			d.StreamReset(id, dir, at, emit)
			continue
		}
		if err := d.StreamData(id, dir, chunk, h&0x20 != 0, at, emit); err != nil {
			return
		}
		checkBounds(d)
	}
	d.End(decode.Position{Frame: frame + 1}, emit)
	_ = d.Summary()
}

func chunk(id byte, dir decode.Dir, fin bool, b []byte) []byte {
	var out []byte
	for len(b) > 0 || fin {
		n := min(len(b), 255)
		h := id
		if dir == decode.S2C {
			h |= 0x10
		}
		if fin && n == len(b) {
			h |= 0x20
			fin = false
		}
		out = append(out, h, byte(n))
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return out
}

// FuzzFrames drives HTTP/3 framing on control, request and push streams.
func FuzzFrames(f *testing.F) {
	set := quicvarint.Append(nil, 0x01)
	set = quicvarint.Append(set, 4096)
	set = quicvarint.Append(set, 0x21)
	set = quicvarint.Append(set, 1)
	ctl := append([]byte{uniControl}, frame(frameSettings, set)...)
	ctl = append(ctl, frame(frameGoaway, []byte{4})...)
	req := append(frame(frameHeaders, []byte{0, 0, 0xd1, 0xd7, 0x51, 0x01, '/'}), frame(frameData, []byte("x"))...)
	res := append(frame(frameHeaders, []byte{0, 0, 0xd9}), frame(frameData, make([]byte, 300))...)
	var seed []byte
	seed = append(seed, chunk(1, decode.C2S, false, ctl)...) // stream 2
	seed = append(seed, chunk(2, decode.S2C, false, ctl)...) // stream 3
	seed = append(seed, chunk(0, decode.C2S, true, req)...)
	seed = append(seed, chunk(0, decode.S2C, true, res)...)
	f.Add(seed)
	f.Add(chunk(3, decode.C2S, true, append(frame(frameHeaders, []byte{0x03, 0x81, 0x10}), frame(0x21, []byte{1, 2})...)))
	f.Add(chunk(5, decode.S2C, false, []byte{uniPush, 0, 1, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(fuzzOpts)
		feed(d, data, func(decode.Event) {})
	})
}

// FuzzQPACK drives field sections against an encoder stream: the input
// is split in two at its first byte.
func FuzzQPACK(f *testing.F) {
	enc := []byte("\x3f\xbd\x01\xc0\x0fwww.example.com\xc1\x0c/sample/path\x4a" + "custom-key\x0ccustom-value\x02\x81\x0dcustom-value2")
	f.Add(append([]byte{byte(len(enc))}, append(enc, 0x05, 0x00, 0x80, 0xc1, 0x81)...))
	f.Add([]byte{0, 0x00, 0x00, 0x51, 0x0b, '/', 'i', 'n', 'd', 'e', 'x', '.', 'h', 't', 'm', 'l'})
	f.Add([]byte{3, 0x3f, 0xbd, 0x01, 0x03, 0x81, 0x10, 0x11})
	// nghttp3's encoder (nghttp3_test.go): inserts, then a section with
	// post-base references.
	ng, _ := hex.DecodeString("1d" + "3fe11fc0882f91d35d055c87a7ff208df06b0a9b0642ac92a12c05707f" +
		"0381d1d710518860d5485f2bce9a68112ef2b12d424f4f87ee3a2d2ac7a8bf")
	f.Add(ng)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n := min(int(data[0]), len(data)-1)
		encoder, section := data[1:1+n], data[1+n:]
		d := NewDecoder(fuzzOpts)
		emit := func(decode.Event) {}
		set := quicvarint.Append(nil, 0x01)
		set = quicvarint.Append(set, 220)
		at := decode.Position{Frame: 1}
		_ = d.StreamData(3, decode.S2C, append([]byte{uniControl}, frame(frameSettings, set)...), false, at, emit)
		_ = d.StreamData(4, decode.C2S, frame(frameHeaders, section), true, at, emit)
		_ = d.StreamData(2, decode.C2S, append([]byte{uniEncoder}, encoder...), false, at, emit)
		// The same section again, now that the inserts are in.
		_ = d.StreamData(8, decode.C2S, frame(frameHeaders, section), true, at, emit)
		checkBounds(d)
		d.End(at, emit)

		// The pieces on their own must not panic either.
		var tb table
		tb.maxCap = 1 << 12
		for b := encoder; len(b) > 0; {
			in, k, err := readEncoderInstruction(b, 64)
			if err != nil {
				break
			}
			_ = tb.apply(&in)
			b = b[k:]
		}
		if p, err := readPrefix(section, 220, tb.inserts()); err == nil {
			_ = decodeSection(section[p.n:], p, &tb, 64, func(field) {})
		}
	})
}

// checkBounds panics when the decoder holds more than its caps allow.
func checkBounds(d *Decoder) {
	o := d.opts
	held := 0
	for _, h := range d.halves {
		limit := max(o.MaxFrameSize, 2*o.MaxFieldSectionSize+32) + 32 + 255
		if !h.blocked && len(h.buf) > limit {
			panic("stream buffer over its bound")
		}
	}
	total := 0
	for i := range d.q {
		q := &d.q[i]
		// A blocked stream may be forgotten by the stream map (its
		// exchange went out) but stays on the list until decoded or End.
		for _, h := range q.blocked {
			if !h.blocked {
				panic("unblocked stream on the blocked list")
			}
			held += len(h.buf) + len(h.section)
		}
		if q.blockedBytes < 0 || q.blockedBytes > o.MaxBlockedBytes || len(q.blocked) > o.MaxBlockedStreams {
			panic("blocked streams over their caps")
		}
		total += q.blockedBytes
		if q.t.size > q.t.capacity || q.t.capacity > q.t.maxCap {
			panic("dynamic table over its capacity")
		}
	}
	if held != total {
		panic("blocked bytes miscounted")
	}
}
