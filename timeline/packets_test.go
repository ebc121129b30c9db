package timeline

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
)

// t0 is the capture start of every synthetic packet list; times are fixed so
// that reruns are identical.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// tpkt describes one synthetic packet.
type tpkt struct {
	at       time.Duration // since t0
	src, dst string        // "10.0.0.1:40000"
	flags    string        // letters S A F R P, e.g. "SA", "PA", "FA"; ignored for UDP
	seq, ack uint32
	win      uint16 // 0 means 65535 unless zeroWin
	zeroWin  bool
	payload  []byte
	udp      bool
	opts     []layers.TCPOption
	ipID     uint16
}

func mustAddrPort(t testing.TB, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatalf("bad address %q: %v", s, err)
	}
	return ap
}

// frame serializes p as Ethernet/IPv4/TCP (or UDP).
func (p tpkt) frame(t testing.TB) []byte {
	t.Helper()
	src, dst := mustAddrPort(t, p.src), mustAddrPort(t, p.dst)
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{2, 0, 0, 0, 0, 1},
		DstMAC:       net.HardwareAddr{2, 0, 0, 0, 0, 2},
		EthernetType: layers.EthernetTypeIPv4,
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: p.ipID, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	var l4 gopacket.SerializableLayer
	if p.udp {
		ip.Protocol = layers.IPProtocolUDP
		u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		if err := u.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		l4 = u
	} else {
		ip.Protocol = layers.IPProtocolTCP
		win := p.win
		if win == 0 && !p.zeroWin {
			win = 65535
		}
		tc := &layers.TCP{
			SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
			Seq: p.seq, Ack: p.ack, Window: win, Options: p.opts,
			SYN: strings.Contains(p.flags, "S"), ACK: strings.Contains(p.flags, "A"),
			FIN: strings.Contains(p.flags, "F"), RST: strings.Contains(p.flags, "R"),
			PSH: strings.Contains(p.flags, "P"),
		}
		if err := tc.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		l4 = tc
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, l4, gopacket.Payload(p.payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// packets turns descriptions into capture packets numbered from 1.
func packets(t testing.TB, ps []tpkt) []capture.Packet {
	t.Helper()
	out := make([]capture.Packet, len(ps))
	for i, p := range ps {
		data := p.frame(t)
		out[i] = capture.Packet{
			Frame: int64(i + 1), TS: t0.Add(p.at), LinkType: layers.LinkTypeEthernet,
			CapLen: len(data), OrigLen: len(data), Data: data,
		}
	}
	return out
}

// writePcap writes ps to a pcap file for tshark.
func writePcap(t testing.TB, path string, ps []tpkt) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, p := range packets(t, ps) {
		ci := gopacket.CaptureInfo{Timestamp: p.TS, CaptureLength: p.CapLen, Length: p.OrigLen}
		if err := w.WritePacket(ci, p.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// recEvent is an event as a recording sink keeps it.
type recEvent struct {
	decode.Event
	conn Conn // zero for capture-wide events
}

// recorder is a Sink that keeps every event.
type recorder struct {
	events []recEvent
}

func (r *recorder) Event(ev *Event) error {
	e := recEvent{Event: ev.Event}
	if ev.Conn != nil {
		e.conn = *ev.Conn
	}
	r.events = append(r.events, e)
	return nil
}

// ofType returns the events of one type, in order.
func (r *recorder) ofType(typ decode.Type) []recEvent {
	var out []recEvent
	for _, e := range r.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// summaries returns the summary events by connection ID.
func (r *recorder) summaries() map[int]recEvent {
	out := map[int]recEvent{}
	for _, e := range r.events {
		if e.Type == decode.TypeSummary {
			out[e.conn.ID] = e
		}
	}
	return out
}

// run feeds ps through a Builder with opts and closes it.
func run(t testing.TB, opts Options, ps []tpkt) *recorder {
	t.Helper()
	rec := &recorder{}
	b := New(opts, rec)
	for _, p := range packets(t, ps) {
		if err := b.Packet(&p); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return rec
}

func infoString(in decode.Info, key string) string {
	f, ok := in.Get(key)
	if !ok {
		return "<absent>"
	}
	return string(f.AppendValue(nil))
}
