package ws

import (
	"bytes"
	"compress/flate"
	"io"
)

// windowSize is DEFLATE's largest window (RFC 1951 §2; max_window_bits
// 15): the dictionary a message may refer back into.
const windowSize = 32 << 10

// ratioFloor is the output below which the ratio cap is not checked, so
// that short, very compressible messages pass.
const ratioFloor = 64 << 10

// deflateTail ends a message for the reader: the 0x00 0x00 0xff 0xff the
// sender removed (RFC 7692 §7.2.2), then an empty final stored block so
// that the reader sees a clean end of stream.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflater inflates one direction's permessage-deflate messages. With
// context takeover the last window of output is the next message's
// dictionary; output is counted, never kept beyond that window.
type inflater struct {
	takeover bool
	r        io.ReadCloser
	window   []byte // the latest output, at most 2*windowSize
	buf      []byte
}

// inflate inflates one message's compressed bytes and returns the size
// that came out. It stops at maxOut bytes ("ws_message") or, past
// ratioFloor, at maxRatio times the input ("ws_inflate_ratio"), so a
// decompression bomb costs bounded time and no memory.
func (f *inflater) inflate(comp []byte, maxOut, maxRatio int) (n uint64, capName string, err error) {
	in := io.MultiReader(bytes.NewReader(comp), bytes.NewReader(deflateTail))
	var dict []byte
	if f.takeover && len(f.window) > 0 {
		dict = f.window[max(0, len(f.window)-windowSize):]
	}
	if f.r == nil {
		f.r = flate.NewReaderDict(in, dict)
	} else if err := f.r.(flate.Resetter).Reset(in, dict); err != nil {
		return 0, "", err
	}
	if f.buf == nil {
		f.buf = make([]byte, windowSize)
	}
	for {
		k, rerr := f.r.Read(f.buf)
		n += uint64(k)
		if f.takeover {
			f.keep(f.buf[:k])
		}
		switch {
		case n > uint64(maxOut):
			return n, "ws_message", nil
		case n > ratioFloor && n > uint64(maxRatio)*uint64(len(comp)):
			return n, "ws_inflate_ratio", nil
		case rerr == io.EOF:
			return n, "", nil
		case rerr != nil:
			return n, "", rerr
		}
	}
}

// keep appends output to the window, dropping what is older than
// windowSize once it has twice that.
func (f *inflater) keep(b []byte) {
	if len(b) >= windowSize {
		f.window = append(f.window[:0], b[len(b)-windowSize:]...)
		return
	}
	if len(f.window)+len(b) > 2*windowSize {
		f.window = f.window[:copy(f.window, f.window[len(f.window)-windowSize:])]
	}
	f.window = append(f.window, b...)
}

// release frees the inflater's memory once inflation stopped.
func (f *inflater) release() {
	f.r, f.window, f.buf = nil, nil, nil
}
