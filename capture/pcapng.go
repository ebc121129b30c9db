package capture

// pcapng reading, per draft-ietf-opsawg-pcapng.
//
// We read pcapng ourselves rather than through pcapgo.NgReader because that
// one keeps Decryption Secrets Blocks to itself (and drops those after the
// first interface), and cannot say at which byte offset a block failed or
// skip a damaged block and go on.

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Block types (section 11.1).
const (
	ngBlockSHB = 0x0a0d0d0a // Section Header Block
	ngBlockIDB = 0x00000001 // Interface Description Block
	ngBlockPB  = 0x00000002 // Packet Block (obsolete)
	ngBlockSPB = 0x00000003 // Simple Packet Block
	ngBlockEPB = 0x00000006 // Enhanced Packet Block
	ngBlockDSB = 0x0000000a // Decryption Secrets Block
)

const (
	ngByteOrderMagic = 0x1a2b3c4d
	ngBlockMin       = 12 // type, length, trailing length
	ngSHBMin         = 28 // + byte-order magic, version, section length
	ngIDBMin         = 20 // + link type, reserved, snaplen
	ngEPBMin         = 32 // + interface, timestamp (2), lengths (2)
	ngPBMin          = 32 // + interface, drops, timestamp (2), lengths (2)
	ngSPBMin         = 16 // + original length
	ngDSBMin         = 20 // + secrets type, secrets length
)

// Interface Description Block options (section 4.2).
const (
	ngOptEndOfOpt = 0
	ngOptTSResol  = 9  // if_tsresol
	ngOptTSOffset = 14 // if_tsoffset
)

// blockName names a block type in errors.
func blockName(typ uint32) string {
	switch typ {
	case ngBlockSHB:
		return "section header block"
	case ngBlockIDB:
		return "interface description block"
	case ngBlockPB:
		return "packet block"
	case ngBlockSPB:
		return "simple packet block"
	case ngBlockEPB:
		return "enhanced packet block"
	case ngBlockDSB:
		return "decryption secrets block"
	}
	return "block"
}

// ngIface is one interface of the current section.
type ngIface struct {
	linkType layers.LinkType
	snapLen  uint32
	// Timestamps count units of 10^-exp seconds (pow2 false) or 2^-exp
	// seconds (pow2 true); default 10^-6.
	pow2 bool
	exp  uint8
	// For 10^-exp with exp <= 9: sec = ts/div, nsec = ts%div*mul.
	// div == 0 selects the general path.
	div, mul uint64
	offset   int64 // if_tsoffset, seconds
}

func (ifc *ngIface) setResolution(pow2 bool, exp uint8) {
	ifc.pow2, ifc.exp = pow2, exp
	ifc.div, ifc.mul = 0, 0
	if !pow2 && exp <= 9 {
		ifc.div, ifc.mul = pow10(exp), pow10(9-exp)
	}
}

func pow10(n uint8) uint64 {
	v := uint64(1)
	for range n {
		v *= 10
	}
	return v
}

// time converts a timestamp in interface units to UTC.
func (ifc *ngIface) time(ts uint64) time.Time {
	var sec, nsec uint64
	switch {
	case ifc.div != 0:
		sec, nsec = ts/ifc.div, ts%ifc.div*ifc.mul
	case ifc.pow2:
		if ifc.exp < 64 {
			sec = ts >> ifc.exp
			rem := ts & (1<<ifc.exp - 1)
			hi, lo := bits.Mul64(rem, 1e9)
			nsec, _ = bits.Div64(hi, lo, 1<<ifc.exp) // rem < 2^exp, so hi < 2^exp
		} else {
			hi, _ := bits.Mul64(ts, 1e9)
			nsec = hi >> (ifc.exp - 64) // exp <= 127
		}
	default: // 10^-exp, exp > 9
		if ifc.exp <= 19 {
			div := pow10(ifc.exp)
			sec = ts / div
			hi, lo := bits.Mul64(ts%div, 1e9)
			nsec, _ = bits.Div64(hi, lo, div)
		} else if ifc.exp-9 <= 19 {
			nsec = ts / pow10(ifc.exp-9) // ts < 10^20 <= 10^exp, so sec = 0
		}
	}
	return unixTime(int64(sec)+ifc.offset, int64(nsec))
}

type ngState struct {
	be        bool // big-endian fields in the current section
	ifaces    []ngIface
	ifaceBase int       // interfaces of earlier sections
	lastTS    time.Time // for Simple Packet Blocks, which have none
}

func (st *ngState) u16(b []byte) uint16 {
	if st.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (st *ngState) u64(b []byte) uint64 {
	if st.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func (st *ngState) u32(b []byte) uint32 {
	if st.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// openNg reads the first Section Header Block.
func (s *FileSource) openNg() error {
	_, err := s.ngBlock(nil)
	return err
}

// byteOrder reads a Section Header Block's byte-order magic (section 4.1)
// and reports whether the section is big-endian.
func byteOrder(h []byte) (bool, error) {
	switch {
	case binary.BigEndian.Uint32(h[8:12]) == ngByteOrderMagic:
		return true, nil
	case binary.LittleEndian.Uint32(h[8:12]) == ngByteOrderMagic:
		return false, nil
	}
	return false, fmt.Errorf("byte-order magic % x is not 1a 2b 3c 4d in either byte order", h[8:12])
}

// nextNg reads blocks up to and including the next packet.
func (s *FileSource) nextNg(p *Packet) error {
	for {
		if ok, err := s.ngBlock(p); ok || err != nil {
			return err
		}
	}
}

// ngBlock reads one block (section 3.1) and reports whether it filled p
// with a packet. With p nil it reads only a Section Header Block.
//
//	Block Type (4) | Block Total Length (4) | Block Body | Block Total Length (4)
func (s *FileSource) ngBlock(p *Packet) (bool, error) {
	st := &s.ngs
	start := s.pos
	h, err := s.peek(8)
	if err != nil {
		if err == io.EOF && len(h) == 0 {
			return false, io.EOF
		}
		return false, s.readErr("block", start, "block header", 8, len(h), err)
	}
	typ := st.u32(h[0:4]) // the SHB type reads the same in both orders
	if typ == ngBlockSHB {
		// The byte order of a new section is known only from its
		// byte-order magic, after the length field.
		h, err = s.peek(12)
		if err != nil {
			return false, s.readErr("section header block", start, "block header", 12, len(h), err)
		}
		be, err := byteOrder(h)
		if err != nil {
			return false, s.fileErr("section header block", start, err)
		}
		st.be = be
	} else if p == nil {
		return false, s.fileErr("block", start, fmt.Errorf("type 0x%08x where a section header block must be", typ))
	}
	length := st.u32(h[4:8])
	switch {
	case length < ngBlockMin:
		return false, s.fileErr("block", start, fmt.Errorf("length %d is too short", length))
	case length%4 != 0:
		return false, s.fileErr("block", start, fmt.Errorf("length %d is not a multiple of 4", length))
	case int64(length) > int64(s.opts.MaxBlockSize):
		return false, s.fileErr("block", start, fmt.Errorf("%w: length %d exceeds the limit of %d bytes per block",
			ErrTooLarge, length, s.opts.MaxBlockSize))
	}
	n := int(length)
	what := blockName(typ)
	if n > readBufSize && !s.wantBlock(typ) {
		// A large block we do not need: step over it, then check the
		// trailing length.
		if have, err := s.skip(n - 4); err != nil {
			return false, s.readErr(what, start, "block", n, have, err)
		}
		t, have, err := s.take(4)
		if err != nil {
			return false, s.readErr(what, start, "block", n, n-4+have, err)
		}
		s.pos += int64(n)
		if trail := st.u32(t); trail != length {
			return false, s.fileErr(what, start, fmt.Errorf("trailing length %d does not match length %d", trail, length))
		}
		return false, nil
	}
	b, have, err := s.take(n)
	if err != nil {
		return false, s.readErr(what, start, "block", n, have, err)
	}
	s.pos += int64(n)
	b = b[:n:n]
	if trail := st.u32(b[n-4:]); trail != length {
		return false, s.fileErr(what, start, fmt.Errorf("trailing length %d does not match length %d", trail, length))
	}
	body := b[8 : n-4]
	switch typ {
	case ngBlockEPB, ngBlockPB, ngBlockSPB:
		err = s.ngPacket(p, typ, body)
		if err == nil {
			return true, nil
		}
	case ngBlockSHB:
		err = s.ngSection(body)
	case ngBlockIDB:
		err = s.ngInterface(body)
	case ngBlockDSB:
		err = s.ngSecrets(body)
	}
	if err != nil {
		return false, s.fileErr(what, start, err)
	}
	return false, nil
}

// wantBlock reports whether a block larger than the read buffer must still
// be read into memory.
func (s *FileSource) wantBlock(typ uint32) bool {
	switch typ {
	case ngBlockEPB, ngBlockPB, ngBlockSPB, ngBlockSHB, ngBlockIDB:
		return true
	case ngBlockDSB:
		return s.opts.OnSecrets != nil
	}
	return false
}

// badBlock wraps ErrBadBlock with a reason.
func badBlock(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadBlock}, args...)...)
}

// ngSection starts a section (section 4.1). The byte order is already set.
//
//	Byte-Order Magic (4) | Major Version (2) | Minor Version (2) |
//	Section Length (8) | Options
func (s *FileSource) ngSection(body []byte) error {
	st := &s.ngs
	if len(body) < ngSHBMin-ngBlockMin {
		// Fatal: a section we cannot read makes its packets meaningless.
		return fmt.Errorf("length %d is too short (minimum %d)", len(body)+ngBlockMin, ngSHBMin)
	}
	major, minor := st.u16(body[4:6]), st.u16(body[6:8])
	if major != 1 {
		return fmt.Errorf("unsupported pcapng version %d.%d", major, minor)
	}
	st.ifaceBase += len(st.ifaces)
	st.ifaces = st.ifaces[:0]
	return nil
}

// ngInterface adds an interface to the section (section 4.2).
//
//	LinkType (2) | Reserved (2) | SnapLen (4) | Options
func (s *FileSource) ngInterface(body []byte) error {
	st := &s.ngs
	if len(body) < ngIDBMin-ngBlockMin {
		return badBlock("length %d is too short (minimum %d)", len(body)+ngBlockMin, ngIDBMin)
	}
	if len(st.ifaces) >= s.opts.MaxInterfaces {
		return badBlock("more than %d interfaces in one section", s.opts.MaxInterfaces)
	}
	ifc := ngIface{
		linkType: layers.LinkType(st.u16(body[0:2])),
		snapLen:  st.u32(body[4:8]),
	}
	ifc.setResolution(false, 6)
	err := s.ngInterfaceOptions(&ifc, body[8:])
	st.ifaces = append(st.ifaces, ifc)
	if err != nil {
		return badBlock("interface %d kept: %v", len(st.ifaces)-1, err)
	}
	return nil
}

// ngInterfaceOptions reads if_tsresol and if_tsoffset (section 3.5).
//
//	Option Code (2) | Option Length (2) | Option Value, padded to 4
func (s *FileSource) ngInterfaceOptions(ifc *ngIface, opts []byte) error {
	st := &s.ngs
	for off := 0; len(opts) > 0; {
		if len(opts) < 4 {
			return fmt.Errorf("option at body offset %d: %d bytes left, need 4", off+8, len(opts))
		}
		code, n := st.u16(opts[0:2]), int(st.u16(opts[2:4]))
		padded := (n + 3) &^ 3
		if padded > len(opts)-4 {
			return fmt.Errorf("option %d at body offset %d: length %d exceeds remaining %d", code, off+8, n, len(opts)-4)
		}
		v := opts[4 : 4+n]
		switch code {
		case ngOptEndOfOpt:
			return nil
		case ngOptTSResol:
			if n != 1 {
				return fmt.Errorf("if_tsresol length %d, want 1", n)
			}
			ifc.setResolution(v[0]&0x80 != 0, v[0]&0x7f)
		case ngOptTSOffset:
			if n != 8 {
				return fmt.Errorf("if_tsoffset length %d, want 8", n)
			}
			ifc.offset = int64(st.u64(v))
		}
		opts = opts[4+padded:]
		off += 4 + padded
	}
	return nil
}

// ngSecrets hands a Decryption Secrets Block to OnSecrets (section 4.7).
//
//	Secrets Type (4) | Secrets Length (4) | Secrets Data, padded | Options
func (s *FileSource) ngSecrets(body []byte) error {
	st := &s.ngs
	if len(body) < ngDSBMin-ngBlockMin {
		return badBlock("length %d is too short (minimum %d)", len(body)+ngBlockMin, ngDSBMin)
	}
	typ, n := st.u32(body[0:4]), st.u32(body[4:8])
	if int64(n) > int64(len(body)-8) {
		return badBlock("secrets length %d exceeds remaining %d", n, len(body)-8)
	}
	if s.opts.OnSecrets != nil {
		s.opts.OnSecrets(typ, append([]byte(nil), body[8:8+n]...))
	}
	return nil
}

// ngPacket fills p from an Enhanced (section 4.3), Simple (4.4) or
// obsolete Packet Block (appendix A).
//
//	EPB: Interface ID (4) | Timestamp (High) (4) | Timestamp (Low) (4) |
//	     Captured Packet Length (4) | Original Packet Length (4) | Data | Options
//	PB:  Interface ID (2) | Drops Count (2) | then as EPB
//	SPB: Original Packet Length (4) | Data
func (s *FileSource) ngPacket(p *Packet, typ uint32, body []byte) error {
	st := &s.ngs
	var iface int
	var data []byte
	var origLen uint32
	if typ == ngBlockSPB {
		if len(body) < ngSPBMin-ngBlockMin {
			return badBlock("length %d is too short (minimum %d)", len(body)+ngBlockMin, ngSPBMin)
		}
		if len(st.ifaces) == 0 {
			return badBlock("no interface defined in this section")
		}
		origLen = st.u32(body[0:4])
		// Captured length = min(original length, snaplen, what the block
		// holds); the block may be padded.
		capLen := int64(origLen)
		if snap := st.ifaces[0].snapLen; snap != 0 {
			capLen = min(capLen, int64(snap))
		}
		capLen = min(capLen, int64(len(body)-4))
		data = body[4 : 4+capLen]
		p.TS = st.lastTS
	} else {
		if len(body) < ngEPBMin-ngBlockMin {
			return badBlock("length %d is too short (minimum %d)", len(body)+ngBlockMin, ngEPBMin)
		}
		if typ == ngBlockEPB {
			iface = int(st.u32(body[0:4]))
		} else {
			iface = int(st.u16(body[0:2]))
		}
		if iface < 0 || iface >= len(st.ifaces) {
			return badBlock("interface %d not defined (section has %d)", uint32(iface), len(st.ifaces))
		}
		ts := uint64(st.u32(body[4:8]))<<32 | uint64(st.u32(body[8:12]))
		capLen := st.u32(body[12:16])
		origLen = st.u32(body[16:20])
		if int64(capLen) > int64(len(body)-20) {
			return badBlock("captured length %d exceeds remaining %d", capLen, len(body)-20)
		}
		data = body[20 : 20+capLen]
		p.TS = st.ifaces[iface].time(ts)
		st.lastTS = p.TS
	}
	p.LinkType = st.ifaces[iface].linkType
	p.Iface = st.ifaceBase + iface
	p.CapLen = len(data)
	p.OrigLen = int(origLen)
	p.Data = data[:len(data):len(data)]
	return nil
}
