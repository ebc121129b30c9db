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
// # Pipelining waits
//
// HTTP/1.1 answers requests in the order they came (RFC 9112 §9.3.2), so a
// pipelined request that is complete while an earlier response is still
// being sent cannot be answered until that response ends. When a response
// ends and the next request's last byte came before that moment, an
// analysis/hol-stall event with scope "pipeline" follows the response's
// exchange event: stream is the waiting exchange, blocked_by the one
// whose response just ended (the one before it), ahead how many responses
// were still owed when its request was complete, start that moment
// (start_frame its packet), end and the event's time the end of the
// response it waited for, dir s2c (its answer was held back). A request
// whose body was still coming when the response ended did not wait; a
// response that ended because the connection did (read until close, or
// at End) reports nothing, as the next one is never answered; nor does a
// response with no request (picked up mid-stream).
//
// duration_ms is how long the request sat complete behind the earlier
// response, as the capture point saw it. That is all a passive observer
// can know: not when the server read the request, nor whether it worked
// on it meanwhile (some servers handle pipelined requests in parallel, Go's
// net/http one at a time), nor how long it would have taken alone; the
// time from end to the waiting response's first byte (its exchange's
// first_byte_ms tells it) is its own. Captured at the server, start and
// end are when the request arrived and when the earlier response left;
// captured at the client, when the request left and the response arrived,
// so the wait shows a round trip longer, and a wait shorter than a round
// trip there may have been none at the server (the request arrived after
// the response was sent).
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
