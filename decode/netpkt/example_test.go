package netpkt_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiretrace/wiretrace/decode/netpkt"
)

func ExampleDecoder_Decode() {
	frame := []byte{
		// Ethernet: destination, source, EtherType IPv4.
		0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00,
		// IPv4: version 4, IHL 5; total length 44; id 1, DF; TTL 64,
		// TCP, checksum (not checked); 192.0.2.10 → 198.51.100.5.
		0x45, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
		192, 0, 2, 10, 198, 51, 100, 5,
		// TCP: 43210 → 443; seq 1; ack 0; data offset 6 words, SYN;
		// window 65535; checksum; urgent pointer.
		0xa8, 0xca, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0,
		// TCP option: MSS 1460.
		0x02, 0x04, 0x05, 0xb4,
	}
	d := netpkt.NewDecoder()
	var p netpkt.Packet // reuse one Packet: Decode resets it
	if err := d.Decode(layers.LinkTypeEthernet, frame, len(frame), &p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Proto, netip.AddrPortFrom(p.Src, p.SrcPort), "→", netip.AddrPortFrom(p.Dst, p.DstPort))
	fmt.Printf("SYN %v, seq %d, MSS %d, payload %d bytes\n", p.TCP.Has(netpkt.FlagSYN), p.TCP.Seq, p.TCP.MSS, p.PayloadLen)

	// A snap length that cuts the options is not an error.
	err := d.Decode(layers.LinkTypeEthernet, frame[:56], len(frame), &p)
	fmt.Printf("cut: err %v, truncated %v, SYN %v, MSS %d\n", err, p.Truncated, p.TCP.Has(netpkt.FlagSYN), p.TCP.MSS)

	// ARP is not TCP or UDP over IP.
	arp := append(frame[:12:12], 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1)
	err = d.Decode(layers.LinkTypeEthernet, arp, len(arp), &p)
	fmt.Println(errors.Is(err, netpkt.ErrUnsupported))
	// Output:
	// tcp 192.0.2.10:43210 → 198.51.100.5:443
	// SYN true, seq 1, MSS 1460, payload 0 bytes
	// cut: err <nil>, truncated true, SYN true, MSS 0
	// true
}
