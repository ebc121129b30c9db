// Package layouttest builds connections as Go values for the tests of
// render/layout and the renderers that draw its diagrams. The events look
// like what timeline emits for real captures, but no capture is read.
package layouttest

import (
	"net/netip"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// Case is one connection and its events, summary last.
type Case struct {
	Name   string
	Conn   *timeline.Conn
	Events []timeline.Event
}

// Epoch is the first packet's time in every case.
var Epoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// builder appends events to one connection.
type builder struct {
	conn  *timeline.Conn
	evs   []timeline.Event
	frame int64
}

func newBuilder(id int, client, server string, midstream bool) *builder {
	c := &timeline.Conn{
		ID: id, Transport: timeline.TCP,
		Client: netip.MustParseAddrPort(client), Server: netip.MustParseAddrPort(server),
		Midstream: midstream, FirstTS: Epoch, FirstFrame: 1,
	}
	return &builder{conn: c}
}

// at is a time offset from Epoch in microseconds.
func at(us float64) time.Time { return Epoch.Add(time.Duration(us * float64(time.Microsecond))) }

// next starts a new packet (frame) and returns its number.
func (b *builder) next() int64 { b.frame++; return b.frame }

// ev adds an event on the current frame.
func (b *builder) ev(us float64, dir decode.Dir, layer decode.Layer, typ decode.Type, length int64, info ...decode.Field) {
	e := decode.NewEvent(b.frame, at(us), dir, layer, typ)
	e.Len = length
	e.Info = info
	b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
}

// seg adds a TCP event with the usual segment Info.
func (b *builder) seg(us float64, dir decode.Dir, typ decode.Type, seq, ack, length int64, flags string, extra ...decode.Field) {
	info := decode.Info{decode.Uint("seq", uint64(seq))}
	if ack >= 0 {
		info = append(info, decode.Uint("ack", uint64(ack)))
	}
	info = append(info, decode.Uint("win", 64256), decode.String("flags", flags))
	b.ev(us, dir, decode.LayerTCP, typ, length, append(info, extra...)...)
}

func (b *builder) handshake(us float64) float64 {
	b.next()
	b.seg(us, decode.C2S, decode.TypeSYN, 0, -1, 0, "SYN",
		decode.Int("mss", 1460), decode.Int("wscale", 7), decode.Bool("sack_perm", true))
	b.next()
	b.seg(us+42, decode.S2C, decode.TypeSYNACK, 0, 1, 0, "SYN|ACK",
		decode.Int("mss", 1460), decode.Int("wscale", 7), decode.Bool("sack_perm", true))
	b.next()
	b.seg(us+71, decode.C2S, decode.TypeACK, 1, 1, 0, "ACK",
		decode.Millis("rtt_ms", 71*time.Microsecond),
		decode.Millis("syn_to_synack_ms", 42*time.Microsecond),
		decode.Millis("synack_to_ack_ms", 29*time.Microsecond))
	return us + 71
}

// phase adds an analysis/phase event as the timeline emits it before the
// summary: it ends at frame on time us and began at startFrame, startUS.
func (b *builder) phase(name string, startUS float64, startFrame int64, us float64, frame int64, rounds int64, layer string) {
	e := decode.NewEvent(frame, at(us), decode.DirNone, decode.LayerAnalysis, timeline.TypePhase)
	e.Info = decode.Info{
		decode.String("phase", name),
		decode.String("start", at(startUS).UTC().Format(time.RFC3339Nano)),
		decode.Int("start_frame", startFrame),
		decode.Millis("duration_ms", at(us).Sub(at(startUS))),
		decode.Int("round_trips", rounds),
	}
	if layer != "" {
		e.Info = append(e.Info, decode.String("layer", layer))
	}
	b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
}

func (b *builder) summary(us float64, info ...decode.Field) Case {
	b.frame++
	e := decode.NewEvent(b.frame-1, at(us), decode.DirNone, decode.LayerConn, decode.TypeSummary)
	e.Info = info
	b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
	return Case{Conn: b.conn, Events: b.evs}
}

// Cases returns the test connections, freshly built.
func Cases() []Case {
	out := []Case{HandshakeDataFIN(), Refused(), Loss(), Midstream(), Layers()}
	names := []string{"handshake-data-fin", "refused", "loss", "midstream", "layers"}
	for i := range out {
		out[i].Name = names[i]
	}
	return out
}

// HandshakeDataFIN is a short request and response with a 2.5 s idle gap
// before an orderly close, drawn with --segments.
func HandshakeDataFIN() Case {
	b := newBuilder(1, "192.0.2.10:51234", "198.51.100.20:443", false)
	t := b.handshake(0)
	b.next()
	b.seg(t+130, decode.C2S, decode.TypeSegment, 1, 1, 517, "PSH|ACK")
	b.next()
	b.seg(t+180, decode.S2C, decode.TypeSegment, 1, 518, 0, "ACK")
	b.next()
	b.seg(t+1030, decode.S2C, decode.TypeSegment, 1, 518, 1448, "ACK")
	b.next()
	b.seg(t+1040, decode.S2C, decode.TypeSegment, 1449, 518, 1200, "PSH|ACK")
	b.next()
	b.seg(t+1090, decode.C2S, decode.TypeSegment, 518, 2649, 0, "ACK")
	t += 2_501_000
	b.next()
	b.seg(t, decode.C2S, decode.TypeFIN, 518, 2649, 0, "FIN|ACK", decode.Bool("active_close", true))
	b.next()
	b.seg(t+45, decode.S2C, decode.TypeFIN, 2649, 519, 0, "FIN|ACK")
	b.next()
	b.seg(t+80, decode.C2S, decode.TypeSegment, 519, 2650, 0, "ACK")
	b.phase(timeline.PhaseTCP, 0, 1, 71, 3, 1, "")
	b.phase(timeline.PhaseRequest, 71, 3, 201, 4, 0, "tcp")
	b.phase(timeline.PhaseFirstByte, 201, 4, 1101, 6, 1, "tcp")
	return b.summary(t+80,
		decode.String("handshake", "TCP"),
		decode.Millis("rtt_ms", 71*time.Microsecond),
		decode.Int("round_trips_before_data", 1),
		decode.String("tls_version", ""), decode.String("sni", ""), decode.String("alpn", ""),
		decode.Int("hol_stalls", 0), decode.Millis("hol_stall_ms", 0),
		decode.Uint("bytes_c2s", 517), decode.Uint("bytes_s2c", 2648),
		decode.Uint("packets_c2s", 5), decode.Uint("packets_s2c", 4),
		decode.Millis("duration_ms", time.Duration((t+80)*1000)),
		decode.String("close", "fin"), decode.String("ended", "closed"))
}

// Refused is a SYN answered by a reset.
func Refused() Case {
	b := newBuilder(2, "192.0.2.10:51236", "198.51.100.20:8080", false)
	b.next()
	b.seg(0, decode.C2S, decode.TypeSYN, 0, -1, 0, "SYN", decode.Int("mss", 1460))
	b.next()
	b.seg(38, decode.S2C, decode.TypeRST, 1, 1, 0, "RST|ACK", decode.Bool("refused", true))
	return b.summary(38,
		decode.String("handshake", "TCP"),
		decode.String("tls_version", ""), decode.String("sni", ""), decode.String("alpn", ""),
		decode.Int("hol_stalls", 0), decode.Millis("hol_stall_ms", 0),
		decode.Uint("bytes_c2s", 0), decode.Uint("bytes_s2c", 0),
		decode.Uint("packets_c2s", 1), decode.Uint("packets_s2c", 1),
		decode.Millis("duration_ms", 38*time.Microsecond),
		decode.String("close", "refused"), decode.String("ended", "closed"))
}

// Loss is an upload over a lossy WAN path: a lost segment, three
// duplicate ACKs, a fast retransmission that fills the hole after a
// head-of-line stall, a zero window, a keep-alive and a reset.
func Loss() Case {
	b := newBuilder(3, "[2001:db8::10]:50522", "[2001:db8:ffff::443]:443", false)
	b.next()
	b.seg(0, decode.C2S, decode.TypeSYN, 0, -1, 0, "SYN", decode.Int("mss", 1440))
	b.next()
	b.seg(48_200, decode.S2C, decode.TypeSYNACK, 0, 1, 0, "SYN|ACK", decode.Int("mss", 1440))
	b.next()
	b.seg(48_350, decode.C2S, decode.TypeACK, 1, 1, 0, "ACK",
		decode.Millis("rtt_ms", 48350*time.Microsecond),
		decode.Millis("syn_to_synack_ms", 48200*time.Microsecond),
		decode.Millis("synack_to_ack_ms", 150*time.Microsecond))
	b.next()
	b.seg(48_500, decode.C2S, decode.TypeSegment, 1, 1, 1428, "ACK")
	// seq 1429 is lost; 2857 arrives first.
	b.next()
	b.seg(48_620, decode.C2S, decode.TypeLostSegment, 2857, 1, 1428, "ACK")
	b.seg(48_620, decode.C2S, decode.TypeSegment, 2857, 1, 1428, "ACK")
	b.next()
	b.seg(48_700, decode.C2S, decode.TypeSegment, 4285, 1, 1428, "PSH|ACK")
	b.next()
	b.seg(96_900, decode.S2C, decode.TypeSegment, 1, 1429, 0, "ACK")
	for i := int64(1); i <= 3; i++ {
		b.next()
		b.seg(96_950+float64(i)*60, decode.S2C, decode.TypeDupAck, 1, 1429, 0, "ACK", decode.Int("dup_ack_num", i))
		b.seg(96_950+float64(i)*60, decode.S2C, decode.TypeSegment, 1, 1429, 0, "ACK")
	}
	b.next()
	t := 97_300.0
	b.seg(t, decode.C2S, decode.TypeFastRetransmission, 1429, 1, 1428, "ACK")
	b.seg(t, decode.C2S, decode.TypeSegment, 1429, 1, 1428, "ACK", decode.Bool("retransmission", true))
	b.ev(t, decode.C2S, decode.LayerAnalysis, "hol-stall", 2856,
		decode.String("scope", "connection"),
		decode.String("start", at(48_620).Format(time.RFC3339Nano)),
		decode.String("end", at(t).Format(time.RFC3339Nano)),
		decode.Millis("duration_ms", time.Duration((t-48_620)*1000)),
		decode.Int("start_frame", 5),
		decode.Uint("gap_seq", 1429), decode.Uint("gap_len", 1428), decode.Uint("blocked_bytes", 2856))
	b.next()
	b.seg(145_500, decode.S2C, decode.TypeSegment, 1, 5713, 0, "ACK")
	b.next()
	b.seg(146_000, decode.S2C, decode.TypeZeroWindow, 1, 5713, 0, "ACK")
	b.seg(146_000, decode.S2C, decode.TypeSegment, 1, 5713, 0, "ACK")
	b.next()
	b.seg(446_000, decode.C2S, decode.TypeKeepAlive, 5712, 1, 0, "ACK")
	b.seg(446_000, decode.C2S, decode.TypeSegment, 5712, 1, 0, "ACK")
	b.next()
	b.seg(494_300, decode.S2C, decode.TypeSegment, 1, 5713, 0, "ACK")
	b.next()
	b.seg(520_000, decode.C2S, decode.TypeRST, 5713, 1, 0, "RST|ACK")
	return b.summary(520_000,
		decode.String("handshake", "TCP"),
		decode.Millis("rtt_ms", 48350*time.Microsecond),
		decode.Int("round_trips_before_data", 1),
		decode.String("tls_version", ""), decode.String("sni", ""), decode.String("alpn", ""),
		decode.Int("hol_stalls", 1), decode.Millis("hol_stall_ms", time.Duration((t-48_620)*1000)),
		decode.Uint("bytes_c2s", 5712), decode.Uint("bytes_s2c", 0),
		decode.Uint("packets_c2s", 8), decode.Uint("packets_s2c", 8),
		decode.Millis("duration_ms", 520*time.Millisecond),
		decode.String("close", "rst"), decode.String("ended", "closed"))
}

// Midstream is a connection picked up after its handshake, with a
// reassembly cap hit and an application decoder giving up.
func Midstream() Case {
	b := newBuilder(4, "10.1.2.3:40000", "10.9.8.7:5432", true)
	b.next()
	b.seg(0, decode.S2C, decode.TypeSegment, 1, 1, 8192, "ACK")
	b.next()
	b.seg(210, decode.C2S, decode.TypeSegment, 1, 8193, 0, "ACK")
	b.next()
	b.ev(900, decode.S2C, decode.LayerCapture, decode.TypeCapLimit, decode.NoValue,
		decode.String("limit", "reassembly"), decode.Int("max_bytes", 4<<20),
		decode.Int("max_segments", 1024), decode.Uint("skipped", 65536))
	b.seg(900, decode.S2C, decode.TypeSegment, 73729, 1, 4096, "PSH|ACK")
	b.next()
	b.ev(1200, decode.DirNone, decode.LayerConn, decode.TypeDecodeError, decode.NoValue,
		decode.String("decoder", "postgres"), decode.String("error", "pg: message length 1936682341 exceeds remaining 12 (offset 43)"))
	b.next()
	b.seg(35_000, decode.C2S, decode.TypeSegment, 1, 77825, 0, "ACK")
	return b.summary(35_000,
		decode.String("handshake", "TCP"),
		decode.String("tls_version", ""), decode.String("sni", ""), decode.String("alpn", ""),
		decode.Int("hol_stalls", 0), decode.Millis("hol_stall_ms", 0),
		decode.Uint("bytes_c2s", 0), decode.Uint("bytes_s2c", 12288),
		decode.Uint("packets_c2s", 2), decode.Uint("packets_s2c", 2),
		decode.Millis("duration_ms", 35*time.Millisecond),
		decode.String("close", "open"), decode.String("ended", "end-of-input"),
		decode.Bool("midstream", true))
}

// Layers has events from layers that have no special drawing yet (TLS,
// HTTP/2, an unknown layer number), drawn generically, and no summary.
func Layers() Case {
	b := newBuilder(5, "192.0.2.10:51300", "198.51.100.20:443", false)
	t := b.handshake(0)
	b.next()
	b.ev(t+150, decode.C2S, decode.LayerTLS, "ClientHello", 517,
		decode.String("sni", "example.com"), decode.Strings("alpn", []string{"h2", "http/1.1"}))
	b.next()
	b.ev(t+900, decode.S2C, decode.LayerTLS, "ServerHello", 122, decode.String("version", "TLS 1.3"))
	b.next()
	e := decode.NewEvent(b.frame, at(t+1500), decode.C2S, decode.LayerHTTP2, "HEADERS")
	e.Stream, e.Len = 1, 38
	e.Info = decode.Info{decode.String(":method", "GET"), decode.String(":path", "/")}
	b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
	b.next()
	b.ev(t+2500, decode.S2C, decode.Layer(42), "mystery", decode.NoValue, decode.Int("code", 7))
	return Case{Conn: b.conn, Events: b.evs}
}

// Bulk returns a connection with n segment events after its handshake,
// alternating direction every packet, 1 ms apart, and a summary.
func Bulk(n int) Case {
	b := newBuilder(6, "192.0.2.10:51400", "198.51.100.20:443", false)
	b.evs = make([]timeline.Event, 0, n+4)
	t := b.handshake(0)
	seq := [2]int64{1, 1}
	for i := 0; i < n; i++ {
		b.next()
		dir := decode.C2S
		if i%2 == 1 {
			dir = decode.S2C
		}
		k := dir.Index()
		b.seg(t+float64(i)*1000, dir, decode.TypeSegment, seq[k], seq[1-k], 1000, "ACK")
		seq[k] += 1000
	}
	c := b.summary(t+float64(n)*1000, decode.String("handshake", "TCP"), decode.String("close", "fin"))
	c.Name = "bulk"
	return c
}
