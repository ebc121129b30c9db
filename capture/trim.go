package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// TrimPcapng cuts a pcapng file after its last whole block, so that a file
// whose writing failed part way (a full disk) stays a valid capture of
// what was written. It returns the bytes kept. A file that does not start
// with a section header block is left alone with an error.
func TrimPcapng(f *os.File) (int64, error) {
	var hdr [12]byte
	var off int64
	var order binary.ByteOrder
	for {
		n, err := f.ReadAt(hdr[:], off)
		if n < 8 {
			if err != nil && err != io.EOF {
				return off, fmt.Errorf("trim %s: %w", f.Name(), err)
			}
			break
		}
		if order == nil {
			if binary.LittleEndian.Uint32(hdr[:4]) != 0x0a0d0d0a || n < 12 {
				return 0, fmt.Errorf("trim %s: not a pcapng file", f.Name())
			}
			switch {
			case binary.LittleEndian.Uint32(hdr[8:]) == 0x1a2b3c4d:
				order = binary.LittleEndian
			case binary.BigEndian.Uint32(hdr[8:]) == 0x1a2b3c4d:
				order = binary.BigEndian
			default:
				return 0, fmt.Errorf("trim %s: bad byte-order magic", f.Name())
			}
		}
		length := int64(order.Uint32(hdr[4:8]))
		if length < 12 || length%4 != 0 {
			break
		}
		// The block is whole when its trailing length copy is there and
		// agrees.
		var tail [4]byte
		if _, err := f.ReadAt(tail[:], off+length-4); err != nil || int64(order.Uint32(tail[:])) != length {
			break
		}
		off += length
	}
	if err := f.Truncate(off); err != nil {
		return off, fmt.Errorf("trim %s: %w", f.Name(), err)
	}
	return off, nil
}
