//go:build !linux

package capture

import (
	"errors"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// errLiveUnsupported is what OpenLive returns off Linux: live capture uses
// Linux AF_PACKET sockets, and the binary is built without cgo, so there
// is no libpcap to fall back on. Capture with tcpdump or Wireshark there
// and read the file instead.
var errLiveUnsupported = errors.New("capture: live capture is supported on Linux only; capture to a file with tcpdump or Wireshark and read that")

// LiveSource is a live capture; see the Linux build. Off Linux OpenLive
// never returns one.
type LiveSource struct{}

// OpenLive is not available off Linux: it always returns an error.
func OpenLive(opts LiveOptions) (*LiveSource, error) { return nil, errLiveUnsupported }

// LinkType is the link-layer header type of the packets.
func (s *LiveSource) LinkType() layers.LinkType { return layers.LinkTypeNull }

// Next returns io.EOF.
func (s *LiveSource) Next(p *Packet) error { return io.EOF }

// Stats returns zeros.
func (s *LiveSource) Stats() (received, dropped uint64) { return 0, 0 }

// Close does nothing.
func (s *LiveSource) Close() error { return nil }
