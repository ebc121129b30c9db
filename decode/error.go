package decode

import (
	"errors"
	"strconv"
)

// Sentinel errors that decoders wrap; test with errors.Is.
var (
	// ErrTruncated means the input ended before a declared length.
	ErrTruncated = errors.New("truncated")
	// ErrTooLarge means a declared length exceeds a configured cap.
	ErrTooLarge = errors.New("too large")
	// ErrMalformed means the bytes violate the protocol's syntax.
	ErrMalformed = errors.New("malformed")
)

// Error is a decoding failure at a known place in the input.
type Error struct {
	// Layer is the decoder that failed, e.g. "netpkt" or "tcpflow".
	Layer string
	// Msg says what was wrong, in lower case, without the layer prefix.
	Msg string
	// Offset is the byte offset in the decoder's input where the problem
	// starts.
	Offset int
	// Err is the sentinel or cause, if any.
	Err error
}

// Error formats as "layer: msg (offset N)".
func (e *Error) Error() string {
	s := e.Layer + ": " + e.Msg
	if e.Err != nil && e.Msg == "" {
		s = e.Layer + ": " + e.Err.Error()
	}
	return s + " (offset " + strconv.Itoa(e.Offset) + ")"
}

// Unwrap returns the sentinel or cause.
func (e *Error) Unwrap() error { return e.Err }
