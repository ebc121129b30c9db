package netpkt

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
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
	// BadOptions is set when the options area was malformed; parsing
	// stopped at the first bad option.
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
	// Fragment reports an IP fragment; its transport header is not
	// decoded (Proto is ProtoNone for non-first fragments).
	Fragment bool
	// VLANs counts 802.1Q/802.1ad tags seen.
	VLANs int
}

// Decoder decodes frames. It reuses its layer structs between calls and is
// not safe for concurrent use; use one per goroutine.
type Decoder struct {
	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	loop   layers.Loopback
	ip4    layers.IPv4
	ip6    layers.IPv6
	// parsers holds one parser per first layer (gopacket fixes the first
	// layer at construction); they share the layer structs above.
	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	types   []gopacket.LayerType
}

// NewDecoder returns a Decoder ready for use.
func NewDecoder() *Decoder {
	d := &Decoder{types: make([]gopacket.LayerType, 0, 16), parsers: make(map[gopacket.LayerType]*gopacket.DecodingLayerParser)}
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
		layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, &d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return d
}

// ErrUnsupported reports a frame that is valid but not IPv4/IPv6 carrying
// TCP or UDP (ARP, ICMP, unknown link types); callers usually skip it.
var ErrUnsupported = &decode.Error{Layer: "netpkt", Msg: "not tcp or udp over ip"}

// Decode decodes data, captured with the given link type, into out.
// origLen is the frame's length on the wire (for truncation); pass
// len(data) when unknown.
func (d *Decoder) Decode(link layers.LinkType, data []byte, origLen int, out *Packet) error {
	*out = Packet{}
	if origLen > len(data) {
		out.Truncated = true
	}
	first, ok := firstLayer(link, data)
	if !ok {
		return ErrUnsupported
	}
	d.types = d.types[:0]
	parser := d.parsers[first]
	err := parser.DecodeLayers(data, &d.types)
	if parser.Truncated {
		out.Truncated = true
	}
	var ipPayload []byte
	var ipProto layers.IPProtocol
	var haveIP bool
	for _, t := range d.types {
		switch t {
		case layers.LayerTypeDot1Q:
			out.VLANs++
		case layers.LayerTypeIPv4:
			if haveIP {
				continue // tunnelled IP: keep the outer one
			}
			haveIP = true
			ip := &d.ip4
			out.Src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			out.Dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
			ipPayload = ip.Payload
			ipProto = ip.Protocol
			out.PayloadLen = int(ip.Length) - int(ip.IHL)*4
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				out.Fragment = true
				if ip.FragOffset != 0 {
					return nil
				}
			}
		case layers.LayerTypeIPv6:
			if haveIP {
				continue
			}
			haveIP = true
			ip := &d.ip6
			out.Src, _ = netip.AddrFromSlice(ip.SrcIP.To16())
			out.Dst, _ = netip.AddrFromSlice(ip.DstIP.To16())
			out.PayloadLen = int(ip.Length)
			if ip.Length == 0 && ip.HopByHop != nil {
				out.PayloadLen = len(ip.Payload) // jumbogram
			}
			var frag, ok bool
			ipProto, ipPayload, frag, ok = walkIPv6Ext(ip.NextHeader, ip.Payload, &out.PayloadLen)
			if frag {
				out.Fragment = true
			}
			if !ok {
				return nil
			}
		}
	}
	if !haveIP {
		if err != nil {
			return &decode.Error{Layer: "netpkt", Msg: err.Error(), Err: decode.ErrMalformed}
		}
		return ErrUnsupported
	}
	if len(ipPayload) < out.PayloadLen {
		out.Truncated = true
	}
	switch ipProto {
	case layers.IPProtocolTCP:
		return decodeTCP(ipPayload, out)
	case layers.IPProtocolUDP:
		return decodeUDP(ipPayload, out)
	}
	return ErrUnsupported
}

// firstLayer picks the parser's first layer for a link type.
func firstLayer(link layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12: // 12 is DLT_RAW on some BSDs
		if len(data) == 0 {
			return 0, false
		}
		switch data[0] >> 4 {
		case 4:
			return layers.LayerTypeIPv4, true
		case 6:
			return layers.LayerTypeIPv6, true
		}
	}
	return 0, false
}

// walkIPv6Ext skips IPv6 extension headers (RFC 8200 section 4) until an
// upper-layer header. It reports a fragment header, and ok=false when the
// upper layer cannot be decoded (non-first fragment, truncation, ESP).
// payloadLen is reduced by the extension headers' lengths.
func walkIPv6Ext(next layers.IPProtocol, b []byte, payloadLen *int) (proto layers.IPProtocol, rest []byte, frag, ok bool) {
	for range 16 { // bound the walk: no real packet has more
		switch next {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
			if len(b) < 2 {
				return next, b, frag, false
			}
			n := (int(b[1]) + 1) * 8
			if n > len(b) {
				return next, b, frag, false
			}
			next = layers.IPProtocol(b[0])
			b = b[n:]
			*payloadLen -= n
		case layers.IPProtocolIPv6Fragment:
			if len(b) < 8 {
				return next, b, true, false
			}
			offset := binary.BigEndian.Uint16(b[2:4]) >> 3
			next = layers.IPProtocol(b[0])
			b = b[8:]
			*payloadLen -= 8
			frag = true
			if offset != 0 {
				return next, b, frag, false
			}
		default:
			return next, b, frag, true
		}
	}
	return next, b, frag, false
}

func decodeTCP(b []byte, out *Packet) error {
	if len(b) < 20 {
		out.Truncated = true
		return &decode.Error{Layer: "netpkt", Msg: "tcp header shorter than 20 bytes", Err: decode.ErrTruncated}
	}
	t := &out.TCP
	out.Proto = ProtoTCP
	out.SrcPort = binary.BigEndian.Uint16(b[0:2])
	out.DstPort = binary.BigEndian.Uint16(b[2:4])
	t.Seq = binary.BigEndian.Uint32(b[4:8])
	t.Ack = binary.BigEndian.Uint32(b[8:12])
	word := binary.BigEndian.Uint16(b[12:14])
	t.Flags = word & 0x1ff
	t.Window = binary.BigEndian.Uint16(b[14:16])
	t.Urgent = binary.BigEndian.Uint16(b[18:20])
	t.WScale = -1
	hdr := int(word>>12) * 4
	if hdr < 20 {
		return &decode.Error{Layer: "netpkt", Msg: "tcp data offset below 5 words", Offset: 12, Err: decode.ErrMalformed}
	}
	out.PayloadLen -= hdr
	if out.PayloadLen < 0 {
		out.PayloadLen = 0
	}
	if hdr > len(b) {
		// Header cut by the snap length: keep the fixed part.
		out.Truncated = true
		parseTCPOptions(b[20:], t)
		return nil
	}
	parseTCPOptions(b[20:hdr], t)
	out.Payload = b[hdr:]
	if len(out.Payload) > out.PayloadLen {
		out.Payload = out.Payload[:out.PayloadLen] // link-layer padding
	}
	return nil
}

// parseTCPOptions reads the options it knows (RFC 9293 section 3.2, RFC 7323,
// RFC 2018). A malformed option sets BadOptions and stops the walk.
func parseTCPOptions(b []byte, t *TCP) {
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case 0: // end of option list
			return
		case 1: // no-operation
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			t.BadOptions = true
			return
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			t.BadOptions = true
			return
		}
		v := b[2:n]
		switch kind {
		case 2:
			if len(v) == 2 {
				t.MSS = binary.BigEndian.Uint16(v)
			}
		case 3:
			if len(v) == 1 {
				t.WScale = int8(min(v[0], 14))
			}
		case 4:
			t.SACKPermitted = true
		case 5:
			for len(v) >= 8 && t.NSACK < MaxSACKBlocks {
				t.SACK[t.NSACK] = SACKBlock{binary.BigEndian.Uint32(v[0:4]), binary.BigEndian.Uint32(v[4:8])}
				t.NSACK++
				v = v[8:]
			}
		case 8:
			if len(v) == 8 {
				t.HasTimestamps = true
				t.TSVal = binary.BigEndian.Uint32(v[0:4])
				t.TSEcr = binary.BigEndian.Uint32(v[4:8])
			}
		}
		b = b[n:]
	}
}

func decodeUDP(b []byte, out *Packet) error {
	if len(b) < 8 {
		out.Truncated = true
		return &decode.Error{Layer: "netpkt", Msg: "udp header shorter than 8 bytes", Err: decode.ErrTruncated}
	}
	out.Proto = ProtoUDP
	out.SrcPort = binary.BigEndian.Uint16(b[0:2])
	out.DstPort = binary.BigEndian.Uint16(b[2:4])
	out.PayloadLen -= 8
	if l := int(binary.BigEndian.Uint16(b[4:6])); l >= 8 && l-8 < out.PayloadLen {
		out.PayloadLen = l - 8
	}
	if out.PayloadLen < 0 {
		out.PayloadLen = 0
	}
	out.Payload = b[8:]
	if len(out.Payload) > out.PayloadLen {
		out.Payload = out.Payload[:out.PayloadLen]
	}
	return nil
}
