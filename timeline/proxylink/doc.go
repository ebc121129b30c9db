// Package proxylink finds the two legs of a proxy in a timeline and links
// them: each front connection (client → proxy) to the back connection or
// connections (proxy → server) that carried its traffic, with
// analysis/proxy-link events.
//
// It sits in the timeline stage of the flow capture → decode → timeline →
// render, as a timeline.Sink wrapper between the Builder and the renderers:
// every event passes through unchanged, and the links are added to the
// stream. It does no I/O, keeps no clock (time comes from event
// timestamps) and prints nothing.
//
// # Modes
//
// An L7 proxy re-issues requests: a front request (HTTP/1.1, HTTP/2 or
// HTTP/3 exchange) is matched to a back exchange on another connection.
// Each matched front request gives one proxy-link event with mode "l7",
// emitted right after the front exchange event (so before the front
// connection's summary). A back exchange (X is the front exchange, Y the
// back one) is a candidate when:
//
//   - Y has the same method and path as X (authority may differ: proxies
//     often rewrite Host);
//   - Y's connection is another connection to another server, not yet
//     claimed: each back exchange serves one front request;
//   - timing nests: X started no later than Y, Y's response ended no later
//     than X's, and Y's first response byte came no later than X's (when
//     both had one);
//   - addresses: with Options.Proxies, X's server is one of them and Y's
//     client address is one of their addresses or X's server address.
//     Without, Y's client address is X's server address: one host serves
//     X and opens Y. A proxy with separate front and back addresses needs
//     Options.Proxies (both addresses);
//   - no earlier link went the other way, from Y's server to X's (on one
//     host, such as 127.0.0.1, addresses alone cannot tell a front from a
//     back).
//
// A front connection whose first request matches the first request of a
// back connection, in the same protocol, with the same authority, and
// whose first request and response heads (HTTP/1.x heads, HTTP/2 and
// HTTP/3 HEADERS frames) have the same lengths on both, looks like a byte
// relay (an L4 proxy of plain HTTP): it gets no L7 links, and the L4 rules
// below decide at its end.
//
// Among the candidates, those with X's authority win, then the one with
// the least slack (Y's start − X's start) + (X's end − Y's end), then the
// earliest Y, then the lowest connection and stream numbers. Matching is
// greedy in the order front exchanges end: a back exchange that ends after
// its front one (a client that reset the stream early) stays unmatched.
//
// An L4 proxy relays bytes unchanged (TLS passed through, a TCP stream
// proxy): one front TCP connection has one back TCP connection carrying
// the same stream. The pair gives one proxy-link event with mode "l4",
// emitted just before the front connection's summary. A front F and back
// B are a pair when:
//
//   - both ended (their summaries were seen) and F had no L7 link;
//   - B's first packet came after F's and before F's end, and B goes to
//     another server;
//   - the summaries name the same protocol stack (the same bytes decode
//     alike);
//   - the relayed streams are what was sent, or cut short at the end (not
//     to nothing) by at most max(32 bytes, 1/16 of the stream): B's client
//     bytes against F's, F's server bytes against B's (bytes_c2s and
//     bytes_s2c of the summaries; F's client bytes more than zero). Relays
//     drop a last close_notify sent after the other side closed;
//   - the first decoded message each way is causal: the client's is seen on
//     B no earlier than on F, the server's on F no earlier than on B;
//   - F and B both have a TLS ClientHello with the same length, SNI, JA3
//     and JA4, or neither has one;
//   - addresses: with Options.Proxies, as for L7; without, B's client
//     address is F's server address, or both carry the same ClientHello
//     and F's client address is not B's server address (then F is the
//     back);
//   - B had no L7 link, as front or back.
//
// A CONNECT tunnel is an L4 relay too: when a connection's first exchange
// is an HTTP/1.1 CONNECT answered 2xx, its later exchanges get no L7
// links; instead it is an L4 front whose streams are compared without the
// CONNECT request and response heads, whose stack is "http1/" and the
// back's (or "http1/tunnel"), whose first messages count from the tunnel
// on, and whose CONNECT target, when it is an IP address and port equal to
// B's server, is evidence enough ("connect") without the address rule.
//
// The earliest such B (by first packet, then connection number) not
// already paired is F's back. When F ends while a connection that could
// still be its back is open, F's summary (only that) is held until that
// connection ends, for at most Options.HoldTime of capture time; Close
// releases what is still held.
//
// Every timing rule above ("no later", "before", "after") tolerates
// Options.Skew, for captures merged from hosts whose clocks disagree.
//
// # Events
//
// proxy-link events have layer analysis, no direction, and the front
// connection as their connection. L7 ones carry the front stream in
// Stream and, in this order: front, back, mode, back_conn ("new" when the
// back request was the first on its connection: HTTP/1.1 exchange 1,
// HTTP/2 stream 1, HTTP/3 stream 0; else "reused"), back_stream, method,
// authority, back_authority (when it differs), path, status, back_status
// (when it differs), to_back_ms (front request start to back request
// start), from_back_ms (back response first byte to front response first
// byte, when both had one), added_ms (front exchange duration less back
// exchange duration), back_connect_ms (for a new back connection: its
// first packet to its request). L4 ones carry front, back, mode,
// back_conn ("new"), evidence ("connect", "tls-hello", "address",
// "proxy-option", then "bytes" for equal streams or "bytes-prefix"),
// connect (a tunnel's CONNECT target), sni (when TLS), bytes_c2s,
// bytes_s2c (F's), back_bytes_c2s, back_bytes_s2c (B's, when they differ,
// and for tunnels), connect_ms (F's first packet to B's), to_back_ms and
// from_back_ms (the first decoded message each way: the client's on F to
// B, the server's on B to F, when decoded on both), requests (exchanges
// decoded on F, a tunnel's CONNECT not counted, when any).
//
// # Memory
//
// Connection records are capped by Options.MaxConns (ended connections are
// forgotten oldest first; when every record is an open connection, new
// connections are not analysed), back exchanges waiting for a front by
// Options.MaxExchanges (oldest first) and by Options.MaxAge of capture
// time, held summaries by Options.MaxHeld (the oldest is released first).
package proxylink
