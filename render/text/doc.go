// Package text renders the event stream as a readable per-connection
// timeline for a terminal: a header per connection, one line per event with
// the time relative to the connection's first packet, the frame number, an
// arrow for the direction, the event and its details, and a closing summary.
//
// It sits at the end of the flow capture → decode → timeline → render and
// never parses packets. In grouped mode (reading a file) each connection's
// lines are held until its summary arrives and then printed as one block,
// so memory is bounded by the live connections; in streaming mode (live
// capture) every line is printed at once, tagged with its connection.
//
// Every string from the wire passes through one sanitiser that removes
// control characters and invalid UTF-8, so a capture cannot move the cursor
// or change colours. Colour is used only when Options.Color is set (the CLI
// decides: a terminal, and NO_COLOR unset).
package text
