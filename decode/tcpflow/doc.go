// Package tcpflow follows one TCP connection: it names the handshake and
// teardown segments, runs the sequence analysis users know from Wireshark
// (retransmissions, fast retransmissions, out-of-order segments, segments
// lost before the capture point, duplicate ACKs, zero windows, keep-alives),
// and reassembles each direction into an ordered byte stream for the
// application-layer decoders.
//
// It sits in decode, after netpkt, in the flow capture → decode → timeline
// → render. The timeline owns the connection table and decides which side is
// the client; tcpflow sees one connection's segments with their direction.
//
// # Reassembly and head-of-line data
//
// Each direction delivers its bytes in order to a Handler. Every Chunk says
// which frame carried it and when it arrived; bytes that arrived behind a
// gap also say when and in which frame the gap was filled (Released), and
// every filled gap is reported with its size, when it opened, when it was
// filled and how many bytes waited behind it. That is what head-of-line
// analysis needs: a receiver could not read those bytes before Released.
// A gap whose bytes the receiver acknowledged although the capture never
// saw them counts as filled when the acknowledgment passes. Bytes that will
// never be delivered (lost before the capture point and acknowledged
// anyway, cut by the snap length, dropped because a buffer cap was hit, or
// still missing when the connection ends) are reported with Skip so that
// decoders can resynchronise; a gap given up for a cap or at the end is not
// reported as filled. Where copies of the same bytes differ, the first one
// seen wins.
//
// # Holes downstream of the capture point
//
// A capture taken at the sender sees no gap: the segment was lost after
// it. The receiver's acknowledgments tell: an ACK with SACK blocks above
// its cumulative acknowledgment (or, without SACK, a duplicate ACK) opens
// a hole, and the cumulative acknowledgment passing it fills it. Such a
// hole is reported through GapFilled with Gap.Downstream set, timed by the
// ACKs as the capture saw them; Blocked is how far the filling
// acknowledgment jumped past the hole. Holes the capture lacks too are
// left to reassembly, so a stall is reported once, and a spurious
// retransmission opens no hole (see sack.go).
//
// # Sequence analysis
//
// The verdicts (retransmission, spurious and fast retransmission,
// out-of-order, lost segment, duplicate ACK, zero window, keep-alive)
// follow Wireshark's rules and their order (packet-tcp.c,
// tcp_analyze_sequence_number) so that counts can be compared with tshark's
// tcp.analysis fields; the timeline package's tests check them against
// tshark. A SYN, FIN or RST segment carries its verdicts as info on its
// flag event instead of separate analysis events.
//
// # Limits
//
// Out-of-order data is copied and buffered per direction up to
// Limits.MaxBufferedBytes and Limits.MaxBufferedSegments; past either cap
// the oldest gap is given up (skipped) and a cap-limit event is emitted.
// Connections that share a Pool (Options.Pool) are capped together too:
// the one whose segment takes the total past the Pool's cap gives up its
// own oldest gaps, with a conn/cap-limit event (cap "reassembly_total").
// Nothing else grows with the length of the connection.
//
// # Contracts
//
// The *Chunk, *Gap and *Skip given to a Handler, and Chunk.Data, are reused
// and valid only during the call. Events passed to the emit function are
// owned by the receiver. In-order data and bare ACKs that emit no event
// allocate nothing. tcpflow performs no I/O, reads no
// clock (all times come from segments) and is not safe for concurrent use.
package tcpflow
