// Package ws decodes WebSocket connections (RFC 6455) after their HTTP/1.1
// upgrade: the handshake's Sec-WebSocket-Accept check, the negotiated
// subprotocol and extensions, then every frame of both directions with its
// opcode, FIN, RSV bits, mask and payload length, close codes and reasons,
// fragmented messages reassembled, and permessage-deflate (RFC 7692)
// messages inflated to show their size.
//
// It sits in decode, in the flow capture → decode → timeline → render,
// behind decode/http1: the HTTP/1 decoder's Upgrade hook calls New after a
// 101 response for protocol "websocket", and New's decoder then gets every
// byte of both directions in arbitrary chunks. It never does I/O, reads
// clocks or prints, and does not depend on http1.
//
// # Events
//
// New emits a handshake event; each complete frame is an event named by its
// opcode (text, binary, continuation, close, ping, pong, else unknown), with
// Len its payload length; the last frame of a fragmented or compressed
// message is followed by a message event (size, fragments, inflated size).
// Violations (unmasked client frames, masked server frames, oversized or
// fragmented control frames, reserved opcodes or bits, bad close codes)
// are flagged in the frame's protocol_error, never fatal: any bytes parse
// as frames.
//
// # Memory
//
// Payloads are counted, not kept, except a control frame's first 125 bytes
// (for the close code and reason) and a compressed message's bytes until it
// is inflated, up to Options.MaxMessage. Inflation reuses one reader and a
// 32 KiB output buffer per direction and keeps the last window of output as
// the next message's dictionary when context takeover is on; it stops at
// MaxMessage bytes of output or at MaxRatio times the input (past 64 KiB),
// so a decompression bomb costs bounded time and memory. A cap hit emits
// conn/cap-limit and stops inflation for that direction; frames are still
// decoded.
//
// # Holes
//
// A hole inside a frame's payload is counted (missing_bytes); a compressed
// message with a hole is not inflated, nor with context takeover any later
// one in that direction. A hole in a frame header loses the framing: that
// direction stops with a conn/decode-error event.
package ws
