package netpkt

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

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
	binary.BigEndian.PutUint32(h[4:8], 2) // interface index
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
