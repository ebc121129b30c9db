package h3

import (
	"errors"
	"math"
	"strconv"

	"golang.org/x/net/http2/hpack"
)

// field is one header field line.
type field struct{ name, value string }

func (f field) size() uint64 { return uint64(len(f.name)) + uint64(len(f.value)) + 32 }

var (
	errShort  = errors.New("truncated")
	errLength = errors.New("string longer than the cap")
)

// readInt reads an N-bit prefix integer (RFC 9204 §4.1.1, RFC 7541 §5.1)
// from b; it returns the value and the bytes used, errShort when b ends
// first.
func readInt(b []byte, n uint) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, errShort
	}
	max := uint64(1)<<n - 1
	v := uint64(b[0]) & max
	if v < max {
		return v, 1, nil
	}
	var m uint
	for i := 1; i < len(b); i++ {
		c := b[i]
		if m > 56 {
			return 0, 0, errors.New("integer overflow")
		}
		v += uint64(c&0x7f) << m
		m += 7
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errShort
}

// readString reads a string literal with an N-bit length prefix whose H
// (Huffman) bit is the bit just above the prefix.
func readString(b []byte, n uint, maxLen int) (string, int, error) {
	if len(b) == 0 {
		return "", 0, errShort
	}
	huff := b[0]&(1<<n) != 0
	l, k, err := readInt(b, n)
	if err != nil {
		return "", 0, err
	}
	if l > uint64(len(b)-k) {
		return "", 0, errShort
	}
	raw := b[k : k+int(l)]
	if !huff {
		if len(raw) > maxLen {
			return "", 0, errLength
		}
		return string(raw), k + int(l), nil
	}
	// Huffman output is at most 8/5 of its input.
	if len(raw) > maxLen {
		return "", 0, errLength
	}
	s, err := hpack.HuffmanDecodeToString(raw)
	if err != nil {
		return "", 0, errors.New("bad Huffman string")
	}
	if len(s) > maxLen {
		return "", 0, errLength
	}
	return s, k + int(l), nil
}

// table is one direction's QPACK dynamic table (RFC 9204 §3.2).
type table struct {
	entries  []field // entries[0] has absolute index dropped
	dropped  uint64  // entries evicted
	size     uint64
	capacity uint64
	maxCap   uint64 // our cap
}

// inserts is the Insert Count (RFC 9204 §3.2.4).
func (t *table) inserts() uint64 { return t.dropped + uint64(len(t.entries)) }

// get returns the entry of an absolute index.
func (t *table) get(abs uint64) (field, bool) {
	if abs < t.dropped || abs >= t.inserts() {
		return field{}, false
	}
	return t.entries[abs-t.dropped], true
}

func (t *table) evictTo(limit uint64) {
	i := 0
	for t.size > limit && i < len(t.entries) {
		t.size -= t.entries[i].size()
		t.entries[i] = field{}
		i++
	}
	t.dropped += uint64(i)
	t.entries = t.entries[i:]
	if cap(t.entries) > 64 && len(t.entries) < cap(t.entries)/4 {
		t.entries = append([]field(nil), t.entries...)
	}
}

func (t *table) insert(f field) error {
	s := f.size()
	if s > t.capacity {
		return errors.New("entry of " + strconv.FormatUint(s, 10) + " bytes is larger than the table capacity " + strconv.FormatUint(t.capacity, 10))
	}
	t.evictTo(t.capacity - s)
	t.entries = append(t.entries, f)
	t.size += s
	return nil
}

// decodeRIC decodes an encoded Required Insert Count (RFC 9204 §4.5.1.1).
func decodeRIC(enc, maxCapacity, totalInserts uint64) (uint64, error) {
	if enc == 0 {
		return 0, nil
	}
	maxEntries := maxCapacity / 32
	fullRange := 2 * maxEntries
	if enc > fullRange {
		return 0, errors.New("encoded Required Insert Count out of range")
	}
	maxValue := totalInserts + maxEntries
	maxWrapped := (maxValue / fullRange) * fullRange
	ric := maxWrapped + enc - 1
	if ric > maxValue {
		if ric <= fullRange {
			return 0, errors.New("bad Required Insert Count")
		}
		ric -= fullRange
	}
	if ric == 0 {
		return 0, errors.New("bad Required Insert Count")
	}
	return ric, nil
}

// sectionPrefix is a field section's prefix (RFC 9204 §4.5.1).
type sectionPrefix struct {
	ric, base uint64
	n         int // bytes
}

func readPrefix(b []byte, maxCapacity, totalInserts uint64) (sectionPrefix, error) {
	enc, n, err := readInt(b, 8)
	if err != nil {
		return sectionPrefix{}, err
	}
	ric, err := decodeRIC(enc, maxCapacity, totalInserts)
	if err != nil {
		return sectionPrefix{}, err
	}
	if n >= len(b) {
		return sectionPrefix{}, errShort
	}
	sign := b[n]&0x80 != 0
	delta, k, err := readInt(b[n:], 7)
	if err != nil {
		return sectionPrefix{}, err
	}
	p := sectionPrefix{ric: ric, n: n + k}
	if !sign {
		if delta > math.MaxUint64-ric {
			return sectionPrefix{}, errors.New("Base overflows")
		}
		p.base = ric + delta
	} else {
		if delta+1 > ric {
			return sectionPrefix{}, errors.New("negative Base")
		}
		p.base = ric - delta - 1
	}
	return p, nil
}

// decodeSection decodes the field lines after the prefix against t,
// calling fn for each; maxStr bounds each string.
func decodeSection(b []byte, p sectionPrefix, t *table, maxStr int, fn func(field)) error {
	dyn := func(abs uint64) (field, error) {
		if abs >= p.ric {
			return field{}, errors.New("dynamic reference at or above the Required Insert Count")
		}
		f, ok := t.get(abs)
		if !ok {
			return field{}, errors.New("dynamic table entry " + strconv.FormatUint(abs, 10) + " is not in the table")
		}
		return f, nil
	}
	static := func(i uint64) (field, error) {
		if i >= uint64(len(staticTable)) {
			return field{}, errors.New("static table index " + strconv.FormatUint(i, 10) + " out of range")
		}
		return staticTable[i], nil
	}
	relative := func(i uint64) (field, error) {
		if i >= p.base {
			return field{}, errors.New("relative index below zero")
		}
		return dyn(p.base - 1 - i)
	}
	for len(b) > 0 {
		c := b[0]
		var f field
		var n int
		var err error
		if c&0xe0 == 0x20 { // 001NHxxx: Literal Field Line With Literal Name
			if f.name, n, err = readString(b, 3, maxStr); err != nil {
				return fieldErr(err)
			}
		} else {
			// The other four representations: an index, resolved in the
			// static table, relative to Base or post-Base, then maybe a
			// literal value.
			var bits uint
			var staticBit byte
			postBase, literal := false, false
			switch {
			case c&0x80 != 0: // Indexed Field Line
				bits, staticBit = 6, 0x40
			case c&0xf0 == 0x10: // Indexed Field Line With Post-Base Index
				bits, postBase = 4, true
			case c&0xc0 == 0x40: // Literal Field Line With Name Reference
				bits, staticBit, literal = 4, 0x10, true
			default: // 0000Nxxx: Literal Field Line With Post-Base Name Reference
				bits, postBase, literal = 3, true, true
			}
			var i uint64
			if i, n, err = readInt(b, bits); err != nil {
				return fieldErr(err)
			}
			switch {
			case postBase:
				if p.base >= p.ric || i >= p.ric-p.base {
					return errors.New("post-base index at or above the Required Insert Count")
				}
				f, err = dyn(p.base + i)
			case c&staticBit != 0:
				f, err = static(i)
			default:
				f, err = relative(i)
			}
			if err != nil {
				return err
			}
			if !literal {
				b = b[n:]
				fn(f)
				continue
			}
		}
		b = b[n:]
		if f.value, n, err = readString(b, 7, maxStr); err != nil {
			return fieldErr(err)
		}
		b = b[n:]
		fn(f)
	}
	return nil
}

func fieldErr(err error) error {
	if err == errShort {
		return errors.New("field section ends inside a field line")
	}
	return err
}

// instruction is one encoder or decoder stream instruction
// (RFC 9204 §4.3, §4.4).
type instruction struct {
	name   string
	n      uint64 // capacity, index, stream ID or increment
	static bool   // name reference into the static table
	f      field
}

// Encoder stream instruction names.
const (
	insSetCapacity = "SET_DYNAMIC_TABLE_CAPACITY"
	insNameRef     = "INSERT_WITH_NAME_REFERENCE"
	insLiteral     = "INSERT_WITH_LITERAL_NAME"
	insDuplicate   = "DUPLICATE"
	insSectionAck  = "SECTION_ACKNOWLEDGMENT"
	insCancel      = "STREAM_CANCELLATION"
	insIncrement   = "INSERT_COUNT_INCREMENT"
)

// readEncoderInstruction parses one encoder stream instruction; errShort
// means more bytes are needed.
func readEncoderInstruction(b []byte, maxStr int) (instruction, int, error) {
	if len(b) == 0 {
		return instruction{}, 0, errShort
	}
	c := b[0]
	var in instruction
	var n int
	var err error
	switch {
	case c&0x80 != 0:
		in.name, in.static = insNameRef, c&0x40 != 0
		in.n, n, err = readInt(b, 6)
	case c&0x40 != 0:
		in.name = insLiteral
		in.f.name, n, err = readString(b, 5, maxStr)
	case c&0x20 != 0:
		in.name = insSetCapacity
		in.n, n, err = readInt(b, 5)
		return in, n, err
	default:
		in.name = insDuplicate
		in.n, n, err = readInt(b, 5)
		return in, n, err
	}
	if err != nil {
		return in, 0, err
	}
	// The two inserts end with a value string.
	v, k, err := readString(b[n:], 7, maxStr)
	if err != nil {
		return in, 0, err
	}
	in.f.value = v
	return in, n + k, nil
}

// readDecoderInstruction parses one decoder stream instruction.
func readDecoderInstruction(b []byte) (instruction, int, error) {
	if len(b) == 0 {
		return instruction{}, 0, errShort
	}
	var in instruction
	var n int
	var err error
	switch c := b[0]; {
	case c&0x80 != 0:
		in.name = insSectionAck
		in.n, n, err = readInt(b, 7)
	case c&0x40 != 0:
		in.name = insCancel
		in.n, n, err = readInt(b, 6)
	default:
		in.name = insIncrement
		in.n, n, err = readInt(b, 6)
	}
	return in, n, err
}

// apply applies an encoder instruction to t, resolving name references.
func (t *table) apply(in *instruction) error {
	switch in.name {
	case insSetCapacity:
		if in.n > t.maxCap {
			return errors.New("table capacity " + strconv.FormatUint(in.n, 10) + " is above the limit " + strconv.FormatUint(t.maxCap, 10))
		}
		t.capacity = in.n
		t.evictTo(in.n)
		return nil
	case insNameRef:
		if in.static {
			if in.n >= uint64(len(staticTable)) {
				return errors.New("static table index " + strconv.FormatUint(in.n, 10) + " out of range")
			}
			in.f.name = staticTable[in.n].name
		} else {
			f, ok := t.relative(in.n)
			if !ok {
				return errors.New("relative index " + strconv.FormatUint(in.n, 10) + " is not in the table")
			}
			in.f.name = f.name
		}
	case insDuplicate:
		f, ok := t.relative(in.n)
		if !ok {
			return errors.New("relative index " + strconv.FormatUint(in.n, 10) + " is not in the table")
		}
		in.f = f
	}
	return t.insert(in.f)
}

// relative resolves an encoder stream relative index (RFC 9204 §3.2.5).
func (t *table) relative(i uint64) (field, bool) {
	if i >= t.inserts() {
		return field{}, false
	}
	return t.get(t.inserts() - 1 - i)
}
