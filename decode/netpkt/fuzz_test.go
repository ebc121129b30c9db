package netpkt

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fuzzLinks are the link types FuzzDecode's selector picks from: every
// one Decode supports, plus PPP for the unsupported path.
var fuzzLinks = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw, linkTypeRawBSD,
	linkTypeRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypePPP,
}

// fuzzSel encodes FuzzDecode's selector: the low byte picks the link type,
// the high byte is how many bytes the wire had beyond the input (a snap
// length cut).
func fuzzSel(link layers.LinkType, extra int) uint16 {
	i := len(fuzzLinks) - 1
	for j, l := range fuzzLinks {
		if l == link {
			i = j
		}
	}
	return uint16(min(max(extra, 0), 255))<<8 | uint16(i)
}

// FuzzDecode checks Decode's contract on arbitrary frames: no panic; the
// invariants of checkInvariants (payload inside the input and no longer
// than PayloadLen, complete when not Truncated; an error leaves Proto
// ProtoNone and wraps a known sentinel; the result prints); and the same
// result when decoding into a Packet left full by an earlier call.
func FuzzDecode(f *testing.F) {
	// Every TestDecode case; its name says the edge it hits: each link
	// type and AF_INET6 value, VLAN stacks, IPv4 options good and bad,
	// IPv6 extension headers, AH, fragments of both kinds, jumbograms,
	// padding and trailers, and malformed lengths at each layer.
	for _, tc := range decodeCases(f) {
		f.Add(fuzzSel(tc.link, tc.origLen-len(tc.frame)), tc.frame)
	}
	// TCP options at their limits: four SACK blocks fill the 40 bytes.
	ip := ipv4(layers.IPProtocolTCP)
	f.Add(fuzzSel(layers.LinkTypeEthernet, 0), serialize(f, eth(layers.EthernetTypeIPv4), ip,
		tcpSeg(ip, layers.TCPOption{OptionType: layers.TCPOptionKindNop}, layers.TCPOption{OptionType: layers.TCPOptionKindNop},
			layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionData: payload(32)}), gopacket.Payload(payload(3))))
	// An option length past the header (BadOptions, walk stops).
	bad := ethIPv4TCP(f)
	bad[14+20+20+1] = 60
	f.Add(fuzzSel(layers.LinkTypeEthernet, 0), bad)
	// Snap-length cuts: inside the timestamps option, inside the fixed
	// TCP header, inside the UDP header.
	tcpFrame, udpFrame := ethIPv4TCP(f), sll2IPv6UDP(f)
	f.Add(fuzzSel(layers.LinkTypeEthernet, len(tcpFrame)-66), tcpFrame[:66])
	f.Add(fuzzSel(layers.LinkTypeEthernet, len(tcpFrame)-50), tcpFrame[:50])
	f.Add(fuzzSel(layers.LinkTypeLinuxSLL2, len(udpFrame)-64), udpFrame[:64])

	// Real frames from the shared captures, when present.
	for _, s := range []struct {
		file  string
		frame int // 1-based
		// the edge it hits
	}{
		{"tcp/sv-decode-sll2.pcap", 1},                             // Linux SLL2 from a real kernel
		{"tcp/gopacket-linux_sll_oversized_addr.pcapng", 8},        // SLL address length over 8, in pcapng
		{"tcp/tcpdump-802.1ad_QinQ.pcap", 1},                       // 802.1ad service tag over 802.1Q
		{"tcp/zeek-vlan-qinqinq.pcap", 1},                          // three stacked VLAN tags
		{"tcp/sv-vlan-ipv6-frag-tcp.pcap", 1},                      // VLAN, IPv6 fragment header, TCP
		{"tcp/sv-tcp-empty-sack.pcap", 1},                          // raw IP link type; SACK option of length 2
		{"tcp/tcpdump-tcp_rst_diag_payload.pcap", 1},               // BSD null link; RST carrying text
		{"tcp/tcpdump-tcp-handshake-nano.pcap", 1},                 // Linux SLL; SYN with options
		{"tcp/tcpdump-mptcp-tcprst.pcap", 1},                       // MPTCP option (an unknown kind)
		{"malformed/sv-tcp-malformed-ipv4.pcap", 8},                // IPv4 option with a bad length
		{"malformed/sv-tcp-opt-invalid.pcap", 1},                   // malformed TCP options
		{"malformed/tcpdump-tcp_header_heapoverflow.pcap", 1},      // TCP header cut to 12 bytes
		{"malformed/tcpdump-heapoverflow-tcp_print.pcap", 1},       // fuzzed TCP header
		{"malformed/tcpdump-quic_32_bit_pointer_overflow.pcap", 1}, // IPv6 jumbogram with hop-by-hop
		{"malformed/zeek-truncated-tcp-header.pcap", 1},            // truncated TCP header
		{"quic/zeek-firefox-quic-cloudflare.pcap", 1},              // Ethernet/IPv4/UDP QUIC Initial
	} {
		path := filepath.Join(sharedPcaps, s.file)
		frames, _ := readCaptureIfPresent(f, path)
		if len(frames) < s.frame {
			continue
		}
		fr := frames[s.frame-1]
		f.Add(fuzzSel(fr.link, fr.origLen-len(fr.data)), fr.data)
	}

	d := NewDecoder()
	// dirty is a Packet with every field set, to check that Decode resets.
	var dirty Packet
	if err := d.Decode(layers.LinkTypeEthernet, ethIPv4TCP(f), 1<<16, &dirty); err != nil {
		f.Fatal(err)
	}
	dirty.Fragment, dirty.VLANs, dirty.TCP.BadOptions, dirty.TCP.NSACK = true, 3, true, 2
	f.Fuzz(func(t *testing.T, sel uint16, data []byte) {
		link := fuzzLinks[int(sel&0xff)%len(fuzzLinks)]
		origLen := len(data) + int(sel>>8)
		var p Packet
		err := d.Decode(link, data, origLen, &p)
		checkInvariants(t, data, origLen, &p, err)
		q := dirty
		err2 := d.Decode(link, data, origLen, &q)
		if !reflect.DeepEqual(p, q) || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Errorf("got %+v, %v decoding into a used Packet; want %+v, %v", q, err2, p, err)
		}
	})
}

// readCaptureIfPresent is readCapture for a file that may be absent.
func readCaptureIfPresent(tb testing.TB, path string) ([]capturedFrame, error) {
	if !fileExists(path) {
		return nil, nil
	}
	return readCapture(tb, path)
}
