// Package svg writes layout.Diagrams as standalone SVG documents, and
// DirWriter writes one per connection into a directory.
//
// # Place in the flow
//
// capture → decode → timeline → render. svg is a renderer: it serializes
// the geometry that render/layout computed and makes no layout decision
// of its own. It never parses packets, reads no clock and prints nothing;
// DirWriter's only I/O is creating the output directory and its files.
//
// # Output
//
// Text stays text (<text> elements, so diagrams can be searched and
// copied), every arrow, marker and note carries a <title> tooltip with the
// event's frame, time and Info fields, and the diagram has a legend, a
// light background, system sans-serif and monospace font stacks, and a
// colour per layer from a colour-blind-safe palette (Okabe–Ito, then Paul
// Tol), with marker shapes that repeat what the colours say. HTTP/2 and
// HTTP/3 streams have colours of their own, listed in the legend; labels
// still say stream=N.
//
// # Animation
//
// WriteOptions with Options.Animate (DirWriter.SVG for files) fades each
// arrow, marker, note and stall or bulk band in at its time since the
// connection's first packet, divided by Options.Speed: one CSS animation
// delay per element, no script, deterministic. Viewers without CSS
// animation (rsvg-convert, image previews) and browsers asked to reduce
// motion show the finished diagram.
//
// # Escaping
//
// All output goes through one writer. Strings from a Diagram, which may
// come from the wire, are written with encoding/xml's EscapeText, which
// also replaces what XML cannot hold; IDs and class names built from them
// are encoded to letters, digits, '-' and _xx. Any Diagram therefore
// yields a well-formed document in which hostile strings stay inert text.
// Output is deterministic.
//
// # DirWriter contracts
//
// DirWriter copies each event struct it is given (the caller may reuse
// it) and keeps the Info slices, as timeline.Sink allows. Memory per open
// connection is bounded by 2×MaxEvents events.
package svg
