package qlog

import (
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/render/jsonl"
)

// A QUIC packet event lists its frames as one-line summaries, whose form
// docs/events.md fixes: the frame's RFC 9000 name, then space-separated
// key=value fields, bare flags ("fin", "bidi", "uni") and, for PADDING,
// a bare count; a CONNECTION_CLOSE reason is Go-quoted and may hold
// spaces. appendFrame turns one summary into a qlog QuicFrame object.

// token is one field of a frame summary: key=value, or a bare word with
// an empty key.
type token struct{ key, val string }

// splitFrame splits a summary into its name and fields.
func splitFrame(s string) (name string, toks []token) {
	name, rest, _ := strings.Cut(s, " ")
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		var field string
		key, after, hasEq := strings.Cut(rest, "=")
		if hasEq && !strings.Contains(key, " ") && strings.HasPrefix(after, `"`) {
			// A quoted value: up to its closing quote, then an optional
			// "…" that says it was cut.
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				toks = append(toks, token{key, after})
				break
			}
			v, _ := strconv.Unquote(q)
			rest = strings.TrimPrefix(after[len(q):], "…")
			toks = append(toks, token{key, v})
			continue
		}
		field, rest, _ = strings.Cut(rest, " ")
		if k, v, ok := strings.Cut(field, "="); ok {
			toks = append(toks, token{k, v})
		} else {
			toks = append(toks, token{"", field})
		}
	}
	return name, toks
}

func (t token) uint() (uint64, bool) {
	v, err := strconv.ParseUint(t.val, 10, 64)
	return v, err == nil
}

// objectWriter appends the members of one JSON object.
type objectWriter struct {
	b     []byte
	first bool
}

func (o *objectWriter) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = jsonl.AppendString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *objectWriter) str(k, v string) {
	o.key(k)
	o.b = jsonl.AppendString(o.b, v)
}

func (o *objectWriter) uint(k string, v uint64) {
	o.key(k)
	o.b = strconv.AppendUint(o.b, v, 10)
}

func (o *objectWriter) float(k string, v float64) {
	o.key(k)
	o.b = strconv.AppendFloat(o.b, v, 'f', -1, 64)
}

func (o *objectWriter) bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *objectWriter) raw(k string, v []byte) {
	o.key(k)
	o.b = append(o.b, v...)
}

// frameTypes maps RFC 9000 frame names to qlog's frame_type values
// (draft-ietf-quic-qlog-quic-events: QuicFrame).
var frameTypes = map[string]string{
	"PADDING": "padding", "PING": "ping", "ACK": "ack", "RESET_STREAM": "reset_stream",
	"STOP_SENDING": "stop_sending", "CRYPTO": "crypto", "NEW_TOKEN": "new_token", "STREAM": "stream",
	"MAX_DATA": "max_data", "MAX_STREAM_DATA": "max_stream_data", "MAX_STREAMS": "max_streams",
	"DATA_BLOCKED": "data_blocked", "STREAM_DATA_BLOCKED": "stream_data_blocked",
	"STREAMS_BLOCKED": "streams_blocked", "NEW_CONNECTION_ID": "new_connection_id",
	"RETIRE_CONNECTION_ID": "retire_connection_id", "PATH_CHALLENGE": "path_challenge",
	"PATH_RESPONSE": "path_response", "CONNECTION_CLOSE": "connection_close",
	"HANDSHAKE_DONE": "handshake_done", "DATAGRAM": "datagram", "ACK_FREQUENCY": "ack_frequency",
	"IMMEDIATE_ACK": "immediate_ack",
}

// appendFrame appends the qlog object of one frame summary; ok is false
// for entries that are not frames (the "+N more" of a long list).
func appendFrame(b []byte, summary string) ([]byte, bool) {
	name, toks := splitFrame(summary)
	ft, known := frameTypes[name]
	if !known {
		if strings.HasPrefix(name, "+") {
			return b, false
		}
		ft = "unknown"
	}
	o := objectWriter{b: append(b, '{'), first: true}
	o.str("frame_type", ft)
	if !known {
		o.str("raw_frame_type", name)
	}
	switch ft {
	case "padding":
		if len(toks) == 1 {
			if n, ok := toks[0].uint(); ok {
				o.uint("payload_length", n)
			}
		}
	case "ack":
		appendAck(&o, toks)
	case "max_streams", "streams_blocked":
		for _, t := range toks {
			switch {
			case t.key == "" && t.val == "bidi":
				o.str("stream_type", "bidirectional")
			case t.key == "" && t.val == "uni":
				o.str("stream_type", "unidirectional")
			case t.key == "max":
				appendUint(&o, "maximum", t)
			case t.key == "limit":
				appendUint(&o, "limit", t)
			}
		}
	case "connection_close":
		appendClose(&o, toks)
	default:
		for _, t := range toks {
			switch {
			case t.key == "" && t.val == "fin":
				o.bool("fin", true)
			case t.key == "id":
				appendUint(&o, "stream_id", t)
			case t.key == "off":
				appendUint(&o, "offset", t)
			case t.key == "len" && ft == "new_token":
				o.key("token")
				o.b = append(o.b, `{"raw":{"length":`...)
				o.b = append(o.b, t.val...)
				o.b = append(o.b, "}}"...)
			case t.key == "len":
				appendUint(&o, "length", t)
			case t.key == "max":
				appendUint(&o, "maximum", t)
			case t.key == "limit":
				appendUint(&o, "limit", t)
			case t.key == "final":
				appendUint(&o, "final_size", t)
			case t.key == "err":
				if v, err := strconv.ParseUint(strings.TrimPrefix(t.val, "0x"), 16, 64); err == nil {
					o.uint("error_code", v)
				}
			case t.key == "seq":
				appendUint(&o, "sequence_number", t)
			case t.key == "retire_prior_to":
				appendUint(&o, "retire_prior_to", t)
			case t.key == "cid":
				o.uint("connection_id_length", uint64(len(t.val)/2))
				o.str("connection_id", t.val)
			case t.key == "data":
				o.str("data", t.val)
			case t.key == "threshold":
				appendUint(&o, "ack_eliciting_threshold", t)
			case t.key == "max_ack_delay_us":
				if v, ok := t.uint(); ok {
					o.float("request_max_ack_delay", float64(v)/1000)
				}
			case t.key == "reordering":
				appendUint(&o, "reordering_threshold", t)
			}
		}
	}
	return append(o.b, '}'), true
}

func appendUint(o *objectWriter, key string, t token) {
	if v, ok := t.uint(); ok {
		o.uint(key, v)
	}
}

// appendAck writes an ACK frame: ack_delay in milliseconds, the ranges as
// [low, high] pairs (lowest first, as qlog lists them), ECN counts.
func appendAck(o *objectWriter, toks []token) {
	for _, t := range toks {
		switch t.key {
		case "delay":
			if us, err := strconv.ParseUint(strings.TrimSuffix(t.val, "us"), 10, 64); err == nil {
				o.float("ack_delay", float64(us)/1000)
			}
		case "ranges":
			var ranges [][2]uint64
			for _, r := range strings.Split(t.val, ",") {
				lo, hi, isRange := strings.Cut(r, "-")
				l, err1 := strconv.ParseUint(lo, 10, 64)
				h := l
				var err2 error
				if isRange {
					h, err2 = strconv.ParseUint(hi, 10, 64)
				}
				if err1 != nil || err2 != nil {
					continue // "+N more"
				}
				ranges = append(ranges, [2]uint64{l, h})
			}
			o.key("acked_ranges")
			o.b = append(o.b, '[')
			// The summary lists the largest range first.
			for i := len(ranges) - 1; i >= 0; i-- {
				if i != len(ranges)-1 {
					o.b = append(o.b, ',')
				}
				o.b = append(o.b, '[')
				o.b = strconv.AppendUint(o.b, ranges[i][0], 10)
				if ranges[i][1] != ranges[i][0] {
					o.b = append(o.b, ',')
					o.b = strconv.AppendUint(o.b, ranges[i][1], 10)
				}
				o.b = append(o.b, ']')
			}
			o.b = append(o.b, ']')
		case "ect0", "ect1", "ce":
			appendUint(o, t.key, t)
		}
	}
}

// appendClose writes a CONNECTION_CLOSE frame: a transport error by its
// qlog name (lower case, crypto_error_0x1XX for TLS alerts), an
// application error by number, the frame type that triggered it and the
// reason phrase.
func appendClose(o *objectWriter, toks []token) {
	for _, t := range toks {
		switch t.key {
		case "err":
			if app, ok := strings.CutPrefix(t.val, "app:"); ok {
				o.str("error_space", "application")
				if v, err := strconv.ParseUint(strings.TrimPrefix(app, "0x"), 16, 64); err == nil {
					o.uint("error_code", v)
				}
				continue
			}
			o.str("error_space", "transport")
			o.str("error_code", strings.ToLower(t.val))
		case "frame":
			if ft, ok := frameTypes[t.val]; ok {
				o.str("trigger_frame_type", ft)
			}
		case "reason":
			o.str("reason", t.val)
		}
	}
}
