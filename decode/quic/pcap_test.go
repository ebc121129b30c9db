package quic

import (
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
)

// flowEvent is a decoder event with the UDP flow it came from.
type flowEvent struct {
	flow string // "client server", as ip:port
	ev   decode.Event
}

// udpFlow is one UDP flow's decoder, as the timeline would attach it.
type udpFlow struct {
	key            string
	client, server netip.AddrPort
	dec            decode.DatagramDecoder
	sniffed        bool
}

// runPcap drives every UDP datagram of a capture through the QUIC sniffer
// and decoders, one per UDP flow (the flow's client sent its first
// datagram), as the timeline does, and returns the events and the flows'
// decoders. Snap-length-cut payloads are passed as captured.
func runPcap(t testing.TB, path string, opts Options) ([]flowEvent, []*udpFlow) {
	t.Helper()
	src, err := capture.OpenFile(path, 0, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sn := NewSniffer(opts)
	flows := map[[2]netip.AddrPort]*udpFlow{}
	var order []*udpFlow
	var out []flowEvent
	var p capture.Packet
	var pk netpkt.Packet
	nd := netpkt.NewDecoder()
	var last decode.Position
	for {
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, capture.ErrBadBlock) {
				continue
			}
			if errors.Is(err, capture.ErrTruncatedFile) {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		if err := nd.Decode(p.LinkType, p.Data, p.OrigLen, &pk); err != nil || pk.Proto != netpkt.ProtoUDP {
			continue
		}
		a := netip.AddrPortFrom(pk.Src, pk.SrcPort)
		b := netip.AddrPortFrom(pk.Dst, pk.DstPort)
		f := flows[[2]netip.AddrPort{a, b}]
		if f == nil {
			f = flows[[2]netip.AddrPort{b, a}]
		}
		if f == nil {
			f = &udpFlow{key: a.String() + " " + b.String(), client: a, server: b}
			flows[[2]netip.AddrPort{a, b}] = f
			order = append(order, f)
		}
		dir := decode.C2S
		if a != f.client {
			dir = decode.S2C
		}
		at := decode.Position{Frame: p.Frame, TS: p.TS}
		last = at
		if !f.sniffed && len(pk.Payload) > 0 {
			f.sniffed = true
			if sn.Sniff(dir, pk.Payload) {
				f.dec = sn.New()
			}
		}
		if f.dec != nil {
			if err := f.dec.Datagram(dir, pk.Payload, at, func(e decode.Event) { out = append(out, flowEvent{f.key, e}) }); err != nil {
				t.Fatalf("%s: frame %d: %v", path, p.Frame, err)
			}
		}
	}
	for _, f := range order {
		if f.dec != nil {
			f.dec.End(last, func(e decode.Event) { out = append(out, flowEvent{f.key, e}) })
		}
	}
	return out, order
}
