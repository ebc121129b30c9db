package h2

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  decode.Dir
		in   string
		want decode.Verdict
	}{
		{"preface", decode.C2S, http2.ClientPreface, decode.Match},
		{"preface and more", decode.C2S, http2.ClientPreface + "\x00\x00\x00\x04", decode.Match},
		{"partial preface", decode.C2S, "PRI * HTTP/2", decode.NeedMore},
		{"empty", decode.C2S, "", decode.NeedMore},
		{"http1 request", decode.C2S, "GET / HTTP/1.1\r\n", decode.NoMatch},
		{"almost", decode.C2S, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", decode.NoMatch},
		{"server settings first", decode.S2C, "\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64", decode.NeedMore},
		{"server settings header start", decode.S2C, "\x00\x00", decode.NeedMore},
		{"server settings ack", decode.S2C, "\x00\x00\x00\x04\x01\x00\x00\x00\x00", decode.NoMatch},
		{"server settings bad length", decode.S2C, "\x00\x00\x07\x04", decode.NoMatch},
		{"server http1", decode.S2C, "HTTP/1.1 200 OK\r\n", decode.NoMatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewSniffer(Options{}).Sniff(tc.dir, []byte(tc.in)); got != tc.want {
				t.Errorf("Sniff(%s, %q) = %d; want %d", tc.dir, tc.in, got, tc.want)
			}
		})
	}
}

// want is what a test expects of one event: its line (see line) must
// contain each of the "key=value" or word parts.
type want struct {
	typ  decode.Type
	dir  decode.Dir
	id   int64
	has  []string
	hasn []string // parts that must not be there
}

func check(t *testing.T, evs []decode.Event, wants []want) {
	t.Helper()
	if len(evs) != len(wants) {
		dump(t, evs)
		t.Fatalf("got %d events; want %d", len(evs), len(wants))
	}
	for i, w := range wants {
		e := evs[i]
		l := line(e)
		if e.Type != w.typ || e.Dir != w.dir || w.id >= 0 && e.Stream != w.id {
			t.Errorf("event %d: got %s; want %s %s stream %d", i, l, w.dir, w.typ, w.id)
			continue
		}
		for _, h := range w.has {
			if !hasPart(l, h) {
				t.Errorf("event %d: got %s; want %q in it", i, l, h)
			}
		}
		for _, h := range w.hasn {
			if hasPart(l, h) {
				t.Errorf("event %d: got %s; want no %q", i, l, h)
			}
		}
	}
}

// hasPart reports whether a line has part as a whole space-separated
// field (or a prefix of one, for parts ending in "=").
func hasPart(l, part string) bool {
	for _, f := range strings.Split(l, " ") {
		if f == part || strings.HasSuffix(part, "=") && strings.HasPrefix(f, part) {
			return true
		}
	}
	return strings.Contains(part, " ") && strings.Contains(l, part)
}

// allFrames writes one of every frame type and the extensions.
func allFrames() *script {
	s := newScript()
	s.raw(decode.C2S, []byte(http2.ClientPreface))
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 1}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100000},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: 1 << 20}, http2.Setting{ID: 0x2a2a, Val: 7})
	})
	s.do(decode.S2C, func(f *http2.Framer) {
		f.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20},
			http2.Setting{ID: http2.SettingHeaderTableSize, Val: 4096}, http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	})
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteSettingsAck() })
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteSettingsAck() })
	b := s.block(decode.C2S, ":method", "GET", ":scheme", "https", ":authority", "a.test", ":path", "/index.html", "user-agent", "t")
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndStream: true, EndHeaders: true, PadLength: 3,
			Priority: http2.PriorityParam{StreamDep: 0, Exclusive: true, Weight: 15}})
	})
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WritePriority(3, http2.PriorityParam{StreamDep: 1, Weight: 255})
	})
	pp := s.block(decode.S2C, ":method", "GET", ":scheme", "https", ":authority", "a.test", ":path", "/style.css")
	s.do(decode.S2C, func(f *http2.Framer) {
		f.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: pp, EndHeaders: true, PadLength: 2})
	})
	s.response(1, false, "200", "content-type", "text/html")
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteDataPadded(1, false, make([]byte, 10), make([]byte, 5)) })
	s.response(2, false, "200", "content-type", "text/css")
	s.data(decode.S2C, 2, true, 20)
	s.data(decode.S2C, 1, true, 0)
	s.do(decode.C2S, func(f *http2.Framer) { f.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}) })
	s.do(decode.S2C, func(f *http2.Framer) { f.WritePing(true, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}) })
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteWindowUpdate(0, 1000) })
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteRawFrame(0xa, 0, 0, append([]byte{0, 6}, "a.test"+`h2=":443"`...)) })
	s.do(decode.S2C, func(f *http2.Framer) {
		f.WriteRawFrame(0xc, 0, 0, []byte("\x00\x0ehttps://a.test\x00\x0ehttps://b.test"))
	})
	s.do(decode.C2S, func(f *http2.Framer) { f.WritePriorityUpdate(5, "u=1, i") })
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteRawFrame(0xfa, 0x81, 7, []byte("grease")) })
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteGoAway(1, http2.ErrCodeEnhanceYourCalm, []byte("calm down")) })
	return s
}

func TestFrameTypes(t *testing.T) {
	s := allFrames()
	evs := run(NewDecoder(Options{}), s.steps)
	check(t, evs, []want{
		{TypePreface, decode.C2S, -1, []string{"len=24"}, nil},
		{TypeSettings, decode.C2S, 0, []string{"enable_push=1", "initial_window_size=100000", "max_header_list_size=1048576", "unknown_settings=0x2a2a=7"}, []string{"ack=true"}},
		{TypeSettings, decode.S2C, 0, []string{"max_concurrent_streams=100", "max_frame_size=1048576", "header_table_size=4096", "enable_connect_protocol=1"}, nil},
		{TypeSettings, decode.S2C, 0, []string{"flags=ACK", "ack=true", "len=0"}, nil},
		{TypeSettings, decode.C2S, 0, []string{"flags=ACK", "ack=true"}, nil},
		{TypeHeaders, decode.C2S, 1, []string{"flags=END_STREAM,END_HEADERS,PADDED,PRIORITY", "padding=3", "stream_dep=0", "exclusive=true", "weight=16",
			"method=GET", "scheme=https", "authority=a.test", "path=/index.html", "state=half-closed-local"}, nil},
		{TypePriority, decode.C2S, 3, []string{"stream_dep=1", "exclusive=false", "weight=256", "state=idle", "len=5"}, nil},
		{TypePushPromise, decode.S2C, 1, []string{"flags=END_HEADERS,PADDED", "padding=2", "promised_stream=2", "path=/style.css", "state=half-closed-local"}, nil},
		{TypeHeaders, decode.S2C, 1, []string{"status=200", "content_type=text/html", "state=half-closed-local"}, []string{"trailers=true"}},
		{TypeData, decode.S2C, 1, []string{"len=16", "flags=PADDED", "padding=5", "stream_window=99984", "conn_window=65519"}, nil},
		{TypeHeaders, decode.S2C, 2, []string{"status=200", "content_type=text/css", "state=half-closed-local"}, nil},
		{TypeData, decode.S2C, 2, []string{"len=20", "flags=END_STREAM", "stream_window=99980", "conn_window=65499", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 2, []string{"method=GET", "path=/style.css", "status=200", "resp_bytes=20", "pushed=true", "promised_on=1"}, []string{"incomplete=true"}},
		{TypeData, decode.S2C, 1, []string{"len=0", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"method=GET", "path=/index.html", "authority=a.test", "status=200", "resp_bytes=10", "req_bytes=0"}, []string{"incomplete=true", "reset=true"}},
		{TypePing, decode.C2S, 0, []string{"ack=false", "opaque=0102030405060708"}, nil},
		{TypePing, decode.S2C, 0, []string{"flags=ACK", "ack=true"}, nil},
		{TypeWindowUpdate, decode.C2S, 0, []string{"increment=1000", "conn_window=66499"}, nil},
		{TypeAltSvc, decode.S2C, 0, []string{"frame_type=10", "origin=a.test", `alt_svc=h2=":443"`}, nil},
		{TypeOrigin, decode.S2C, 0, []string{"frame_type=12", "origins=https://a.test,https://b.test"}, nil},
		{TypePriorityUpdate, decode.C2S, 0, []string{"frame_type=16", "prioritized_stream=5", "priority=u=1, i"}, nil},
		{TypeUnknown, decode.C2S, 7, []string{"frame_type=250", "flags=0x1,0x80", "len=6", "state=idle"}, nil},
		{TypeGoAway, decode.S2C, 0, []string{"last_stream_id=1", "error_code=ENHANCE_YOUR_CALM", "debug_data=calm down"}, nil},
	})
	// Flags for the timeline's round trips (docs/events.md).
	for _, e := range evs {
		var want decode.Flags
		switch {
		case e.Type == TypeExchange:
		case e.Dir == decode.C2S && e.Type == TypeHeaders:
			want = decode.FlagRequest | decode.FlagAppData
		case e.Dir == decode.C2S:
			want = decode.FlagAppData
		case e.Type == TypeHeaders || e.Type == TypeData || e.Type == TypePushPromise:
			want = decode.FlagReply | decode.FlagAppData
		default:
			want = decode.FlagReply
		}
		if e.Flags != want {
			t.Errorf("%s: flags %b; want %b", line(e), e.Flags, want)
		}
	}
	d := NewDecoder(Options{})
	run(d, s.steps)
	if got := get(decode.Event{Info: d.Summary()}, "requests"); got != "2" {
		t.Errorf("requests = %s; want 2", got)
	}
}

// TestChunks feeds the same connection whole and in random chunks; the
// events must not change.
func TestChunks(t *testing.T) {
	for name, s := range map[string]*script{"all frames": allFrames(), "continuation": continuationScript(), "flow": flowScript()} {
		t.Run(name, func(t *testing.T) {
			want := lines(run(NewDecoder(Options{}), s.steps))
			for seed := range 20 {
				got := lines(runChunks(NewDecoder(Options{}), s.steps, rand.New(rand.NewSource(int64(seed)))))
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d: chunked run differs:\ngot  %q\nwant %q", seed, got, want)
				}
			}
		})
	}
}

// TestStrictPrefix cuts the connection at every byte: what was complete
// before the cut gives the same events, nothing more.
func TestStrictPrefix(t *testing.T) {
	s := allFrames()
	full := lines(run(NewDecoder(Options{}), s.steps))
	total := 0
	for _, st := range s.steps {
		total += len(st.data)
	}
	for cut := range total {
		d := NewDecoder(Options{})
		var evs []decode.Event
		emit := func(e decode.Event) { evs = append(evs, e) }
		left := cut
		for i, st := range s.steps {
			n := min(left, len(st.data))
			at := decode.Position{Frame: int64(i + 1), TS: t0.Add(time.Duration(i) * time.Millisecond)}
			d.Data(st.dir, st.data[:n], at, emit)
			left -= n
		}
		got := lines(evs)
		if len(got) > len(full) || !slices.Equal(got, full[:len(got)]) {
			t.Fatalf("cut at %d: got %q; want a prefix of %q", cut, got, full)
		}
	}
}

func TestUnknownTypes(t *testing.T) {
	for typ := 0xd; typ < 0x100; typ++ {
		if typ == 0x10 {
			continue
		}
		s := newScript()
		s.raw(decode.C2S, []byte(http2.ClientPreface))
		s.do(decode.C2S, func(f *http2.Framer) { f.WriteRawFrame(http2.FrameType(typ), 0xff, 0, []byte{1, 2, 3}) })
		evs := run(NewDecoder(Options{}), s.steps)
		if len(evs) != 2 || evs[1].Type != TypeUnknown || get(evs[1], "frame_type") != itoa(typ) {
			t.Fatalf("type %#x: got %q", typ, lines(evs))
		}
	}
}

func itoa(v int) string { return string(decode.AppendInt(nil, int64(v))) }
