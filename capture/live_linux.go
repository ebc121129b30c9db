//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// LiveSource reads packets from a network interface through an AF_PACKET
// socket with a TPACKET_V3 ring shared with the kernel (no cgo, no
// libpcap). Packet.Data points into the ring and is valid until the next
// call to Next.
//
// Next and Close must be called from one goroutine; Stats may be called
// from any goroutine until Close.
type LiveSource struct {
	tp       *afpacket.TPacket
	iface    string
	linkType layers.LinkType
	snaplen  int
	input    int
	frame    int64

	mu                sync.Mutex // guards the cached stats and tp in Stats/Close
	received, dropped uint64
	closed            bool
}

// OpenLive starts a capture on opts.Iface. The filter is attached before
// the first packet is handed out: packets the ring held from before it are
// discarded. On loopback each packet is delivered once (Linux shows the
// kernel's outgoing copy too; it is filtered out, as libpcap does).
//
// Errors: *PermissionError without CAP_NET_RAW; an error wrapping
// ErrNoInterface for an unknown interface; *FilterError for a bad filter.
func OpenLive(opts LiveOptions) (*LiveSource, error) {
	if opts.Iface == "" {
		return nil, errors.New("capture: no interface given")
	}
	if opts.Iface == "any" {
		return nil, errors.New("capture on any: not supported: capture one interface at a time (lo, eth0, ...)")
	}
	snaplen := opts.Snaplen
	if snaplen == 0 {
		snaplen = MaxSnaplen
	}
	if snaplen < 0 || snaplen > MaxSnaplen {
		return nil, fmt.Errorf("capture on %s: snaplen %d out of range 1..%d", opts.Iface, opts.Snaplen, MaxSnaplen)
	}
	poll := opts.PollTimeout
	if poll == 0 {
		poll = DefaultPollTimeout
	}
	if poll < 0 {
		return nil, fmt.Errorf("capture on %s: negative poll timeout %v", opts.Iface, opts.PollTimeout)
	}
	// The kernel counts the block timeout in milliseconds.
	poll = max(poll.Round(time.Millisecond), time.Millisecond)
	bufSize := opts.BufferSize
	if bufSize == 0 {
		bufSize = DefaultBufferSize
	}
	if bufSize < 0 {
		return nil, fmt.Errorf("capture on %s: negative buffer size %d", opts.Iface, opts.BufferSize)
	}

	ifi, err := net.InterfaceByName(opts.Iface)
	if err != nil {
		return nil, noInterfaceError(opts.Iface)
	}
	hwType, err := interfaceHWType(opts.Iface)
	if err != nil {
		return nil, fmt.Errorf("capture on %s: link type: %w", opts.Iface, err)
	}
	var linkType layers.LinkType
	switch hwType {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		// Linux gives loopback frames an Ethernet header with zero
		// addresses; libpcap calls both Ethernet too.
		linkType = layers.LinkTypeEthernet
	case unix.ARPHRD_NONE:
		// tun, WireGuard: packets start at the IP header.
		linkType = layers.LinkTypeRaw
	default:
		return nil, fmt.Errorf("capture on %s: not supported: link type ARPHRD %d (Ethernet, loopback and raw IP interfaces only)", opts.Iface, hwType)
	}
	loopback := hwType == unix.ARPHRD_LOOPBACK

	var prog []bpf.Instruction
	if opts.Filter != "" {
		prog, err = compileFilter(opts.Filter, linkType, snaplen)
		if err != nil {
			return nil, err
		}
	}
	if loopback {
		prog = dropOutgoing(prog, snaplen)
	}
	if prog == nil && snaplen < MaxSnaplen {
		prog = []bpf.Instruction{bpf.RetConstant{Val: uint32(snaplen)}}
	}
	var raw []bpf.RawInstruction
	if prog != nil {
		if raw, err = bpf.Assemble(prog); err != nil {
			return nil, fmt.Errorf("capture on %s: filter: %w", opts.Iface, err)
		}
	}

	blockSize, numBlocks := ringGeometry(snaplen, ifi.MTU, bufSize)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(ifi.Name),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.OptBlockSize(blockSize),
		afpacket.OptNumBlocks(numBlocks),
		afpacket.OptBlockTimeout(poll),
		afpacket.OptPollTimeout(poll),
		afpacket.OptAddVLANHeader(true),
	)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, &PermissionError{Iface: opts.Iface, Err: err}
		}
		return nil, fmt.Errorf("capture on %s: %w", opts.Iface, err)
	}
	s := &LiveSource{tp: tp, iface: opts.Iface, linkType: linkType, snaplen: snaplen, input: opts.Input}
	if raw != nil {
		if err := s.attach(raw); err != nil {
			tp.Close()
			return nil, err
		}
	}
	if opts.Promisc {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
				return nil, &PermissionError{Iface: opts.Iface, Err: err}
			}
			return nil, fmt.Errorf("capture on %s: promiscuous mode: %w", opts.Iface, err)
		}
	}
	return s, nil
}

// rejectAll is the filter that holds the ring empty while attach drains it.
var rejectAll = []bpf.RawInstruction{{Op: unix.BPF_RET | unix.BPF_K, K: 0}}

// attach installs the filter program. The socket received every packet
// from the moment it was bound, so first a reject-all filter stops new
// arrivals, the ring is drained of what came before, and only then is the
// real filter attached (libpcap does the same). Draining ends after two
// empty polls in a row: the block timeout equals the poll timeout, so by
// then the kernel has handed over any partly filled block.
func (s *LiveSource) attach(raw []bpf.RawInstruction) error {
	if err := s.tp.SetBPF(rejectAll); err != nil {
		return fmt.Errorf("capture on %s: attach filter: %w", s.iface, err)
	}
	for empty := 0; empty < 2; {
		_, _, err := s.tp.ZeroCopyReadPacketData()
		switch {
		case err == nil:
			empty = 0
		case errors.Is(err, afpacket.ErrTimeout):
			empty++
		default:
			return fmt.Errorf("capture on %s: drain: %w", s.iface, err)
		}
	}
	// Count only what the real filter accepts.
	if err := s.tp.InitSocketStats(); err != nil {
		return fmt.Errorf("capture on %s: socket stats: %w", s.iface, err)
	}
	if err := s.tp.SetBPF(raw); err != nil {
		return fmt.Errorf("capture on %s: attach filter: %w", s.iface, err)
	}
	return nil
}

// dropOutgoing prefixes prog (nil: accept all) with a test that rejects
// packets the host sends. On loopback every packet passes the tap twice,
// once outgoing and once incoming; libpcap skips the outgoing copy too.
// Prefixing keeps prog's relative jumps valid.
func dropOutgoing(prog []bpf.Instruction, snaplen int) []bpf.Instruction {
	if prog == nil {
		prog = []bpf.Instruction{bpf.RetConstant{Val: uint32(snaplen)}}
	}
	return append([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipFalse: 1},
		bpf.RetConstant{Val: 0},
	}, prog...)
}

// ringBlock is the preferred TPACKET_V3 block size. The kernel hands a
// block to the reader when it is full or when the block timeout (the poll
// timeout) expires, so under load a packet waits up to the time the block
// takes to fill. A small packet takes about 190 bytes of ring: at 100,000
// a second 128 KiB fill in about 7 ms, 1 MiB in 55 ms (the median event
// latency of `wiretrace live` fell from 32 ms to 6 ms; docs/performance.md).
const ringBlock = 128 << 10

// ringGeometry picks the TPACKET_V3 block size and count for a ring of
// about bufSize bytes: blocks of ringBlock bytes, smaller when the ring
// would have fewer than 8, but always big enough for the largest frame:
// snaplen bytes, or less when the interface cannot deliver that much (its
// MTU, or a 64 KiB GRO/GSO packet, plus link headers). A bigger frame (a
// BIG TCP aggregate beyond 64 KiB) would be cut to the block, as a snap
// length cuts it.
func ringGeometry(snaplen, mtu, bufSize int) (blockSize, numBlocks int) {
	frame := min(snaplen, max(mtu, 1<<16)+64)
	minBlock := os.Getpagesize()
	for minBlock < frame+512 {
		minBlock *= 2
	}
	blockSize = max(ringBlock, minBlock)
	for blockSize > minBlock && bufSize/blockSize < 8 {
		blockSize /= 2
	}
	return blockSize, max(bufSize/blockSize, 2)
}

// interfaceHWType returns the ARPHRD_* hardware type of the interface.
func interfaceHWType(name string) (uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, fmt.Errorf("SIOCGIFHWADDR: %w", err)
	}
	// ifr_hwaddr.sa_family holds the ARPHRD type.
	return ifr.Uint16(), nil
}

func noInterfaceError(name string) error {
	var names []string
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifi := range ifs {
			names = append(names, ifi.Name)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("capture on %s: %w", name, ErrNoInterface)
	}
	sort.Strings(names)
	return fmt.Errorf("capture on %s: %w (available: %s)", name, ErrNoInterface, strings.Join(names, ", "))
}

// LinkType is the link-layer header type of the packets.
func (s *LiveSource) LinkType() layers.LinkType { return s.linkType }

// Next fills p with the next packet. It returns ErrNoPacket when none
// arrived within the poll timeout, and io.EOF after Close. Frames are
// numbered from 1; TS is the kernel's receive time (nanoseconds).
func (s *LiveSource) Next(p *Packet) error {
	if s.tp == nil {
		return io.EOF
	}
	data, ci, err := s.tp.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, afpacket.ErrTimeout) {
			return ErrNoPacket
		}
		if errors.Is(err, afpacket.ErrPoll) {
			// The kernel flags the socket with an error (ENETDOWN,
			// ENXIO) when its interface goes down or is removed.
			return fmt.Errorf("capture on %s: %w", s.iface, ErrInterfaceGone)
		}
		return fmt.Errorf("capture on %s: %w", s.iface, err)
	}
	if len(data) > s.snaplen {
		data = data[:s.snaplen]
	}
	s.frame++
	*p = Packet{
		Frame:    s.frame,
		TS:       ci.Timestamp,
		LinkType: s.linkType,
		CapLen:   len(data),
		OrigLen:  max(ci.Length, len(data)),
		Input:    s.input,
		Data:     data,
	}
	return nil
}

// Stats returns the kernel's counts since the capture started: packets
// the filter accepted (tcpdump's "received by filter"), and those of them
// dropped because the ring was full. After Close it returns the final
// counts.
func (s *LiveSource) Stats() (received, dropped uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateStats()
	return s.received, s.dropped
}

func (s *LiveSource) updateStats() {
	if s.closed {
		return
	}
	// Reading the kernel's counters resets them; afpacket keeps the sums.
	// tp_packets already includes tp_drops.
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return
	}
	s.received, s.dropped = uint64(v3.Packets()), uint64(v3.Drops())
}

// Close stops the capture and releases the ring.
func (s *LiveSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.updateStats()
	s.closed = true
	s.tp.Close()
	s.tp = nil
	return nil
}
