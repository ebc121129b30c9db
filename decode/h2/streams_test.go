package h2

import (
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

func TestResetAndGoAway(t *testing.T) {
	s := newScript().preface()
	s.request(1, true, "GET", "/cancelled")
	s.request(3, true, "GET", "/refused")
	s.request(5, true, "GET", "/kept")
	s.request(7, true, "GET", "/unprocessed")
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteRSTStream(1, http2.ErrCodeCancel) })
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteRSTStream(3, http2.ErrCodeRefusedStream) })
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteGoAway(5, http2.ErrCodeNo, nil) })
	s.response(5, true, "200")
	// Frames on closed and idle streams.
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteRSTStream(1, http2.ErrCodeStreamClosed) })
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteWindowUpdate(9, 100) })
	evs := run(NewDecoder(Options{}), s.steps)
	check(t, evs, append(preamble(), []want{
		{TypeHeaders, decode.C2S, 1, []string{"state=half-closed-local"}, nil},
		{TypeHeaders, decode.C2S, 3, nil, nil},
		{TypeHeaders, decode.C2S, 5, nil, nil},
		{TypeHeaders, decode.C2S, 7, nil, nil},
		{TypeRSTStream, decode.C2S, 1, []string{"error_code=CANCEL", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"path=/cancelled", "reset=true", "error_code=CANCEL", "reset_by=c2s", "status=0"}, []string{"incomplete=true"}},
		{TypeRSTStream, decode.S2C, 3, []string{"error_code=REFUSED_STREAM", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 3, []string{"reset=true", "reset_by=s2c"}, nil},
		{TypeGoAway, decode.S2C, 0, []string{"last_stream_id=5", "error_code=NO_ERROR"}, nil},
		{TypeExchange, decode.DirNone, 7, []string{"path=/unprocessed", "goaway=true", "incomplete=true"}, nil},
		{TypeHeaders, decode.S2C, 5, []string{"state=closed"}, nil},
		{TypeExchange, decode.DirNone, 5, []string{"path=/kept", "status=200"}, []string{"goaway=true", "incomplete=true"}},
		{TypeRSTStream, decode.S2C, 1, []string{"error_code=STREAM_CLOSED", "state=closed"}, nil},
		{TypeWindowUpdate, decode.C2S, 9, []string{"state=idle"}, []string{"stream_window="}},
	}...))
}

// TestUpgraded: h2c after an HTTP/1.1 Upgrade; stream 1 is the request,
// the HTTP2-Settings payload is the client's.
func TestUpgraded(t *testing.T) {
	settings, err := DecodeSettingsHeader("AAMAAABkAAQAAP__") // max_concurrent_streams 100, initial_window_size 65535
	if err != nil {
		t.Fatal(err)
	}
	settings = append(settings, 0, 4, 0, 0, 0x10, 0) // initial_window_size 4096
	s := newScript()
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 250}) })
	s.raw(decode.C2S, []byte(http2.ClientPreface))
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteSettings() })
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteSettingsAck() })
	s.response(1, false, "200", "content-type", "text/plain")
	s.data(decode.S2C, 1, true, 100)
	s.request(3, true, "GET", "/second")
	start := decode.Position{Frame: 0, TS: t0.Add(-5e6)}
	d := NewUpgraded(Options{}, Upgraded{Settings: settings, Method: "GET", Scheme: "http", Authority: "up.test", Path: "/first", At: start})
	evs := run(d, s.steps)
	check(t, evs, []want{
		{TypeSettings, decode.S2C, 0, []string{"max_concurrent_streams=250"}, nil},
		{TypePreface, decode.C2S, -1, nil, nil},
		{TypeSettings, decode.C2S, 0, nil, nil},
		{TypeSettings, decode.S2C, 0, []string{"ack=true"}, nil},
		{TypeHeaders, decode.S2C, 1, []string{"status=200", "state=half-closed-local"}, nil},
		{TypeData, decode.S2C, 1, []string{"stream_window=3996", "conn_window=65435", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"method=GET", "path=/first", "authority=up.test", "status=200", "start_frame=0", "first_byte_ms=9", "duration_ms=10", "resp_bytes=100"}, nil},
		{TypeHeaders, decode.C2S, 3, []string{"path=/second"}, nil},
		{TypeExchange, decode.DirNone, 3, []string{"incomplete=true"}, nil},
	})
	if evs[4].Flags != decode.FlagReply|decode.FlagAppData || evs[7].Flags != decode.FlagRequest|decode.FlagAppData {
		t.Errorf("flags %b %b", evs[4].Flags, evs[7].Flags)
	}
}

func TestStreamCap(t *testing.T) {
	s := newScript().preface()
	for i := uint32(1); i <= 9; i += 2 {
		s.request(i, false, "GET", "/")
	}
	s.response(9, true, "200")
	s.response(1, true, "200")
	evs := run(NewDecoder(Options{MaxStreams: 3}), s.steps)
	caps := ofType(evs, decode.TypeCapLimit)
	if len(caps) != 1 || get(caps[0], "cap") != "streams" || get(caps[0], "limit") != "3" || get(caps[0], "stream") != "7" {
		t.Fatalf("cap events %q", lines(caps))
	}
	// Stream 1 is tracked and answered; 7 and 9 are not tracked.
	ex := ofType(evs, TypeExchange)
	var ids []int64
	for _, e := range ex {
		ids = append(ids, e.Stream)
	}
	if len(ids) != 3 || ids[0] != 1 || ids[1] != 3 || ids[2] != 5 {
		t.Errorf("exchanges on %v; want 1 3 5", ids)
	}
}

// TestHole: a gap in one direction stops it; the other goes on.
func TestHole(t *testing.T) {
	s := newScript().preface()
	s.request(1, true, "GET", "/")
	s.response(1, false, "200")
	d := NewDecoder(Options{})
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	for _, st := range s.steps {
		d.Data(st.dir, st.data, decode.Position{}, emit)
	}
	d.Skip(decode.S2C, 100, decode.Position{}, emit)
	d.Data(decode.S2C, []byte{0, 0, 0, 0, 1, 0, 0, 0, 1}, decode.Position{}, emit)
	d.Data(decode.C2S, []byte{0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, decode.Position{}, emit)
	d.End(decode.Position{}, emit)
	check(t, evs, append(preamble(), []want{
		{TypeHeaders, decode.C2S, 1, nil, nil},
		{TypeHeaders, decode.S2C, 1, nil, nil},
		{decode.TypeDecodeError, decode.DirNone, -1, []string{"error=s2c: 100 bytes missing; stopped decoding this direction"}, nil},
		{TypePing, decode.C2S, 0, nil, nil},
		{TypeExchange, decode.DirNone, 1, []string{"incomplete=true", "status=200"}, nil},
	}...))
}

// TestMalformedFrames: frames the Framer rejects are events with an
// error; decoding goes on.
func TestMalformedFrames(t *testing.T) {
	s := newScript().preface()
	s.request(1, false, "POST", "/")
	raw := func(typ http2.FrameType, flags http2.Flags, id uint32, p ...byte) {
		s.do(decode.C2S, func(f *http2.Framer) { f.WriteRawFrame(typ, flags, id, p) })
	}
	raw(http2.FrameData, 0x8, 1)                               // PADDED without a pad length
	raw(http2.FrameData, 0x8, 1, 5, 1, 2)                      // pad length over the payload
	raw(http2.FrameData, 0, 0, 1)                              // stream 0
	raw(http2.FrameSettings, 0, 0, 1, 2, 3)                    // not a multiple of 6
	raw(http2.FrameSettings, 1, 0, 0, 0, 0)                    // ACK with a payload
	raw(http2.FramePing, 0, 0, 1)                              // short
	raw(http2.FrameWindowUpdate, 0, 1, 0, 0, 0, 0)             // zero increment
	raw(http2.FrameRSTStream, 0, 0, 0, 0, 0, 0)                // stream 0
	raw(http2.FrameGoAway, 0, 0, 1)                            // short
	raw(http2.FramePriority, 0, 1, 1)                          // short
	raw(http2.FrameWindowUpdate, 0, 0, 0x7f, 0xff, 0xff, 0xff) // the server's window over 2^31-1
	raw(http2.FrameData, 0x1, 1, 1, 2)                         // still decoding
	evs := run(NewDecoder(Options{}), s.steps)
	check(t, evs, append(preamble(), []want{
		{TypeHeaders, decode.C2S, 1, nil, nil},
		{TypeData, decode.C2S, 1, []string{"len=0", "error=PADDED without a pad length"}, nil},
		{TypeData, decode.C2S, 1, []string{"len=3", "error=pad length 5 exceeds the payload", "stream_window=65532"}, nil},
		{TypeData, decode.C2S, 0, []string{"error=DATA on stream 0"}, []string{"state="}},
		{TypeSettings, decode.C2S, 0, []string{"error=connection error: FRAME_SIZE_ERROR"}, nil},
		{TypeSettings, decode.C2S, 0, []string{"error=connection error: FRAME_SIZE_ERROR"}, nil},
		{TypePing, decode.C2S, 0, []string{"error=connection error: FRAME_SIZE_ERROR"}, nil},
		{TypeWindowUpdate, decode.C2S, 1, []string{"error=stream error: stream ID 1; PROTOCOL_ERROR", "state=open"}, nil},
		{TypeRSTStream, decode.C2S, 0, []string{"error=connection error: PROTOCOL_ERROR"}, nil},
		{TypeGoAway, decode.C2S, 0, []string{"error=connection error: FRAME_SIZE_ERROR"}, nil},
		{TypePriority, decode.C2S, 1, []string{"error=connection error: FRAME_SIZE_ERROR: PRIORITY frame payload size was 1; want 5"}, nil},
		{TypeWindowUpdate, decode.C2S, 0, []string{"conn_window=2147549182", "error=window above 2^31-1 (FLOW_CONTROL_ERROR)"}, nil},
		{TypeData, decode.C2S, 1, []string{"len=2", "state=half-closed-local"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"req_bytes=2", "incomplete=true"}, nil},
	}...))
}

func TestFrameSizeCap(t *testing.T) {
	s := newScript().preface()
	big := s.block(decode.C2S, ":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"+strings.Repeat("x", 3000))
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: big, EndStream: true, EndHeaders: true})
	})
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteRawFrame(0x77, 0, 0, make([]byte, 5000)) })
	s.data(decode.C2S, 1, false, 20000) // DATA is never buffered: no cap
	s.request(3, true, "GET", "/small")
	evs := run(NewDecoder(Options{MaxFrameSize: 1024}), s.steps)
	check(t, evs, append(preamble(), []want{
		{decode.TypeCapLimit, decode.C2S, -1, []string{"cap=frame_size", "limit=1024", "frame_type=HEADERS", "skipped=2635"}, nil},
		{TypeHeaders, decode.C2S, 1, []string{"error=payload of 2635 bytes over the 1024-byte frame cap skipped", "state=half-closed-local"}, []string{"path="}},
		{decode.TypeDecodeError, decode.DirNone, -1, nil, nil},
		{decode.TypeCapLimit, decode.C2S, -1, []string{"frame_type=UNKNOWN"}, nil},
		{TypeUnknown, decode.C2S, 0, nil, nil},
		{TypeData, decode.C2S, 1, []string{"len=20000", "oversize=true", "state=half-closed-local"}, nil},
		{TypeHeaders, decode.C2S, 3, []string{"state=half-closed-local"}, []string{"path="}},
		{TypeExchange, decode.DirNone, 1, []string{"incomplete=true", "req_bytes=20000"}, nil},
		{TypeExchange, decode.DirNone, 3, []string{"incomplete=true"}, nil},
	}...))
}

// TestNoPreface: a client that does not start with the preface.
func TestNoPreface(t *testing.T) {
	d := NewDecoder(Options{})
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	d.Data(decode.C2S, []byte("PRI * HTTP/2.0\r\n"), decode.Position{}, emit)
	d.Data(decode.C2S, []byte("\r\nXX"), decode.Position{}, emit)
	d.Data(decode.S2C, []byte{0, 0, 0, 4, 0, 0, 0, 0, 0}, decode.Position{}, emit)
	check(t, evs, []want{
		{decode.TypeDecodeError, decode.DirNone, -1, []string{"error=c2s: the client's first bytes are not the HTTP/2 connection preface; stopped decoding this direction"}, nil},
		{TypeSettings, decode.S2C, 0, nil, nil},
	})
}
