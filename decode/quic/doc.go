// Package quic decodes the QUIC packets of one UDP flow, passively:
// versions 1 (RFC 9000, RFC 9001) and 2 (RFC 9369), and draft-29 where
// captures still have it.
//
// It sits in decode, in the flow capture → decode → timeline → render:
// the timeline's UDP flows try NewSniffer's Sniff on their first datagram
// (a long header of a known version, or Version Negotiation) and hand
// every datagram of a matching flow, both directions, to a Decoder. It
// never does I/O, reads clocks or prints; time comes from
// decode.Position.
//
// # What it shows
//
// One event of layer quic per packet, coalesced packets split by their
// Length fields (RFC 9000 §12.2): Initial, 0-RTT, Handshake, Retry,
// VersionNegotiation, 1-RTT, and UNKNOWN for a long header of another
// version (parsed to the invariants of RFC 8999). Without any keys,
// Initial packets of both sides are decrypted with keys derived from the
// client's first Destination Connection ID and the version's initial salt
// (RFC 9001 §5.2, RFC 9369 §3.3.1), after a Retry from the Retry's Source
// Connection ID; header protection is removed, packet numbers decoded
// against the largest seen in their space and direction (RFC 9000 §A.3),
// and the frames listed (every RFC 9000 §19 type, DATAGRAM, ACK_FREQUENCY
// and IMMEDIATE_ACK; an unknown type ends the list with an error, its
// length being unknowable). CRYPTO frames are reassembled per packet
// number space and direction, and each TLS handshake message is parsed
// with decode/tlsmsg into an event of layer tls right after the packet
// event that completed it, with the QUIC transport parameters decoded and
// JA4's transport letter "q". Retry integrity tags are checked (RFC 9001
// §5.8, RFC 9369 §3.3.3).
//
// With a key log (Options.Keys, looked up by the ClientHello's random),
// Handshake, 0-RTT and 1-RTT packets are decrypted too: keys come from
// the TLS traffic secrets with the version's labels ("quic key", "quic
// iv", "quic hp"; "quicv2 …" in version 2), for AES-128-GCM, AES-256-GCM
// and ChaCha20-Poly1305 with ChaCha20 header protection (RFC 9001 §5.4.4);
// before the ServerHello named the suite (0-RTT) the suites of the
// secret's hash length are tried. 1-RTT key updates follow the Key Phase
// bit (RFC 9001 §6: "quic ku"), the previous generation kept for
// reordered packets; the first packet of each generation shows
// key_update. The encrypted handshake messages (EncryptedExtensions,
// whose ALPN fills the summary, Certificate, CertificateVerify, Finished,
// NewSessionTicket) become tls events with decrypted: true. A missing or
// wrong secret (one that failed to open 3 packets) is one tls keys event
// per connection, as in tlsmsg, and those packets show their headers
// only (decrypted: false).
//
// STREAM frames of 0-RTT and 1-RTT packets are reassembled per stream
// and direction (out of order, overlapping and retransmitted ranges
// handled, RESET_STREAM followed) and handed in order to the
// decode.MultiStreamDecoder that Options.Next makes once per connection
// with the negotiated ALPN (HTTP/3). A STREAM range the capture saw
// before is listed on its packet as retransmitted ("id=4 off=100
// len=50"); data lost before the capture point shows instead as a hole
// in the stream. When a hole in one stream is filled, an analysis
// hol-stall event with scope "stream" says how long that stream's bytes
// behind it waited (blocked_bytes, gap_offset, gap_len): only that stream
// waited, where TCP would have stalled the whole connection.
//
// With Options.RTT, ACK frames give RTT samples as seen from the capture
// point (RFC 9002 §5): from the capture of a newly acknowledged Largest
// Acknowledged to the ACK, less the ACK Delay where that leaves at least
// the leg's min_rtt (never in Initial packets), as rtt_ms on the packet;
// the summary's rtt_ms adds the two legs' minimums (capture point to
// server and back, to client and back).
//
// # Contracts
//
// Datagram never fails and never panics: a malformed or cut packet is an
// event with error (and truncated for the snap length) in its info, and
// ends the datagram. Memory is bounded by Options: the datagram size, the
// CRYPTO reassembly buffer per space and direction (a hit is a conn
// cap-limit event and stops that stream), the STREAM reassembly buffers
// per stream and in total and the number of streams tracked (likewise),
// the frames listed per packet, the length of strings taken from the
// wire. Parsers (ParseHeader,
// ParseFrame) alias their input; events own their Info.
//
// The flow's client (decode.C2S) is taken to be the QUIC client. Flags for
// the timeline: the client's first Initial of each connection attempt is
// a request, server packets replies (its 1-RTT packets application data),
// the client's 0-RTT and 1-RTT packets application data, and the client's
// packet carrying its Finished completes the handshake — with keys the
// very packet whose CRYPTO frame completed it, without keys its first
// Handshake packet, after the server's, long enough to hold one (see
// Decoder.flags).
package quic
