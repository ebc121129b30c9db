// Package netpkt decodes the link, network and transport headers of a
// captured frame (L2–L4) into a caller-owned Packet, without allocating.
//
// It sits at the start of decode in the flow capture → decode → timeline →
// render: the timeline hands it each capture.Packet's bytes and link type,
// and routes the result to the TCP or UDP flow it belongs to.
//
// Link types: Ethernet (with any number of 802.1Q/802.1ad tags), Linux
// cooked capture SLL and SLL2, BSD null/loopback, raw IPv4/IPv6. Network:
// IPv4 (options skipped) and IPv6 (extension headers walked). Transport: TCP
// (options parsed: MSS, window scale, SACK, timestamps) and UDP. Link and
// network headers are decoded with gopacket's DecodingLayerParser; the TCP
// and UDP headers are read here directly so that a malformed TCP option
// stops option parsing without losing the segment's flags.
//
// Contracts: Packet.Payload aliases the input and is valid only as long as
// the input; nothing is retained between calls. Snap-length truncation is not
// an error: Truncated is set and PayloadLen keeps the length on the wire.
// Fragments are reported (Fragment) with their payload left unparsed.
// The package performs no I/O and reads no clock.
package netpkt
