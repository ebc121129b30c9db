// Package h2 decodes both directions of an HTTP/2 connection (RFC 9113) as
// a passive observer: the connection preface, every frame with its flags,
// stream and length, the header blocks through HPACK (RFC 7541), the
// stream states (§5.1), the flow-control windows (§6.9), server push,
// gRPC requests, and one exchange event per request and response.
//
// It sits in decode, after tcpflow (and tlsmsg, whose decrypted bytes it
// can take), in the flow capture → decode → timeline → render. It never
// does I/O, reads clocks or prints: times come from decode.Position.
//
// # Entry points
//
// NewSniffer attaches to a connection whose client starts with the
// preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (prior knowledge, any port).
// NewDecoder is for a connection known to be HTTP/2 from its first byte
// (TLS with ALPN "h2"). NewUpgraded takes over after an HTTP/1.1 Upgrade to
// h2c: stream 1 is the upgrading request and the HTTP2-Settings payload is
// the client's first SETTINGS.
//
// # Framing
//
// Frames other than DATA are buffered until complete (up to
// Options.MaxFrameSize; a longer one is skipped with an error) and parsed
// by golang.org/x/net/http2's Framer, with AllowIllegalReads and without
// its header-block merging (ReadMetaHeaders), so that a frame a peer should
// not have sent is still shown: a frame the Framer rejects becomes an event
// with error set. DATA frames are not given to the Framer, which reads a
// whole payload into its buffer: their payload is counted as it arrives
// and never copied, so DATA costs no buffer and no allocation beyond its
// event, whatever its size. A hole in the TCP stream loses the framing:
// the direction is given up with a decode-error event.
//
// # Header blocks
//
// Each direction has its own HPACK decoder (golang.org/x/net/http2/hpack)
// fed fragment by fragment as HEADERS, PUSH_PROMISE and CONTINUATION frames
// complete, so a block is never buffered whole. The dynamic table size
// updates an encoder may send are bounded by the SETTINGS_HEADER_TABLE_SIZE
// its peer advertised: while a new value is not acknowledged, the larger of
// the old and new (the encoder may use either), at most
// Options.MaxHeaderTableSize. The table's size itself changes only by
// the size updates the encoder puts at the start of a block (RFC 7541
// §6.3), as the encoder's own table does. Decoded fields past Options.MaxHeaderListSize
// are decoded (to keep the table in step) but not kept. A decoding error
// is a connection error (COMPRESSION_ERROR): a decode-error event says so
// and header decoding stops for that direction, frames go on.
//
// The fields of a block are shown on its HEADERS or PUSH_PROMISE event:
// when the block goes on in CONTINUATION frames, that event is held and
// emitted, followed by the CONTINUATION events, when the block ends (each
// keeps its own frame and time); after 32 CONTINUATION frames the held
// events go out and the fields are shown on the block's last frame.
//
// # Streams and flow control
//
// Stream states are the client's view: half-closed-local means the client
// has sent END_STREAM, reserved-remote is a stream the server promised.
// Closed streams are forgotten: a stream not tracked is idle above the
// highest ID its side has used and closed below it. At most
// Options.MaxStreams are tracked; the first stream over the cap emits a
// cap-limit event, later ones are not tracked silently.
//
// Windows are the sender's view of what it may still send: each starts at
// 65,535 or the receiver's SETTINGS_INITIAL_WINDOW_SIZE, DATA (padding
// included) lowers the stream's and the connection's, WINDOW_UPDATE raises
// them. A SETTINGS_INITIAL_WINDOW_SIZE change moves the windows of all open
// streams when the SETTINGS frame is seen, not when it is acknowledged:
// the sender applies it on receipt, and the increases peers make at the
// start of a connection then never show a window going below zero.
// Decoder.Window exposes the windows; a DATA event that leaves either at
// or below zero says window_exhausted.
//
// # Flow-control stalls
//
// An analysis/flow-control-stall event says that a sender could not send
// DATA because a window was exhausted, and for how long. It is a fact of
// the frames alone:
//
//   - Start: just after a frame the sender sent on a stream that stays open
//     for its data (no END_STREAM, no reset) — a DATA frame with a
//     payload, or HEADERS (a request or response whose body is still to
//     come) — the stream's window (scope "stream") or the connection's
//     (scope "connection") is at or below zero. From then on RFC 9113
//     §6.9.1 forbids it a single byte of DATA there. The stall starts at
//     that frame's last packet; window is the window then.
//   - End: the receiver's frame that brings the window above zero: a
//     WINDOW_UPDATE, or for streams a larger SETTINGS_INITIAL_WINDOW_SIZE.
//     The event follows that frame's event, with its frame and time; dir is
//     the blocked sender's direction. An update that leaves the window at
//     or below zero (after the receiver lowered the initial window) does
//     not end the stall.
//   - Dropped: a stream stall whose stream ended the sender's side
//     meanwhile (an empty DATA or trailers with END_STREAM, RST_STREAM,
//     GOAWAY): the sender had nothing left that the window held back. A
//     connection stall when, at the update, none of the sender's streams
//     is open for its data.
//
// The wire cannot show that the sender had more bytes queued, only that it
// could not have sent them: a stream left open with its window at exactly
// zero counts as blocked, which a sender that writes what the window allows
// of what it has makes true unless its data happened to end exactly there
// without END_STREAM (a pause in a streaming body). A window above zero is
// never a stall, even one smaller than the sender's frames: it may send
// what fits. A stream window that a smaller SETTINGS_INITIAL_WINDOW_SIZE
// takes to zero or below starts nothing until the sender's next DATA or
// HEADERS there: no frame shows it held back before. Streams not tracked
// (over Options.MaxStreams) start none. Stream and connection
// stalls are reported separately, so one frame may start both. Times are
// those of the capture point: captured at the sender, duration_ms is how
// long it waited; at the receiver it is shorter by about a round trip (the
// DATA's way there and the update's way back), and a stall shorter than
// that can go unseen: an update the receiver sent before the exhausting
// DATA reached it is counted first there.
//
// # Exchanges
//
// An exchange event follows the event that ends a stream's response
// (END_STREAM from the server), resets it, or closes it by GOAWAY; End
// emits the rest with incomplete set. Summary reports how many there were.
//
// # Errors
//
// A frame that breaks RFC 9113's rules is shown with error (its last info
// field) and decoding goes on. A decode-error event stops a direction
// (a hole, a client that does not send the preface) or its header
// decoding (HPACK); the other direction, and the frames, go on.
//
// # Limits
//
// The caps in Options emit a conn/cap-limit event with decoder, cap, limit
// and what was dropped. Strings shown in events are cut at
// Options.MaxString bytes with "…", header lists at Options.MaxHeaders
// fields. Memory per connection is bounded by one buffered frame per
// direction, the two HPACK tables, one partial header field each, the
// tracked streams and at most 33 held events per direction.
package h2
