package layout

import (
	"slices"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// The functions below give renderers that lay out nothing themselves
// (Mermaid, WebVTT) the same words the sequence diagrams use, so that every
// format names an event alike. Their strings are cleaned (see Clean) but
// not escaped for any format.

// Kind is how a sequence diagram draws an event.
type Kind uint8

// Kinds.
const (
	// KindArrow is an arrow from the sender to the receiver.
	KindArrow = Kind(kindArrow)
	// KindMarker is an analysis finding on the sender's lifeline, with a
	// note (retransmissions, lost segments, duplicate ACKs, zero windows,
	// keep-alives, cap limits and other analysis events).
	KindMarker = Kind(kindMarker)
	// KindStall is a head-of-line stall: a band with a note on the
	// receiver's side.
	KindStall = Kind(kindStall)
	// KindCenter is a note across both lifelines, for events about the
	// whole connection (no direction).
	KindCenter = Kind(kindCenter)
)

// Classify says how a sequence diagram draws e.
func Classify(e *decode.Event) Kind { return Kind(classify(e)) }

// Clean makes a wire string safe to show and bounded, as every string in
// a Diagram is: invalid UTF-8 and control characters become escapes,
// bidirectional overrides are neutralised, and the result is cut to at
// most max bytes with a count of the bytes omitted.
func Clean(s string, max int) string { return clean(s, max) }

// Field returns the cleaned value of e's Info field key (cut at 128
// bytes), or "" when e has none.
func Field(e *decode.Event, key string) string { return field(e, key) }

// ArrowLabel is the text above e's arrow: its type and a short detail
// (TCP sequence numbers, an HTTP request and status, a stream ID, a
// length).
func ArrowLabel(e *decode.Event) string { return arrowLabel(e) }

// MarkerNote is the note beside an analysis finding ("dup-ack #2
// ack=1429").
func MarkerNote(e *decode.Event) string { return markerNote(e) }

// StallNote is the note beside a head-of-line stall ("HOL stall 48.68 ms,
// 2,856 B blocked").
func StallNote(e *decode.Event) string { return stallNote(e) }

// CenterNote is the text of a connection-wide event; an HTTP exchange
// sums up as "exchange 1: GET /path → 200 · first byte 11.2 ms · 3,933 B".
func CenterNote(e *decode.Event) string { return centerNote(e) }

// IsPhase reports whether e is an analysis/phase event.
func IsPhase(e *decode.Event) bool { return isPhase(e) }

// PhaseLabel is the label of an analysis/phase event's bracket ("TLS
// 16.1 ms · 1 RTT"), and the phase's duration.
func PhaseLabel(e *decode.Event) (string, time.Duration) {
	label, _, d, _, _ := phaseLabel(e)
	return label, d
}

// Human formats a duration for people: "850 µs", "12.5 ms", "3.2 s",
// "4 min 10 s".
func Human(d time.Duration) string { return human(d) }

// Grouped formats n with thousands separators: 1,234,567.
func Grouped(n int64) string { return grouped(n) }

// QUICFrame returns the entry of a QUIC packet event's frames list for
// the frame type name ("CONNECTION_CLOSE err=app:0x0", "HANDSHAKE_DONE"),
// cleaned, or "" when the packet has none.
func QUICFrame(e *decode.Event, name string) string {
	if e.Layer != decode.LayerQUIC {
		return ""
	}
	f, ok := e.Info.Get("frames")
	if !ok {
		return ""
	}
	for _, s := range f.Strs {
		if s == name || strings.HasPrefix(s, name+" ") {
			return clean(s, maxLabelBytes)
		}
	}
	return ""
}

// Carries reports that c, a decrypted TLS record or a QUIC 1-RTT packet,
// carried next, an event of the same packet and direction at a higher
// layer (HTTP, WebSocket; HTTP/3 or TLS in QUIC): c adds nothing to a
// picture that shows next.
func Carries(c, next *decode.Event) bool {
	if c.Frame != next.Frame || c.Dir != next.Dir {
		return false
	}
	switch carrier(c) {
	case decode.LayerTLS:
		return next.Layer == decode.LayerHTTP1 || next.Layer == decode.LayerHTTP2 || next.Layer == decode.LayerWS
	case decode.LayerQUIC:
		return next.Layer == decode.LayerHTTP3 || next.Layer == decode.LayerTLS
	}
	return false
}

// carrier returns the layer of a decrypted TLS record or QUIC 1-RTT
// packet, which may carry higher layers' events, or LayerUnknown.
func carrier(e *decode.Event) decode.Layer {
	switch {
	case e.Layer == decode.LayerTLS && e.Type == "ApplicationData",
		e.Layer == decode.LayerQUIC && e.Type == "1-RTT":
		return e.Layer
	}
	return decode.LayerUnknown
}

// bulkTypes are the events of bulk transfer: segments and datagrams,
// HTTP/2 and HTTP/3 DATA and window updates, the TLS records and QUIC
// packets that carry them, WebSocket data frames.
var bulkTypes = map[decode.Layer][]decode.Type{
	decode.LayerTCP:   {decode.TypeSegment},
	decode.LayerUDP:   {decode.TypeDatagram},
	decode.LayerTLS:   {"ApplicationData"},
	decode.LayerHTTP2: {"DATA", "WINDOW_UPDATE"},
	decode.LayerHTTP3: {"DATA"},
	decode.LayerQUIC:  {"1-RTT"},
	decode.LayerWS:    {"text", "binary", "continuation"},
}

// IsBulk reports an event of bulk transfer, which diagrams fold when it
// comes in runs: a directional segment, datagram, TLS application record
// (not a TLS 1.3 handshake record seen without keys), HTTP/2 DATA or
// WINDOW_UPDATE, HTTP/3 DATA, QUIC 1-RTT packet (unless it closes the
// connection or confirms the handshake) or WebSocket data frame.
func IsBulk(e *decode.Event) bool {
	if e.Dir != decode.C2S && e.Dir != decode.S2C {
		return false
	}
	if e.Layer == decode.LayerTLS && e.Info.Has("handshake") {
		return false
	}
	if QUICFrame(e, "CONNECTION_CLOSE") != "" || QUICFrame(e, "HANDSHAKE_DONE") != "" {
		return false
	}
	return slices.Contains(bulkTypes[e.Layer], e.Type)
}
