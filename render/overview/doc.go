// Package overview draws a whole capture as one graph: hosts as nodes,
// connections as edges, proxies highlighted, laid out and written as SVG
// by the package itself (svg.go): hosts in columns as the connections run
// (clients, proxies, servers), each column ordered by where its hosts'
// peers are, edges as curves with their labels kept clear of each other
// and of the hosts. Writer.DOT gives the same graph to Graphviz for those
// who want its layout.
//
// It once rendered through github.com/goccy/go-graphviz (Graphviz compiled
// to WebAssembly). That package compiles its WebAssembly module in an init
// function, so every run of any wiretrace command paid 0.4–0.9 s and
// 22 MB for it (5 s on a first run), and a run by a user who could not
// write the module cache in /tmp/go-graphviz panicked before main.
//
// # Place in the flow
//
// capture → decode → timeline → render. overview is a renderer: a
// timeline.Sink that reads each connection's conn/summary and the
// analysis/proxy-link events, and at Close lays out and writes the graph.
// It never parses packets, reads no clock and prints nothing; its only
// output is the writer it was given.
//
// # The graph
//
// A node is one host (an IP address). Its label is the address, the ports
// it served ("ports 443, 8080"), and the server names clients asked it for
// (TLS SNI). An edge aggregates the connections from one client host to one
// server host and port over one protocol stack ("tcp/tls/http2"), labelled
// with the port, the protocol, the number of connections and the bytes each
// way; it is red when some of them were reset or never completed a TCP
// handshake (refused, unanswered), and thicker the more connections it
// carries. A host is a proxy, drawn filled and marked "proxy", when a
// proxy-link event names it (the front connections' server, the back
// connections' client) or when it served connections from one host and
// opened connections to another. A dashed edge joins a proxy's
// front address to its back address when they differ.
//
// # Contracts
//
//   - Memory holds aggregates only, never events: at most
//     Options.MaxEdges edges are tracked; connections beyond them are only
//     counted. At most Options.MaxDrawn edges are drawn (the busiest), the
//     rest summed up in the graph's caption, so the SVG stays readable and
//     bounded.
//   - Writer.DOT returns the graph as DOT, for tests and for tools that
//     want another layout (`dot -Tsvg`).
//   - Output is deterministic: hosts and edges are written in sorted
//     order, and the same events give byte-identical DOT and SVG.
//   - Wire strings (server names, protocol names) are cleaned as in
//     render/layout (control characters and invalid UTF-8 escaped, cut)
//     and escaped for XML (and in DOT for Graphviz's entity handling), so
//     they come out as inert text in a well-formed SVG.
package overview
