// Package decode is wiretrace's shared decoding vocabulary: the Event every
// decoder emits, the direction and layer names, typed Info fields and the
// Error type that carries an offset.
//
// It sits between capture and timeline in the one-way flow
// capture → decode → timeline → render. The protocol decoders live in
// sub-packages (netpkt for L2–L4, tcpflow for TCP state and reassembly, and
// later tlsmsg, h2, ws, quicwire); they depend on this package and never on
// each other's internals.
//
// Nothing in decode does I/O, reads a clock or prints: time comes from packet
// timestamps, and every output format is the renderers' business.
//
// # Event contract
//
// The JSON form of an Event is documented in docs/events.md. Layer and Type
// names are part of that contract: renaming one is a breaking change.
package decode
