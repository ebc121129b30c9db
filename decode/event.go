package decode

import "time"

// Dir is the direction of an event relative to the connection's client and
// server.
type Dir uint8

const (
	// DirNone is used by events that belong to the connection as a whole,
	// such as the summary.
	DirNone Dir = iota
	// C2S is client to server.
	C2S
	// S2C is server to client.
	S2C
)

var dirNames = [...]string{DirNone: "", C2S: "c2s", S2C: "s2c"}

// String returns "c2s", "s2c" or "" for DirNone.
func (d Dir) String() string {
	if int(d) < len(dirNames) {
		return dirNames[d]
	}
	return "Dir(" + itoa(int64(d)) + ")"
}

// Reverse returns the opposite direction; DirNone stays DirNone.
func (d Dir) Reverse() Dir {
	switch d {
	case C2S:
		return S2C
	case S2C:
		return C2S
	}
	return d
}

// Index returns 0 for C2S and 1 for S2C, for arrays indexed by direction.
// It must not be called with DirNone.
func (d Dir) Index() int { return int(d) - 1 }

// Layer names the protocol layer an event belongs to.
type Layer uint8

// The layers of the event contract (docs/events.md).
const (
	LayerUnknown Layer = iota
	LayerTCP
	LayerUDP
	LayerTLS
	LayerQUIC
	LayerHTTP1
	LayerHTTP2
	LayerHTTP3
	LayerWS
	LayerAnalysis
	LayerConn
	// LayerCapture is for events about the input itself rather than a
	// connection, such as a reassembly cap dropping data.
	LayerCapture
)

var layerNames = [...]string{
	LayerUnknown:  "unknown",
	LayerTCP:      "tcp",
	LayerUDP:      "udp",
	LayerTLS:      "tls",
	LayerQUIC:     "quic",
	LayerHTTP1:    "http1",
	LayerHTTP2:    "http2",
	LayerHTTP3:    "http3",
	LayerWS:       "ws",
	LayerAnalysis: "analysis",
	LayerConn:     "conn",
	LayerCapture:  "capture",
}

// String returns the layer's name in the event contract.
func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return "Layer(" + itoa(int64(l)) + ")"
}

// Type is an event's type within its layer, e.g. "SYN" or "ClientHello".
// Types are plain strings because each layer has its own vocabulary; the
// names are fixed by docs/events.md.
type Type string

// TCP event types (layer tcp).
const (
	TypeSYN    Type = "SYN"
	TypeSYNACK Type = "SYN-ACK"
	// TypeACK is the ACK that completes the three-way handshake.
	TypeACK Type = "ACK"
	TypeFIN Type = "FIN"
	TypeRST Type = "RST"
	// TypeSegment is a plain data or ACK segment; emitted only when the
	// caller asks for segments.
	TypeSegment Type = "segment"

	TypeRetransmission     Type = "retransmission"
	TypeFastRetransmission Type = "fast-retransmission"
	TypeOutOfOrder         Type = "out-of-order"
	TypeLostSegment        Type = "lost-segment"
	TypeDupAck             Type = "dup-ack"
	TypeZeroWindow         Type = "zero-window"
	TypeKeepAlive          Type = "keep-alive"
)

// UDP event types (layer udp).
const (
	// TypeDatagram is one UDP datagram; emitted only when the caller asks
	// for segments, or when no decoder claims the flow.
	TypeDatagram Type = "datagram"
)

// Connection and capture event types.
const (
	// TypeSummary closes every connection (layer conn).
	TypeSummary Type = "summary"
	// TypeCapLimit reports that a resource cap dropped data.
	TypeCapLimit Type = "cap-limit"
	// TypeDecodeError reports that a decoder gave up on a connection.
	TypeDecodeError Type = "decode-error"
)

// Flags mark properties of an event that the timeline's analysis needs and
// that are not part of the rendered contract.
type Flags uint8

const (
	// FlagAppData marks an event that carries application bytes, in
	// either direction (the client's first such event ends the round-trip
	// count; the server's first one after it is the first response byte).
	FlagAppData Flags = 1 << iota
	// FlagReply marks an event the peer would wait for: a SYN-ACK, a
	// handshake flight, response data. Bare ACKs and analysis events are
	// not replies.
	FlagReply
	// FlagRequest marks an event its sender expects an answer to: a SYN,
	// a ClientHello, a request. The round-trip count waits for a reply
	// after one of these.
	FlagRequest
	// FlagHandshakeDone marks the event at which the client's secure
	// handshake (TLS, QUIC) is complete: from here it may send application
	// data without waiting. The timeline ends the handshake phase there.
	FlagHandshakeDone
)

// NoValue marks Event.Stream and Event.Len as absent.
const NoValue = -1

// Event is one thing that happened on a connection, as a decoder saw it.
//
// Decoders fill everything except the connection identity, which the
// timeline adds. Info is owned by the event once emitted: decoders must not
// reuse its backing array.
type Event struct {
	// Frame is the 1-based index of the packet that completed the event.
	Frame int64
	// TS is the timestamp of that packet, at the capture's precision.
	TS time.Time
	// Dir is the event's direction; DirNone for connection-wide events.
	Dir   Dir
	Layer Layer
	Type  Type
	// Stream is the protocol stream (HTTP/2, QUIC), or NoValue.
	Stream int64
	// Len is the payload length in bytes where meaningful, or NoValue.
	Len   int64
	Flags Flags
	Info  Info
}

// NewEvent returns an Event with Stream and Len set to NoValue.
func NewEvent(frame int64, ts time.Time, dir Dir, layer Layer, typ Type) Event {
	return Event{Frame: frame, TS: ts, Dir: dir, Layer: layer, Type: typ, Stream: NoValue, Len: NoValue}
}

// Emit receives events from a decoder. The event and its Info may be kept.
type Emit func(Event)

func itoa(v int64) string {
	var b [20]byte
	return string(AppendInt(b[:0], v))
}
