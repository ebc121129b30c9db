package quic

import (
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
)

// FrameType is a QUIC frame type (RFC 9000 §19, §12.4).
type FrameType uint64

// Frame types of RFC 9000 §19 and of the extensions seen in practice.
const (
	FramePadding            FrameType = 0x00
	FramePing               FrameType = 0x01
	FrameAck                FrameType = 0x02
	FrameAckECN             FrameType = 0x03
	FrameResetStream        FrameType = 0x04
	FrameStopSending        FrameType = 0x05
	FrameCrypto             FrameType = 0x06
	FrameNewToken           FrameType = 0x07
	FrameStream             FrameType = 0x08 // to 0x0f: OFF, LEN, FIN bits
	FrameMaxData            FrameType = 0x10
	FrameMaxStreamData      FrameType = 0x11
	FrameMaxStreamsBidi     FrameType = 0x12
	FrameMaxStreamsUni      FrameType = 0x13
	FrameDataBlocked        FrameType = 0x14
	FrameStreamDataBlocked  FrameType = 0x15
	FrameStreamsBlockedBidi FrameType = 0x16
	FrameStreamsBlockedUni  FrameType = 0x17
	FrameNewConnectionID    FrameType = 0x18
	FrameRetireConnectionID FrameType = 0x19
	FramePathChallenge      FrameType = 0x1a
	FramePathResponse       FrameType = 0x1b
	FrameConnectionClose    FrameType = 0x1c
	FrameConnectionCloseApp FrameType = 0x1d
	FrameHandshakeDone      FrameType = 0x1e
	// FrameImmediateAck and FrameAckFrequency are from
	// draft-ietf-quic-ack-frequency.
	FrameImmediateAck FrameType = 0x1f
	// FrameDatagram and FrameDatagramLen are RFC 9221's DATAGRAM frames,
	// without and with a Length field.
	FrameDatagram     FrameType = 0x30
	FrameDatagramLen  FrameType = 0x31
	FrameAckFrequency FrameType = 0xaf
)

var frameNames = map[FrameType]string{
	FramePadding: "PADDING", FramePing: "PING", FrameAck: "ACK", FrameAckECN: "ACK",
	FrameResetStream: "RESET_STREAM", FrameStopSending: "STOP_SENDING", FrameCrypto: "CRYPTO",
	FrameNewToken: "NEW_TOKEN", FrameMaxData: "MAX_DATA", FrameMaxStreamData: "MAX_STREAM_DATA",
	FrameMaxStreamsBidi: "MAX_STREAMS", FrameMaxStreamsUni: "MAX_STREAMS",
	FrameDataBlocked: "DATA_BLOCKED", FrameStreamDataBlocked: "STREAM_DATA_BLOCKED",
	FrameStreamsBlockedBidi: "STREAMS_BLOCKED", FrameStreamsBlockedUni: "STREAMS_BLOCKED",
	FrameNewConnectionID: "NEW_CONNECTION_ID", FrameRetireConnectionID: "RETIRE_CONNECTION_ID",
	FramePathChallenge: "PATH_CHALLENGE", FramePathResponse: "PATH_RESPONSE",
	FrameConnectionClose: "CONNECTION_CLOSE", FrameConnectionCloseApp: "CONNECTION_CLOSE",
	FrameHandshakeDone: "HANDSHAKE_DONE", FrameImmediateAck: "IMMEDIATE_ACK",
	FrameDatagram: "DATAGRAM", FrameDatagramLen: "DATAGRAM", FrameAckFrequency: "ACK_FREQUENCY",
}

// String returns the RFC name ("STREAM" for 0x08 to 0x0f), or
// FrameType(0x21).
func (t FrameType) String() string {
	if t >= 0x08 && t <= 0x0f {
		return "STREAM"
	}
	if n, ok := frameNames[t]; ok {
		return n
	}
	return "FrameType(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// Known reports whether ParseFrame can parse frames of type t.
func (t FrameType) Known() bool { _, ok := frameNames[t]; return ok || t >= 0x08 && t <= 0x0f }

// Frame is one parsed frame. Which fields are set depends on Type; byte
// slices alias the packet.
type Frame struct {
	Type FrameType
	// Padding is the length of a run of PADDING frames (ParseFrame reads
	// the whole run as one frame).
	Padding int

	// StreamID: STREAM, RESET_STREAM, STOP_SENDING, MAX_STREAM_DATA,
	// STREAM_DATA_BLOCKED.
	StreamID uint64
	// Offset and Data: CRYPTO and STREAM. Data also holds NEW_TOKEN's
	// token, PATH_CHALLENGE/PATH_RESPONSE's 8 bytes, DATAGRAM's payload,
	// NEW_CONNECTION_ID's connection ID and CONNECTION_CLOSE's reason.
	Offset uint64
	Data   []byte
	Fin    bool

	// ErrorCode: RESET_STREAM, STOP_SENDING, CONNECTION_CLOSE.
	ErrorCode uint64
	// FrameType is the type of the frame that caused a transport
	// CONNECTION_CLOSE (0x1c).
	FrameType uint64
	// Value is the number a frame carries: RESET_STREAM's final size,
	// MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS, the *_BLOCKED limits,
	// NEW_CONNECTION_ID's and RETIRE_CONNECTION_ID's sequence number,
	// ACK_FREQUENCY's sequence number.
	Value uint64
	// RetirePriorTo: NEW_CONNECTION_ID; also ACK_FREQUENCY's ack-eliciting
	// threshold.
	RetirePriorTo uint64
	// ResetToken: NEW_CONNECTION_ID's Stateless Reset Token.
	ResetToken []byte

	// ACK (RFC 9000 §19.3): Largest Acknowledged, the encoded ACK Delay,
	// the First ACK Range, the ACK Range Count and the ranges' raw bytes
	// (Gap, ACK Range Length pairs; see AckRanges), ECN counts for 0x03.
	// ACK_FREQUENCY reuses Delay (Request Max Ack Delay) and FirstRange
	// (Reordering Threshold).
	Largest, Delay, FirstRange, RangeCount uint64
	ranges                                 []byte
	ECN                                    [3]uint64
}

// AckRanges calls f with each acknowledged range of an ACK frame, highest
// first, as [lo, hi]; it stops when f returns false. ParseFrame has checked
// that the ranges are well formed.
func (f *Frame) AckRanges(fn func(lo, hi uint64) bool) {
	hi := f.Largest
	lo := hi - f.FirstRange
	if !fn(lo, hi) {
		return
	}
	r := reader{b: f.ranges}
	for range f.RangeCount {
		gap, _ := r.varint()
		n, _ := r.varint()
		hi = lo - gap - 2
		lo = hi - n
		if !fn(lo, hi) {
			return
		}
	}
}

// ParseFrame parses the frame at the start of b into f, which it resets
// first, and returns its length. A run of PADDING bytes is one frame. A
// frame type it does not know gives an error wrapping decode.ErrMalformed
// (the frame's length cannot be known, so the rest of the packet is lost),
// a frame cut short one wrapping decode.ErrTruncated; the error's offset
// is within b.
func ParseFrame(b []byte, f *Frame) (int, error) {
	*f = Frame{}
	r := reader{b: b}
	t, ok := r.varint()
	if !ok {
		return 0, errAt("frame type", 0, decode.ErrTruncated)
	}
	f.Type = FrameType(t)
	fail := func(field string) (int, error) {
		return 0, errAt(f.Type.String()+": "+field, r.off, decode.ErrTruncated)
	}
	v := func(dst *uint64) bool {
		var ok bool
		*dst, ok = r.varint()
		return ok
	}
	switch {
	case f.Type == FramePadding:
		n := 1
		for n < len(b) && b[n] == 0 {
			n++
		}
		f.Padding = n
		return n, nil
	case f.Type == FramePing, f.Type == FrameHandshakeDone, f.Type == FrameImmediateAck:
	case f.Type == FrameAck, f.Type == FrameAckECN:
		// Largest Acknowledged (i), ACK Delay (i), ACK Range Count (i),
		// First ACK Range (i), ACK Range (..) ..., [ECN Counts (..)]
		if !v(&f.Largest) || !v(&f.Delay) || !v(&f.RangeCount) || !v(&f.FirstRange) {
			return fail("fields")
		}
		if f.FirstRange > f.Largest {
			return 0, errAt("ACK: first range "+itoa(f.FirstRange)+" exceeds largest "+itoa(f.Largest), r.off, decode.ErrMalformed)
		}
		start, lo := r.off, f.Largest-f.FirstRange
		for i := uint64(0); i < f.RangeCount; i++ {
			var gap, n uint64
			if !v(&gap) || !v(&n) {
				return fail("range")
			}
			// The next range's largest is lo - gap - 2, and its
			// smallest that minus n: neither may go below 0.
			if gap+2 > lo || n > lo-gap-2 {
				return 0, errAt("ACK: range below packet number 0", r.off, decode.ErrMalformed)
			}
			lo = lo - gap - 2 - n
		}
		f.ranges = b[start:r.off:r.off]
		if f.Type == FrameAckECN && (!v(&f.ECN[0]) || !v(&f.ECN[1]) || !v(&f.ECN[2])) {
			return fail("ECN counts")
		}
	case f.Type == FrameResetStream:
		if !v(&f.StreamID) || !v(&f.ErrorCode) || !v(&f.Value) {
			return fail("fields")
		}
	case f.Type == FrameStopSending:
		if !v(&f.StreamID) || !v(&f.ErrorCode) {
			return fail("fields")
		}
	case f.Type == FrameCrypto:
		var n uint64
		if !v(&f.Offset) || !v(&n) {
			return fail("fields")
		}
		if f.Data, ok = r.bytes(n); !ok {
			return fail("length " + itoa(n) + " exceeds remaining " + itoa(uint64(r.left())))
		}
	case f.Type == FrameNewToken:
		var n uint64
		if !v(&n) {
			return fail("token length")
		}
		if f.Data, ok = r.bytes(n); !ok {
			return fail("token length " + itoa(n) + " exceeds remaining " + itoa(uint64(r.left())))
		}
	case f.Type >= FrameStream && f.Type <= FrameStream|0x07:
		// Stream ID (i), [Offset (i)], [Length (i)], Stream Data (..)
		if !v(&f.StreamID) {
			return fail("stream ID")
		}
		if f.Type&0x04 != 0 && !v(&f.Offset) {
			return fail("offset")
		}
		n := uint64(r.left())
		if f.Type&0x02 != 0 && !v(&n) {
			return fail("length")
		}
		if f.Data, ok = r.bytes(n); !ok {
			return fail("length " + itoa(n) + " exceeds remaining " + itoa(uint64(r.left())))
		}
		f.Fin = f.Type&0x01 != 0
	case f.Type == FrameMaxData, f.Type == FrameMaxStreamsBidi, f.Type == FrameMaxStreamsUni,
		f.Type == FrameDataBlocked, f.Type == FrameStreamsBlockedBidi, f.Type == FrameStreamsBlockedUni,
		f.Type == FrameRetireConnectionID:
		if !v(&f.Value) {
			return fail("value")
		}
	case f.Type == FrameMaxStreamData, f.Type == FrameStreamDataBlocked:
		if !v(&f.StreamID) || !v(&f.Value) {
			return fail("fields")
		}
	case f.Type == FrameNewConnectionID:
		// Sequence Number (i), Retire Prior To (i), Length (8),
		// Connection ID (8..160), Stateless Reset Token (128)
		if !v(&f.Value) || !v(&f.RetirePriorTo) {
			return fail("fields")
		}
		n, ok := r.u8()
		if !ok {
			return fail("length")
		}
		if n < 1 || n > MaxCIDLen {
			return 0, errAt("NEW_CONNECTION_ID: length "+itoa(uint64(n))+" not in 1..20", r.off-1, decode.ErrMalformed)
		}
		if f.Data, ok = r.bytes(uint64(n)); !ok {
			return fail("connection ID")
		}
		if f.ResetToken, ok = r.bytes(16); !ok {
			return fail("stateless reset token")
		}
	case f.Type == FramePathChallenge, f.Type == FramePathResponse:
		if f.Data, ok = r.bytes(8); !ok {
			return fail("data")
		}
	case f.Type == FrameConnectionClose, f.Type == FrameConnectionCloseApp:
		// Error Code (i), [Frame Type (i)], Reason Phrase Length (i),
		// Reason Phrase (..)
		if !v(&f.ErrorCode) {
			return fail("error code")
		}
		if f.Type == FrameConnectionClose && !v(&f.FrameType) {
			return fail("frame type")
		}
		var n uint64
		if !v(&n) {
			return fail("reason phrase length")
		}
		if f.Data, ok = r.bytes(n); !ok {
			return fail("reason phrase length " + itoa(n) + " exceeds remaining " + itoa(uint64(r.left())))
		}
	case f.Type == FrameDatagram:
		f.Data = b[r.off:len(b):len(b)]
		r.off = len(b)
	case f.Type == FrameDatagramLen:
		var n uint64
		if !v(&n) {
			return fail("length")
		}
		if f.Data, ok = r.bytes(n); !ok {
			return fail("length " + itoa(n) + " exceeds remaining " + itoa(uint64(r.left())))
		}
	case f.Type == FrameAckFrequency:
		// draft-ietf-quic-ack-frequency: Sequence Number (i),
		// Ack-Eliciting Threshold (i), Request Max Ack Delay (i),
		// Reordering Threshold (i)
		if !v(&f.Value) || !v(&f.RetirePriorTo) || !v(&f.Delay) || !v(&f.FirstRange) {
			return fail("fields")
		}
	default:
		return 0, errAt("unknown frame type 0x"+strconv.FormatUint(t, 16), 0, decode.ErrMalformed)
	}
	return r.off, nil
}
