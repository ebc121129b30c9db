package capture

import (
	"errors"
	"fmt"
	"time"
)

// Live capture defaults.
const (
	// DefaultPollTimeout is how long LiveSource.Next waits for a packet
	// before it returns ErrNoPacket, and how long the kernel holds back a
	// partly filled block. A packet on a quiet link can wait both before
	// the caller sees it or gets the chance to flush: 20 ms each keeps an
	// event within 100 ms of its packet (50 ms each did not, at 100
	// packets a second; docs/performance.md).
	DefaultPollTimeout = 20 * time.Millisecond
	// DefaultBufferSize is the size of the kernel's packet ring.
	DefaultBufferSize = 32 << 20
)

// ErrNoPacket is returned by LiveSource.Next when no packet arrived within
// the poll timeout. It is not an end: the caller flushes its output, checks
// for a signal, and calls Next again.
var ErrNoPacket = errors.New("capture: no packet within the poll timeout")

// LiveOptions configures OpenLive.
type LiveOptions struct {
	// Iface is the interface to capture on ("lo", "eth0"). Required.
	// "any" is not supported: its packets come with different link
	// headers, which Linux only unifies as cooked (SLL) frames.
	Iface string
	// Snaplen is the most bytes kept of each packet; 0 means MaxSnaplen.
	Snaplen int
	// Filter is a tcpdump filter expression (see CompileFilter), run in
	// the kernel. Empty means every packet.
	Filter string
	// Promisc puts the interface in promiscuous mode while capturing.
	Promisc bool
	// PollTimeout bounds how long Next waits before returning ErrNoPacket;
	// 0 means DefaultPollTimeout. It is also how long the kernel holds a
	// partly filled block of packets back (millisecond granularity).
	PollTimeout time.Duration
	// BufferSize is the kernel ring size in bytes; 0 means
	// DefaultBufferSize. A bigger ring rides out longer stalls of the
	// reader before the kernel drops packets (see Stats).
	BufferSize int
	// Input is copied to Packet.Input.
	Input int
}

// PermissionError reports that the process may not open a packet socket.
type PermissionError struct {
	Iface string
	Err   error // the system call's error: EPERM or EACCES
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("capture on %s: permission denied: run as root (sudo wiretrace live ...) or grant the capability once: sudo setcap cap_net_raw,cap_net_admin+eip \"$(command -v wiretrace)\"", e.Iface)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// ErrNoInterface is wrapped by the error OpenLive returns for an interface
// that does not exist.
var ErrNoInterface = errors.New("no such interface")

// ErrInterfaceGone is returned by a live source's Next when its interface
// went down or was removed while the capture ran.
var ErrInterfaceGone = errors.New("the interface went down or away")
