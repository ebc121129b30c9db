package capture

import (
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Packet is one captured frame.
//
// Data aliases the source's buffer and is valid only until the next call to
// the source's Next; copy what must outlive that.
type Packet struct {
	// Frame is the 1-based index of the packet in the whole input (across
	// merged files, in output order).
	Frame int64
	// TS is the capture timestamp, at the capture's full precision.
	TS time.Time
	// LinkType is the link-layer header type of Data.
	LinkType layers.LinkType
	// CapLen is len(Data); OrigLen is the length on the wire. CapLen <
	// OrigLen means the snap length cut the packet.
	CapLen, OrigLen int
	// Input is the index of the file (or live interface) the packet came
	// from, in the order given on the command line.
	Input int
	// Iface is the interface index within that input (pcapng IDB number).
	Iface int
	Data  []byte
}

// Source yields packets in timestamp order (merged sources) or file order
// (a single file).
type Source interface {
	// Next fills p with the next packet and returns io.EOF after the last
	// one. p.Data is valid until the next call.
	Next(p *Packet) error
	// Close releases the source.
	Close() error
}
