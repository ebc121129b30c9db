package capture

// pcap reading, per draft-ietf-opsawg-pcap (the libpcap file format).
//
// We read pcap ourselves rather than through pcapgo.Reader because that one
// rejects records whose captured length exceeds the original length (some
// writers produce them), accepts only version 2.4, cannot say at which byte
// offset a record failed, and cannot cap a record before reading it. The
// record layout is 16 bytes, so the cost is small.

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// pcap magic numbers as read big-endian from the first four bytes.
const (
	pcapMagicMicro     = 0xa1b2c3d4 // big-endian file, microseconds
	pcapMagicMicroSwap = 0xd4c3b2a1 // little-endian file, microseconds
	pcapMagicNano      = 0xa1b23c4d // big-endian file, nanoseconds
	pcapMagicNanoSwap  = 0x4d3cb2a1 // little-endian file, nanoseconds
	// Alexey Kuznetzov's "modified" pcap: 8 more bytes per record header
	// (ifindex, protocol, pkt_type, pad).
	pcapMagicModified     = 0xa1b2cd34
	pcapMagicModifiedSwap = 0x34cdb2a1
)

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

func isPcapMagic(m uint32) bool {
	switch m {
	case pcapMagicMicro, pcapMagicMicroSwap, pcapMagicNano, pcapMagicNanoSwap,
		pcapMagicModified, pcapMagicModifiedSwap:
		return true
	}
	return false
}

type pcapState struct {
	be       bool  // big-endian fields
	nsecMul  int64 // 1000 for microsecond files, 1 for nanosecond files
	hdrLen   int   // record header length: 16, or 24 for modified pcap
	linkType layers.LinkType
}

func (st *pcapState) u32(b []byte) uint32 {
	if st.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// openPcap reads the file header (draft-ietf-opsawg-pcap section 4).
//
//	magic (4) | major (2) | minor (2) | reserved1 (4) | reserved2 (4) |
//	snaplen (4) | FCS f, LinkType (4)
func (s *FileSource) openPcap() error {
	h, err := s.peek(pcapFileHeaderLen)
	if err != nil {
		return s.readErr("file header", 0, "pcap file header", pcapFileHeaderLen, len(h), err)
	}
	st := &s.pcap
	st.hdrLen = pcapRecordHeaderLen
	st.nsecMul = 1000
	switch binary.BigEndian.Uint32(h[0:4]) {
	case pcapMagicMicro:
		st.be = true
	case pcapMagicMicroSwap:
	case pcapMagicNano:
		st.be, st.nsecMul = true, 1
	case pcapMagicNanoSwap:
		st.nsecMul = 1
	case pcapMagicModified:
		st.be, st.hdrLen = true, 24
	case pcapMagicModifiedSwap:
		st.hdrLen = 24
	}
	major := binary.LittleEndian.Uint16(h[4:6])
	if st.be {
		major = binary.BigEndian.Uint16(h[4:6])
	}
	if major != 2 {
		return s.fileErr("file header", 0, fmt.Errorf("unsupported pcap major version %d", major))
	}
	// The low 16 bits are the LinkType; bits 26-31 carry FCS information
	// (section 4), which we do not need.
	st.linkType = layers.LinkType(st.u32(h[20:24]) & 0xffff)
	s.br.Discard(pcapFileHeaderLen)
	s.pos = pcapFileHeaderLen
	return nil
}

// nextPcap reads one packet record (draft-ietf-opsawg-pcap section 5).
//
//	Timestamp (seconds) (4) | Timestamp (micro/nanoseconds) (4) |
//	Captured Packet Length (4) | Original Packet Length (4) | Packet Data
func (s *FileSource) nextPcap(p *Packet) error {
	st := &s.pcap
	start := s.pos
	h, err := s.peek(st.hdrLen)
	if err != nil {
		if err == io.EOF && len(h) == 0 {
			return io.EOF
		}
		return s.readErr("packet record", start, "record header", st.hdrLen, len(h), err)
	}
	sec := st.u32(h[0:4])
	frac := st.u32(h[4:8])
	capLen := st.u32(h[8:12])
	origLen := st.u32(h[12:16])
	if int64(capLen) > int64(s.opts.MaxBlockSize-st.hdrLen) {
		return s.fileErr("packet record", start, fmt.Errorf("%w: captured length %d exceeds the limit of %d bytes per record",
			ErrTooLarge, capLen, s.opts.MaxBlockSize))
	}
	n := st.hdrLen + int(capLen)
	b, have, err := s.take(n)
	if err != nil {
		return s.readErr("packet record", start, "record", n, have, err)
	}
	s.pos += int64(n)
	// Unsigned seconds per the draft: valid until 2106.
	p.TS = unixTime(int64(sec), int64(frac)*st.nsecMul)
	p.LinkType = st.linkType
	p.CapLen = int(capLen)
	p.OrigLen = int(origLen)
	p.Iface = 0
	p.Data = b[st.hdrLen:n:n]
	return nil
}
