// Package ladder draws connections as ladder diagrams for a terminal,
// like sngrep's call flow: the same picture as the SVG sequence diagrams
// (render/svg), in text.
//
// # Place in the flow
//
// capture → decode → timeline → render. ladder is a renderer: a
// timeline.Sink that writes text. It never parses packets, reads no clock
// and has no output but the writer it was given. Labels come from
// render/layout, so that every format names an event alike.
//
// # The picture
//
// Each connection has a title line, a line naming the lifelines (client
// left, server right), one row per meaningful event and a summary. A row
// starts with the time in milliseconds since the connection's first
// packet; an arrow between the lifelines carries the event's label
// (──ClientHello (example.com, h2)──▶, ◀──HEADERS stream=1 200──). Runs of
// three or more bulk events (TCP segments, TLS records, HTTP/2 and HTTP/3
// DATA, QUIC 1-RTT packets, WebSocket data) fold into one ═ row per
// direction with their count, bytes, frames and time; runs of one TCP
// finding (duplicate ACKs, retransmissions …) into one ┄ row. Findings and
// retransmissions are dotted, resets end in ✕, connection-wide events
// (HTTP exchanges, decode errors) are • notes, a HOL stall is a ⧗ note
// beside the receiver whose lifeline is drawn heavy (┃) from the first
// byte that waited to the one that filled the gap. The phases (TCP, TLS,
// request, first byte) are brackets at the right with their duration and
// round trips.
//
// A TLS record or QUIC packet whose content shows at a higher layer in the
// next event is not drawn twice.
//
// # Proxies
//
// When analysis/proxy-link events name a connection's back connection (a
// proxy's connection to the server), the front block gets a third
// lifeline: client, proxy, server, with the back connection's rows
// merged in time order. For that, a connection that ends while a
// connection to its client's address is still open is held back (at most
// 64) until it can no longer be a back connection. Backs that could not
// be held (a proxy with a separate back address, or a pooled back
// connection still open when its front ends) are blocks of their own;
// the front's block has a note naming them.
//
// # Modes
//
// By default (reading a file) each connection is one block, written when
// it ends; memory per open connection is bounded by Options.MaxRows rows
// (the first and the last halves; the middle is counted in a note), and
// runs are folded as they come, in constant memory. With Options.Stream
// (live capture) each row is written as its event arrives, prefixed with
// the connection number ("#3"), so interleaved connections stay apart:
// phases are notes at the end instead of brackets, there is no third
// lifeline, and Flush ends the current runs so that the view never lags.
//
// # Width and safety
//
// No line is wider than Options.Width columns (East Asian wide characters
// count two): labels are cut with "…", never wrapped. Options.ASCII draws
// with | - > < and turns other characters into ASCII. Every string from the
// wire goes through render/layout's cleaning (control characters and
// invalid UTF-8 escaped as \x1b, bidirectional overrides neutralised) and
// render/text's sanitiser, so a capture cannot move the cursor or change
// colours; colours are written only with Options.Color, which the command
// sets for a terminal without NO_COLOR. Output is deterministic.
package ladder
