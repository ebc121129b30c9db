// Package layout computes the geometry of wiretrace's diagrams as plain
// data, once, for every renderer to serialize.
//
// # Place in the flow
//
// capture → decode → timeline → render. layout is the first half of
// render: it takes a connection and its timeline.Events and returns a
// Diagram of positions, strings and semantic classes. render/svg (and
// later HTML or Mermaid renderers) only write that Diagram out; they make
// no layout decision. layout never parses packets, does no I/O, reads no
// clock and prints nothing: time comes from the events' timestamps.
//
// # Sequence diagrams
//
// Sequence draws one connection: the client's lifeline left, the server's
// right, and a time axis with frame numbers and milliseconds since the
// connection's first packet. Every directional event is an arrow from its
// sender; analysis findings (retransmissions, lost segments, duplicate
// ACKs, zero windows, keep-alives) are markers with a note on the
// sender's lifeline; resets are drawn in the error class; the handshake
// RTT is a bracket from the SYN to the ACK; a head-of-line stall is a band
// from its start to its end; connection-wide events are notes across the
// lifelines; the conn/summary event becomes the footer. Unknown layers
// and types are drawn as plain arrows named by layer and type.
//
// Rows keep the events' order. Events of one packet share a row, and
// their arrow is one arrow with the labels stacked (a TLS record that
// carries HTTP/2 frames is named only in the tooltip); packets of one
// direction within a millisecond make one flight (ServerHello …
// Finished), never across a phase's boundary. HTTP/2 and HTTP/3 streams
// take colour classes (StreamClass) by first appearance, listed in the
// legend. Runs of bulk transfer (IsBulk) become one thick arrow per
// direction on a band that counts what they carried. Flow-control stalls
// get a band like head-of-line stalls, whose notes name the lost bytes,
// victims and culprits. The space between rows grows with the logarithm
// of the time between them, so that bursts stay readable next to slow
// exchanges, and quiet gaps of Options.IdleBreak or more are cut out and
// marked "… 2.5 s idle …". Options.Slope tilts arrows by their one-way
// time from the capture point. Arrows, markers, notes and bands carry
// their time (At) for animated renderers.
//
// # Contracts
//
//   - Size is bounded: at most Options.MaxEvents events are drawn, the
//     first half and the last ones, with a band counting the rest. Each
//     wire string is cleaned (invalid UTF-8 and control characters become
//     escapes, bidirectional overrides are neutralised) and cut, so a
//     Diagram's size does not grow with hostile input.
//   - Strings are not escaped for any format: renderers do that.
//   - Output is deterministic: equal inputs give equal Diagrams, which
//     encode to equal JSON (the goldens in testdata rely on it).
//   - Every spacing value is a named constant in constants.go. Text widths
//     are estimated from the font sizes there, which renderers must use.
//   - Sequence only reads its events; it keeps no reference to them in
//     the Diagram.
package layout
