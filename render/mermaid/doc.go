// Package mermaid writes each connection as a Mermaid sequenceDiagram, the
// text diagrams GitHub, GitLab and many course-note tools render.
//
// # Place in the flow
//
// capture → decode → timeline → render. A Writer is a timeline.Sink: it
// buffers each connection's events and writes its diagram when the
// connection's conn/summary arrives (or at Close). It never parses
// packets, does no I/O but its writer, reads no clock: times come from
// the events. The words on arrows and notes come from render/layout, so
// that a diagram says what the SVG diagrams say.
//
// # What a diagram shows
//
// Participants C and S are the client and the server, described by
// their addresses. Every meaningful event is an arrow from its sender:
// TCP handshake and teardown (a reset is a cross), TLS messages (with the
// ClientHello's server name, the version chosen, alerts), HTTP requests
// and responses (method, path, status), QUIC long-header packets,
// WebSocket frames and closes. TCP analysis findings (retransmissions,
// lost segments, duplicate ACKs, zero windows) are dotted arrows, three
// or more of one kind in a row folded into one. A run of six or more
// bulk-transfer events (segments, TLS application data, HTTP/2 and HTTP/3
// DATA and WINDOW_UPDATE, QUIC 1-RTT packets; sixteen with WebSocket data
// frames), in either direction, is folded into one open arrow per
// direction that counts them, with their bytes, frames and time span. A
// decrypted TLS record or QUIC packet whose content shows as HTTP is left
// out, unless the packet closes the connection or confirms the
// handshake. Notes
// give the handshake RTT, head-of-line and flow-control stalls, HTTP
// exchanges, each phase of the connection's start (TCP, TLS or QUIC,
// first request, first byte, with round trips) after the event that ended
// it, and the summary.
//
// # Contracts
//
//   - Wire strings are inert: they are cleaned by layout.Clean, then
//     every ASCII character that Mermaid's grammar, its directives, its
//     HTML sanitizer or its math could read (# ; : % < > & " ' ` { } $
//     \ and the rest) is written as an entity code such as #59;, which
//     Mermaid renders as the character. Markdown headings escape ASCII
//     punctuation with backslashes.
//   - Size is bounded: each statement's text is cut to 120 characters,
//     a diagram to Options.MaxLines statements and Options.MaxBytes bytes
//     (first and last statements kept, a note counting the rest), under
//     GitHub's 50,000-character limit; a connection buffers at most
//     2×Options.MaxEvents events.
//   - Output is deterministic: the same events give the same bytes.
package mermaid
