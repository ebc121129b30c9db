package http1

import (
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// requestEvent builds the request event: FlagRequest|FlagAppData, Stream
// the exchange's ordinal, Len the head's size in bytes.
func (d *Decoder) requestEvent(m *message, ex *exchange, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, decode.C2S, decode.LayerHTTP1, TypeRequest)
	e.Stream, e.Len = ex.ord, int64(m.size)
	e.Flags = decode.FlagRequest | decode.FlagAppData
	max := d.opts.MaxString
	info := decode.Info{
		decode.String("method", decode.Cut(m.method, max)),
		decode.String("path", decode.Cut(m.target, max)),
	}
	if h := m.get("Host"); h != "" || m.has("Host") {
		info = append(info, decode.String("host", decode.Cut(h, max)))
	}
	info = append(info, decode.String("version", m.version))
	info = d.commonInfo(info, m)
	if v := m.get("Expect"); v != "" {
		info = append(info, decode.String("expect", decode.Cut(v, max)))
	}
	if closes(m) {
		info = append(info, decode.Bool("close", true))
	}
	e.Info = append(info, decode.Strings("headers", d.headers(m.fields)))
	return e
}

// responseEvent builds the response event: FlagReply|FlagAppData, Stream
// the ordinal of the request it answers.
func (d *Decoder) responseEvent(m *message, ex *exchange, interim bool, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, decode.S2C, decode.LayerHTTP1, TypeResponse)
	e.Stream, e.Len = ex.ord, int64(m.size)
	e.Flags = decode.FlagReply | decode.FlagAppData
	info := decode.Info{
		decode.Int("status", int64(m.status)),
		decode.String("reason", decode.Cut(m.reason, d.opts.MaxString)),
		decode.String("version", m.version),
	}
	info = d.commonInfo(info, m)
	if closes(m) {
		info = append(info, decode.Bool("close", true))
	}
	if interim {
		info = append(info, decode.Bool("interim", true))
	}
	e.Info = append(info, decode.Strings("headers", d.headers(m.fields)))
	return e
}

// commonInfo appends the fields requests and responses share, each only
// when present.
func (d *Decoder) commonInfo(info decode.Info, m *message) decode.Info {
	max := d.opts.MaxString
	if v, ok := m.joined("Content-Type"); ok {
		info = append(info, decode.String("content_type", decode.Cut(v, max)))
	}
	if n, ok, err := contentLength(m); ok && err == nil {
		info = append(info, decode.Uint("content_length", n))
	} else if ok {
		v, _ := m.joined("Content-Length")
		info = append(info, decode.String("content_length_invalid", decode.Cut(v, max)))
	}
	if v, ok := m.joined("Transfer-Encoding"); ok {
		info = append(info, decode.String("transfer_encoding", decode.Cut(v, max)))
	}
	if v, ok := m.joined("Upgrade"); ok {
		info = append(info, decode.String("upgrade", decode.Cut(v, max)))
	}
	return info
}

// closes reports whether the message says the connection closes after it:
// Connection: close, or HTTP/1.0 without keep-alive (RFC 9112 §9.3).
func closes(m *message) bool {
	if m.hasToken("Connection", "close") {
		return true
	}
	return m.version == "HTTP/1.0" && !m.hasToken("Connection", "keep-alive")
}

// headers lists the fields as "name: value", capped in count and size.
func (d *Decoder) headers(fields []field) []string {
	out := make([]string, 0, min(len(fields), d.opts.MaxHeaders+1))
	for _, f := range fields {
		out = appendCapped(out, f.name+": "+f.value, d.opts.MaxHeaders, d.opts.MaxString)
	}
	return out
}

// appendCapped appends s cut to maxLen to list, unless list already has
// maxCount entries: then the last entry counts the rest ("+N more").
func appendCapped(list []string, s string, maxCount, maxLen int) []string {
	if len(list) < maxCount {
		return append(list, decode.Cut(s, maxLen))
	}
	if len(list) == maxCount {
		return append(list, "+1 more")
	}
	last := list[len(list)-1]
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(last, "+"), " more"))
	list[len(list)-1] = "+" + strconv.Itoa(n+1) + " more"
	return list
}

// exchangeEvent builds the exchange event (no direction, no flags): what
// was asked, the answer, and when.
func (d *Decoder) exchangeEvent(ex *exchange, incomplete bool, at decode.Position) decode.Event {
	e := decode.NewEvent(at.Frame, at.TS, decode.DirNone, decode.LayerHTTP1, TypeExchange)
	e.Stream = ex.ord
	max := d.opts.MaxString
	info := decode.Info{
		decode.String("method", decode.Cut(ex.method, max)),
		decode.String("authority", decode.Cut(ex.authority, max)),
		decode.String("path", decode.Cut(ex.target, max)),
		decode.Int("status", int64(ex.status)),
		decode.String("start", ex.reqStart.TS.UTC().Format(time.RFC3339Nano)),
		decode.Int("start_frame", ex.reqStart.Frame),
	}
	if ex.responded {
		info = append(info, decode.Millis("first_byte_ms", ex.respFirst.TS.Sub(ex.reqStart.TS)))
	}
	end := ex.end
	if !ex.respDone {
		end = at
	}
	info = append(info, decode.Millis("duration_ms", end.TS.Sub(ex.reqStart.TS)),
		decode.Uint("req_bytes", ex.reqBytes), decode.Uint("resp_bytes", ex.respBytes))
	if ex.reqChunked {
		info = append(info, decode.Int("req_chunks", ex.reqChunks))
	}
	if ex.respChunked {
		info = append(info, decode.Int("resp_chunks", ex.respChunks))
	}
	if len(ex.reqTrail) > 0 {
		info = append(info, decode.Strings("req_trailers", ex.reqTrail))
	}
	if len(ex.respTrail) > 0 {
		info = append(info, decode.Strings("resp_trailers", ex.respTrail))
	}
	if ex.missing > 0 {
		info = append(info, decode.Uint("missing_bytes", ex.missing))
	}
	if ex.switched != "" {
		info = append(info, decode.String("upgrade", decode.Cut(ex.switched, max)))
	}
	if ex.unmatched {
		info = append(info, decode.Bool("unmatched", true))
	}
	if incomplete {
		info = append(info, decode.Bool("incomplete", true))
	}
	e.Info = info
	return e
}
