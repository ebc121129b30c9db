package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// DefaultMaxBlockSize is the FileOptions.MaxBlockSize used when it is zero:
// the largest pcapng block, or pcap record with its 16-byte header, that a
// FileSource reads into memory.
const DefaultMaxBlockSize = 16 << 20

// DefaultMaxInterfaces is the FileOptions.MaxInterfaces used when it is zero.
const DefaultMaxInterfaces = 1 << 16

// readBufSize is the size of the buffered reader under a FileSource. Blocks
// that fit are handed out without a copy; larger ones are copied into a
// second, growable buffer (bounded by MaxBlockSize). It holds a 65535-byte
// packet with its block header and some options. Bigger costs fuzzing and
// many small inputs dearly (256 KiB: 190 µs per 4 KiB input, 65 KiB: 25 µs).
const readBufSize = 64<<10 + 1<<10

// Sentinel errors of FileSource; test with errors.Is.
var (
	// ErrTruncatedFile means the file ends in the middle of a record or
	// block, as when the capturing program was killed. Every packet before
	// the cut has been returned. The FileError wrapping it names the file
	// and the offset of the cut record.
	ErrTruncatedFile = errors.New("truncated file")
	// ErrBadBlock means one block was damaged but its length field was
	// sane, so reading goes on after it: call Next again. A damaged packet
	// block is skipped; an interface description whose options are damaged
	// is kept with what could be read.
	ErrBadBlock = errors.New("bad block")
	// ErrTooLarge means a record or block is larger than
	// FileOptions.MaxBlockSize. Reading stops.
	ErrTooLarge = errors.New("too large")
	// ErrNotCapture means the file is neither pcap nor pcapng.
	ErrNotCapture = errors.New("not a pcap or pcapng file")
)

// FileOptions configures OpenFile and NewReader. The zero value is ready to
// use.
type FileOptions struct {
	// OnSecrets, when set, receives the contents of each pcapng Decryption
	// Secrets Block (draft-ietf-opsawg-pcapng section 4.7), in file order and
	// before any packet that follows the block. secretsType is the block's
	// Secrets Type (0x544c534b "TLSK" is an NSS key log). data is a copy the
	// callback may keep. It is called from within Next.
	OnSecrets func(secretsType uint32, data []byte)
	// MaxBlockSize caps one pcapng block, or one pcap record with its
	// header, in bytes. Zero means DefaultMaxBlockSize. A larger block stops
	// reading with an error wrapping ErrTooLarge.
	MaxBlockSize int
	// MaxInterfaces caps the interfaces of one pcapng section. Zero means
	// DefaultMaxInterfaces. Interface description blocks beyond it are
	// reported as ErrBadBlock and their packets as well.
	MaxInterfaces int
}

// FileError is a failure reading a capture file. Its message is one line:
// "x.pcapng: block at offset 1234: length 12 is too short".
type FileError struct {
	// Name is the file name as given, "<stdin>" for standard input.
	Name string
	// What is the unit that failed, e.g. "block" or "packet record"; empty
	// when the failure is about the whole file.
	What string
	// Offset is the byte offset in the file where What starts; meaningful
	// only when What is set.
	Offset int64
	// Err is the cause; it wraps one of the sentinels where one applies.
	Err error
}

// Error formats as "name: what at offset N: cause".
func (e *FileError) Error() string {
	if e.What == "" {
		return e.Name + ": " + e.Err.Error()
	}
	return e.Name + ": " + e.What + " at offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// FileSource reads packets from one pcap or pcapng file. It implements
// Source and Progress. Frame numbers run 1..n in file order.
//
// Size and Offset may be called from another goroutine while Next runs;
// Next and Close must not be called concurrently.
type FileSource struct {
	name   string
	input  int
	opts   FileOptions
	closer io.Closer // nil for standard input
	br     *bufio.Reader
	size   int64
	pos    int64        // bytes consumed, owned by Next
	off    atomic.Int64 // pos published for Offset
	frame  int64
	done   bool
	big    []byte // records larger than the read buffer

	ng   bool
	pcap pcapState
	ngs  ngState
}

// OpenFile opens the pcap or pcapng file name, telling the format by its
// magic number. name "-" reads standard input, shown as "<stdin>" in
// errors. input becomes Packet.Input of every packet.
func OpenFile(name string, input int, opts FileOptions) (*FileSource, error) {
	if name == "-" {
		return newSource(os.Stdin, nil, "<stdin>", -1, input, opts)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	s, err := newSource(f, f, name, size, input, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// NewReader reads a pcap or pcapng stream from r, telling the format by its
// magic number. name is used in errors. Size reports -1. Close does not
// close r.
func NewReader(r io.Reader, name string, input int, opts FileOptions) (*FileSource, error) {
	return newSource(r, nil, name, -1, input, opts)
}

func newSource(r io.Reader, c io.Closer, name string, size int64, input int, opts FileOptions) (*FileSource, error) {
	if opts.MaxBlockSize <= 0 {
		opts.MaxBlockSize = DefaultMaxBlockSize
	}
	if opts.MaxInterfaces <= 0 {
		opts.MaxInterfaces = DefaultMaxInterfaces
	}
	s := &FileSource{
		name:   name,
		input:  input,
		opts:   opts,
		closer: c,
		br:     bufio.NewReaderSize(r, readBufSize),
		size:   size,
	}
	magic, err := s.br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, &FileError{Name: name, Err: err}
	}
	if len(magic) < 4 {
		return nil, &FileError{Name: name, Err: notCapture(magic)}
	}
	m := uint32(magic[0])<<24 | uint32(magic[1])<<16 | uint32(magic[2])<<8 | uint32(magic[3])
	switch {
	case m == ngBlockSHB:
		s.ng = true
		err = s.openNg()
	case isPcapMagic(m):
		err = s.openPcap()
	default:
		err = &FileError{Name: name, Err: notCapture(magic)}
	}
	if err != nil {
		return nil, err
	}
	s.off.Store(s.pos)
	return s, nil
}

// notCapture describes a file that is neither pcap nor pcapng by its first
// bytes, with a hint for the common look-alikes.
func notCapture(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w (empty)", ErrNotCapture)
	}
	hint := ""
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		hint = "; gzip-compressed? decompress it first"
	}
	return fmt.Errorf("%w (starts with % x%s)", ErrNotCapture, b, hint)
}

// Next fills p with the next packet and returns io.EOF after the last one.
// p.Data aliases an internal buffer and is valid until the next call.
//
// An error wrapping ErrBadBlock leaves the source usable: call Next again.
// Any other error is final and reported once; later calls return io.EOF.
func (s *FileSource) Next(p *Packet) error {
	if s.done {
		return io.EOF
	}
	var err error
	if s.ng {
		err = s.nextNg(p)
	} else {
		err = s.nextPcap(p)
	}
	s.off.Store(s.pos)
	if err != nil {
		if err == io.EOF || !errors.Is(err, ErrBadBlock) {
			s.done = true
		}
		return err
	}
	s.frame++
	p.Frame = s.frame
	p.Input = s.input
	return nil
}

// Close closes the file. It does not close standard input.
func (s *FileSource) Close() error {
	s.done = true
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	return c.Close()
}

// Name returns the file name as used in errors ("<stdin>" for "-").
func (s *FileSource) Name() string { return s.name }

// Size returns the file size in bytes, or -1 when unknown (standard input,
// pipes, NewReader).
func (s *FileSource) Size() int64 { return s.size }

// Offset returns the number of bytes consumed so far.
func (s *FileSource) Offset() int64 { return s.off.Load() }

// fileErr builds a FileError about the unit what at offset off.
func (s *FileSource) fileErr(what string, off int64, err error) *FileError {
	return &FileError{Name: s.name, What: what, Offset: off, Err: err}
}

// peek returns the next n bytes without consuming them. With fewer than n
// left it returns what there is and io.EOF; n must be <= readBufSize.
func (s *FileSource) peek(n int) ([]byte, error) {
	b, err := s.br.Peek(n)
	if len(b) == n {
		return b, nil
	}
	if err == nil || err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return b, err
}

// take returns the next n bytes and consumes them. The slice is valid until
// the next read. With fewer than n bytes left it returns how many there
// were and io.EOF. n must be <= MaxBlockSize.
func (s *FileSource) take(n int) ([]byte, int, error) {
	if n <= readBufSize {
		b, err := s.peek(n)
		if err != nil {
			return nil, len(b), err
		}
		s.br.Discard(n)
		return b, n, nil
	}
	// Grow step by step so that a lying length in a short file costs
	// memory in proportion to the bytes actually there.
	s.big = s.big[:0]
	for len(s.big) < n {
		chunk := min(n-len(s.big), max(len(s.big), readBufSize))
		if cap(s.big)-len(s.big) < chunk {
			nb := make([]byte, len(s.big), len(s.big)+chunk)
			copy(nb, s.big)
			s.big = nb
		}
		k, err := io.ReadFull(s.br, s.big[len(s.big):len(s.big)+chunk])
		s.big = s.big[:len(s.big)+k]
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return nil, len(s.big), err
		}
	}
	return s.big, n, nil
}

// skip consumes n bytes without keeping them. It returns how many there
// were and io.EOF when fewer than n are left.
func (s *FileSource) skip(n int) (int, error) {
	k, err := s.br.Discard(n)
	if err == nil && k < n {
		err = io.EOF
	}
	return k, err
}

// truncated describes a record or block cut short by the end of the file.
func truncated(unit string, need, have int) error {
	return fmt.Errorf("%w: %s needs %d bytes, %d left", ErrTruncatedFile, unit, need, have)
}

// readErr turns an error from take/peek/skip into a FileError: io.EOF
// means the file ended inside the unit.
func (s *FileSource) readErr(what string, off int64, unit string, need, have int, err error) error {
	if err == io.EOF {
		return s.fileErr(what, off, truncated(unit, need, have))
	}
	return s.fileErr(what, off, err)
}

// unixTime converts seconds and nanoseconds since the epoch to UTC.
func unixTime(sec, nsec int64) time.Time {
	return time.Unix(sec, nsec).UTC()
}
