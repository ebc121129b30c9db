package quic

import (
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode/tlsmsg"
)

// frameFormat holds what formatting a frame needs beyond the frame.
type frameFormat struct {
	// ackDelayExponent scales ACK Delay to microseconds (RFC 9000
	// §19.3): the sender's ack_delay_exponent transport parameter, 3 by
	// default (RFC 9000 §18.2).
	ackDelayExponent uint64
	// maxString cuts reason phrases and hex dumps, in bytes.
	maxString int
	// maxRanges cuts the ACK ranges listed.
	maxRanges int
}

// appendFrame appends a one-line summary of f: its name, then its fields
// as key=value: "CRYPTO off=0 len=245", "ACK largest=3 delay=200us
// ranges=0-3", "PADDING 1000", "STREAM id=0 off=0 len=12 fin".
func appendFrame(b []byte, f *Frame, ff *frameFormat) []byte {
	b = append(b, f.Type.String()...)
	u := func(key string, v uint64) {
		b = append(b, ' ')
		b = append(b, key...)
		b = append(b, '=')
		b = strconv.AppendUint(b, v, 10)
	}
	x := func(key string, v []byte) {
		b = append(b, ' ')
		b = append(b, key...)
		b = append(b, '=')
		b = appendHex(b, v, ff.maxString)
	}
	switch {
	case f.Type == FramePadding:
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(f.Padding), 10)
	case f.Type == FrameAck, f.Type == FrameAckECN:
		u("largest", f.Largest)
		b = appendAckDelay(b, f.Delay, ff.ackDelayExponent)
		b = append(b, " ranges="...)
		n := 0
		f.AckRanges(func(lo, hi uint64) bool {
			if n == ff.maxRanges {
				b = append(b, ",+"...)
				b = strconv.AppendUint(b, f.RangeCount+1-uint64(n), 10)
				b = append(b, " more"...)
				return false
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = strconv.AppendUint(b, lo, 10)
			if hi != lo {
				b = append(b, '-')
				b = strconv.AppendUint(b, hi, 10)
			}
			return true
		})
		if f.Type == FrameAckECN {
			u("ect0", f.ECN[0])
			u("ect1", f.ECN[1])
			u("ce", f.ECN[2])
		}
	case f.Type == FrameResetStream:
		u("id", f.StreamID)
		b = append(b, " err="...)
		b = appendHexUint(b, f.ErrorCode)
		u("final", f.Value)
	case f.Type == FrameStopSending:
		u("id", f.StreamID)
		b = append(b, " err="...)
		b = appendHexUint(b, f.ErrorCode)
	case f.Type == FrameCrypto:
		u("off", f.Offset)
		u("len", uint64(len(f.Data)))
	case f.Type == FrameNewToken:
		u("len", uint64(len(f.Data)))
	case f.Type >= FrameStream && f.Type <= FrameStream|0x07:
		u("id", f.StreamID)
		u("off", f.Offset)
		u("len", uint64(len(f.Data)))
		if f.Fin {
			b = append(b, " fin"...)
		}
	case f.Type == FrameMaxData, f.Type == FrameMaxStreamsBidi, f.Type == FrameMaxStreamsUni:
		if f.Type == FrameMaxStreamsBidi {
			b = append(b, " bidi"...)
		} else if f.Type == FrameMaxStreamsUni {
			b = append(b, " uni"...)
		}
		u("max", f.Value)
	case f.Type == FrameDataBlocked, f.Type == FrameStreamsBlockedBidi, f.Type == FrameStreamsBlockedUni:
		if f.Type == FrameStreamsBlockedBidi {
			b = append(b, " bidi"...)
		} else if f.Type == FrameStreamsBlockedUni {
			b = append(b, " uni"...)
		}
		u("limit", f.Value)
	case f.Type == FrameMaxStreamData:
		u("id", f.StreamID)
		u("max", f.Value)
	case f.Type == FrameStreamDataBlocked:
		u("id", f.StreamID)
		u("limit", f.Value)
	case f.Type == FrameNewConnectionID:
		u("seq", f.Value)
		u("retire_prior_to", f.RetirePriorTo)
		x("cid", f.Data)
	case f.Type == FrameRetireConnectionID:
		u("seq", f.Value)
	case f.Type == FramePathChallenge, f.Type == FramePathResponse:
		x("data", f.Data)
	case f.Type == FrameConnectionClose, f.Type == FrameConnectionCloseApp:
		b = append(b, " err="...)
		if f.Type == FrameConnectionClose {
			b = append(b, TransportError(f.ErrorCode).String()...)
			b = append(b, " frame="...)
			b = append(b, FrameType(f.FrameType).String()...)
		} else {
			b = append(b, "app:"...)
			b = appendHexUint(b, f.ErrorCode)
		}
		if len(f.Data) > 0 {
			b = append(b, " reason="...)
			b = appendQuoted(b, f.Data, ff.maxString)
		}
	case f.Type == FrameDatagram, f.Type == FrameDatagramLen:
		u("len", uint64(len(f.Data)))
	case f.Type == FrameAckFrequency:
		u("seq", f.Value)
		u("threshold", f.RetirePriorTo)
		u("max_ack_delay_us", f.Delay)
		u("reordering", f.FirstRange)
	}
	return b
}

// appendAckDelay appends " delay=Nus", the ACK Delay scaled by the
// sender's exponent, or " delay_raw=N" when that overflows.
func appendAckDelay(b []byte, delay, exp uint64) []byte {
	if exp < 64 && delay <= math.MaxUint64>>exp {
		b = append(b, " delay="...)
		b = strconv.AppendUint(b, delay<<exp, 10)
		return append(b, "us"...)
	}
	b = append(b, " delay_raw="...)
	return strconv.AppendUint(b, delay, 10)
}

func appendHexUint(b []byte, v uint64) []byte {
	b = append(b, "0x"...)
	return strconv.AppendUint(b, v, 16)
}

// appendHex appends v in hex, cut after max bytes with "…".
func appendHex(b []byte, v []byte, max int) []byte {
	cut := len(v) > max
	if cut {
		v = v[:max]
	}
	b = hex.AppendEncode(b, v)
	if cut {
		b = append(b, "…"...)
	}
	return b
}

// appendQuoted appends a wire string Go-quoted (control characters and
// invalid UTF-8 escaped), cut after max bytes at a rune boundary with
// "…" after the closing quote.
func appendQuoted(b []byte, v []byte, max int) []byte {
	cut := len(v) > max
	if cut {
		v = v[:max]
		// Drop a rune the cut left incomplete.
		for i := len(v); i > 0 && i > len(v)-utf8.UTFMax; i-- {
			if utf8.RuneStart(v[i-1]) {
				if !utf8.FullRune(v[i-1:]) {
					v = v[:i-1]
				}
				break
			}
		}
	}
	b = strconv.AppendQuote(b, string(v))
	if cut {
		b = append(b, "…"...)
	}
	return b
}

// TransportError is a QUIC transport error code (RFC 9000 §20.1).
type TransportError uint64

var transportErrorNames = [...]string{
	"NO_ERROR", "INTERNAL_ERROR", "CONNECTION_REFUSED", "FLOW_CONTROL_ERROR",
	"STREAM_LIMIT_ERROR", "STREAM_STATE_ERROR", "FINAL_SIZE_ERROR", "FRAME_ENCODING_ERROR",
	"TRANSPORT_PARAMETER_ERROR", "CONNECTION_ID_LIMIT_ERROR", "PROTOCOL_VIOLATION", "INVALID_TOKEN",
	"APPLICATION_ERROR", "CRYPTO_BUFFER_EXCEEDED", "KEY_UPDATE_ERROR", "AEAD_LIMIT_REACHED",
	"NO_VIABLE_PATH",
	// RFC 9368 §4.
	"VERSION_NEGOTIATION_ERROR",
}

// String returns the RFC 9000 name; CRYPTO_ERROR codes name their TLS
// alert ("CRYPTO_ERROR(handshake_failure)"); others print as
// TransportError(0x1234).
func (e TransportError) String() string {
	if e < TransportError(len(transportErrorNames)) {
		return transportErrorNames[e]
	}
	if e >= 0x100 && e <= 0x1ff {
		return "CRYPTO_ERROR(" + tlsmsg.AlertDescription(e&0xff).String() + ")"
	}
	return "TransportError(0x" + strconv.FormatUint(uint64(e), 16) + ")"
}
