package timeline

import (
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/stack"
)

// h2frame is a frame of a synthetic HTTP/2 stream and where it lies.
type h2frame struct {
	stream     uint32
	start, end int // stream offsets
}

// h2Server returns the server's side of an h2c connection: SETTINGS, then
// a response on each of streams, each body in frames of size bytes sent
// round-robin (rounds of them), and where each frame lies.
func h2Server(t *testing.T, streams []uint32, rounds, size int) ([]byte, []h2frame) {
	t.Helper()
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	var frames []h2frame
	mark := func(stream uint32, write func() error) {
		start := buf.Len()
		if err := write(); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, h2frame{stream, start, buf.Len()})
	}
	mark(0, func() error { return fr.WriteSettings() })
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, s := range streams {
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		mark(s, func() error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s, BlockFragment: hb.Bytes(), EndHeaders: true})
		})
	}
	body := bytes.Repeat([]byte("b"), size)
	for r := range rounds {
		for _, s := range streams {
			mark(s, func() error { return fr.WriteData(s, r == rounds-1, body) })
		}
	}
	return buf.Bytes(), frames
}

// h2Client returns the client's preface, SETTINGS and a GET on each stream.
func h2Client(t *testing.T, streams []uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&buf, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, s := range streams {
		hb.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/" + strconv.Itoa(int(s))}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// streamsOver lists the streams (not 0) of the frames overlapping [from, to).
func streamsOver(frames []h2frame, from, to int) string {
	var ids []int
	for _, f := range frames {
		if f.stream != 0 && f.start < to && f.end > from {
			ids = append(ids, int(f.stream))
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var s []string
	for _, id := range ids {
		s = append(s, strconv.Itoa(id))
	}
	return strings.Join(s, ",")
}

var sackPermOpt = []layers.TCPOption{{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}}

// sackOpt is a SACK option with one block of server sequence numbers.
func sackOpt(left, right uint32) []layers.TCPOption {
	d := []byte{byte(left >> 24), byte(left >> 16), byte(left >> 8), byte(left), byte(right >> 24), byte(right >> 16), byte(right >> 8), byte(right)}
	return []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindSACK, OptionLength: 10, OptionData: d}}
}

// TestHOLStallAttribution loses one segment of an h2c response burst and
// checks the stall's victims and culprits, seen from either end.
func TestHOLStallAttribution(t *testing.T) {
	streams := []uint32{1, 3, 5, 7, 9}
	req := h2Client(t, streams)
	const mss = 1000
	tests := []struct {
		name     string
		size     int    // DATA frame payload
		lost     int    // chunk lost downstream of the server
		at       string // capture point: "client" or "server"
		spurious bool   // the "retransmission" was not needed
	}{
		{name: "receiver: middle segment", size: 700, lost: 4, at: "client"},
		{name: "receiver: second segment", size: 700, lost: 1, at: "client"},
		{name: "receiver: inside one large frame", size: 2500, lost: 5, at: "client"},
		{name: "receiver: last segment but one", size: 2500, lost: 36, at: "client"},
		{name: "sender: middle segment", size: 700, lost: 4, at: "server"},
		{name: "sender: second segment", size: 700, lost: 1, at: "server"},
		{name: "sender: inside one large frame", size: 2500, lost: 5, at: "server"},
		{name: "sender: spurious retransmission", size: 700, lost: 4, at: "server", spurious: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, frames := h2Server(t, streams, 3, tt.size)
			var chunks [][2]int
			for off := 0; off < len(resp); off += mss {
				chunks = append(chunks, [2]int{off, min(off+mss, len(resp))})
			}
			if tt.lost >= len(chunks)-1 {
				t.Fatalf("lost chunk %d of %d", tt.lost, len(chunks))
			}
			pkts := tcpConn(0, cli, srv)
			pkts[0].opts, pkts[1].opts = sackPermOpt, sackPermOpt
			pkts = append(pkts, tpkt{at: ms(12), src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: req})
			cAck := cISN + 1 + uint32(len(req))
			seq := func(off int) uint32 { return sISN + 1 + uint32(off) }
			data := func(i int, at float64) tpkt {
				c := chunks[i]
				return tpkt{at: ms(at), src: srv, dst: cli, flags: "PA", seq: seq(c[0]), ack: cAck, payload: resp[c[0]:c[1]]}
			}
			lost := chunks[tt.lost]
			for i := range chunks {
				if i != tt.lost || tt.at == "server" || tt.spurious {
					pkts = append(pkts, data(i, 20+float64(i)*0.1))
				}
			}
			if tt.spurious {
				pkts = append(pkts, tpkt{at: ms(30), src: cli, dst: srv, flags: "A", seq: cAck, ack: seq(len(resp))})
				pkts = append(pkts, data(tt.lost, 250))
			} else {
				// The client's ACKs: a hole from the lost segment.
				for i := tt.lost + 1; i < len(chunks); i++ {
					pkts = append(pkts, tpkt{at: ms(30 + float64(i)*0.1), src: cli, dst: srv, flags: "A", seq: cAck, ack: seq(lost[0]),
						opts: sackOpt(seq(lost[1]), seq(chunks[i][1]))})
				}
				pkts = append(pkts, data(tt.lost, 50))
				pkts = append(pkts, tpkt{at: ms(60), src: cli, dst: srv, flags: "A", seq: cAck, ack: seq(len(resp))})
			}
			reg := stack.Registry(stack.Options{})
			rec := run(t, Options{Registry: reg}, pkts)
			stalls := rec.ofType("hol-stall")
			if tt.spurious {
				if len(stalls) != 0 {
					t.Fatalf("hol-stall events = %d after a spurious retransmission; want 0", len(stalls))
				}
				return
			}
			if len(stalls) != 1 {
				t.Fatalf("hol-stall events = %d; want 1", len(stalls))
			}
			e := stalls[0]
			point := map[string]string{"client": "receiver", "server": "sender"}[tt.at]
			wantVictims := streamsOver(frames, lost[1], len(resp))
			wantCulprits := streamsOver(frames, lost[0], lost[1])
			got := map[string]string{}
			for _, k := range []string{"streams", "culprit_streams", "capture_point", "gap_seq", "gap_len", "blocked_bytes"} {
				got[k] = infoString(e.Info, k)
			}
			want := map[string]string{
				"streams": wantVictims, "culprit_streams": wantCulprits, "capture_point": point,
				"gap_seq": strconv.Itoa(lost[0] + 1), "gap_len": strconv.Itoa(lost[1] - lost[0]),
				"blocked_bytes": strconv.Itoa(len(resp) - lost[1]),
			}
			for k, w := range want {
				if g := got[k]; g != w {
					t.Errorf("%s = %s; want %s", k, got[k], w)
				}
			}
			sum := rec.summaries()[1]
			if got := infoString(sum.Info, "capture_point"); got != tt.at {
				t.Errorf("summary capture_point = %s; want %s", got, tt.at)
			}
			if got := infoString(sum.Info, "hol_stalls"); got != "1" {
				t.Errorf("summary hol_stalls = %s; want 1", got)
			}
			// The stall follows the events of the bytes it released.
			last := -1
			for i, ev := range rec.events {
				if ev.Layer == decode.LayerHTTP2 && ev.Dir == decode.S2C {
					last = i
				}
			}
			if idx := slices.IndexFunc(rec.events, func(r recEvent) bool { return r.Type == "hol-stall" }); point == "receiver" && idx < last {
				t.Errorf("hol-stall is event %d, before the last released HTTP/2 event %d", idx, last)
			}
		})
	}
}

// Without streams (raw bytes, or TLS without keys) the stall has no
// stream lists.
func TestHOLStallNoStreams(t *testing.T) {
	pkts := append(tcpConn(0, cli, srv),
		tpkt{at: ms(20), src: srv, dst: cli, flags: "PA", seq: sISN + 1 + 100, ack: cISN + 1, payload: make([]byte, 50)},
		tpkt{at: ms(45), src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 1, payload: make([]byte, 100)})
	rec := run(t, Options{Registry: stack.Registry(stack.Options{})}, pkts)
	stalls := rec.ofType("hol-stall")
	if len(stalls) != 1 {
		t.Fatalf("hol-stall events = %d; want 1", len(stalls))
	}
	for _, k := range []string{"streams", "culprit_streams"} {
		if stalls[0].Info.Has(k) {
			t.Errorf("%s present without streams: %v", k, stalls[0].Info)
		}
	}
	if got := infoString(stalls[0].Info, "capture_point"); got != "receiver" {
		t.Errorf("capture_point = %s; want receiver", got)
	}
}

// An in-order segment inside a large HTTP/2 DATA frame emits nothing and
// allocates nothing: the unit walk and the stall bookkeeping cost no
// memory per segment.
func TestHOLStallNoAllocPerSegment(t *testing.T) {
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	fr.WriteSettings()
	var hb bytes.Buffer
	hpack.NewEncoder(&hb).WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	head := buf.Len()
	fr.WriteData(1, true, make([]byte, 300_000))
	resp := buf.Bytes()
	req := h2Client(t, []uint32{1})

	pkts := tcpConn(0, cli, srv)
	pkts = append(pkts, tpkt{at: ms(12), src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: req})
	cAck := cISN + 1 + uint32(len(req))
	const mss = 1000
	first := len(pkts)
	for off := 0; off < len(resp); off += mss {
		pkts = append(pkts, tpkt{at: ms(20 + float64(off)/1e5), src: srv, dst: cli, flags: "PA", seq: sISN + 1 + uint32(off), ack: cAck,
			payload: resp[off:min(off+mss, len(resp))]})
	}
	caps := packets(t, pkts)
	b := New(Options{Registry: stack.Registry(stack.Options{})}, SinkFunc(func(*Event) error { return nil }))
	// Everything up to well inside the DATA frame.
	i := 0
	for ; i < first+head/mss+5; i++ {
		if err := b.Packet(&caps[i]); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := b.Packet(&caps[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per in-order segment inside a DATA frame; want 0", allocs)
	}
}

// HTTP/1.1: the exchange ordinal is the stream. A lost segment of the
// first response's body holds back the second response.
func TestHOLStallHTTP1(t *testing.T) {
	body := strings.Repeat("a", 3000)
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + body + "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + body
	req := "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
	pkts := tcpConn(0, cli, srv)
	pkts = append(pkts, tpkt{at: ms(12), src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: []byte(req)})
	cAck := cISN + 1 + uint32(len(req))
	const mss = 1000
	seg := func(off int, at float64) tpkt {
		return tpkt{at: ms(at), src: srv, dst: cli, flags: "PA", seq: sISN + 1 + uint32(off), ack: cAck,
			payload: []byte(resp[off:min(off+mss, len(resp))])}
	}
	const lost = 1000 // inside the first body
	for off := 0; off < len(resp); off += mss {
		if off != lost {
			pkts = append(pkts, seg(off, 20+float64(off)/1000))
		}
	}
	pkts = append(pkts, seg(lost, 40))
	rec := run(t, Options{Registry: stack.Registry(stack.Options{})}, pkts)
	// (decode/http1 also reports the second response waiting behind
	// the first: scope pipeline.)
	var stalls []recEvent
	for _, e := range rec.ofType("hol-stall") {
		if infoString(e.Info, "scope") == "connection" {
			stalls = append(stalls, e)
		}
	}
	if len(stalls) != 1 {
		t.Fatalf("TCP hol-stall events = %d; want 1", len(stalls))
	}
	if got, want := infoString(stalls[0].Info, "streams")+" / "+infoString(stalls[0].Info, "culprit_streams"), "1,2 / 1"; got != want {
		t.Errorf("streams / culprit_streams = %s; want %s", got, want)
	}
}

// The recorded loss scenario (internal/gencap: a router drops server
// segments) captured at both ends: the stalls seen at the sender, from the
// client's SACK blocks, are the same holes as those seen at the receiver,
// with the same sizes and nearly the same durations (the ACKs reach the
// sender's capture a one-way delay after the data reached the client's,
// at both ends of a stall).
func TestHOLStallBothCapturePoints(t *testing.T) {
	stalls := map[string][]recEvent{}
	points := map[string]string{}
	for _, at := range []string{"receiver", "sender"} {
		path := filepath.Join("..", "testdata", "pcaps", "tcp-loss-"+at+".pcapng")
		pkts, _ := loadCapture(t, path)
		rec := &recorder{}
		b := New(Options{}, rec)
		for i := range pkts {
			if err := b.Packet(&pkts[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		stalls[at] = rec.ofType("hol-stall")
		for _, s := range rec.summaries() {
			points[at] = infoString(s.Info, "capture_point")
		}
		for _, e := range stalls[at] {
			if got := infoString(e.Info, "capture_point"); got != at {
				t.Errorf("%s capture: stall at %s says capture_point %s", at, infoString(e.Info, "gap_seq"), got)
			}
		}
	}
	if points["receiver"] != "client" || points["sender"] != "server" {
		t.Errorf("summary capture_point: receiver's capture %q, sender's %q; want client, server", points["receiver"], points["sender"])
	}
	r, s := stalls["receiver"], stalls["sender"]
	if len(r) == 0 || len(r) != len(s) {
		t.Fatalf("%d stalls at the receiver, %d at the sender; want the same, not 0", len(r), len(s))
	}
	for i := range r {
		for _, k := range []string{"gap_seq", "gap_len", "blocked_bytes"} {
			if a, b := infoString(r[i].Info, k), infoString(s[i].Info, k); a != b {
				t.Errorf("stall %d: %s %s at the receiver, %s at the sender", i, k, a, b)
			}
		}
		dr, _ := r[i].Info.Get("duration_ms")
		ds, _ := s[i].Info.Get("duration_ms")
		if diff := dr.Duration() - ds.Duration(); diff > time.Millisecond || diff < -time.Millisecond {
			t.Errorf("stall %d at %s: %v at the receiver, %v at the sender", i, infoString(r[i].Info, "gap_seq"), dr.Duration(), ds.Duration())
		}
	}
}

func TestUnitSpan(t *testing.T) {
	tests := []struct {
		name   string
		kind   unitKind
		c2s    bool
		chunks []string
		want   []string // "n" or "n!" (a unit ended) per span call
	}{
		{"tls records", unitsTLS, false, []string{"\x17\x03\x03\x00\x02ab\x17\x03", "\x03\x00\x01c"}, []string{"7!", "2", "4!"}},
		{"tls header split", unitsTLS, false, []string{"\x17\x03", "\x03\x00\x00", "\x16\x03\x01\x00\x01x"}, []string{"2", "3!", "6!"}},
		{"tls garbage", unitsTLS, false, []string{"GET / HTTP/1.1\r\n"}, []string{"16"}},
		{"h2 preface then frames", unitsH2, true, []string{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x03ab"},
			[]string{"24!", "9!", "11!"}},
		{"h2 frame across chunks", unitsH2, false, []string{"\x00\x00\x05\x00\x00\x00\x00", "\x00\x01abc", "de\x00"}, []string{"7", "5", "2!", "1"}},
		{"events", unitsEvents, false, []string{"anything"}, []string{"8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c conn
			name := map[unitKind]string{unitsTLS: "tls", unitsH2: "http2", unitsEvents: "http1"}[tt.kind]
			c.setUnits(name)
			dir := decode.S2C
			if tt.c2s {
				dir = decode.C2S
			}
			d := &c.more().hol[dir.Index()]
			var got []string
			for _, ch := range tt.chunks {
				data := []byte(ch)
				for len(data) > 0 {
					n, ended := d.span(data)
					s := strconv.Itoa(n)
					if ended {
						s += "!"
					}
					got = append(got, s)
					d.advance(n, ended)
					data = data[n:]
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("spans %q; want %q", got, tt.want)
			}
		})
	}
}
