package ws

import "strconv"

// CloseCode is a close frame's status code (RFC 6455 §7.4, IANA WebSocket
// Close Code Number Registry).
type CloseCode uint16

var closeNames = map[CloseCode]string{
	1000: "normal_closure",
	1001: "going_away",
	1002: "protocol_error",
	1003: "unsupported_data",
	1004: "reserved",
	1005: "no_status_received",
	1006: "abnormal_closure",
	1007: "invalid_payload_data",
	1008: "policy_violation",
	1009: "message_too_big",
	1010: "mandatory_extension",
	1011: "internal_error",
	1012: "service_restart",
	1013: "try_again_later",
	1014: "bad_gateway",
	1015: "tls_handshake",
}

// String returns the code's name; 3000-3999 are "registered", 4000-4999
// "private", others CloseCode(N).
func (c CloseCode) String() string {
	if n, ok := closeNames[c]; ok {
		return n
	}
	switch {
	case c >= 3000 && c <= 3999:
		return "registered"
	case c >= 4000 && c <= 4999:
		return "private"
	}
	return "CloseCode(" + strconv.Itoa(int(c)) + ")"
}

// sendable reports whether an endpoint may put c in a close frame (RFC
// 6455 §7.4.1, §7.4.2): 1005, 1006 and 1015 are only for reporting, and
// codes below 1000 or between 1016 and 2999 are not in use.
func (c CloseCode) sendable() bool {
	switch {
	case c == 1004 || c == 1005 || c == 1006 || c == 1015:
		return false
	case c >= 1000 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}
