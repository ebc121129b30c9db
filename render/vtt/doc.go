// Package vtt writes WebVTT captions of a capture's protocol events, so
// that a screen recording of a demo shows them as subtitles in sync, and
// a WebVTT chapters file with a chapter per connection.
//
// # Place in the flow
//
// capture → decode → timeline → render. A Writer is a timeline.Sink. It
// never parses packets, reads no clock and does no I/O but its writers:
// cue times are the events' capture timestamps less the time origin:
// Options.TimeOrigin (by default the capture's first packet) moved by
// Options.TimeOffset, so that the recording's start lines up with the
// capture's. Captions are held until Close, because
// cues must be written in order of their start and some events (an HTTP
// exchange, a stall) are known only after the moment they caption.
//
// # Captions
//
// Each caption is one short line prefixed by the connection number ("#2
// TLS ClientHello → example.com (ALPN h2)", "#2 HTTP/2 GET /index.html →
// 200, 12 ms"): the TCP handshake with its RTT, FINs and resets, losses
// and retransmissions, TLS hellos, certificate, Finished and alerts,
// QUIC's first Initial, Retry and version negotiation, one caption per
// HTTP exchange at its request's start, QUIC's HANDSHAKE_DONE and
// CONNECTION_CLOSE, WebSocket opening, messages and close, head-of-line and flow-control stalls at their start, and decoder
// failures. Cues roll up: each shows its connection's latest
// Options.Lines captions, newest last, and lasts until the connection's
// next caption or Options.MaxDuration; captions closer together than
// Options.MinDuration share a cue (at most six lines, the rest counted). Cues of connections that overlap
// in time overlap too; players stack them, and the prefix tells them
// apart.
//
// # Contracts
//
//   - Cue text is inert: wire strings are cleaned by layout.Clean
//     (control characters written as visible escapes, bidirectional
//     overrides neutralised, length bounded), then '&', '<' and '>' become
//     &amp; &lt; &gt;, so no tag, timestamp or "-->" can appear, and any
//     control character left is removed, so a cue has no blank line.
//   - Memory is bounded by Options.MaxCaptions; captions past it are
//     counted in a NOTE.
//   - Output is deterministic: cues are sorted by start, then connection,
//     then arrival.
package vtt
