// Package qlog writes the QUIC connections of a timeline as qlog traces
// (draft-ietf-quic-qlog-main-schema, JSON-SEQ serialisation, RFC 7464:
// each record starts with the Record Separator 0x1E and ends with a line
// feed), so that they open in qvis and other qlog tools.
//
// A trace is written from the capture point, as qvis writes its own
// traces of pcaps: vantage point "network" seen from the client's flow,
// so transport:packet_sent is a packet from the client and
// transport:packet_received one from the server. Each QUIC packet event
// becomes one of those, with its header (packet_type, packet_number,
// version, dcid, scid), raw length and frames (parsed from the frame
// summaries docs/events.md specifies); an RTT sample on a server packet
// becomes recovery:metrics_updated (latest_rtt); HTTP/3 frames become
// http:frame_created (client) and http:frame_parsed (server); a
// connection's move to a new path connectivity:path_updated. Other
// protocols' connections are left out.
//
// A JSON-SEQ file holds one trace. New writes every QUIC connection into
// one trace, each event carrying its connection's group_id (the client's
// original Destination Connection ID); NewPerConnection writes one trace
// per connection, each to its own writer, as qvis expects for comparing
// connections. Times are milliseconds relative to the trace's first
// packet, whose wall-clock time is the reference_time.
package qlog

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/jsonl"
	"github.com/wiretrace/wiretrace/timeline"
)

// Version is the qlog_version the header declares: the one qvis reads
// for JSON-SEQ files.
const Version = "0.3"

// recordSeparator starts every JSON-SEQ record.
const recordSeparator = 0x1e

// trace is one JSON-SEQ trace being written.
type trace struct {
	w       *bufio.Writer
	c       io.Closer // nil for the shared trace
	started bool
	ref     time.Time
	err     error
}

// connState is what the writer keeps per QUIC connection.
type connState struct {
	t       *trace
	groupID string
}

// Writer writes qlog traces. It implements timeline.Sink.
type Writer struct {
	title  string
	shared *trace                                         // New: one trace for all
	open   func(c *timeline.Conn) (io.WriteCloser, error) // NewPerConnection
	conns  map[int]*connState
	buf    []byte
}

// New returns a Writer that writes one trace holding every QUIC
// connection to w. title names the trace (e.g. the capture file).
func New(w io.Writer, title string) *Writer {
	return &Writer{title: title, shared: &trace{w: bufio.NewWriterSize(w, 64<<10)}, conns: map[int]*connState{}}
}

// NewPerConnection returns a Writer that writes each QUIC connection's
// trace to the writer open returns for it, opened at the connection's
// first QUIC packet and closed at its end.
func NewPerConnection(open func(c *timeline.Conn) (io.WriteCloser, error), title string) *Writer {
	return &Writer{title: title, open: open, conns: map[int]*connState{}}
}

// Event implements timeline.Sink.
func (q *Writer) Event(ev *timeline.Event) error {
	if ev.Conn == nil {
		return nil
	}
	cs := q.conns[ev.Conn.ID]
	if cs == nil {
		if ev.Layer != decode.LayerQUIC {
			return nil // not (yet) a QUIC connection
		}
		var err error
		if cs, err = q.start(ev); err != nil {
			return err
		}
	}
	if ev.Type == decode.TypeSummary {
		delete(q.conns, ev.Conn.ID)
		if cs.t.c != nil {
			return cs.t.close()
		}
		return cs.t.err
	}
	name, ok := q.appendData(ev)
	if !ok {
		return nil
	}
	if err := cs.t.record(ev.TS, name, cs.groupID, q.shared != nil, q.buf); err != nil {
		return err
	}
	if f, ok := ev.Info.Get("rtt_ms"); ok && ev.Layer == decode.LayerQUIC && ev.Dir == decode.S2C {
		return q.metrics(ev, cs, f)
	}
	return nil
}

// start begins following a QUIC connection at its first packet.
func (q *Writer) start(ev *timeline.Event) (*connState, error) {
	cs := &connState{groupID: "conn-" + strconv.Itoa(ev.Conn.ID)}
	if f, ok := ev.Info.Get("dcid"); ok && f.Str != "" && ev.Type == "Initial" && ev.Dir == decode.C2S {
		cs.groupID = f.Str
	}
	if q.shared != nil {
		cs.t = q.shared
	} else {
		w, err := q.open(ev.Conn)
		if err != nil {
			return nil, fmt.Errorf("qlog: %w", err)
		}
		cs.t = &trace{w: bufio.NewWriterSize(w, 64<<10), c: w}
	}
	if !cs.t.started {
		cs.t.started = true
		cs.t.ref = ev.TS
		title := q.title
		if q.shared == nil {
			title = fmt.Sprintf("%s: connection %d %s → %s", q.title, ev.Conn.ID, ev.Conn.Client, ev.Conn.Server)
		}
		group := ""
		if q.shared == nil {
			group = cs.groupID
		}
		cs.t.header(title, group)
	}
	q.conns[ev.Conn.ID] = cs
	return cs, nil
}

// header writes the trace's first record.
func (t *trace) header(title, groupID string) {
	o := objectWriter{b: []byte{recordSeparator, '{'}, first: true}
	o.str("qlog_version", Version)
	o.str("qlog_format", "JSON-SEQ")
	o.str("title", title)
	o.key("trace")
	o.b = append(o.b, '{')
	tr := objectWriter{b: o.b, first: true}
	tr.str("title", title)
	tr.raw("vantage_point", []byte(`{"name":"wiretrace","type":"network","flow":"client"}`))
	tr.key("common_fields")
	tr.b = append(tr.b, '{')
	cf := objectWriter{b: tr.b, first: true}
	if groupID != "" {
		cf.str("group_id", groupID)
	}
	cf.str("time_format", "relative")
	cf.float("reference_time", float64(t.ref.UnixMicro())/1000)
	cf.raw("protocol_type", []byte(`["QUIC","HTTP3"]`))
	b := append(cf.b, "}}}\n"...)
	_, t.err = t.w.Write(b)
}

// record writes one event record; data is the event's data object.
func (t *trace) record(ts time.Time, name, groupID string, withGroup bool, data []byte) error {
	if t.err != nil {
		return t.err
	}
	o := objectWriter{b: make([]byte, 0, 64+len(data)), first: true}
	o.b = append(o.b, recordSeparator, '{')
	o.float("time", float64(ts.Sub(t.ref).Microseconds())/1000)
	o.str("name", name)
	if withGroup {
		o.str("group_id", groupID)
	}
	o.raw("data", data)
	o.b = append(o.b, "}\n"...)
	_, t.err = t.w.Write(o.b)
	return t.err
}

func (t *trace) flush() error {
	if t.err == nil {
		t.err = t.w.Flush()
	}
	return t.err
}

func (t *trace) close() error {
	err := t.flush()
	if cerr := t.c.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close flushes the shared trace, or ends the per-connection traces still
// open (connections the timeline has not ended).
func (q *Writer) Close() error {
	if q.shared != nil {
		return q.shared.flush()
	}
	var first error
	for id, cs := range q.conns {
		if err := cs.t.close(); err != nil && first == nil {
			first = err
		}
		delete(q.conns, id)
	}
	return first
}

// Flush writes out what is buffered (live captures).
func (q *Writer) Flush() error {
	if q.shared != nil {
		return q.shared.flush()
	}
	return nil
}

// packetTypes maps the quic layer's event types to qlog's packet_type.
var packetTypes = map[decode.Type]string{
	"Initial": "initial", "Handshake": "handshake", "0-RTT": "0RTT", "1-RTT": "1RTT",
	"Retry": "retry", "VersionNegotiation": "version_negotiation", "UNKNOWN": "unknown",
}

// appendData builds the data of ev's qlog event into q.buf and returns the
// event's name; ok is false for events qlog has no place for.
func (q *Writer) appendData(ev *timeline.Event) (name string, ok bool) {
	o := objectWriter{b: append(q.buf[:0], '{'), first: true}
	defer func() { q.buf = o.b }()
	switch {
	case ev.Layer == decode.LayerQUIC:
		pt, known := packetTypes[ev.Type]
		if !known {
			return "", false
		}
		name = "transport:packet_sent"
		if ev.Dir == decode.S2C {
			name = "transport:packet_received"
		}
		o.key("header")
		o.b = append(o.b, '{')
		h := objectWriter{b: o.b, first: true}
		h.str("packet_type", pt)
		if f, ok := ev.Info.Get("pn"); ok {
			h.uint("packet_number", uint64(f.Int))
		}
		if f, ok := ev.Info.Get("version"); ok {
			h.str("version", qlogVersion(f.Str))
		}
		if f, ok := ev.Info.Get("scid"); ok {
			h.str("scid", f.Str)
		}
		if f, ok := ev.Info.Get("dcid"); ok {
			h.str("dcid", f.Str)
		}
		if f, ok := ev.Info.Get("key_update"); ok {
			// The first packet of key phase generation N: its Key Phase
			// bit is N's parity.
			h.bool("key_phase_bit", f.Int%2 == 1)
		}
		o.b = append(h.b, '}')
		o.raw("raw", strconv.AppendInt([]byte(`{"length":`), ev.Len, 10))
		o.b = append(o.b, '}')
		if f, ok := ev.Info.Get("versions"); ok {
			o.key("supported_versions")
			o.b = append(o.b, '[')
			for i, v := range f.Strs {
				if i > 0 {
					o.b = append(o.b, ',')
				}
				o.b = jsonl.AppendString(o.b, qlogVersion(v))
			}
			o.b = append(o.b, ']')
		}
		if f, ok := ev.Info.Get("frames"); ok {
			o.key("frames")
			o.b = append(o.b, '[')
			n := 0
			for _, s := range f.Strs {
				before := len(o.b)
				if n > 0 {
					o.b = append(o.b, ',')
				}
				var ok bool
				if o.b, ok = appendFrame(o.b, s); ok {
					n++
				} else {
					o.b = o.b[:before]
				}
			}
			o.b = append(o.b, ']')
		}
	case ev.Layer == decode.LayerHTTP3:
		if ev.Type == "stream" || ev.Type == "exchange" || ev.Type == "stream-error" || strings.ContainsAny(string(ev.Type), "_") && ev.Type != "PRIORITY_UPDATE" && ev.Type != "CANCEL_PUSH" && ev.Type != "MAX_PUSH_ID" && ev.Type != "PUSH_PROMISE" {
			return "", false // stream openings, exchanges and QPACK instructions
		}
		name = "http:frame_created"
		if ev.Dir == decode.S2C {
			name = "http:frame_parsed"
		}
		o.uint("stream_id", uint64(ev.Stream))
		o.uint("length", uint64(ev.Len))
		o.key("frame")
		o.b = append(o.b, '{')
		fr := objectWriter{b: o.b, first: true}
		fr.str("frame_type", strings.ToLower(string(ev.Type)))
		switch ev.Type {
		case "HEADERS", "PUSH_PROMISE":
			if f, ok := ev.Info.Get("headers"); ok {
				fr.key("headers")
				fr.b = append(fr.b, '[')
				for i, h := range f.Strs {
					if i > 0 {
						fr.b = append(fr.b, ',')
					}
					k, v, _ := strings.Cut(h, ": ")
					hw := objectWriter{b: append(fr.b, '{'), first: true}
					hw.str("name", k)
					hw.str("value", v)
					fr.b = append(hw.b, '}')
				}
				fr.b = append(fr.b, ']')
			}
		case "SETTINGS":
			fr.key("settings")
			fr.b = append(fr.b, '[')
			n := 0
			for _, f := range ev.Info {
				if f.Kind == decode.KindStrings {
					continue
				}
				if n > 0 {
					fr.b = append(fr.b, ',')
				}
				n++
				sw := objectWriter{b: append(fr.b, '{'), first: true}
				sw.str("name", f.Key)
				sw.str("value", string(f.AppendValue(nil)))
				fr.b = append(sw.b, '}')
			}
			fr.b = append(fr.b, ']')
		case "GOAWAY":
			if f, ok := ev.Info.Get("id"); ok {
				fr.str("id", string(f.AppendValue(nil)))
			}
		}
		o.b = append(fr.b, '}')
	case ev.Layer == decode.LayerUDP && ev.Type == timeline.TypePathChange:
		name = "connectivity:path_updated"
		for _, f := range ev.Info {
			o.str(f.Key, string(f.AppendValue(nil)))
		}
	default:
		return "", false
	}
	o.b = append(o.b, '}')
	return name, true
}

// metrics writes a recovery:metrics_updated record for an RTT sample.
func (q *Writer) metrics(ev *timeline.Event, cs *connState, f decode.Field) error {
	o := objectWriter{b: append(q.buf[:0], '{'), first: true}
	o.raw("latest_rtt", f.AppendValue(nil))
	q.buf = append(o.b, '}')
	return cs.t.record(ev.TS, "recovery:metrics_updated", cs.groupID, q.shared != nil, q.buf)
}

// qlogVersion turns the quic layer's version names into qlog's hex
// strings: v1 is "1", v2 "6b3343cf", draft-29 "ff00001d".
func qlogVersion(v string) string {
	switch v {
	case "v1":
		return "1"
	case "v2":
		return "6b3343cf"
	case "draft-29":
		return "ff00001d"
	}
	return strings.TrimLeft(strings.TrimPrefix(v, "0x"), "0")
}
