package h2

import (
	"strconv"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// Event types of layer http2 (docs/events.md): PREFACE, one per frame
// named by its type (RFC 9113 §6), the extension frames ALTSVC (RFC 7838
// §4), ORIGIN (RFC 8336 §2) and PRIORITY_UPDATE (RFC 9218 §7.1), UNKNOWN
// for any other type, and exchange for a finished request.
const (
	TypePreface        decode.Type = "PREFACE"
	TypeData           decode.Type = "DATA"
	TypeHeaders        decode.Type = "HEADERS"
	TypePriority       decode.Type = "PRIORITY"
	TypeRSTStream      decode.Type = "RST_STREAM"
	TypeSettings       decode.Type = "SETTINGS"
	TypePushPromise    decode.Type = "PUSH_PROMISE"
	TypePing           decode.Type = "PING"
	TypeGoAway         decode.Type = "GOAWAY"
	TypeWindowUpdate   decode.Type = "WINDOW_UPDATE"
	TypeContinuation   decode.Type = "CONTINUATION"
	TypeAltSvc         decode.Type = "ALTSVC"
	TypeOrigin         decode.Type = "ORIGIN"
	TypePriorityUpdate decode.Type = "PRIORITY_UPDATE"
	TypeUnknown        decode.Type = "UNKNOWN"
	TypeExchange       decode.Type = "exchange"
)

// Frame types beyond RFC 9113 that are named.
const (
	frameAltSvc         http2.FrameType = 0xa
	frameOrigin         http2.FrameType = 0xc
	framePriorityUpdate http2.FrameType = 0x10
)

// frameTypeName returns the event type of a frame type.
func frameTypeName(t http2.FrameType) decode.Type {
	switch t {
	case http2.FrameData:
		return TypeData
	case http2.FrameHeaders:
		return TypeHeaders
	case http2.FramePriority:
		return TypePriority
	case http2.FrameRSTStream:
		return TypeRSTStream
	case http2.FrameSettings:
		return TypeSettings
	case http2.FramePushPromise:
		return TypePushPromise
	case http2.FramePing:
		return TypePing
	case http2.FrameGoAway:
		return TypeGoAway
	case http2.FrameWindowUpdate:
		return TypeWindowUpdate
	case http2.FrameContinuation:
		return TypeContinuation
	case frameAltSvc:
		return TypeAltSvc
	case frameOrigin:
		return TypeOrigin
	case framePriorityUpdate:
		return TypePriorityUpdate
	}
	return TypeUnknown
}

// flagBits names the flags each frame type defines (RFC 9113 §6), in bit
// order.
var flagBits = [...][]struct {
	bit  http2.Flags
	name string
}{
	http2.FrameData:         {{0x1, "END_STREAM"}, {0x8, "PADDED"}},
	http2.FrameHeaders:      {{0x1, "END_STREAM"}, {0x4, "END_HEADERS"}, {0x8, "PADDED"}, {0x20, "PRIORITY"}},
	http2.FrameSettings:     {{0x1, "ACK"}},
	http2.FramePushPromise:  {{0x4, "END_HEADERS"}, {0x8, "PADDED"}},
	http2.FramePing:         {{0x1, "ACK"}},
	http2.FrameContinuation: {{0x4, "END_HEADERS"}},
}

// flagTable holds the flag-name list of every combination of defined
// flags of the frame types that have flags, so that the common case
// shares one read-only slice instead of building one per frame.
var flagTable = func() (t [len(flagBits)][0x40][]string) {
	for typ, bits := range flagBits {
		for f := range 0x40 {
			var names []string
			ok := true
			for b := http2.Flags(1); b < 0x40; b <<= 1 {
				if http2.Flags(f)&b == 0 {
					continue
				}
				found := false
				for _, fb := range bits {
					if fb.bit == b {
						names = append(names, fb.name)
						found = true
					}
				}
				ok = ok && found
			}
			if ok && names != nil {
				t[typ][f] = names
			}
		}
	}
	return t
}()

// flagNames returns the names of a frame's flags; a bit the type does not
// define prints as its hex value. The result must not be modified.
func flagNames(t http2.FrameType, f http2.Flags) []string {
	if f == 0 {
		return nil
	}
	if int(t) < len(flagTable) && f < 0x40 {
		if names := flagTable[t][f]; names != nil {
			return names
		}
	}
	var names []string
	for b := http2.Flags(1); b != 0; b <<= 1 {
		if f&b == 0 {
			continue
		}
		name := "0x" + strconv.FormatUint(uint64(b), 16)
		if int(t) < len(flagBits) {
			for _, fb := range flagBits[t] {
				if fb.bit == b {
					name = fb.name
				}
			}
		}
		names = append(names, name)
	}
	return names
}

// errCodeName returns the RFC 9113 §7 name of an error code, or
// ErrCode(0x1a) for an unassigned one.
func errCodeName(c http2.ErrCode) string {
	if c <= http2.ErrCodeHTTP11Required {
		return c.String()
	}
	return "ErrCode(0x" + strconv.FormatUint(uint64(c), 16) + ")"
}

// settingKeys are the info keys of the SETTINGS parameters (RFC 9113
// §6.5.2, RFC 8441 §3, RFC 9218 §2.1).
var settingKeys = [...]string{
	http2.SettingHeaderTableSize:       "header_table_size",
	http2.SettingEnablePush:            "enable_push",
	http2.SettingMaxConcurrentStreams:  "max_concurrent_streams",
	http2.SettingInitialWindowSize:     "initial_window_size",
	http2.SettingMaxFrameSize:          "max_frame_size",
	http2.SettingMaxHeaderListSize:     "max_header_list_size",
	http2.SettingEnableConnectProtocol: "enable_connect_protocol",
	9:                                  "no_rfc7540_priorities",
}

func settingKey(id http2.SettingID) string {
	if int(id) < len(settingKeys) {
		return settingKeys[id]
	}
	return ""
}

// streamState is a stream's state (RFC 9113 §5.1) as the client sees it:
// "local" is the client, "remote" the server.
type streamState uint8

const (
	stateIdle streamState = iota
	stateReservedRemote
	stateOpen
	stateHalfClosedLocal
	stateHalfClosedRemote
	stateClosed
)

var stateNames = [...]string{
	stateIdle:             "idle",
	stateReservedRemote:   "reserved-remote",
	stateOpen:             "open",
	stateHalfClosedLocal:  "half-closed-local",
	stateHalfClosedRemote: "half-closed-remote",
	stateClosed:           "closed",
}

func (s streamState) String() string { return stateNames[s] }
