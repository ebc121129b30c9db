// Package timeline places decoded events on their connections: it owns the
// connection table, decides which side is the client, routes each packet to
// its TCP or UDP flow, attaches application decoders by sniffing the first
// bytes of a stream, and adds the analysis that needs a whole connection:
// handshake RTT, round trips before the first application byte,
// head-of-line stalls, and the summary that closes every connection.
//
// It sits between decode and render in the flow capture → decode →
// timeline → render, and hands every Event to a Sink in the order the
// packets completed them. A connection's state lives in one place, the
// Builder's table entry, and is freed when the connection ends (both FINs
// acknowledged or a reset, once quiet for a short linger so that stray
// segments still join it), goes idle, or is evicted because the table is
// full. Expired connections are ended before the next packet is placed.
//
// Time comes only from packet timestamps (and from Advance, which a live
// capture calls while the wire is quiet). The package prints nothing.
package timeline
