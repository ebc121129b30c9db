package timeline

import (
	"net/netip"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Transport is a connection's transport protocol.
type Transport uint8

// Transports.
const (
	TCP Transport = iota + 1
	UDP
)

// String returns "tcp" or "udp".
func (t Transport) String() string {
	switch t {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return "Transport(" + string(decode.AppendInt(nil, int64(t))) + ")"
}

// Conn identifies a connection. It is fixed when the connection is first
// seen and may be kept by renderers after the connection ends.
type Conn struct {
	// ID numbers connections from 1 in order of their first packet.
	ID        int
	Transport Transport
	// Midstream reports that the connection was picked up after its
	// start, so Client and Server are guessed from the ports.
	Midstream bool
	// Client sent the SYN (TCP) or the first datagram (UDP).
	Client, Server netip.AddrPort
	// FirstTS and FirstFrame are those of the connection's first packet.
	FirstTS    time.Time
	FirstFrame int64
}

// Event is a decoded event placed on its connection.
type Event struct {
	decode.Event
	// Conn is the connection; nil for capture-wide events.
	Conn *Conn
}

// Sink receives events in output order. The *Event is valid only during the
// call (the Builder reuses it); a sink that keeps events copies the struct.
// The Conn it points to and the Info slice may be kept.
type Sink interface {
	Event(ev *Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ev *Event) error

// Event calls f.
func (f SinkFunc) Event(ev *Event) error { return f(ev) }
