// Package netpkt decodes the link, network and transport headers of a
// captured frame (L2–L4) into a caller-owned Packet, without allocating.
//
// It sits at the start of decode in the flow capture → decode → timeline →
// render: the timeline hands it each capture.Packet's bytes and link type,
// and routes the result to the TCP or UDP flow it belongs to.
//
// Link types: Ethernet (with any number of 802.1Q/802.1ad tags), Linux
// cooked capture SLL and SLL2, BSD null/loopback (either byte order, every
// BSD's AF_INET6), PPP (RFC 1662 framing optional), raw IPv4/IPv6. Network: IPv4 (options skipped by the
// header length, not validated) and IPv6 (hop-by-hop, routing, destination
// options, fragment and AH extension headers walked; RFC 2675 jumbograms).
// Transport: TCP (options parsed: MSS, window scale, SACK, timestamps) and
// UDP. Tunnels (IP in IP, GRE) are not followed: they are ErrUnsupported,
// with the outer addresses.
//
// Every header is read here, each length bounded against the bytes left
// before it is used, so that Decode never allocates and never panics.
// gopacket's layers are not used: its IPv6 layer allocates per hop-by-hop
// option, its Linux SLL layer rejects the address lengths over 8 that
// real captures hold, and its parser recovers panics that fuzzing must
// see. Only gopacket's LinkType values appear in the API. A malformed TCP
// option stops option parsing without losing the segment's flags.
//
// Contracts: Packet.Payload aliases the input and is valid only as long as
// the input; nothing is retained between calls. Snap-length truncation is not
// an error: Truncated is set and PayloadLen keeps the length on the wire.
// Payload never includes link-layer padding or trailers. Non-first IP
// fragments are reported (Fragment) with Proto ProtoNone; a first fragment
// has its transport header decoded, and PayloadLen counts that fragment only.
// The package performs no I/O and reads no clock.
package netpkt
