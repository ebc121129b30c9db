package timeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
)

const (
	cli  = "10.0.0.1:51000"
	srv  = "10.0.0.2:443"
	cISN = 1000
	sISN = 5000
)

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// tcpConn returns a handshake between c and s starting at start.
func tcpConn(start time.Duration, c, s string) []tpkt {
	return []tpkt{
		{at: start, src: c, dst: s, flags: "S", seq: cISN},
		{at: start + ms(10), src: s, dst: c, flags: "SA", seq: sISN, ack: cISN + 1},
		{at: start + ms(11), src: c, dst: s, flags: "A", seq: cISN + 1, ack: sISN + 1},
	}
}

// closeConn returns a FIN exchange after n client and m server bytes.
func closeConn(start time.Duration, c, s string, n, m uint32) []tpkt {
	return []tpkt{
		{at: start, src: c, dst: s, flags: "FA", seq: cISN + 1 + n, ack: sISN + 1 + m},
		{at: start + ms(10), src: s, dst: c, flags: "FA", seq: sISN + 1 + m, ack: cISN + 2 + n},
		{at: start + ms(11), src: c, dst: s, flags: "A", seq: cISN + 2 + n, ack: sISN + 2 + m},
	}
}

func TestClientServer(t *testing.T) {
	tests := []struct {
		name      string
		pkts      []tpkt
		client    string
		server    string
		midstream bool
	}{
		{"syn sender", tcpConn(0, cli, srv), cli, srv, false},
		{"syn from the higher port", tcpConn(0, "10.0.0.2:80", "10.0.0.1:60000"), "10.0.0.2:80", "10.0.0.1:60000", false},
		{"syn-ack first: its receiver", tcpConn(0, cli, srv)[1:], cli, srv, false},
		{"midstream: well-known port", []tpkt{
			{at: 0, src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 1, payload: []byte("x")},
		}, cli, srv, true},
		{"midstream: below the ephemeral range", []tpkt{
			{at: 0, src: "10.0.0.1:40000", dst: "10.0.0.2:8080", flags: "A", seq: 1, ack: 1},
		}, "10.0.0.1:40000", "10.0.0.2:8080", true},
		{"midstream: both ephemeral, the lower port serves", []tpkt{
			{at: 0, src: "10.0.0.1:40000", dst: "10.0.0.2:50000", flags: "A", seq: 1, ack: 1},
		}, "10.0.0.2:50000", "10.0.0.1:40000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := run(t, Options{}, tt.pkts)
			sum := rec.summaries()
			if len(sum) != 1 {
				t.Fatalf("got %d connections; want 1", len(sum))
			}
			c := sum[1].conn
			if c.Client.String() != tt.client || c.Server.String() != tt.server || c.Midstream != tt.midstream {
				t.Errorf("client %v server %v midstream %v; want %s %s %v", c.Client, c.Server, c.Midstream, tt.client, tt.server, tt.midstream)
			}
			if got := infoString(sum[1].Info, "midstream"); (got == "true") != tt.midstream {
				t.Errorf("summary midstream = %s; want %v", got, tt.midstream)
			}
			for _, e := range rec.events {
				if e.Layer == decode.LayerTCP && e.Type == decode.TypeSYN && e.Dir != decode.C2S {
					t.Errorf("SYN in direction %s", e.Dir)
				}
			}
		})
	}
}

func TestConnIDsAndUDP(t *testing.T) {
	pkts := slices.Concat(
		[]tpkt{{at: 0, src: "10.0.0.1:5353", dst: "10.0.0.9:53", udp: true, payload: []byte("query")}},
		tcpConn(ms(1), cli, srv),
		[]tpkt{
			{at: ms(2), src: "10.0.0.9:53", dst: "10.0.0.1:5353", udp: true, payload: []byte("answer!")},
			// A reply seen without its request: the well-known source
			// port is the server's.
			{at: ms(3), src: "10.0.0.8:123", dst: "10.0.0.1:40000", udp: true, payload: []byte("ntp")},
		},
		tcpConn(ms(4), "10.0.0.1:51001", srv),
	)
	rec := run(t, Options{Segments: true}, pkts)
	sum := rec.summaries()
	want := []struct {
		transport      Transport
		client, server string
		first          int64
		handshake      string
		bytes          string
	}{
		{UDP, "10.0.0.1:5353", "10.0.0.9:53", 1, "UDP", "5/7"},
		{TCP, cli, srv, 2, "TCP", "0/0"},
		{UDP, "10.0.0.1:40000", "10.0.0.8:123", 6, "UDP", "0/3"},
		{TCP, "10.0.0.1:51001", srv, 7, "TCP", "0/0"},
	}
	if len(sum) != len(want) {
		t.Fatalf("got %d connections; want %d", len(sum), len(want))
	}
	for i, w := range want {
		e := sum[i+1]
		c := e.conn
		if c.Transport != w.transport || c.Client.String() != w.client || c.Server.String() != w.server || c.FirstFrame != w.first {
			t.Errorf("conn %d = %v %v→%v first frame %d; want %v %s→%s frame %d", i+1, c.Transport, c.Client, c.Server, c.FirstFrame, w.transport, w.client, w.server, w.first)
		}
		if got := infoString(e.Info, "handshake"); got != w.handshake {
			t.Errorf("conn %d handshake = %s; want %s", i+1, got, w.handshake)
		}
		if got := infoString(e.Info, "bytes_c2s") + "/" + infoString(e.Info, "bytes_s2c"); got != w.bytes {
			t.Errorf("conn %d bytes = %s; want %s", i+1, got, w.bytes)
		}
	}
	var dgrams []string
	for _, e := range rec.ofType(decode.TypeDatagram) {
		dgrams = append(dgrams, fmt.Sprintf("f%d conn %d %s len %d flags %d", e.Frame, e.conn.ID, e.Dir, e.Len, e.Flags))
	}
	wantD := []string{
		fmt.Sprintf("f1 conn 1 c2s len 5 flags %d", decode.FlagRequest|decode.FlagAppData),
		fmt.Sprintf("f5 conn 1 s2c len 7 flags %d", decode.FlagReply|decode.FlagAppData),
		fmt.Sprintf("f6 conn 3 s2c len 3 flags %d", decode.FlagReply|decode.FlagAppData),
	}
	if !slices.Equal(dgrams, wantD) {
		t.Errorf("datagrams = %q; want %q", dgrams, wantD)
	}
	// The query is the client's first application byte: no round trip
	// before it.
	if got := infoString(sum[1].Info, "round_trips_before_data"); got != "0" {
		t.Errorf("udp round_trips_before_data = %s; want 0", got)
	}
	// UDP without Segments emits only the summary.
	rec = run(t, Options{}, pkts[:1])
	if len(rec.events) != 1 || rec.events[0].Type != decode.TypeSummary {
		t.Errorf("events without Segments = %d, first %s; want only the summary", len(rec.events), rec.events[0].Type)
	}
}

func TestPortReuse(t *testing.T) {
	pkts := slices.Concat(
		tcpConn(0, cli, srv),
		closeConn(ms(20), cli, srv, 0, 0),
		// A trailing ACK within the linger joins the first connection.
		[]tpkt{{at: ms(500), src: cli, dst: srv, flags: "A", seq: cISN + 2, ack: sISN + 2}},
		// A new SYN, still within the linger, starts a second one.
		[]tpkt{{at: ms(600), src: cli, dst: srv, flags: "S", seq: 777777}},
		// So does a SYN with a new ISN during an open handshake.
		[]tpkt{{at: ms(700), src: cli, dst: srv, flags: "S", seq: 888888}},
	)
	rec := run(t, Options{}, pkts)
	sum := rec.summaries()
	if len(sum) != 3 {
		t.Fatalf("got %d connections; want 3", len(sum))
	}
	want := []struct {
		ended, close string
		packets      string
		last         int64
	}{
		{"port-reused", "fin", "5/2", 7},
		{"port-reused", "open", "1/0", 8},
		{"end-of-input", "open", "1/0", 9},
	}
	for i, w := range want {
		e := sum[i+1]
		if got := infoString(e.Info, "ended"); got != w.ended {
			t.Errorf("conn %d ended = %s; want %s", i+1, got, w.ended)
		}
		if got := infoString(e.Info, "close"); got != w.close {
			t.Errorf("conn %d close = %s; want %s", i+1, got, w.close)
		}
		if got := infoString(e.Info, "packets_c2s") + "/" + infoString(e.Info, "packets_s2c"); got != w.packets {
			t.Errorf("conn %d packets = %s; want %s", i+1, got, w.packets)
		}
		if e.Frame != w.last {
			t.Errorf("conn %d summary frame = %d; want %d (its last packet)", i+1, e.Frame, w.last)
		}
	}
	// Each summary is its connection's last event, and comes before the
	// next connection's first.
	var order []string
	for _, e := range rec.events {
		if e.Type == decode.TypeSummary || e.Type == decode.TypeSYN {
			order = append(order, fmt.Sprintf("%d %s", e.conn.ID, e.Type))
		}
	}
	wantOrder := []string{"1 SYN", "1 summary", "2 SYN", "2 summary", "3 SYN", "3 summary"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("order = %q; want %q", order, wantOrder)
	}
}

func TestLingerAndIdle(t *testing.T) {
	pkts := slices.Concat(
		tcpConn(0, cli, srv),
		closeConn(ms(20), cli, srv, 0, 0),
		[]tpkt{{at: ms(1500), src: cli, dst: srv, flags: "A", seq: cISN + 2, ack: sISN + 2}},
		// After the linger (2 s of quiet) the connection is over; a new
		// SYN with the same ISN is a new connection, not a repeat.
		tcpConn(ms(5000), cli, srv),
		[]tpkt{{at: ms(5100), src: "10.0.0.1:5353", dst: "10.0.0.9:53", udp: true, payload: []byte("q")}},
	)
	rec := &recorder{}
	b := New(Options{}, rec)
	for _, p := range packets(t, pkts) {
		if err := b.Packet(&p); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(rec.summaries()); got != 1 {
		t.Fatalf("after the packets: %d summaries; want 1 (the first connection, closed)", got)
	}
	if e := rec.summaries()[1]; infoString(e.Info, "ended") != "closed" || e.Frame != 7 || infoString(e.Info, "packets_c2s") != "5" {
		t.Errorf("first summary: ended %s, frame %d, packets_c2s %s; want closed, 7, 5",
			infoString(e.Info, "ended"), e.Frame, infoString(e.Info, "packets_c2s"))
	}
	// A minute of quiet ends the UDP flow, five the TCP connection.
	if err := b.Advance(t0.Add(ms(5100) + time.Minute)); err != nil {
		t.Fatal(err)
	}
	sum := rec.summaries()
	if len(sum) != 2 || infoString(sum[3].Info, "ended") != "idle-timeout" {
		t.Fatalf("after a minute: summaries %v; want the UDP flow (conn 3) ended by idle timeout", slices.Sorted(mapsKeys(sum)))
	}
	if err := b.Advance(t0.Add(ms(5011) + 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sum = rec.summaries()
	if len(sum) != 3 || infoString(sum[2].Info, "ended") != "idle-timeout" {
		t.Fatalf("after five minutes: summaries %v; want conn 2 ended by idle timeout", slices.Sorted(mapsKeys(sum)))
	}
	// Time going backwards changes nothing; Close has nothing left.
	if err := b.Advance(t0); err != nil {
		t.Fatal(err)
	}
	n := len(rec.events)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != n {
		t.Errorf("Close emitted %d events; want none", len(rec.events)-n)
	}
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestLingerRestartsWithTraffic(t *testing.T) {
	// Traffic after a reset (an injected one) keeps the connection: the
	// linger counts from its last packet.
	pkts := slices.Concat(
		tcpConn(0, cli, srv),
		[]tpkt{
			{at: ms(20), src: srv, dst: cli, flags: "RA", seq: sISN + 1, ack: cISN + 1},
			{at: ms(1500), src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: []byte("more")},
			{at: ms(3000), src: srv, dst: cli, flags: "A", seq: sISN + 1, ack: cISN + 5},
			{at: ms(4500), src: cli, dst: srv, flags: "PA", seq: cISN + 5, ack: sISN + 1, payload: []byte("again")},
		},
	)
	rec := run(t, Options{}, pkts)
	sum := rec.summaries()
	if len(sum) != 1 {
		t.Fatalf("got %d connections; want 1", len(sum))
	}
	if got := infoString(sum[1].Info, "bytes_c2s"); got != "9" {
		t.Errorf("bytes_c2s = %s; want 9", got)
	}
	if got := infoString(sum[1].Info, "ended") + " " + infoString(sum[1].Info, "close"); got != "closed rst" {
		t.Errorf("ended close = %s; want closed rst", got)
	}
}

func TestEviction(t *testing.T) {
	pkts := slices.Concat(
		tcpConn(0, "10.0.0.1:50001", srv),
		tcpConn(ms(100), "10.0.0.1:50002", srv),
		// Conn 1 is active again: conn 2 is now the least recent.
		[]tpkt{{at: ms(200), src: "10.0.0.1:50001", dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: []byte("hi")}},
		tcpConn(ms(300), "10.0.0.1:50003", srv),
	)
	rec := run(t, Options{MaxConns: 2}, pkts)
	caps := rec.ofType(decode.TypeCapLimit)
	if len(caps) != 1 {
		t.Fatalf("cap-limit events = %d; want 1", len(caps))
	}
	e := caps[0]
	if e.conn.ID != 0 || e.Layer != decode.LayerCapture || e.Frame != 8 ||
		infoString(e.Info, "limit") != "connections" || infoString(e.Info, "max_conns") != "2" || infoString(e.Info, "evicted_conn") != "2" {
		t.Errorf("cap-limit = conn %d layer %s frame %d info limit=%s max_conns=%s evicted_conn=%s; want capture-wide, frame 8, connections 2 2",
			e.conn.ID, e.Layer, e.Frame, infoString(e.Info, "limit"), infoString(e.Info, "max_conns"), infoString(e.Info, "evicted_conn"))
	}
	sum := rec.summaries()
	if got := infoString(sum[2].Info, "ended"); got != "evicted" {
		t.Errorf("conn 2 ended = %s; want evicted", got)
	}
	for _, id := range []int{1, 3} {
		if got := infoString(sum[id].Info, "ended"); got != "end-of-input" {
			t.Errorf("conn %d ended = %s; want end-of-input", id, got)
		}
	}
	// The eviction comes before the new connection's first event.
	i := slices.IndexFunc(rec.events, func(e recEvent) bool { return e.Type == decode.TypeCapLimit })
	j := slices.IndexFunc(rec.events, func(e recEvent) bool { return e.conn.ID == 3 })
	if i > j {
		t.Errorf("cap-limit at event %d after conn 3's first event %d", i, j)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name string
		pkts []tpkt
		want map[string]string
	}{
		{
			name: "plain tcp with data",
			pkts: slices.Concat(
				tcpConn(0, cli, srv),
				[]tpkt{
					{at: ms(20), src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: []byte("GET / HTTP/1.0\r\n\r\n")},
					{at: ms(30), src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 19, payload: []byte("HTTP/1.0 200 OK\r\n\r\nhi")},
					// A retransmission counts once in the bytes.
					{at: ms(300), src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 19, payload: []byte("HTTP/1.0 200 OK\r\n\r\nhi")},
				},
				closeConn(ms(400), cli, srv, 18, 21),
			),
			want: map[string]string{
				"handshake": "TCP", "rtt_ms": "11", "round_trips_before_data": "1",
				"bytes_c2s": "18", "bytes_s2c": "21", "packets_c2s": "5", "packets_s2c": "4",
				"close": "fin", "ended": "closed", "duration_ms": "411", "hol_stalls": "0",
				"half_close": "<absent>", "midstream": "<absent>",
			},
		},
		{
			name: "tcp fast open",
			pkts: []tpkt{
				{at: 0, src: cli, dst: srv, flags: "S", seq: cISN, payload: []byte("early")},
				{at: ms(10), src: srv, dst: cli, flags: "SA", seq: sISN, ack: cISN + 6},
				{at: ms(11), src: cli, dst: srv, flags: "A", seq: cISN + 6, ack: sISN + 1},
			},
			want: map[string]string{"round_trips_before_data": "0", "bytes_c2s": "5", "close": "open", "rtt_ms": "11"},
		},
		{
			name: "no data",
			pkts: tcpConn(0, cli, srv),
			want: map[string]string{"round_trips_before_data": "<absent>", "rtt_ms": "11"},
		},
		{
			name: "refused",
			pkts: []tpkt{
				{at: 0, src: cli, dst: srv, flags: "S", seq: cISN},
				{at: ms(1), src: srv, dst: cli, flags: "RA", ack: cISN + 1},
			},
			want: map[string]string{"close": "refused", "rtt_ms": "<absent>", "ended": "closed"},
		},
		{
			name: "half close",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				{at: ms(20), src: cli, dst: srv, flags: "FA", seq: cISN + 1, ack: sISN + 1},
				{at: ms(30), src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 2, payload: []byte("still talking")},
			}),
			want: map[string]string{"close": "half-close", "half_close": "true"},
		},
		{
			name: "hol stall",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				{at: ms(20), src: srv, dst: cli, flags: "PA", seq: sISN + 1 + 100, ack: cISN + 1, payload: make([]byte, 50)},
				{at: ms(45), src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 1, payload: make([]byte, 100)},
			}),
			want: map[string]string{"hol_stalls": "1", "hol_stall_ms": "25", "bytes_s2c": "150"},
		},
		{
			name: "midstream",
			pkts: []tpkt{
				{at: 0, src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 1, payload: []byte("x")},
				{at: ms(1), src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 2, payload: []byte("y")},
			},
			want: map[string]string{"midstream": "true", "round_trips_before_data": "<absent>", "rtt_ms": "<absent>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := run(t, Options{}, tt.pkts)
			sum := rec.summaries()
			if len(sum) != 1 {
				t.Fatalf("got %d connections; want 1", len(sum))
			}
			e := sum[1]
			if e.Dir != decode.DirNone || e.Layer != decode.LayerConn || rec.events[len(rec.events)-1].Type != decode.TypeSummary {
				t.Errorf("summary dir %q layer %s, or not the last event", e.Dir, e.Layer)
			}
			for k, want := range tt.want {
				if got := infoString(e.Info, k); got != want {
					t.Errorf("%s = %s; want %s", k, got, want)
				}
			}
		})
	}
}

func TestHOLStallEvent(t *testing.T) {
	pkts := slices.Concat(tcpConn(0, cli, srv), []tpkt{
		{at: ms(20), src: srv, dst: cli, flags: "PA", seq: sISN + 1 + 100, ack: cISN + 1, payload: make([]byte, 50)},
		{at: ms(45), src: srv, dst: cli, flags: "PA", seq: sISN + 1, ack: cISN + 1, payload: make([]byte, 100)},
	})
	rec := run(t, Options{}, pkts)
	stalls := rec.ofType("hol-stall")
	if len(stalls) != 1 {
		t.Fatalf("hol-stall events = %d; want 1", len(stalls))
	}
	e := stalls[0]
	if e.Frame != 5 || e.Dir != decode.S2C || e.Len != 50 || e.Layer != decode.LayerAnalysis {
		t.Errorf("hol-stall frame %d dir %s len %d layer %s; want 5 s2c 50 analysis", e.Frame, e.Dir, e.Len, e.Layer)
	}
	want := "connection|2026-01-02T03:04:05.02Z|2026-01-02T03:04:05.045Z|25|4|1|100|50"
	var got []string
	for _, k := range []string{"scope", "start", "end", "duration_ms", "start_frame", "gap_seq", "gap_len", "blocked_bytes"} {
		got = append(got, infoString(e.Info, k))
	}
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("info = %s; want %s", g, want)
	}
}

// A test stream protocol: it matches streams starting "HELO", records
// what it is given, and panics on "BOOM".
type testDecoder struct {
	got   *[]string
	ended *int
}

func (d testDecoder) Data(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) error {
	*d.got = append(*d.got, fmt.Sprintf("%s %q f%d", dir, data, at.Frame))
	if strings.Contains(string(data), "BOOM") {
		panic("boom")
	}
	if strings.Contains(string(data), "FAIL") {
		return errors.New("bad message")
	}
	e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerHTTP1, "message")
	if dir == decode.C2S {
		e.Flags = decode.FlagAppData
	} else {
		e.Flags = decode.FlagReply
	}
	emit(e)
	return nil
}

func (d testDecoder) Skip(dir decode.Dir, n uint64, at decode.Position, emit decode.Emit) {
	*d.got = append(*d.got, fmt.Sprintf("%s skip %d", dir, n))
}

func (d testDecoder) End(at decode.Position, emit decode.Emit) { *d.ended++ }

func testRegistry(got *[]string, ended *int) *decode.Registry {
	reg := &decode.Registry{}
	reg.Register(decode.Sniffer{
		Name: "never",
		Sniff: func(dir decode.Dir, first []byte) decode.Verdict {
			return decode.NoMatch
		},
	})
	reg.Register(decode.Sniffer{
		Name: "helo",
		Sniff: func(dir decode.Dir, first []byte) decode.Verdict {
			switch {
			case len(first) < 4 && strings.HasPrefix("HELO", string(first)):
				return decode.NeedMore
			case strings.HasPrefix(string(first), "HELO"):
				return decode.Match
			}
			return decode.NoMatch
		},
		New: func() decode.StreamDecoder { return testDecoder{got: got, ended: ended} },
	})
	return reg
}

func TestRegistry(t *testing.T) {
	data := func(at time.Duration, src, dst string, seq, ack uint32, p string) tpkt {
		return tpkt{at: at, src: src, dst: dst, flags: "PA", seq: seq, ack: ack, payload: []byte(p)}
	}
	tests := []struct {
		name     string
		pkts     []tpkt
		got      []string
		protocol string
		errors   []string
		ended    int
		bytes    string // bytes_c2s, when checked
	}{
		{
			// The first bytes come in two pieces: the decoder attaches
			// on the second and sees both, in order.
			name: "attach after held bytes",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				data(ms(20), cli, srv, cISN+1, sISN+1, "HE"),
				data(ms(21), cli, srv, cISN+3, sISN+1, "LO there"),
				data(ms(30), srv, cli, sISN+1, cISN+11, "welcome"),
			}),
			got:      []string{`c2s "HE" f4`, `c2s "LO there" f5`, `s2c "welcome" f6`},
			protocol: "helo",
			ended:    1,
		},
		{
			name: "no match",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				data(ms(20), cli, srv, cISN+1, sISN+1, "GET /"),
			}),
			protocol: "<absent>",
		},
		{
			// A panic becomes a decode-error; the decoder is off for the
			// rest of the connection, which goes on.
			name: "decoder panics",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				data(ms(20), cli, srv, cISN+1, sISN+1, "HELO"),
				data(ms(21), cli, srv, cISN+5, sISN+1, "BOOM"),
				data(ms(22), cli, srv, cISN+9, sISN+1, "after"),
			}),
			got:      []string{`c2s "HELO" f4`, `c2s "BOOM" f5`},
			protocol: "helo",
			errors:   []string{"f5 helo: internal error: boom"},
			bytes:    "13",
		},
		{
			name: "decoder fails",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				data(ms(20), cli, srv, cISN+1, sISN+1, "HELO FAIL"),
				data(ms(22), cli, srv, cISN+10, sISN+1, "after"),
			}),
			got:      []string{`c2s "HELO FAIL" f4`},
			protocol: "helo",
			errors:   []string{"f4 bad message"},
		},
		{
			// A hole before the protocol is known: give up sniffing.
			name: "gap while sniffing",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				data(ms(20), cli, srv, cISN+1, sISN+1, "HE"),
				{at: ms(30), src: srv, dst: cli, flags: "A", seq: sISN + 1, ack: cISN + 10},
				data(ms(31), cli, srv, cISN+10, sISN+1, "LO"),
			}),
			protocol: "<absent>",
		},
		{
			// Skips reach an attached decoder.
			name: "skip after attach",
			pkts: slices.Concat(tcpConn(0, cli, srv), []tpkt{
				data(ms(20), cli, srv, cISN+1, sISN+1, "HELO"),
				{at: ms(30), src: srv, dst: cli, flags: "A", seq: sISN + 1, ack: cISN + 10},
				data(ms(31), cli, srv, cISN+10, sISN+1, "xy"),
			}),
			got:      []string{`c2s "HELO" f4`, "c2s skip 5", `c2s "xy" f6`},
			protocol: "helo",
			ended:    1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			ended := 0
			rec := run(t, Options{Registry: testRegistry(&got, &ended)}, tt.pkts)
			if !slices.Equal(got, tt.got) {
				t.Errorf("decoder saw %q; want %q", got, tt.got)
			}
			if ended != tt.ended {
				t.Errorf("End called %d times; want %d", ended, tt.ended)
			}
			var errs []string
			for _, e := range rec.ofType(decode.TypeDecodeError) {
				if e.Dir != decode.DirNone || e.Layer != decode.LayerConn || infoString(e.Info, "decoder") != "helo" {
					t.Errorf("decode-error dir %q layer %s decoder %s", e.Dir, e.Layer, infoString(e.Info, "decoder"))
				}
				errs = append(errs, fmt.Sprintf("f%d %s", e.Frame, infoString(e.Info, "error")))
			}
			if !slices.Equal(errs, tt.errors) {
				t.Errorf("decode errors = %q; want %q", errs, tt.errors)
			}
			sum := rec.summaries()[1]
			if got := infoString(sum.Info, "protocol"); got != tt.protocol {
				t.Errorf("summary protocol = %s; want %s", got, tt.protocol)
			}
			if got := infoString(sum.Info, "ended"); got != "end-of-input" {
				t.Errorf("summary ended = %s; want end-of-input", got)
			}
			if got := infoString(sum.Info, "bytes_c2s"); tt.bytes != "" && got != tt.bytes {
				t.Errorf("bytes_c2s = %s; want %s (the connection goes on)", got, tt.bytes)
			}
			if n := len(rec.ofType(decode.TypeSYN)); n != 1 {
				t.Errorf("SYN events = %d; want 1", n)
			}
		})
	}
}

// The round-trip count follows the decoder's events when one is attached.
func TestRoundTripsWithDecoder(t *testing.T) {
	var got []string
	ended := 0
	pkts := slices.Concat(tcpConn(0, cli, srv), []tpkt{
		{at: ms(20), src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 1, payload: []byte("HELO")},
	})
	rec := run(t, Options{Registry: testRegistry(&got, &ended)}, pkts)
	if got := infoString(rec.summaries()[1].Info, "round_trips_before_data"); got != "1" {
		t.Errorf("round_trips_before_data = %s; want 1", got)
	}
}

func TestStatsAndSinkError(t *testing.T) {
	rec := &recorder{}
	b := New(Options{}, rec)
	good := packets(t, tcpConn(0, cli, srv))
	arp := capture.Packet{Frame: 4, TS: t0, LinkType: layers.LinkTypeEthernet,
		Data: append(make([]byte, 12), 0x08, 0x06, 0, 0)}
	arp.CapLen, arp.OrigLen = len(arp.Data), len(arp.Data)
	short := capture.Packet{Frame: 5, TS: t0, LinkType: layers.LinkTypeEthernet, Data: []byte{1, 2, 3}, CapLen: 3, OrigLen: 3}
	for _, p := range append(good, arp, short) {
		if err := b.Packet(&p); err != nil {
			t.Fatal(err)
		}
	}
	if st := b.Stats(); st.Packets != 5 || st.Unsupported != 1 || st.Malformed != 1 || st.Conns != 1 || st.Evicted != 0 {
		t.Errorf("stats = %+v; want 5 packets, 1 unsupported, 1 malformed, 1 connection", st)
	}

	// The sink's first error stops the Builder and is returned again.
	sinkErr := errors.New("disk full")
	n := 0
	b = New(Options{}, SinkFunc(func(*Event) error {
		n++
		return sinkErr
	}))
	if err := b.Packet(&good[0]); !errors.Is(err, sinkErr) {
		t.Fatalf("Packet = %v; want the sink's error", err)
	}
	if err := b.Packet(&good[1]); !errors.Is(err, sinkErr) {
		t.Errorf("second Packet = %v; want the sink's error", err)
	}
	if err := b.Close(); !errors.Is(err, sinkErr) {
		t.Errorf("Close = %v; want the sink's error", err)
	}
	if n != 1 {
		t.Errorf("sink called %d times; want 1", n)
	}
}
