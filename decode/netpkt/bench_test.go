package netpkt

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// BenchmarkDecode measures one Decode call per iteration on the two hot
// shapes: a TCP segment with options on Ethernet/IPv4, and a UDP datagram
// on Linux SLL2/IPv6 (what `tcpdump -i any` writes). SetBytes makes MB/s
// the frame rate in bytes; allocs/op must stay 0.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name  string
		link  layers.LinkType
		frame []byte
	}{
		{"eth-ipv4-tcp", layers.LinkTypeEthernet, ethIPv4TCP(b)},
		{"sll2-ipv6-udp", layers.LinkTypeLinuxSLL2, sll2IPv6UDP(b)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := NewDecoder()
			var p Packet
			b.SetBytes(int64(len(bc.frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Decode(bc.link, bc.frame, len(bc.frame), &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
