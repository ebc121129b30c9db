package h3

import "strconv"

// HTTP/3 frame types (RFC 9114 §7.2, RFC 9218 §7.2).
const (
	frameData         = 0x00
	frameHeaders      = 0x01
	frameCancelPush   = 0x03
	frameSettings     = 0x04
	framePushPromise  = 0x05
	frameGoaway       = 0x07
	frameMaxPushID    = 0x0d
	framePriorityReq  = 0xf0700
	framePriorityPush = 0xf0701
)

// isGrease reports whether v is of the form 0x1f*N + 0x21, reserved to
// exercise extension handling (RFC 9114 §7.2.8, §6.2.3, §7.2.4.1).
func isGrease(v uint64) bool { return v >= 0x21 && (v-0x21)%0x1f == 0 }

// frameName names a frame type.
func frameName(t uint64) string {
	switch t {
	case frameData:
		return "DATA"
	case frameHeaders:
		return "HEADERS"
	case frameCancelPush:
		return "CANCEL_PUSH"
	case frameSettings:
		return "SETTINGS"
	case framePushPromise:
		return "PUSH_PROMISE"
	case frameGoaway:
		return "GOAWAY"
	case frameMaxPushID:
		return "MAX_PUSH_ID"
	case framePriorityReq, framePriorityPush:
		return "PRIORITY_UPDATE"
	case 0x02, 0x06, 0x08, 0x09:
		// HTTP/2 frame types with no HTTP/3 meaning (RFC 9114 §7.2.8).
		return "RESERVED"
	}
	if isGrease(t) {
		return "RESERVED"
	}
	return "UNKNOWN"
}

// Unidirectional stream types (RFC 9114 §6.2, RFC 9204 §4.2).
const (
	uniControl = 0x00
	uniPush    = 0x01
	uniEncoder = 0x02
	uniDecoder = 0x03
)

func uniName(t uint64) string {
	switch t {
	case uniControl:
		return "control"
	case uniPush:
		return "push"
	case uniEncoder:
		return "qpack_encoder"
	case uniDecoder:
		return "qpack_decoder"
	}
	if isGrease(t) {
		return "reserved"
	}
	return "unknown"
}

// settingName gives the info key of a setting (RFC 9114 §7.2.4.1,
// RFC 9204 §5, RFC 9220 §3, RFC 9297 §2.1.1), "" if unknown.
func settingName(id uint64) string {
	switch id {
	case 0x01:
		return "qpack_max_table_capacity"
	case 0x06:
		return "max_field_section_size"
	case 0x07:
		return "qpack_blocked_streams"
	case 0x08:
		return "enable_connect_protocol"
	case 0x33:
		return "h3_datagram"
	}
	return ""
}

func hexCode(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }
