package netpkt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wiretrace/wiretrace/decode"
)

// sharedPcaps holds the team's real captures; tests that read them skip
// when it is absent.
const sharedPcaps = "../../../shared/pcaps"

var (
	addr4A = netip.MustParseAddr("192.0.2.10")
	addr4B = netip.MustParseAddr("198.51.100.5")
	addr6A = netip.MustParseAddr("2001:db8::a")
	addr6B = netip.MustParseAddr("2001:db8::b")
)

// baseTCP is the header tcpSeg builds, without options.
var baseTCP = TCP{Seq: seq, Ack: ack, Flags: FlagPSH | FlagACK, Window: 502, WScale: -1}

// synTCP is baseTCP with synOptions parsed.
var synTCP = func() TCP {
	t := baseTCP
	t.MSS, t.WScale, t.SACKPermitted = 1460, 7, true
	t.HasTimestamps, t.TSVal, t.TSEcr = true, 1, 2
	return t
}()

// wantTCP4 is the Packet Decode should produce for tcpSeg over ipv4.
func wantTCP4(tcp TCP, pl []byte) Packet {
	return Packet{Src: addr4A, Dst: addr4B, SrcPort: srcPort, DstPort: dstPort, Proto: ProtoTCP, TCP: tcp, Payload: pl, PayloadLen: len(pl)}
}

func wantTCP6(tcp TCP, pl []byte) Packet {
	p := wantTCP4(tcp, pl)
	p.Src, p.Dst = addr6A, addr6B
	return p
}

func wantUDP4(pl []byte) Packet {
	return Packet{Src: addr4A, Dst: addr4B, SrcPort: srcPort, DstPort: dstPort, Proto: ProtoUDP, Payload: pl, PayloadLen: len(pl)}
}

func wantUDP6(pl []byte) Packet {
	p := wantUDP4(pl)
	p.Src, p.Dst = addr6A, addr6B
	return p
}

// with returns p changed by f, to state a want as a variation.
func with(p Packet, f func(*Packet)) Packet {
	f(&p)
	return p
}

// comparePacket reports every field of got that differs from want.
func comparePacket(t *testing.T, got, want *Packet) {
	t.Helper()
	if got.Src != want.Src || got.Dst != want.Dst {
		t.Errorf("got %v → %v; want %v → %v", got.Src, got.Dst, want.Src, want.Dst)
	}
	if got.SrcPort != want.SrcPort || got.DstPort != want.DstPort {
		t.Errorf("got ports %d → %d; want %d → %d", got.SrcPort, got.DstPort, want.SrcPort, want.DstPort)
	}
	if got.Proto != want.Proto {
		t.Errorf("got Proto %v; want %v", got.Proto, want.Proto)
	}
	if got.TCP != want.TCP {
		t.Errorf("got TCP %+v; want %+v", got.TCP, want.TCP)
	}
	if !bytes.Equal(got.Payload, want.Payload) {
		t.Errorf("got Payload %q; want %q", got.Payload, want.Payload)
	}
	if got.PayloadLen != want.PayloadLen {
		t.Errorf("got PayloadLen %d; want %d", got.PayloadLen, want.PayloadLen)
	}
	if got.Truncated != want.Truncated {
		t.Errorf("got Truncated %v; want %v", got.Truncated, want.Truncated)
	}
	if got.Fragment != want.Fragment {
		t.Errorf("got Fragment %v; want %v", got.Fragment, want.Fragment)
	}
	if got.VLANs != want.VLANs {
		t.Errorf("got VLANs %d; want %d", got.VLANs, want.VLANs)
	}
}

// checkErr reports err unless it matches want (nil: no error).
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("got error %v; want nil", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("got error %v; want %v", err, want)
	}
}

type decodeCase struct {
	name  string
	link  layers.LinkType
	frame []byte
	// origLen is the wire length; 0 means len(frame).
	origLen int
	want    Packet
	// err is the sentinel the error must match; nil for success.
	err error
}

// decodeCases builds TestDecode's table; FuzzDecode seeds with it too.
func decodeCases(t testing.TB) []decodeCase {
	pl := payload(10)
	var cases []decodeCase
	add := func(name string, link layers.LinkType, frame []byte, want Packet, err error) {
		cases = append(cases, decodeCase{name: name, link: link, frame: frame, want: want, err: err})
	}

	// Link types, each carrying a TCP segment or a UDP datagram.
	ip4 := ipv4(layers.IPProtocolTCP)
	add("ethernet/ipv4/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4, synOptions()...), gopacket.Payload(pl)),
		wantTCP4(synTCP, pl), nil)
	ip4 = ipv4(layers.IPProtocolTCP)
	add("ethernet/802.1q/ipv4/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4},
			ip4, tcpSeg(ip4), gopacket.Payload(pl)),
		with(wantTCP4(baseTCP, pl), func(p *Packet) { p.VLANs = 1 }), nil)
	ip6 := ipv6(layers.IPProtocolTCP)
	add("ethernet/802.1ad/802.1q/ipv6/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 20, Type: layers.EthernetTypeIPv6}, ip6, tcpSeg(ip6), gopacket.Payload(pl)),
		with(wantTCP6(baseTCP, pl), func(p *Packet) { p.VLANs = 2 }), nil)
	ip4 = ipv4(layers.IPProtocolUDP)
	add("ethernet/0x9100/ipv4/udp", layers.LinkTypeEthernet,
		serialize(t, eth(0x9100), &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ip4, udpDgram(ip4), gopacket.Payload(pl)),
		with(wantUDP4(pl), func(p *Packet) { p.VLANs = 1 }), nil)
	ip4 = ipv4(layers.IPProtocolTCP)
	add("linux-sll/ipv4/tcp", layers.LinkTypeLinuxSLL,
		serialize(t, sllHeader(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4, synOptions()...), gopacket.Payload(pl)),
		wantTCP4(synTCP, pl), nil)
	// gopacket rejects an SLL address length over 8; the address field is
	// 8 bytes regardless, and tshark reads such frames (a real capture in
	// shared/pcaps/tcp/gopacket-linux_sll_oversized_addr.pcapng has them).
	ip4 = ipv4(layers.IPProtocolTCP)
	sll := sllHeader(layers.EthernetTypeIPv4)
	binary.BigEndian.PutUint16(sll[4:6], 0xffff)
	add("linux-sll-address-length-0xffff/ipv4/tcp", layers.LinkTypeLinuxSLL,
		serialize(t, sll, ip4, tcpSeg(ip4), gopacket.Payload(pl)), wantTCP4(baseTCP, pl), nil)
	ip6 = ipv6(layers.IPProtocolUDP)
	add("linux-sll2/ipv6/udp", layers.LinkTypeLinuxSLL2,
		serialize(t, sll2Header(layers.EthernetTypeIPv6), ip6, udpDgram(ip6), gopacket.Payload(pl)),
		wantUDP6(pl), nil)
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		o := "le"
		if order == binary.BigEndian {
			o = "be"
		}
		ip4 = ipv4(layers.IPProtocolTCP)
		add("null-"+o+"/af-inet-2/ipv4/tcp", layers.LinkTypeNull,
			serialize(t, nullHeader(2, order), ip4, tcpSeg(ip4), gopacket.Payload(pl)), wantTCP4(baseTCP, pl), nil)
		for _, af := range []uint32{24, 28, 30} { // NetBSD/OpenBSD, FreeBSD, Darwin
			ip6 = ipv6(layers.IPProtocolUDP)
			add(fmt.Sprintf("null-%s/af-inet6-%d/ipv6/udp", o, af), layers.LinkTypeNull,
				serialize(t, nullHeader(af, order), ip6, udpDgram(ip6), gopacket.Payload(pl)), wantUDP6(pl), nil)
		}
		add("null-"+o+"/af-7/unsupported", layers.LinkTypeNull,
			serialize(t, nullHeader(7, order), gopacket.Payload(pl)), Packet{}, ErrUnsupported)
	}
	ip4 = ipv4(layers.IPProtocolTCP)
	add("loop/af-inet-2/ipv4/tcp", layers.LinkTypeLoop,
		serialize(t, nullHeader(2, binary.BigEndian), ip4, tcpSeg(ip4), gopacket.Payload(pl)), wantTCP4(baseTCP, pl), nil)
	ip6 = ipv6(layers.IPProtocolTCP)
	add("loop/af-inet6-24/ipv6/tcp", layers.LinkTypeLoop,
		serialize(t, nullHeader(24, binary.BigEndian), ip6, tcpSeg(ip6), gopacket.Payload(pl)), wantTCP6(baseTCP, pl), nil)
	ip4 = ipv4(layers.IPProtocolTCP)
	add("raw/ipv4/tcp", layers.LinkTypeRaw, serialize(t, ip4, tcpSeg(ip4), gopacket.Payload(pl)), wantTCP4(baseTCP, pl), nil)
	ip6 = ipv6(layers.IPProtocolTCP)
	add("raw/ipv6/tcp", layers.LinkTypeRaw, serialize(t, ip6, tcpSeg(ip6), gopacket.Payload(pl)), wantTCP6(baseTCP, pl), nil)
	ip4 = ipv4(layers.IPProtocolUDP)
	add("raw-dlt-12/ipv4/udp", 12, serialize(t, ip4, udpDgram(ip4), gopacket.Payload(pl)), wantUDP4(pl), nil)
	add("raw/version-5", layers.LinkTypeRaw, []byte{0x50, 0, 0, 0}, Packet{}, decode.ErrMalformed)
	ip4 = ipv4(layers.IPProtocolTCP)
	add("ipv4-linktype/tcp", layers.LinkTypeIPv4, serialize(t, ip4, tcpSeg(ip4), gopacket.Payload(pl)), wantTCP4(baseTCP, pl), nil)
	ip6 = ipv6(layers.IPProtocolUDP)
	add("ipv6-linktype/udp", layers.LinkTypeIPv6, serialize(t, ip6, udpDgram(ip6), gopacket.Payload(pl)), wantUDP6(pl), nil)
	ip4 = ipv4(layers.IPProtocolTCP)
	add("ppp/hdlc-framed/tcp", layers.LinkTypePPP, append([]byte{0xff, 0x03, 0x00, 0x21}, serialize(t, ip4, tcpSeg(ip4), gopacket.Payload(pl))...), wantTCP4(baseTCP, pl), nil)
	ip6 = ipv6(layers.IPProtocolUDP)
	add("ppp/compressed-protocol/udp6", layers.LinkTypePPP, append([]byte{0x57}, serialize(t, ip6, udpDgram(ip6), gopacket.Payload(pl))...), wantUDP6(pl), nil)
	add("ppp/lcp/unsupported", layers.LinkTypePPP, []byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, Packet{}, ErrUnsupported)
	add("ppp/cut-protocol", layers.LinkTypePPP, []byte{0xff, 0x03, 0x00}, Packet{}, decode.ErrTruncated)
	add("ethernet/802.3-llc/unsupported", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetType(3)), gopacket.Payload{0x42, 0x42, 0x03}), Packet{}, ErrUnsupported)

	// IPv4.
	ip4 = ipv4(layers.IPProtocolTCP)
	ip4.Options = []layers.IPv4Option{
		{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}, // router alert (RFC 2113)
		{OptionType: 1}, // NOP
		{OptionType: 0}, // end of list, then alignment
	}
	add("ipv4-options/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4, synOptions()...), gopacket.Payload(pl)),
		wantTCP4(synTCP, pl), nil)
	// A security option of length 2 (RFC 1108 wants 11): options are
	// skipped by the header length, so the segment still decodes. This is
	// frame 8 of shared/pcaps/malformed/sv-tcp-malformed-ipv4.pcap.
	ip4 = ipv4(layers.IPProtocolTCP)
	ip4.Options = []layers.IPv4Option{{OptionType: 130, OptionLength: 2}, {OptionType: 0}}
	add("ipv4-bad-option-length/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4), gopacket.Payload(pl)), wantTCP4(baseTCP, pl), nil)
	ip4 = ipv4(layers.IPProtocolUDP)
	add("ipv4/udp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, udpDgram(ip4), gopacket.Payload(pl)), wantUDP4(pl), nil)
	ip4 = ipv4(layers.IPProtocolUDP)
	add("ipv4/udp-empty", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, udpDgram(ip4)), wantUDP4([]byte{}), nil)
	// First fragment: the TCP header is decoded, PayloadLen counts this
	// fragment only.
	ip4 = ipv4(layers.IPProtocolTCP)
	ip4.Flags = layers.IPv4MoreFragments
	add("ipv4-first-fragment/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4), gopacket.Payload(payload(16))),
		with(wantTCP4(baseTCP, payload(16)), func(p *Packet) { p.Fragment = true }), nil)
	ip4 = ipv4(layers.IPProtocolTCP)
	ip4.Flags, ip4.FragOffset = layers.IPv4MoreFragments, 0
	add("ipv4-first-fragment-header-split", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, gopacket.Payload(payload(8))),
		Packet{Src: addr4A, Dst: addr4B, PayloadLen: 8, Fragment: true}, nil)
	ip4 = ipv4(layers.IPProtocolTCP)
	ip4.Flags, ip4.FragOffset = 0, 3 // the last fragment, at byte 24
	add("ipv4-non-first-fragment", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, gopacket.Payload(payload(24))),
		Packet{Src: addr4A, Dst: addr4B, PayloadLen: 24, Fragment: true}, nil)
	ip4 = ipv4(layers.IPProtocolICMPv4)
	add("ipv4/icmp/unsupported", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload(pl)),
		Packet{}, ErrUnsupported)
	add("arp/unsupported", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: ip4A.To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: ip4B.To4()}),
		Packet{}, ErrUnsupported)
	// Tunnels are not followed: the outer header's protocol is IP.
	inner := ipv4(layers.IPProtocolTCP)
	outer := ipv4(layers.IPProtocolIPv4)
	add("ipv4-in-ipv4/unsupported", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), outer, inner, tcpSeg(inner), gopacket.Payload(pl)), Packet{}, ErrUnsupported)
	// Total length 0: TCP segmentation offload, the capture holds it all.
	ip4 = ipv4(layers.IPProtocolTCP)
	tso := serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4), gopacket.Payload(pl))
	binary.BigEndian.PutUint16(tso[14+2:], 0)
	add("ipv4-tso-length-0/tcp", layers.LinkTypeEthernet, tso, wantTCP4(baseTCP, pl), nil)
	ip4 = ipv4(layers.IPProtocolTCP)
	bad := serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4))
	binary.BigEndian.PutUint16(bad[14+2:], 19)
	add("ipv4-total-length-below-header", layers.LinkTypeEthernet, bad, Packet{}, decode.ErrMalformed)
	bad = slices.Clone(bad)
	bad[14] = 0x44
	add("ipv4-ihl-4", layers.LinkTypeEthernet, bad, Packet{}, decode.ErrMalformed)
	bad = slices.Clone(bad)
	bad[14] = 0x65
	add("ipv4-version-6-in-ipv4-ethertype", layers.LinkTypeEthernet, bad, Packet{}, decode.ErrMalformed)

	// IPv6 extension headers.
	ip6 = ipv6(layers.IPProtocolIPv6HopByHop)
	ip6.HopByHop = hopByHop(layers.IPProtocolIPv6Destination)
	ip6.NextHeader = layers.IPProtocolIPv6HopByHop
	add("ipv6-hop-by-hop-destination/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv6), ip6, destOpts(layers.IPProtocolTCP), tcpSeg(ip6, synOptions()...), gopacket.Payload(pl)),
		wantTCP6(synTCP, pl), nil)
	// gopacket's IPv6 layer consumes the hop-by-hop header but keeps
	// NextHeader 0; netpkt used to walk the next header as a second
	// hop-by-hop header.
	ip6 = ipv6(layers.IPProtocolIPv6HopByHop)
	ip6.HopByHop = hopByHop(layers.IPProtocolUDP)
	add("ipv6-hop-by-hop/udp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv6), ip6, udpDgram(ip6), gopacket.Payload(pl)), wantUDP6(pl), nil)
	ip6 = ipv6(layers.IPProtocolAH)
	add("ipv6-ah/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv6), ip6, authHeader(layers.IPProtocolTCP), tcpSeg(ip6), gopacket.Payload(pl)),
		wantTCP6(baseTCP, pl), nil)
	ip6 = ipv6(layers.IPProtocolIPv6Fragment)
	add("ipv6-first-fragment/tcp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv6), ip6, &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, MoreFragments: true, Identification: 7},
			tcpSeg(ip6), gopacket.Payload(pl)),
		with(wantTCP6(baseTCP, pl), func(p *Packet) { p.Fragment = true }), nil)
	ip6 = ipv6(layers.IPProtocolIPv6Fragment)
	add("ipv6-non-first-fragment", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv6), ip6, &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, FragmentOffset: 185, Identification: 7},
			gopacket.Payload(pl)),
		Packet{Src: addr6A, Dst: addr6B, PayloadLen: len(pl), Fragment: true}, nil)
	ip6 = ipv6(layers.IPProtocolIPv6Fragment)
	add("ipv6-atomic-fragment/udp", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv6), ip6, &layers.IPv6Fragment{NextHeader: layers.IPProtocolUDP, Identification: 7},
			udpDgram(ip6), gopacket.Payload(pl)),
		wantUDP6(pl), nil)
	ip6 = ipv6(layers.IPProtocolICMPv6)
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	if err := icmp6.SetNetworkLayerForChecksum(ip6); err != nil {
		t.Fatal(err)
	}
	add("ipv6/icmpv6/unsupported", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv6), ip6, icmp6, gopacket.Payload(pl)), Packet{}, ErrUnsupported)
	// A jumbogram (RFC 2675): payload length 0, the length in a hop-by-hop
	// option; the capture holds only the start of its 70000 bytes.
	jumbo := []byte{
		0x60, 0, 0, 0, // version, traffic class, flow label
		0, 0, 0, 64, // payload length 0, next header hop-by-hop, hop limit
	}
	jumbo = append(jumbo, ip6A...)
	jumbo = append(jumbo, ip6B...)
	jumbo = append(jumbo,
		17, 0, 0xc2, 4, 0, 1, 0x11, 0x70, // hop-by-hop: next UDP, Jumbo Payload 70000
		0xa8, 0xca, 0x01, 0xbb, 0, 0, 0, 0, // UDP 43210 → 443, length 0 (jumbo), checksum
		'h', 'i')
	add("ipv6-jumbogram/udp", layers.LinkTypeIPv6, jumbo,
		with(wantUDP6([]byte("hi")), func(p *Packet) { p.PayloadLen, p.Truncated = 70000-8-8, true }), nil)
	ip6 = ipv6(layers.IPProtocolIPv6HopByHop)
	ip6.HopByHop = hopByHop(layers.IPProtocolUDP)
	bad = serialize(t, ip6, udpDgram(ip6))
	binary.BigEndian.PutUint16(bad[4:6], 4) // hop-by-hop is 8 bytes
	add("ipv6-extension-past-payload-length", layers.LinkTypeIPv6, bad, Packet{}, decode.ErrMalformed)

	// Transport headers.
	ip4 = ipv4(layers.IPProtocolTCP)
	bad = serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4))
	bad[14+20+12] = 4 << 4
	add("tcp-data-offset-4", layers.LinkTypeEthernet, bad, Packet{}, decode.ErrMalformed)
	bad = slices.Clone(bad)
	bad[14+20+12] = 15 << 4 // 60 bytes in a 20-byte segment, all captured
	add("tcp-data-offset-past-segment", layers.LinkTypeEthernet, bad, Packet{}, decode.ErrMalformed)
	ip4 = ipv4(layers.IPProtocolTCP)
	add("tcp-segment-below-20-bytes", layers.LinkTypeEthernet,
		serialize(t, eth(layers.EthernetTypeIPv4), ip4, gopacket.Payload(payload(12))), Packet{}, decode.ErrMalformed)
	ip4 = ipv4(layers.IPProtocolUDP)
	add("udp-datagram-below-8-bytes", layers.LinkTypeRaw,
		serialize(t, ip4, gopacket.Payload(payload(4))), Packet{}, decode.ErrMalformed)
	ip4 = ipv4(layers.IPProtocolUDP)
	udpShort := serialize(t, ip4, udpDgram(ip4), gopacket.Payload(pl))
	binary.BigEndian.PutUint16(udpShort[20+4:], 8+4) // UDP says 4 bytes of data, IP says 10
	add("udp-length-below-ip-length", layers.LinkTypeRaw, udpShort, wantUDP4(pl[:4]), nil)

	// Link-layer padding and trailers are not payload.
	ip4 = ipv4(layers.IPProtocolTCP)
	padded := serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4), gopacket.Payload("hi"))
	if len(padded) != 60 {
		t.Fatalf("got padded frame of %d bytes; want the 60-byte minimum", len(padded))
	}
	add("ethernet-padding/ipv4/tcp", layers.LinkTypeEthernet, padded, wantTCP4(baseTCP, []byte("hi")), nil)
	ip6 = ipv6(layers.IPProtocolUDP)
	fcs := append(serialize(t, eth(layers.EthernetTypeIPv6), ip6, udpDgram(ip6), gopacket.Payload(pl)), 0xde, 0xad, 0xbe, 0xef)
	add("ethernet-fcs/ipv6/udp", layers.LinkTypeEthernet, fcs, wantUDP6(pl), nil)

	return cases
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			origLen := tc.origLen
			if origLen == 0 {
				origLen = len(tc.frame)
			}
			var got Packet
			err := NewDecoder().Decode(tc.link, tc.frame, origLen, &got)
			checkErr(t, err, tc.err)
			checkInvariants(t, tc.frame, origLen, &got, err)
			if tc.err != nil {
				return
			}
			comparePacket(t, &got, &tc.want)
		})
	}
}

// hopByHop is an 8-byte IPv6 hop-by-hop header holding one experimental
// option (type 0x1e, RFC 4727) with 4 bytes of data.
func hopByHop(next layers.IPProtocol) *layers.IPv6HopByHop {
	h := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 0x1e, OptionData: []byte{1, 2, 3, 4}}}}
	h.NextHeader = next
	return h
}

// destOpts is a 16-byte IPv6 destination options header.
func destOpts(next layers.IPProtocol) *layers.IPv6Destination {
	h := &layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{{OptionType: 0x1e, OptionData: payload(12)}}}
	h.NextHeader = next
	return h
}

// authHeader is a 24-byte IPsec AH header (RFC 4302 section 2) with a
// 12-byte ICV. gopacket cannot serialize AH.
func authHeader(next layers.IPProtocol) gopacket.Payload {
	h := make([]byte, 24)
	h[0] = byte(next)
	h[1] = 24/4 - 2                           // payload length in 4-byte units, minus 2
	binary.BigEndian.PutUint32(h[4:8], 0x100) // SPI
	binary.BigEndian.PutUint32(h[8:12], 1)    // sequence number
	return h
}

// TestDecodeTCPOptions covers each option netpkt reads, alone and
// together, and malformed options: those set BadOptions and never lose the
// segment's ports, sequence numbers or flags.
func TestDecodeTCPOptions(t *testing.T) {
	nop := layers.TCPOption{OptionType: layers.TCPOptionKindNop}
	eol := layers.TCPOption{OptionType: layers.TCPOptionKindEndList}
	mss := layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{0x23, 0x28}}
	ts := layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionData: []byte{0, 0, 1, 0, 0, 0, 2, 0}}
	ws := func(shift byte) layers.TCPOption {
		return layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{shift}}
	}
	sack := func(n int) layers.TCPOption {
		d := make([]byte, 8*n)
		for i := range n {
			binary.BigEndian.PutUint32(d[8*i:], uint32(1000*(i+1)))
			binary.BigEndian.PutUint32(d[8*i+4:], uint32(1000*(i+1)+500))
		}
		return layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionData: d}
	}
	sackBlocks := func(n int) (b [MaxSACKBlocks]SACKBlock) {
		for i := range n {
			b[i] = SACKBlock{uint32(1000 * (i + 1)), uint32(1000*(i+1) + 500)}
		}
		return b
	}
	tcpWith := func(f func(*TCP)) TCP {
		t := baseTCP
		f(&t)
		return t
	}
	// optStart is where options begin in the Ethernet/IPv4 frames below.
	const optStart = 14 + 20 + 20

	for _, tc := range []struct {
		name string
		opts []layers.TCPOption
		// patch changes the serialized options: offset from optStart,
		// then bytes.
		patch []byte
		want  TCP
	}{
		{name: "none", want: baseTCP},
		{name: "mss", opts: []layers.TCPOption{mss}, want: tcpWith(func(t *TCP) { t.MSS = 9000 })},
		{name: "syn", opts: synOptions(), want: synTCP},
		{name: "window-scale-0", opts: []layers.TCPOption{ws(0)}, want: tcpWith(func(t *TCP) { t.WScale = 0 })},
		{name: "window-scale-over-14-is-14", opts: []layers.TCPOption{ws(15)}, want: tcpWith(func(t *TCP) { t.WScale = 14 })},
		{name: "timestamps", opts: []layers.TCPOption{nop, nop, ts}, want: tcpWith(func(t *TCP) {
			t.HasTimestamps, t.TSVal, t.TSEcr = true, 256, 512
		})},
		{name: "sack-1-block", opts: []layers.TCPOption{nop, nop, ts, nop, nop, sack(1)}, want: tcpWith(func(t *TCP) {
			t.HasTimestamps, t.TSVal, t.TSEcr = true, 256, 512
			t.NSACK, t.SACK = 1, sackBlocks(1)
		})},
		{name: "sack-2-blocks", opts: []layers.TCPOption{nop, nop, sack(2)}, want: tcpWith(func(t *TCP) { t.NSACK, t.SACK = 2, sackBlocks(2) })},
		{name: "sack-3-blocks", opts: []layers.TCPOption{nop, nop, ts, nop, nop, sack(3)}, want: tcpWith(func(t *TCP) {
			t.HasTimestamps, t.TSVal, t.TSEcr = true, 256, 512
			t.NSACK, t.SACK = 3, sackBlocks(3)
		})},
		{name: "sack-4-blocks", opts: []layers.TCPOption{nop, nop, sack(4)}, want: tcpWith(func(t *TCP) { t.NSACK, t.SACK = 4, sackBlocks(4) })},
		{name: "eol-ends-the-list", opts: []layers.TCPOption{mss, eol, nop, ws(3)}, want: tcpWith(func(t *TCP) { t.MSS = 9000 })},
		{name: "nops-only", opts: []layers.TCPOption{nop, nop, nop, nop}, want: baseTCP},
		{name: "unknown-kind-skipped", opts: []layers.TCPOption{{OptionType: 30, OptionData: []byte{0x10, 0, 0, 0, 0, 0}}, mss},
			want: tcpWith(func(t *TCP) { t.MSS = 9000 })},

		// Framing errors stop the walk.
		{name: "length-0", opts: []layers.TCPOption{mss, ws(3)}, patch: []byte{1, 0},
			want: tcpWith(func(t *TCP) { t.BadOptions = true })},
		{name: "length-1", opts: []layers.TCPOption{mss, ws(3)}, patch: []byte{1, 1},
			want: tcpWith(func(t *TCP) { t.BadOptions = true })},
		{name: "length-past-header", opts: []layers.TCPOption{ws(3), mss}, patch: []byte{4, 2, 40},
			want: tcpWith(func(t *TCP) { t.WScale, t.BadOptions = 3, true })},
		{name: "kind-in-last-byte", opts: []layers.TCPOption{nop, nop, nop, nop}, patch: []byte{3, 2},
			want: tcpWith(func(t *TCP) { t.BadOptions = true })},
		// Lengths wrong for the kind skip that option only.
		{name: "mss-length-5", opts: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{1, 2, 3}}, ws(3)},
			want: tcpWith(func(t *TCP) { t.WScale, t.BadOptions = 3, true })},
		{name: "sack-empty", opts: []layers.TCPOption{{OptionType: layers.TCPOptionKindSACK}, nop, nop, ts},
			want: tcpWith(func(t *TCP) { t.BadOptions, t.HasTimestamps, t.TSVal, t.TSEcr = true, true, 256, 512 })},
		{name: "sack-12-bytes", opts: []layers.TCPOption{{OptionType: layers.TCPOptionKindSACK, OptionData: payload(12)}},
			want: tcpWith(func(t *TCP) { t.BadOptions = true })},
		{name: "timestamps-length-6", opts: []layers.TCPOption{{OptionType: layers.TCPOptionKindTimestamps, OptionData: payload(4)}},
			want: tcpWith(func(t *TCP) { t.BadOptions = true })},
		{name: "sack-permitted-length-3", opts: []layers.TCPOption{{OptionType: layers.TCPOptionKindSACKPermitted, OptionData: []byte{0}}},
			want: tcpWith(func(t *TCP) { t.BadOptions = true })},
		{name: "window-scale-length-4", opts: []layers.TCPOption{{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{1, 2}}},
			want: tcpWith(func(t *TCP) { t.BadOptions = true })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := ipv4(layers.IPProtocolTCP)
			pl := payload(5)
			frame := serialize(t, eth(layers.EthernetTypeIPv4), ip, tcpSeg(ip, tc.opts...), gopacket.Payload(pl))
			if len(tc.patch) > 0 {
				copy(frame[optStart+int(tc.patch[0]):], tc.patch[1:])
			}
			var got Packet
			err := NewDecoder().Decode(layers.LinkTypeEthernet, frame, len(frame), &got)
			checkErr(t, err, nil)
			checkInvariants(t, frame, len(frame), &got, err)
			comparePacket(t, &got, &Packet{Src: addr4A, Dst: addr4B, SrcPort: srcPort, DstPort: dstPort, Proto: ProtoTCP,
				TCP: tc.want, Payload: pl, PayloadLen: len(pl)})
		})
	}
}

// TestDecodeSnapLen cuts frames where a snap length would: inside the
// payload there is no error, Truncated is set and PayloadLen keeps the
// wire length; inside TCP options the fixed header still decodes; inside a
// fixed header the error wraps decode.ErrTruncated.
func TestDecodeSnapLen(t *testing.T) {
	tcpFrame := ethIPv4TCP(t)  // 14 + 20 + 40 (options) + 100
	udpFrame := sll2IPv6UDP(t) // 20 + 40 + 8 + 100
	full := wantTCP4(synTCP, payload(100))
	fullUDP := wantUDP6(payload(100))
	cut := func(p Packet, payloadBytes int) Packet {
		p.Payload = p.Payload[:payloadBytes]
		p.Truncated = true
		return p
	}
	for _, tc := range []struct {
		name  string
		link  layers.LinkType
		frame []byte
		at    int
		want  Packet
		err   error
	}{
		{"tcp/whole", layers.LinkTypeEthernet, tcpFrame, len(tcpFrame), full, nil},
		{"tcp/in-payload", layers.LinkTypeEthernet, tcpFrame, 74 + 50, cut(full, 50), nil},
		{"tcp/payload-first-byte", layers.LinkTypeEthernet, tcpFrame, 74 + 1, cut(full, 1), nil},
		{"tcp/after-header", layers.LinkTypeEthernet, tcpFrame, 74, with(cut(full, 0), func(p *Packet) { p.Payload = []byte{} }), nil},
		// Options: MSS 54-58, SACK permitted 58-60, timestamps 60-70,
		// NOP 70, window scale 71-74. A cut option is not a bad option.
		{"tcp/in-timestamps-option", layers.LinkTypeEthernet, tcpFrame, 66, with(cut(full, 0), func(p *Packet) {
			p.Payload = nil
			p.TCP.HasTimestamps, p.TCP.TSVal, p.TCP.TSEcr, p.TCP.WScale = false, 0, 0, -1
		}), nil},
		{"tcp/in-window-scale-option", layers.LinkTypeEthernet, tcpFrame, 72, with(cut(full, 0), func(p *Packet) {
			p.Payload, p.TCP.WScale = nil, -1
		}), nil},
		{"tcp/options-not-captured", layers.LinkTypeEthernet, tcpFrame, 54, with(cut(full, 0), func(p *Packet) {
			p.Payload, p.TCP = nil, baseTCP
			p.TCP.Flags = synTCP.Flags
		}), nil},
		{"tcp/in-fixed-header", layers.LinkTypeEthernet, tcpFrame, 53, Packet{}, decode.ErrTruncated},
		{"tcp/in-ipv4-header", layers.LinkTypeEthernet, tcpFrame, 33, Packet{}, decode.ErrTruncated},
		{"tcp/in-ethernet-header", layers.LinkTypeEthernet, tcpFrame, 13, Packet{}, decode.ErrTruncated},
		{"tcp/empty", layers.LinkTypeEthernet, tcpFrame, 0, Packet{}, decode.ErrTruncated},
		{"udp/in-payload", layers.LinkTypeLinuxSLL2, udpFrame, 68 + 99, cut(fullUDP, 99), nil},
		{"udp/in-header", layers.LinkTypeLinuxSLL2, udpFrame, 67, Packet{}, decode.ErrTruncated},
		{"udp/in-ipv6-header", layers.LinkTypeLinuxSLL2, udpFrame, 59, Packet{}, decode.ErrTruncated},
		{"udp/in-sll2-header", layers.LinkTypeLinuxSLL2, udpFrame, 19, Packet{}, decode.ErrTruncated},
	} {
		// The caller may know the wire length (pcap's orig_len) or not;
		// either way the IP length shows the cut.
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/origlen-known=%v", tc.name, known), func(t *testing.T) {
				data := tc.frame[:tc.at]
				origLen := len(data)
				if known {
					origLen = len(tc.frame)
				}
				var got Packet
				err := NewDecoder().Decode(tc.link, data, origLen, &got)
				checkErr(t, err, tc.err)
				checkInvariants(t, data, origLen, &got, err)
				if tc.err == nil {
					comparePacket(t, &got, &tc.want)
				}
			})
		}
	}
}

// TestDecodeIPv6ExtensionCut cuts inside IPv6 extension headers.
func TestDecodeIPv6ExtensionCut(t *testing.T) {
	ip6 := ipv6(layers.IPProtocolIPv6HopByHop)
	ip6.HopByHop = hopByHop(layers.IPProtocolIPv6Destination)
	frame := serialize(t, ip6, destOpts(layers.IPProtocolTCP), tcpSeg(ip6), gopacket.Payload(payload(10)))
	for _, at := range []int{41, 47, 49, 63} { // hop-by-hop 40-48, destination 48-64
		var got Packet
		err := NewDecoder().Decode(layers.LinkTypeRaw, frame[:at], len(frame), &got)
		if !errors.Is(err, decode.ErrTruncated) {
			t.Errorf("cut at %d: got error %v; want %v", at, err, decode.ErrTruncated)
		}
	}
}

// prefixCase is a valid frame and where its transport header starts.
type prefixCase struct {
	name string
	link layers.LinkType
	l4   int
}

// TestDecodeStrictPrefix decodes every strict prefix of valid frames, with
// and without the wire length: each must fail with ErrTruncated or succeed
// with Truncated set, and never claim more than the prefix holds: TCP only
// with its 20 fixed bytes, UDP with its 8, option and payload values equal
// to the whole frame's.
func TestDecodeStrictPrefix(t *testing.T) {
	ip6 := ipv6(layers.IPProtocolIPv6HopByHop)
	ip6.HopByHop = hopByHop(layers.IPProtocolIPv6Destination)
	ip4 := ipv4(layers.IPProtocolTCP)
	ip4.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
	ip4n := ipv4(layers.IPProtocolTCP)
	ip6s := ipv6(layers.IPProtocolTCP)
	frames := []struct {
		prefixCase
		frame []byte
	}{
		{prefixCase{"ethernet/ipv4/tcp-syn-options", layers.LinkTypeEthernet, 34}, ethIPv4TCP(t)},
		{prefixCase{"sll2/ipv6/udp", layers.LinkTypeLinuxSLL2, 60}, sll2IPv6UDP(t)},
		{prefixCase{"qinq/ipv6-ext/tcp-sack", layers.LinkTypeEthernet, 22 + 40 + 8 + 16},
			serialize(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{Type: layers.EthernetTypeDot1Q}, &layers.Dot1Q{Type: layers.EthernetTypeIPv6},
				ip6, destOpts(layers.IPProtocolTCP), tcpSeg(ip6, layers.TCPOption{OptionType: layers.TCPOptionKindNop},
					layers.TCPOption{OptionType: layers.TCPOptionKindNop},
					layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionData: payload(24)}), gopacket.Payload(payload(30)))},
		{prefixCase{"null/ipv4-options/tcp", layers.LinkTypeNull, 4 + 24},
			serialize(t, nullHeader(2, binary.LittleEndian), ip4, tcpSeg(ip4, synOptions()...), gopacket.Payload(payload(20)))},
		{prefixCase{"sll/ipv4/tcp-no-options", layers.LinkTypeLinuxSLL, 16 + 20},
			serialize(t, sllHeader(layers.EthernetTypeIPv4), ip4n, tcpSeg(ip4n), gopacket.Payload(payload(20)))},
		{prefixCase{"raw/ipv6/tcp-syn-options", layers.LinkTypeRaw, 40},
			serialize(t, ip6s, tcpSeg(ip6s, synOptions()...), gopacket.Payload(payload(20)))},
	}
	d := NewDecoder()
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			var whole Packet
			if err := d.Decode(f.link, f.frame, len(f.frame), &whole); err != nil || whole.Proto == ProtoNone {
				t.Fatalf("whole frame: got %v, Proto %v; want a decoded segment", err, whole.Proto)
			}
			for i := range len(f.frame) {
				for _, origLen := range []int{len(f.frame), i} {
					var got Packet
					err := d.Decode(f.link, f.frame[:i], origLen, &got)
					checkPrefix(t, f.prefixCase, f.frame[:i], origLen, &whole, &got, err)
				}
			}
		})
	}
}

func checkPrefix(t *testing.T, c prefixCase, data []byte, origLen int, whole, got *Packet, err error) {
	t.Helper()
	i := len(data)
	checkInvariants(t, data, origLen, got, err)
	if err != nil {
		if !errors.Is(err, decode.ErrTruncated) {
			t.Errorf("cut at %d: got error %v; want one wrapping %v", i, err, decode.ErrTruncated)
		}
		return
	}
	if !got.Truncated {
		t.Errorf("cut at %d (origLen %d): got no error and Truncated false", i, origLen)
	}
	switch got.Proto {
	case ProtoNone:
		t.Errorf("cut at %d: got no error and no transport", i)
		return
	case ProtoTCP:
		if i < c.l4+20 {
			t.Errorf("cut at %d: got ProtoTCP with %d of the 20 fixed header bytes", i, i-c.l4)
		}
	case ProtoUDP:
		if i < c.l4+8 {
			t.Errorf("cut at %d: got ProtoUDP with %d of the 8 header bytes", i, i-c.l4)
		}
	}
	if got.Proto != whole.Proto || got.SrcPort != whole.SrcPort || got.DstPort != whole.DstPort ||
		got.Src != whole.Src || got.Dst != whole.Dst || got.PayloadLen != whole.PayloadLen {
		t.Errorf("cut at %d: got %v %v:%d → %v:%d len %d; want %v %v:%d → %v:%d len %d", i,
			got.Proto, got.Src, got.SrcPort, got.Dst, got.DstPort, got.PayloadLen,
			whole.Proto, whole.Src, whole.SrcPort, whole.Dst, whole.DstPort, whole.PayloadLen)
	}
	g, w := got.TCP, whole.TCP
	if g.Seq != w.Seq || g.Ack != w.Ack || g.Flags != w.Flags || g.Window != w.Window || g.Urgent != w.Urgent {
		t.Errorf("cut at %d: got TCP %+v; want fixed fields of %+v", i, g, w)
	}
	if g.BadOptions ||
		(g.MSS != 0 && g.MSS != w.MSS) ||
		(g.WScale != -1 && g.WScale != w.WScale) ||
		(g.SACKPermitted && !w.SACKPermitted) ||
		(g.HasTimestamps && (g.TSVal != w.TSVal || g.TSEcr != w.TSEcr)) ||
		g.NSACK > w.NSACK || !slices.Equal(g.SACK[:g.NSACK], w.SACK[:g.NSACK]) {
		t.Errorf("cut at %d: got options %+v; want a subset of %+v", i, g, w)
	}
	if !bytes.HasPrefix(whole.Payload, got.Payload) {
		t.Errorf("cut at %d: got payload %q; want a prefix of %q", i, got.Payload, whole.Payload)
	}
}

// TestDecodeAllocs asserts that Decode allocates nothing on valid frames,
// including the paths where gopacket's layers allocated (IPv4 options, the
// IPv6 hop-by-hop header), truncated frames and ErrUnsupported. Only
// malformed frames allocate: one *decode.Error, to keep the offset.
func TestDecodeAllocs(t *testing.T) {
	ip4 := ipv4(layers.IPProtocolTCP)
	ip4.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
	ip6 := ipv6(layers.IPProtocolIPv6HopByHop)
	ip6.HopByHop = hopByHop(layers.IPProtocolIPv6Destination)
	ip4f := ipv4(layers.IPProtocolTCP)
	ip4f.FragOffset = 100
	tcpFrame := ethIPv4TCP(t)
	for _, tc := range []struct {
		name  string
		link  layers.LinkType
		frame []byte
		err   error
	}{
		{"ethernet/ipv4/tcp-options", layers.LinkTypeEthernet, tcpFrame, nil},
		{"sll2/ipv6/udp", layers.LinkTypeLinuxSLL2, sll2IPv6UDP(t), nil},
		{"ethernet/ipv4-options/tcp", layers.LinkTypeEthernet,
			serialize(t, eth(layers.EthernetTypeIPv4), ip4, tcpSeg(ip4, synOptions()...), gopacket.Payload(payload(10))), nil},
		{"ethernet/ipv6-hop-by-hop-destination/tcp", layers.LinkTypeEthernet,
			serialize(t, eth(layers.EthernetTypeIPv6), ip6, destOpts(layers.IPProtocolTCP), tcpSeg(ip6, synOptions()...), gopacket.Payload(payload(10))), nil},
		{"ethernet/ipv4-fragment", layers.LinkTypeEthernet,
			serialize(t, eth(layers.EthernetTypeIPv4), ip4f, gopacket.Payload(payload(10))), nil},
		{"ethernet/ipv4/tcp-cut-in-options", layers.LinkTypeEthernet, tcpFrame[:60], nil},
		{"arp/unsupported", layers.LinkTypeEthernet,
			serialize(t, eth(layers.EthernetTypeARP), gopacket.Payload(payload(28))), ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder()
			var p Packet
			var err error
			allocs := testing.AllocsPerRun(100, func() {
				err = d.Decode(tc.link, tc.frame, len(tc.frame)+1, &p)
			})
			checkErr(t, err, tc.err)
			if allocs != 0 {
				t.Errorf("got %v allocs per Decode; want 0", allocs)
			}
		})
	}
}

func TestProtoString(t *testing.T) {
	for _, tc := range []struct {
		p    Proto
		want string
	}{{ProtoNone, "none"}, {ProtoTCP, "tcp"}, {ProtoUDP, "udp"}, {Proto(132), "Proto(132)"}} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got Proto(%d).String() %q; want %q", uint8(tc.p), got, tc.want)
		}
	}
}

func TestTCPHas(t *testing.T) {
	tcp := TCP{Flags: FlagSYN | FlagACK}
	if !tcp.Has(FlagSYN|FlagACK) || !tcp.Has(FlagSYN) || tcp.Has(FlagSYN|FlagFIN) {
		t.Errorf("got Has wrong for flags %#x", tcp.Flags)
	}
}

// TestDecodeResets decodes into a Packet left full by an earlier call.
func TestDecodeResets(t *testing.T) {
	d := NewDecoder()
	var p, fresh Packet
	frame := sll2IPv6UDP(t)
	if err := d.Decode(layers.LinkTypeEthernet, ethIPv4TCP(t), 1<<16, &p); err != nil {
		t.Fatal(err)
	}
	err1 := d.Decode(layers.LinkTypeLinuxSLL2, frame, len(frame), &p)
	err2 := d.Decode(layers.LinkTypeLinuxSLL2, frame, len(frame), &fresh)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(p, fresh) {
		t.Errorf("got %+v, %v after reuse; want %+v, %v", p, err1, fresh, err2)
	}
}

// checkInvariants reports violations of Decode's contract that hold for
// any input; the fuzz target and the capture test use it too.
func checkInvariants(tb testing.TB, data []byte, origLen int, p *Packet, err error) {
	tb.Helper()
	if p.PayloadLen < 0 {
		tb.Errorf("got PayloadLen %d; want >= 0", p.PayloadLen)
	}
	if len(p.Payload) > p.PayloadLen {
		tb.Errorf("got %d payload bytes; want at most PayloadLen %d", len(p.Payload), p.PayloadLen)
	}
	if !within(data, p.Payload) {
		tb.Errorf("got Payload outside the input")
	}
	if p.TCP.NSACK > MaxSACKBlocks {
		tb.Errorf("got NSACK %d; want at most %d", p.TCP.NSACK, MaxSACKBlocks)
	}
	if origLen > len(data) && !p.Truncated {
		tb.Errorf("got Truncated false for %d of %d bytes", len(data), origLen)
	}
	switch p.Proto {
	case ProtoNone, ProtoTCP, ProtoUDP:
	default:
		tb.Errorf("got Proto %v", p.Proto)
	}
	if err != nil {
		if p.Proto != ProtoNone {
			tb.Errorf("got Proto %v with error %v; want ProtoNone", p.Proto, err)
		}
		if !errors.Is(err, ErrUnsupported) && !errors.Is(err, decode.ErrTruncated) && !errors.Is(err, decode.ErrMalformed) {
			tb.Errorf("got error %v; want ErrUnsupported, ErrTruncated or ErrMalformed", err)
		}
		var de *decode.Error
		if errors.As(err, &de) && (de.Offset < 0 || de.Offset > len(data)) {
			tb.Errorf("got error offset %d outside the %d-byte input", de.Offset, len(data))
		}
	}
	if err == nil && p.Proto != ProtoNone {
		if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.BitLen() != p.Dst.BitLen() {
			tb.Errorf("got addresses %v → %v", p.Src, p.Dst)
		}
		if !p.Truncated && len(p.Payload) != p.PayloadLen {
			tb.Errorf("got %d payload bytes of %d with Truncated false", len(p.Payload), p.PayloadLen)
		}
	}
	// Every result must print.
	fmt.Fprintf(io.Discard, "%v %+v %v", p.Proto, *p, err)
}

// within reports whether inner lies inside outer's memory.
func within(outer, inner []byte) bool {
	if len(inner) == 0 {
		return true
	}
	o := uintptr(unsafe.Pointer(unsafe.SliceData(outer)))
	i := uintptr(unsafe.Pointer(unsafe.SliceData(inner)))
	return i >= o && i+uintptr(len(inner)) <= o+uintptr(len(outer))
}

var (
	liveTshark = flag.Bool("tshark", false, "TestDecodeCaptures: run tshark and check "+tsharkGolden+" against it")
	update     = flag.Bool("update", false, "with -tshark, rewrite "+tsharkGolden)
)

// captureFiles lists the pcap and pcapng files under dir, sorted.
func captureFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("no shared captures: %v", err)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no captures under %s", dir)
	}
	return files
}

// capturedFrame is one record of a capture file.
type capturedFrame struct {
	link    layers.LinkType
	data    []byte
	origLen int
}

// readCapture returns the frames of a pcap or pcapng file, and the error
// that stopped the reader early, if any.
func readCapture(tb testing.TB, path string) ([]capturedFrame, error) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var frames []capturedFrame
	if bytes.HasPrefix(raw, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				return frames, nil
			}
			if err != nil {
				return frames, err
			}
			ifc, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				return frames, err
			}
			frames = append(frames, capturedFrame{ifc.LinkType, data, ci.Length})
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		frames = append(frames, capturedFrame{r.LinkType(), data, ci.Length})
	}
}

// knownDisagreement explains where netpkt and tshark 4.0.17 disagree on
// which frames are TCP or UDP. Frame numbers are 1-based, as in tshark.
type knownDisagreement struct {
	onlyNetpkt, onlyTshark []int // TCP or UDP frames one side claims
	why                    string
}

// knownDisagreements is keyed by the path under shared/pcaps. Every other
// file must agree frame by frame. tshark runs with IP reassembly off, so
// that a first fragment is dissected where it is (as netpkt does), and the
// comparison ignores TCP/UDP headers quoted inside ICMP errors, which
// tshark counts as tcp/udp and netpkt reports as ErrUnsupported.
var knownDisagreements = map[string]knownDisagreement{
	"malformed/sv-tcp-malformed-ipv4.pcap": {onlyNetpkt: []int{8}, why: "an IPv4 security option of length 2 " +
		"(RFC 1108 wants at least 3): tshark's option dissector throws and never reaches TCP; netpkt skips options " +
		"by the header length and decodes the well-formed segment behind them"},
	"malformed/tcpdump-tcp_header_heapoverflow.pcap": {onlyTshark: []int{1}, why: "only 12 bytes of the TCP header " +
		"were captured: tshark shows a partial tcp layer; netpkt claims TCP only with its 20 fixed bytes " +
		"(ErrTruncated)"},
	"tcp/gopacket-linux_sll_oversized_addr.pcapng": {onlyTshark: []int{95}, why: "a TCP data offset of 0 (the file " +
		"is gopacket's fuzz regression): tshark shows a tcp layer with a bogus header length; netpkt returns " +
		"ErrMalformed"},
}

// tsharkGolden records, for each shared capture, the frames tshark
// dissects as TCP and as UDP. tshark takes seconds to start, minutes for
// the whole corpus, so the test compares with this record; -tshark reruns
// tshark and checks the record (CI runs it), -tshark -update rewrites it.
const tsharkGolden = "testdata/tshark.golden"

// TestDecodeCaptures decodes every frame of the shared captures: no
// panic, the contract's invariants, and the same frames as TCP and UDP as
// tshark, apart from knownDisagreements.
func TestDecodeCaptures(t *testing.T) {
	files := captureFiles(t, sharedPcaps)
	type result struct {
		rel      string
		path     string
		n        int
		tcp, udp []int // netpkt
	}
	var results []result
	var totalTCP, totalUDP int
	d := NewDecoder()
	for _, path := range files {
		rel, _ := filepath.Rel(sharedPcaps, path)
		frames, readErr := readCapture(t, path)
		if readErr != nil {
			// sv-tls-DER-incomplete-header.pcap ends in a record longer
			// than the snap length; tshark stops there too.
			t.Logf("%s: reader stopped after %d frames: %v", rel, len(frames), readErr)
		}
		r := result{rel: filepath.ToSlash(rel), path: path, n: len(frames)}
		for i, f := range frames {
			var p Packet
			err := d.Decode(f.link, f.data, f.origLen, &p)
			checkInvariants(t, f.data, f.origLen, &p, err)
			switch p.Proto {
			case ProtoTCP:
				r.tcp = append(r.tcp, i+1)
			case ProtoUDP:
				r.udp = append(r.udp, i+1)
			}
		}
		totalTCP += len(r.tcp)
		totalUDP += len(r.udp)
		results = append(results, r)
	}
	t.Logf("%d files: %d TCP and %d UDP frames", len(files), totalTCP, totalUDP)

	golden := readTsharkGolden(t)
	if *liveTshark {
		if _, err := exec.LookPath("tshark"); err != nil {
			t.Fatalf("-tshark: %v", err)
		}
		fresh := make(map[string]tsharkRecord)
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for _, r := range results {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				tcp, udp := tsharkFrames(t, r.path, r.n)
				mu.Lock()
				fresh[r.rel] = tsharkRecord{tcp, udp}
				mu.Unlock()
			})
		}
		wg.Wait()
		if *update {
			writeTsharkGolden(t, fresh)
			golden = fresh
		} else {
			for rel, rec := range fresh {
				if g, ok := golden[rel]; !ok || !slices.Equal(g.tcp, rec.tcp) || !slices.Equal(g.udp, rec.udp) {
					t.Errorf("%s: tshark now says tcp %s, udp %s; %s says tcp %s, udp %s (rerun with -update)",
						rel, ranges(rec.tcp), ranges(rec.udp), tsharkGolden, ranges(g.tcp), ranges(g.udp))
				}
			}
		}
	}
	for _, r := range results {
		t.Run(r.rel, func(t *testing.T) {
			want, ok := golden[r.rel]
			if !ok {
				t.Fatalf("no record in %s; run go test -run TestDecodeCaptures -tshark -update", tsharkGolden)
			}
			var got knownDisagreement
			got.onlyNetpkt = append(minus(r.tcp, want.tcp), minus(r.udp, want.udp)...)
			got.onlyTshark = append(minus(want.tcp, r.tcp), minus(want.udp, r.udp)...)
			known := knownDisagreements[r.rel]
			if !slices.Equal(got.onlyNetpkt, known.onlyNetpkt) || !slices.Equal(got.onlyTshark, known.onlyTshark) {
				t.Errorf("got TCP/UDP frames only netpkt claims %v, only tshark claims %v; want %v and %v %s",
					got.onlyNetpkt, got.onlyTshark, known.onlyNetpkt, known.onlyTshark, known.why)
			}
		})
	}
}

// tsharkRecord is one capture's line in tsharkGolden.
type tsharkRecord struct{ tcp, udp []int }

// readTsharkGolden parses lines "path<TAB>tcp RANGES<TAB>udp RANGES",
// where RANGES is like "1-5,8" or "-" for none; # starts a comment.
func readTsharkGolden(t *testing.T) map[string]tsharkRecord {
	t.Helper()
	b, err := os.ReadFile(tsharkGolden)
	if errors.Is(err, fs.ErrNotExist) && *liveTshark && *update {
		return nil
	}
	if err != nil {
		t.Fatalf("%v (run go test -run TestDecodeCaptures -tshark -update)", err)
	}
	m := make(map[string]tsharkRecord)
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || !strings.HasPrefix(f[1], "tcp ") || !strings.HasPrefix(f[2], "udp ") {
			t.Fatalf("%s:%d: got %q; want path, tcp and udp fields", tsharkGolden, i+1, line)
		}
		tcp, err1 := parseRanges(strings.TrimPrefix(f[1], "tcp "))
		udp, err2 := parseRanges(strings.TrimPrefix(f[2], "udp "))
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%s:%d: %v", tsharkGolden, i+1, err)
		}
		m[f[0]] = tsharkRecord{tcp, udp}
	}
	return m
}

func writeTsharkGolden(t *testing.T, m map[string]tsharkRecord) {
	t.Helper()
	version, err := exec.Command("tshark", "-v").Output()
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(version), "\n")
	var b strings.Builder
	fmt.Fprintf(&b, "# Frames of %s that tshark dissects as TCP and as UDP, outside ICMP errors,\n", sharedPcaps)
	fmt.Fprintf(&b, "# with IP reassembly off. Written by go test -run TestDecodeCaptures -tshark -update.\n")
	fmt.Fprintf(&b, "# %s\n", first)
	for _, rel := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s\ttcp %s\tudp %s\n", rel, ranges(m[rel].tcp), ranges(m[rel].udp))
	}
	if err := os.MkdirAll(filepath.Dir(tsharkGolden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tsharkGolden, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ranges formats sorted frame numbers as "1-5,8", or "-" for none.
func ranges(s []int) string {
	if len(s) == 0 {
		return "-"
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(s[j]))
		}
		i = j + 1
	}
	return b.String()
}

func parseRanges(s string) ([]int, error) {
	if s == "-" {
		return nil, nil
	}
	var r []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isSpan := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isSpan {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, err
			}
		}
		for i := a; i <= b; i++ {
			r = append(r, i)
		}
	}
	return r, nil
}

// tsharkFrames returns the numbers of the frames tshark dissects as TCP
// and as UDP, outside ICMP errors, among the first n: in one run, what
// `tshark -Y "tcp and not icmp and not icmpv6"` and the same for udp give.
func tsharkFrames(t *testing.T, path string, n int) (tcp, udp []int) {
	cmd := exec.Command("tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
		"-T", "fields", "-e", "frame.number", "-e", "frame.protocols")
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		t.Errorf("tshark %s: %v", path, err) // a damaged file still gives its frames, with exit status 2
		return nil, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		num, protos, _ := strings.Cut(sc.Text(), "\t")
		frame, err := strconv.Atoi(num)
		if err != nil {
			t.Errorf("tshark %s: output %q: %v", path, sc.Text(), err)
			return nil, nil
		}
		if frame > n {
			break
		}
		ps := strings.Split(protos, ":")
		if slices.Contains(ps, "icmp") || slices.Contains(ps, "icmpv6") {
			continue
		}
		if slices.Contains(ps, "tcp") {
			tcp = append(tcp, frame)
		}
		if slices.Contains(ps, "udp") {
			udp = append(udp, frame)
		}
	}
	return tcp, udp
}

// minus returns the elements of a not in b.
func minus(a, b []int) []int {
	var r []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			r = append(r, x)
		}
	}
	return r
}

// Frame builders shared by the table tests, the fuzz seeds and the
// benchmarks. Frames are serialized by gopacket with FixLengths and
// ComputeChecksums; link headers gopacket cannot serialize (Linux SLL and
// SLL2, big-endian BSD null) are prepended as gopacket.Payload.

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
	ip4A = net.IP{192, 0, 2, 10}
	ip4B = net.IP{198, 51, 100, 5}
	ip6A = net.ParseIP("2001:db8::a")
	ip6B = net.ParseIP("2001:db8::b")
)

// Well-known test values of the segments built below.
const (
	srcPort = 43210
	dstPort = 443
	seq     = 0x01020304
	ack     = 0x0a0b0c0d
)

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ipv4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Id: 1, Flags: layers.IPv4DontFragment, Protocol: proto, SrcIP: ip4A, DstIP: ip4B}
}

func ipv6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: ip6A, DstIP: ip6B}
}

// tcpSeg is a PSH|ACK segment with the given options.
func tcpSeg(nl gopacket.NetworkLayer, opts ...layers.TCPOption) *layers.TCP {
	t := &layers.TCP{SrcPort: srcPort, DstPort: dstPort, Seq: seq, Ack: ack, PSH: true, ACK: true, Window: 502, Options: opts}
	if err := t.SetNetworkLayerForChecksum(nl); err != nil {
		panic(err)
	}
	return t
}

func udpDgram(nl gopacket.NetworkLayer) *layers.UDP {
	u := &layers.UDP{SrcPort: srcPort, DstPort: dstPort}
	if err := u.SetNetworkLayerForChecksum(nl); err != nil {
		panic(err)
	}
	return u
}

// synOptions are the options of a typical Linux SYN: MSS, SACK permitted,
// timestamps, NOP, window scale.
func synOptions() []layers.TCPOption {
	return []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindSACKPermitted},
		{OptionType: layers.TCPOptionKindTimestamps, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{7}},
	}
}

// sllHeader is a Linux cooked capture v1 header (16 bytes) for a packet
// sent to us from a 6-byte Ethernet address.
func sllHeader(proto layers.EthernetType) gopacket.Payload {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:2], 0) // packet type: to us
	binary.BigEndian.PutUint16(h[2:4], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:6], 6) // address length
	copy(h[6:14], macA)
	binary.BigEndian.PutUint16(h[14:16], uint16(proto))
	return h
}

// sll2Header is a Linux cooked capture v2 header (20 bytes).
func sll2Header(proto layers.EthernetType) gopacket.Payload {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:2], uint16(proto))
	binary.BigEndian.PutUint32(h[4:8], 2)  // interface index
	binary.BigEndian.PutUint16(h[8:10], 1) // ARPHRD_ETHER
	h[10] = 4                              // packet type: outgoing
	h[11] = 6                              // address length
	copy(h[12:20], macA)
	return h
}

// nullHeader is a BSD loopback header holding an address family in the
// given byte order.
func nullHeader(family uint32, order binary.ByteOrder) gopacket.Payload {
	h := make([]byte, 4)
	order.PutUint32(h, family)
	return h
}

// ethIPv4TCP is the benchmark's and many tests' base frame: Ethernet,
// IPv4, TCP with the SYN options and a 100-byte payload.
func ethIPv4TCP(tb testing.TB) []byte {
	ip := ipv4(layers.IPProtocolTCP)
	return serialize(tb, eth(layers.EthernetTypeIPv4), ip, tcpSeg(ip, synOptions()...), gopacket.Payload(payload(100)))
}

// sll2IPv6UDP is SLL2, IPv6, UDP with a 100-byte payload.
func sll2IPv6UDP(tb testing.TB) []byte {
	ip := ipv6(layers.IPProtocolUDP)
	return serialize(tb, sll2Header(layers.EthernetTypeIPv6), ip, udpDgram(ip), gopacket.Payload(payload(100)))
}

// payload returns n recognisable bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
