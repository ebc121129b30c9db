// Package http1 decodes HTTP/1.0 and HTTP/1.1 connections passively (RFC
// 9112 message syntax, RFC 9110 semantics): request and status lines,
// header fields, bodies framed by Content-Length, the chunked transfer
// coding (chunk sizes and trailer fields) or the connection's close,
// interim 1xx responses (100 Continue, 103 Early Hints), keep-alive and
// pipelining, HEAD and 204/304 responses without a body, CONNECT tunnels and
// protocol switches (Upgrade, 101 Switching Protocols).
//
// It sits in decode, after tcpflow, in the flow capture → decode →
// timeline → render: the timeline attaches a Decoder to a TCP connection on
// any port when Sniff recognises a request line among the first bytes, and
// hands it each direction's reassembled bytes in arbitrary chunks. It never
// does I/O, reads clocks or prints.
//
// # Events
//
// A request event when a request head is complete, a response event per
// status line (interim ones marked), and an exchange event when a request
// and its response are both complete (or at End, marked incomplete).
// Event.Stream is the exchange's ordinal on the connection (1, 2, ...):
// responses are matched to requests in order, so pipelined requests find
// their answers. Bodies are counted, never stored.
//
// # Why not net/http or net/textproto
//
// Their readers pull from a bufio.Reader and block for more input; a
// passive decoder is pushed arbitrary slices of two interleaved streams and
// must resume anywhere, bound every buffer, and keep going after what a
// server would reject. The parser here is a small push-style state machine
// over lines: each direction buffers at most one line (MaxLineLen), one head
// (MaxHeaderBytes) and the client bytes held while an Upgrade or CONNECT
// waits for its answer (MaxHold). It is lenient where RFC 9112 allows a
// recipient to be (a lone LF ends a line, empty lines before a message,
// obs-fold joined with a space, whitespace before a field's colon) and strict
// where framing depends on it (Content-Length, Transfer-Encoding, chunk
// sizes).
//
// # Errors and caps
//
// A malformed start line or field, a bad Content-Length, a bad chunk size,
// or a hole in the stream outside a body stops decoding that direction: a
// conn/decode-error event names the direction and the byte offset, and the
// other direction goes on (no resync: after a hole the count of lost
// requests is unknown, so later responses could not be matched). A hole
// inside a body of known length, a chunk's data or a read-until-close body
// is only counted (missing_bytes). A cap hit (line_length, header_bytes,
// pending_requests, hold_bytes) emits conn/cap-limit and stops that
// direction likewise. Data never returns an error.
//
// # Protocol switch
//
// After a 101 response, or a 2xx answer to CONNECT, Options.Upgrade is
// asked for the decoder of the new protocol; it gets the server's bytes
// after the 101's head (even in the same segment), the client bytes held
// since the request, and every later byte, Skip and End. Without one, the
// bytes are counted and End emits a tunnel event.
package http1
