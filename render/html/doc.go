// Package html writes a capture's connections as one self-contained HTML
// report: a table of connections (transport, endpoints, protocol stack,
// SNI, ALPN, round trips, RTT, time to first byte, stalls, bytes,
// duration, close, proxy links), sortable by clicking a column header and
// filtered by a text box, and for each connection its SVG sequence
// diagram and its event table, shown when the connection is clicked. A
// proxy's front connection links to its back connections and each back
// to its front (from timeline/proxylink's analysis/proxy-link events).
//
// # Place in the flow
//
// capture → decode → timeline → render. html is a renderer: it is a
// timeline.Sink that lays each connection out with render/layout, draws
// it with render/svg and inlines the result. It never parses packets,
// reads no clock and does no I/O beyond writing to the io.Writer it is
// given.
//
// # Output
//
// The file needs no network and no other file: CSS and the one script
// are inline, there are no fonts, images or CDN links, and a Content
// Security Policy in the head forbids every fetch and every script but
// ours (by its SHA-256). It opens in any current browser from disk. Each
// connection's section (heading, diagram, events) is a <template>, which
// the browser parses but does not render or style until the connection
// is opened, so a report with thousands of diagrams stays quick and
// their SVG IDs and stylesheets do not meet. A URL fragment
// #conn-N opens connection N when the page loads, so a report can be
// linked to one connection.
//
// # Memory and size
//
// A connection's section is written to the output when the connection
// ends (its conn/summary event), and its events are then dropped: the
// Writer keeps only the events of connections still open (bounded per
// connection by layout.Held: the first and last Layout.MaxEvents) and one
// table row per connection. The table is written by Close, after the
// sections; the templates take no room on the page, so it still shows
// first. Each event table lists a connection's first MaxTableEvents
// events and says how many more there were; the diagram draws up to
// Layout.MaxEvents of them with a band counting the rest. Only the first
// MaxConns connections of the capture (by connection number) are in the
// report; the header counts the rest.
//
// # Escaping
//
// Every string that came from the wire is cleaned by layout.Clean
// (invalid UTF-8, control characters and bidirectional overrides become
// visible escapes, and the length is bounded) and then escaped for HTML
// text or a double-quoted attribute value by one function. No wire string
// goes into the script, which is a constant: sorting and filtering read
// the table's cells. The diagrams come from render/svg, whose output
// escapes every string for XML, which HTML parses as the same text. The
// output is deterministic: equal events and options give equal bytes.
package html
