package netpkt

import (
	"encoding/binary"
	"math"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiretrace/wiretrace/decode"
)

// Proto is the transport protocol of a decoded packet.
type Proto uint8

// Transport protocols netpkt understands.
const (
	ProtoNone Proto = 0
	ProtoTCP  Proto = 6
	ProtoUDP  Proto = 17
)

// String returns "tcp", "udp", or "Proto(n)".
func (p Proto) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoNone:
		return "none"
	}
	return "Proto(" + string(decode.AppendInt(nil, int64(p))) + ")"
}

// TCP flag bits as they sit in the low 9 bits of the header's offset/flags
// word (RFC 9293 section 3.1, RFC 3168 for ECE/CWR, RFC 3540 for NS).
const (
	FlagFIN uint16 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
	FlagNS
)

// SACKBlock is one selective acknowledgment range (RFC 2018): the receiver
// holds bytes [Left, Right).
type SACKBlock struct{ Left, Right uint32 }

// MaxSACKBlocks is the most SACK blocks a TCP option can carry in 40 bytes.
const MaxSACKBlocks = 4

// TCP is a decoded TCP header (RFC 9293 section 3.1).
type TCP struct {
	Seq, Ack uint32
	Flags    uint16
	// Window is the raw advertised window, before scaling.
	Window uint16
	Urgent uint16
	// MSS is the maximum segment size option, 0 when absent.
	MSS uint16
	// WScale is the window scale shift count (RFC 7323), -1 when absent.
	WScale        int8
	SACKPermitted bool
	// HasTimestamps reports the RFC 7323 timestamps option.
	HasTimestamps bool
	TSVal, TSEcr  uint32
	NSACK         uint8
	SACK          [MaxSACKBlocks]SACKBlock
	// BadOptions is set when an option was malformed. A length that
	// breaks the option framing (below 2, or past the header) stops the
	// walk; a length wrong for the option's kind (say an MSS of 3 bytes,
	// an empty SACK) skips that option and the walk goes on. Options cut
	// by the snap length are not malformed: Packet.Truncated says so.
	BadOptions bool
}

// Has reports whether all of the given flags are set.
func (t *TCP) Has(flags uint16) bool { return t.Flags&flags == flags }

// Packet is the result of decoding one frame. Decode resets it first.
type Packet struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            Proto
	TCP              TCP
	// Payload is the captured transport payload; it aliases the input.
	Payload []byte
	// PayloadLen is the payload length on the wire, from the IP length.
	// It exceeds len(Payload) when the snap length cut the packet.
	PayloadLen int
	// Truncated reports that the capture holds fewer bytes than the wire
	// carried (snap length), anywhere in the packet.
	Truncated bool
	// Fragment reports an IP fragment. Only a first fragment that holds
	// the whole transport header has it decoded; for the others Proto is
	// ProtoNone and Decode returns nil. An IPv6 atomic fragment (offset 0,
	// no more fragments; RFC 6946) is a whole packet and not a Fragment.
	Fragment bool
	// VLANs counts 802.1Q/802.1ad tags seen.
	VLANs int
}

// Decoder decodes frames. Decode keeps no state between calls today; the
// type exists so that limits and options can be added without an API
// change. Treat it as not safe for concurrent use; use one per goroutine.
type Decoder struct{}

// NewDecoder returns a Decoder ready for use.
func NewDecoder() *Decoder { return &Decoder{} }

// ErrUnsupported reports a frame that is valid but not IPv4/IPv6 carrying
// TCP or UDP (ARP, ICMP, tunnels, unknown link types); callers usually skip
// it.
var ErrUnsupported = &decode.Error{Layer: "netpkt", Msg: "not tcp or udp over ip"}

// Link types not named in gopacket's layers.
const (
	// linkTypeRawBSD is DLT_RAW as most BSDs number it in a pcap header.
	linkTypeRawBSD layers.LinkType = 12
	// linkTypeRawOpenBSD is DLT_RAW as OpenBSD numbers it.
	linkTypeRawOpenBSD layers.LinkType = 14
)

// EtherTypes Decode follows.
const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeVLAN = 0x8100 // IEEE 802.1Q customer tag
	etherTypeQinQ = 0x88a8 // IEEE 802.1ad service tag
	etherType9100 = 0x9100 // pre-802.1ad vendor QinQ tag
)

// Address families in a BSD null/loopback header. AF_INET is 2 everywhere;
// AF_INET6 differs by the capturing system.
const (
	afINET          = 2
	afINET6Linux    = 10
	afINET6BSD      = 24 // NetBSD, OpenBSD, BSD/OS
	afINET6FreeBSD  = 28 // FreeBSD, DragonFly BSD
	afINET6Darwin   = 30 // macOS, iOS
	ipProtoHopByHop = 0
	ipProtoTCP      = 6
	ipProtoUDP      = 17
	ipProtoRouting  = 43
	ipProtoFragment = 44
	ipProtoAH       = 51
	ipProtoDestOpts = 60
)

// maxIPv6ExtHeaders bounds the extension header walk; no real packet has
// this many.
const maxIPv6ExtHeaders = 16

// Decode decodes data, captured with the given link type, into out.
// origLen is the frame's length on the wire (for truncation); pass
// len(data) when unknown.
//
// It returns nil for a TCP or UDP packet (Proto says which) and for an IP
// fragment whose transport header is not in it (Fragment set, Proto
// ProtoNone); ErrUnsupported for anything else that is well formed; and a
// *decode.Error wrapping decode.ErrTruncated or decode.ErrMalformed, with
// the offset in data, when the headers cannot be read. With an error,
// Proto is ProtoNone and the other fields but Truncated mean nothing.
func (d *Decoder) Decode(link layers.LinkType, data []byte, origLen int, out *Packet) error {
	*out = Packet{}
	if origLen > len(data) {
		out.Truncated = true
	}
	off, version, err := linkHeader(link, data, out)
	if err != nil {
		return err
	}
	switch version {
	case 4:
		return decodeIPv4(data, off, out)
	case 6:
		return decodeIPv6(data, off, out)
	}
	return errAt(decode.ErrMalformed, "ip version neither 4 nor 6", off)
}

// PPP protocol numbers (RFC 1332, RFC 5072).
const (
	pppIPv4 = 0x0021
	pppIPv6 = 0x0057
)

// linkHeader skips the link-layer header and any VLAN tags. It returns the
// offset of the IP header and the IP version it announces.
func linkHeader(link layers.LinkType, data []byte, out *Packet) (off, version int, err error) {
	var etype uint16
	switch link {
	case layers.LinkTypeEthernet:
		// IEEE 802.3 clause 3.2: destination, source, EtherType (a value
		// below 0x0600 is an 802.3 length: LLC follows, unsupported).
		if len(data) < 14 {
			return 0, 0, errAt(decode.ErrTruncated, "ethernet header shorter than 14 bytes", 0)
		}
		etype, off = be16(data[12:14]), 14
	case layers.LinkTypeLinuxSLL:
		// LINKTYPE_LINUX_SLL (tcpdump.org/linktypes): packet type(2),
		// ARPHRD type(2), address length(2), address(8), protocol(2). The
		// address field is 8 bytes whatever the length says; captures
		// with a length over 8 exist, and tshark reads them.
		if len(data) < 16 {
			return 0, 0, errAt(decode.ErrTruncated, "linux sll header shorter than 16 bytes", 0)
		}
		etype, off = be16(data[14:16]), 16
	case layers.LinkTypeLinuxSLL2:
		// LINKTYPE_LINUX_SLL2: protocol(2), reserved(2), interface
		// index(4), ARPHRD type(2), packet type(1), address length(1),
		// address(8).
		if len(data) < 20 {
			return 0, 0, errAt(decode.ErrTruncated, "linux sll2 header shorter than 20 bytes", 0)
		}
		etype, off = be16(data[0:2]), 20
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// LINKTYPE_NULL holds the address family in the capturing host's
		// byte order, LINKTYPE_LOOP in network order. Families are below
		// 256, so a non-zero first half means little-endian.
		if len(data) < 4 {
			return 0, 0, errAt(decode.ErrTruncated, "null header shorter than 4 bytes", 0)
		}
		af := binary.BigEndian.Uint32(data[0:4])
		if data[0] != 0 || data[1] != 0 {
			af = binary.LittleEndian.Uint32(data[0:4])
		}
		switch af {
		case afINET:
			return 4, 4, nil
		case afINET6Linux, afINET6BSD, afINET6FreeBSD, afINET6Darwin:
			return 4, 6, nil
		}
		return 0, 0, ErrUnsupported
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		// RFC 1662 section 3.1: optional address 0xff and control 0x03,
		// then the RFC 1661 protocol field, one byte when compressed (odd
		// first byte) or two.
		if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
			off = 2
		}
		if len(data) <= off {
			return 0, 0, errAt(decode.ErrTruncated, "ppp header shorter than its protocol field", off)
		}
		proto := uint16(data[off])
		if proto&1 == 0 {
			if len(data) < off+2 {
				return 0, 0, errAt(decode.ErrTruncated, "ppp header shorter than its protocol field", off)
			}
			proto = be16(data[off : off+2])
			off++
		}
		off++
		switch proto {
		case pppIPv4:
			return off, 4, nil
		case pppIPv6:
			return off, 6, nil
		}
		return 0, 0, ErrUnsupported
	case layers.LinkTypeRaw, linkTypeRawBSD, linkTypeRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		// The IP header starts the frame. Like tshark, trust its version
		// nibble over the link type.
		if len(data) < 1 {
			return 0, 0, errAt(decode.ErrTruncated, "empty raw ip frame", 0)
		}
		return 0, int(data[0] >> 4), nil
	default:
		return 0, 0, ErrUnsupported
	}
	// IEEE 802.1Q tag: TCI(2) then the next EtherType; 802.1ad stacks them.
	// Each tag consumes 4 bytes, so the loop ends.
	for etype == etherTypeVLAN || etype == etherTypeQinQ || etype == etherType9100 {
		if len(data)-off < 4 {
			return 0, 0, errAt(decode.ErrTruncated, "vlan tag shorter than 4 bytes", off)
		}
		etype = be16(data[off+2 : off+4])
		off += 4
		out.VLANs++
	}
	switch etype {
	case etherTypeIPv4:
		return off, 4, nil
	case etherTypeIPv6:
		return off, 6, nil
	}
	return 0, 0, ErrUnsupported
}

// decodeIPv4 reads the IPv4 header at data[off:] (RFC 791 section 3.1).
// Options are skipped by the header length, not validated.
func decodeIPv4(data []byte, off int, out *Packet) error {
	b := data[off:]
	if len(b) < 20 {
		return errAt(decode.ErrTruncated, "ipv4 header shorter than 20 bytes", off)
	}
	if b[0]>>4 != 4 {
		return errAt(decode.ErrMalformed, "ipv4 version not 4", off)
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return errAt(decode.ErrMalformed, "ipv4 header length below 20 bytes", off)
	}
	total := int(be16(b[2:4]))
	if total == 0 {
		// TCP segmentation offload: the NIC fills in the length after
		// the capture point, and the capture holds the whole packet.
		total = len(b)
	}
	if total < ihl {
		return errAt(decode.ErrMalformed, "ipv4 total length below header length", off+2)
	}
	if total > len(b) {
		out.Truncated = true
	} else {
		b = b[:total] // drop link-layer padding and trailers
	}
	if len(b) < ihl {
		return errAt(decode.ErrTruncated, "ipv4 options cut by the capture", off+20)
	}
	out.Src = netip.AddrFrom4([4]byte(b[12:16]))
	out.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	out.PayloadLen = total - ihl
	frag := be16(b[6:8])
	if frag&0x3fff != 0 { // more fragments, or a fragment offset
		out.Fragment = true
		if frag&0x1fff != 0 {
			return nil
		}
	}
	return decodeTransport(b[9], data[:off+len(b)], off+ihl, out)
}

// decodeIPv6 reads the IPv6 header at data[off:] (RFC 8200 section 3) and
// walks the extension headers (section 4) to the upper-layer header.
func decodeIPv6(data []byte, off int, out *Packet) error {
	b := data[off:]
	if len(b) < 40 {
		return errAt(decode.ErrTruncated, "ipv6 header shorter than 40 bytes", off)
	}
	if b[0]>>4 != 6 {
		return errAt(decode.ErrMalformed, "ipv6 version not 6", off)
	}
	out.Src = netip.AddrFrom16([16]byte(b[8:24]))
	out.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	plen := int(be16(b[4:6]))
	next := b[6]
	jumbo := plen == 0
	if jumbo {
		// A jumbogram (RFC 2675) if a hop-by-hop Jumbo Payload option
		// follows; otherwise a segmentation-offload packet (Linux BIG
		// TCP) whose capture holds the whole payload.
		plen = len(b) - 40
	}
	setIPv6End(data, off, plen, out)
	end := min(off+40+plen, len(data))
	pos := off + 40
	for range maxIPv6ExtHeaders {
		var n int
		switch next {
		case ipProtoHopByHop, ipProtoRouting, ipProtoDestOpts, ipProtoAH:
			// Next Header(1), Hdr Ext Len(1), ...: the length is in
			// 8-byte units not counting the first; AH's (RFC 4302
			// section 2.2) is in 4-byte units not counting the first two.
			if end-pos < 2 {
				return extErr(out, pos, 2)
			}
			n = (int(data[pos+1]) + 1) * 8
			if next == ipProtoAH {
				n = (int(data[pos+1]) + 2) * 4
			}
			if end-pos < n {
				return extErr(out, pos, n)
			}
			if next == ipProtoHopByHop && jumbo && pos == off+40 {
				if j, ok := jumboLength(data[pos+2 : pos+n]); ok {
					plen = j
					setIPv6End(data, off, plen, out)
					end = min(off+40+plen, len(data))
					if end-pos < n {
						return extErr(out, pos, n)
					}
				}
			}
		case ipProtoFragment:
			// RFC 8200 section 4.5: Next Header(1), Reserved(1),
			// Fragment Offset(13 bits) Res(2 bits) M(1 bit),
			// Identification(4).
			n = 8
			if end-pos < n {
				return extErr(out, pos, n)
			}
			if fo := be16(data[pos+2 : pos+4]); fo&0xfff9 != 0 {
				out.Fragment = true
				if fo>>3 != 0 {
					out.PayloadLen -= n
					return nil
				}
			}
		default:
			return decodeTransport(next, data[:end], pos, out)
		}
		next = data[pos]
		pos += n
		out.PayloadLen -= n
	}
	return errAt(decode.ErrMalformed, "too many ipv6 extension headers", pos)
}

// setIPv6End sets PayloadLen from the IPv6 payload length and Truncated
// when the capture holds less.
func setIPv6End(data []byte, off, plen int, out *Packet) {
	out.PayloadLen = plen
	if off+40+plen > len(data) {
		out.Truncated = true
	}
}

// extErr reports an IPv6 extension header of n bytes at pos that does not
// fit: malformed if the payload length leaves no room for it, truncated if
// only the capture does.
func extErr(out *Packet, pos, n int) error {
	if n > out.PayloadLen {
		return errAt(decode.ErrMalformed, "ipv6 extension header longer than the payload", pos)
	}
	return errAt(decode.ErrTruncated, "ipv6 extension header cut by the capture", pos)
}

// jumboLength finds the Jumbo Payload option (RFC 2675 section 2: type
// 0xC2, length 4) in hop-by-hop options.
func jumboLength(opts []byte) (int, bool) {
	for len(opts) > 0 {
		if opts[0] == 0 { // Pad1
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
			return 0, false
		}
		if opts[0] == 0xc2 && opts[1] == 4 {
			return int(min(binary.BigEndian.Uint32(opts[2:6]), math.MaxInt32)), true
		}
		opts = opts[2+int(opts[1]):]
	}
	return 0, false
}

// decodeTransport decodes the upper-layer header at data[pos:]; data ends
// where the IP packet or the capture does, and out.PayloadLen holds the
// bytes from pos to the IP packet's end on the wire.
func decodeTransport(proto byte, data []byte, pos int, out *Packet) error {
	switch proto {
	case ipProtoTCP:
		return decodeTCP(data, pos, out)
	case ipProtoUDP:
		return decodeUDP(data, pos, out)
	}
	return ErrUnsupported
}

// decodeTCP reads the TCP header (RFC 9293 section 3.1).
func decodeTCP(data []byte, pos int, out *Packet) error {
	b := data[pos:]
	wire := out.PayloadLen
	if wire < 20 {
		if out.Fragment {
			return nil // the header is not all in this fragment
		}
		return errAt(decode.ErrMalformed, "tcp segment shorter than 20 bytes", pos)
	}
	if len(b) < 20 {
		return errAt(decode.ErrTruncated, "tcp header cut by the capture", pos)
	}
	word := be16(b[12:14])
	hdr := int(word>>12) * 4
	if hdr < 20 {
		return errAt(decode.ErrMalformed, "tcp data offset below 5 words", pos+12)
	}
	if hdr > wire {
		if out.Fragment {
			return nil
		}
		return errAt(decode.ErrMalformed, "tcp data offset past the segment", pos+12)
	}
	t := &out.TCP
	out.Proto = ProtoTCP
	out.SrcPort = be16(b[0:2])
	out.DstPort = be16(b[2:4])
	t.Seq = binary.BigEndian.Uint32(b[4:8])
	t.Ack = binary.BigEndian.Uint32(b[8:12])
	t.Flags = word & 0x1ff
	t.Window = be16(b[14:16])
	t.Urgent = be16(b[18:20])
	t.WScale = -1
	out.PayloadLen = wire - hdr
	if hdr > len(b) {
		// Options cut by the snap length: keep what was captured.
		parseTCPOptions(b[20:], hdr-20, t)
		return nil
	}
	parseTCPOptions(b[20:hdr], hdr-20, t)
	out.Payload = b[hdr:min(len(b), hdr+out.PayloadLen)]
	return nil
}

// parseTCPOptions reads the options it knows (RFC 9293 section 3.2, RFC
// 7323, RFC 2018) from b, the captured part of an options area of size
// bytes.
func parseTCPOptions(b []byte, size int, t *TCP) {
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case 0: // end of option list
			return
		case 1: // no-operation
			b = b[1:]
			size--
			continue
		}
		if size < 2 {
			t.BadOptions = true // a kind with no room for its length
			return
		}
		if len(b) < 2 {
			return // cut by the capture
		}
		n := int(b[1])
		if n < 2 || n > size {
			t.BadOptions = true
			return
		}
		if n > len(b) {
			return // cut by the capture
		}
		v := b[2:n]
		switch kind {
		case 2: // maximum segment size
			if len(v) != 2 {
				t.BadOptions = true
				break
			}
			t.MSS = be16(v)
		case 3: // window scale; a shift over 14 means 14 (RFC 7323 2.3)
			if len(v) != 1 {
				t.BadOptions = true
				break
			}
			t.WScale = int8(min(v[0], 14))
		case 4: // SACK permitted
			if len(v) != 0 {
				t.BadOptions = true
				break
			}
			t.SACKPermitted = true
		case 5: // SACK: 1 to 4 blocks of two 32-bit edges
			if len(v) == 0 || len(v)%8 != 0 {
				t.BadOptions = true
				break
			}
			for len(v) >= 8 && t.NSACK < MaxSACKBlocks {
				t.SACK[t.NSACK] = SACKBlock{binary.BigEndian.Uint32(v[0:4]), binary.BigEndian.Uint32(v[4:8])}
				t.NSACK++
				v = v[8:]
			}
		case 8: // timestamps
			if len(v) != 8 {
				t.BadOptions = true
				break
			}
			t.HasTimestamps = true
			t.TSVal = binary.BigEndian.Uint32(v[0:4])
			t.TSEcr = binary.BigEndian.Uint32(v[4:8])
		}
		b = b[n:]
		size -= n
	}
}

// decodeUDP reads the UDP header (RFC 768).
func decodeUDP(data []byte, pos int, out *Packet) error {
	b := data[pos:]
	wire := out.PayloadLen
	if wire < 8 {
		if out.Fragment {
			return nil // the header is not all in this fragment
		}
		return errAt(decode.ErrMalformed, "udp datagram shorter than 8 bytes", pos)
	}
	if len(b) < 8 {
		return errAt(decode.ErrTruncated, "udp header cut by the capture", pos)
	}
	out.Proto = ProtoUDP
	out.SrcPort = be16(b[0:2])
	out.DstPort = be16(b[2:4])
	out.PayloadLen = wire - 8
	// The UDP length covers header and data. Believe it when it is shorter
	// than what IP says; 0 (a jumbogram, RFC 2675 section 4) and other
	// values below 8 are ignored.
	if l := int(be16(b[4:6])); l >= 8 && l-8 < out.PayloadLen {
		out.PayloadLen = l - 8
	}
	out.Payload = b[8:min(len(b), 8+out.PayloadLen)]
	return nil
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

// errAt returns a netpkt error at offset off in the frame.
func errAt(sentinel error, msg string, off int) error {
	return &decode.Error{Layer: "netpkt", Msg: msg, Offset: off, Err: sentinel}
}
