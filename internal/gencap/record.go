//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/internal/netns"
)

// frame is one captured packet, copied out of the capture ring.
type frame struct {
	ts      time.Time
	origLen int
	data    []byte
}

// recorder captures one interface inside a namespace with the project's
// own live capture (AF_PACKET, TPACKET_V3) and keeps the packets.
type recorder struct {
	iface   string
	ifindex int
	mac     net.HardwareAddr
	snaplen int
	src     *capture.LiveSource
	frames  []frame
	stop    chan struct{}
	done    chan error
}

// quietPolls is how many empty polls in a row (capture.DefaultPollTimeout
// each) end a recording after stop: the last packets of a connection may
// still be in the router's delay queue when the peers return.
const quietPolls = 4

// record starts capturing iface in ns, with a kernel ring of ring bytes
// (0: the default). OpenLive runs inside the namespace
// (Do), so the packet socket is bound to the namespace's interface; the
// reading goroutine runs anywhere.
func record(ns *netns.NS, iface, filter string, snaplen, ring int) (*recorder, error) {
	r := &recorder{iface: iface, snaplen: snaplen, stop: make(chan struct{}), done: make(chan error, 1)}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		r.ifindex, r.mac = ifi.Index, ifi.HardwareAddr
		r.src, err = capture.OpenLive(capture.LiveOptions{Iface: iface, Filter: filter, Snaplen: snaplen, BufferSize: ring})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("capture %s in %s: %w", iface, ns.Name, err)
	}
	if r.src.LinkType() != layers.LinkTypeEthernet {
		r.src.Close()
		return nil, fmt.Errorf("capture %s in %s: link type %v; want Ethernet", iface, ns.Name, r.src.LinkType())
	}
	go r.loop()
	return r, nil
}

func (r *recorder) loop() {
	var p capture.Packet
	quiet := 0
	for {
		err := r.src.Next(&p)
		if errors.Is(err, capture.ErrNoPacket) {
			select {
			case <-r.stop:
				if quiet++; quiet >= quietPolls {
					r.done <- nil
					return
				}
			default:
			}
			continue
		}
		if err != nil {
			r.done <- err
			return
		}
		quiet = 0
		r.frames = append(r.frames, frame{ts: p.TS, origLen: p.OrigLen, data: bytes.Clone(p.Data)})
	}
}

// finish waits for the wire to go quiet, stops the capture and checks
// that the kernel dropped nothing.
func (r *recorder) finish() error {
	close(r.stop)
	err := <-r.done
	_, dropped := r.src.Stats()
	r.src.Close()
	if err != nil {
		return fmt.Errorf("capture %s: %w", r.iface, err)
	}
	if dropped != 0 {
		return fmt.Errorf("capture %s: the kernel dropped %d packets", r.iface, dropped)
	}
	if len(r.frames) == 0 {
		return fmt.Errorf("capture %s: no packets", r.iface)
	}
	return nil
}

// writePcapng writes the frames with capture.PcapngWriter, the writer
// behind "wiretrace live -w". Non-empty secrets (an NSS key log) go into
// a Decryption Secrets Block just before the first frame that needs them:
// the first one carrying TCP payload from the TLS server's port (the
// ServerHello and, in TLS 1.3, the encrypted rest of the server's flight).
func (r *recorder) writePcapng(path string, secrets []byte) (size int64, err error) {
	var buf bytes.Buffer
	w, err := capture.NewPcapngWriter(&buf, layers.LinkTypeEthernet, r.iface, r.snaplen)
	if err != nil {
		return 0, err
	}
	dsbAt := -1
	if len(secrets) > 0 {
		if dsbAt = firstPayloadFrom(r.frames, tlsPort); dsbAt < 0 {
			return 0, fmt.Errorf("no frame with payload from port %d to put the key log before", tlsPort)
		}
	}
	for i, f := range r.frames {
		if i == dsbAt {
			if err := w.WriteSecrets(capture.SecretsTLSKeyLog, secrets); err != nil {
				return 0, err
			}
		}
		p := capture.Packet{
			Frame: int64(i + 1), TS: f.ts, LinkType: layers.LinkTypeEthernet,
			CapLen: len(f.data), OrigLen: f.origLen, Data: f.data,
		}
		if err := w.WritePacket(&p); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), os.WriteFile(path, buf.Bytes(), 0o644)
}

// firstPayloadFrom is the index of the first Ethernet frame that carries
// TCP payload from port, or -1.
func firstPayloadFrom(frames []frame, port uint16) int {
	for i, f := range frames {
		p := gopacket.NewPacket(f.data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && uint16(tcp.SrcPort) == port && len(tcp.Payload) > 0 {
			return i
		}
	}
	return -1
}

// Link-layer rewrites of an Ethernet capture, for link-type coverage.
const ethHeaderLen = 14

// linkVariant turns an Ethernet frame into another link type's frame.
type linkVariant struct {
	suffix   string
	linkType layers.LinkType
	rewrite  func(r *recorder, eth []byte) ([]byte, error)
}

var linkVariants = []linkVariant{
	{"usec", layers.LinkTypeEthernet, func(_ *recorder, eth []byte) ([]byte, error) { return eth, nil }},
	// DLT_NULL: a 4-byte address family in the writer's byte order
	// (pcapgo writes little-endian files), then the IP packet.
	{"null", layers.LinkTypeNull, func(_ *recorder, eth []byte) ([]byte, error) {
		ip, err := ipPayload(eth)
		if err != nil {
			return nil, err
		}
		af := uint32(2) // AF_INET (BSD and Linux alike)
		if ip[0]>>4 == 6 {
			af = 10 // AF_INET6 on Linux
		}
		return append(binary.LittleEndian.AppendUint32(nil, af), ip...), nil
	}},
	// LINKTYPE_RAW: the IP packet alone.
	{"raw", layers.LinkTypeRaw, func(_ *recorder, eth []byte) ([]byte, error) { return ipPayload(eth) }},
	// LINKTYPE_LINUX_SLL2 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html):
	// protocol type, reserved, interface index, ARPHRD type, packet type,
	// address length, 8 address bytes; all big-endian. What tcpdump -i any
	// writes on current Linux.
	{"sll2", layers.LinkTypeLinuxSLL2, func(r *recorder, eth []byte) ([]byte, error) {
		ip, err := ipPayload(eth)
		if err != nil {
			return nil, err
		}
		h := make([]byte, 20, 20+len(ip))
		copy(h[0:2], eth[12:14]) // EtherType
		binary.BigEndian.PutUint32(h[4:], uint32(r.ifindex))
		binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
		// Packet type: 4 (PACKET_OUTGOING) for what this host sent, 0
		// (PACKET_HOST) for what it received. The source MAC tells.
		if bytes.Equal(eth[6:12], r.mac) {
			h[10] = 4
		}
		h[11] = 6
		copy(h[12:18], eth[6:12])
		return append(h, ip...), nil
	}},
}

func ipPayload(eth []byte) ([]byte, error) {
	if len(eth) < ethHeaderLen {
		return nil, errors.New("short Ethernet frame")
	}
	switch binary.BigEndian.Uint16(eth[12:14]) {
	case 0x0800, 0x86dd:
		return eth[ethHeaderLen:], nil
	}
	return nil, fmt.Errorf("EtherType %#04x: not IP", binary.BigEndian.Uint16(eth[12:14]))
}

// writePcap writes the frames as a classic pcap file with microsecond
// timestamps (pcapgo.Writer), rewritten to v's link type.
func (r *recorder) writePcap(path string, v linkVariant) (size int64, err error) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(uint32(r.snaplenOrMax()), v.linkType); err != nil {
		return 0, err
	}
	for i, f := range r.frames {
		data, err := v.rewrite(r, f.data)
		if err != nil {
			return 0, fmt.Errorf("frame %d: %w", i+1, err)
		}
		ci := gopacket.CaptureInfo{
			Timestamp:     f.ts,
			CaptureLength: len(data),
			Length:        f.origLen - (len(f.data) - len(data)),
		}
		if err := w.WritePacket(ci, data); err != nil {
			return 0, fmt.Errorf("frame %d: %w", i+1, err)
		}
	}
	return int64(buf.Len()), os.WriteFile(path, buf.Bytes(), 0o644)
}

func (r *recorder) snaplenOrMax() int {
	if r.snaplen == 0 {
		return capture.MaxSnaplen
	}
	return r.snaplen
}
