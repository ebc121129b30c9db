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
// Tol), with marker shapes that repeat what the colours say.
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
