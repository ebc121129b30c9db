// Package jsonl renders the event stream as JSON Lines: one JSON object per
// event, in the order the timeline emitted them (docs/events.md is the
// contract).
//
// It sits at the end of the flow capture → decode → timeline → render and
// never parses packets. Objects are built with an append-style encoder, no
// reflection, into a buffered writer; wire strings are escaped so that every
// line is valid JSON whatever the input bytes (invalid UTF-8 becomes U+FFFD).
package jsonl
