package h2

import (
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/decode"
)

// continuationScript: a request whose header block is split over HEADERS
// and two CONTINUATION frames, with a server frame in between, and a
// response whose block ends in a CONTINUATION after END_STREAM.
func continuationScript() *script {
	s := newScript().preface()
	b := s.block(decode.C2S, ":method", "GET", ":scheme", "http", ":authority", "c.test", ":path", "/big",
		"x-long", strings.Repeat("a", 300), "x-other", "b")
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:100], EndStream: true})
	})
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteSettingsAck() })
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteContinuation(1, false, b[100:200]) })
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteContinuation(1, true, b[200:]) })
	r := s.block(decode.S2C, ":status", "204", "server", "t")
	s.do(decode.S2C, func(f *http2.Framer) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r[:2], EndStream: true})
		f.WriteContinuation(1, true, r[2:])
	})
	return s
}

func TestContinuation(t *testing.T) {
	evs := run(NewDecoder(Options{}), continuationScript().steps)
	check(t, evs, append(preamble(), []want{
		{TypeSettings, decode.S2C, 0, []string{"ack=true"}, nil},
		{TypeHeaders, decode.C2S, 1, []string{"flags=END_STREAM", "len=100", "method=GET", "path=/big", "authority=c.test", "state=half-closed-local"}, nil},
		{TypeContinuation, decode.C2S, 1, []string{"len=100", "state=half-closed-local"}, []string{"flags="}},
		{TypeContinuation, decode.C2S, 1, []string{"flags=END_HEADERS", "state=half-closed-local"}, []string{"method="}},
		{TypeHeaders, decode.S2C, 1, []string{"flags=END_STREAM", "status=204", "headers=:status: 204,server: t", "state=closed"}, nil},
		{TypeContinuation, decode.S2C, 1, []string{"flags=END_HEADERS", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"status=204", "path=/big"}, []string{"incomplete=true"}},
	}...))
	// The HEADERS event keeps its own position though emitted later.
	if evs[4].Frame != 4 || evs[5].Frame != 6 || evs[6].Frame != 7 {
		t.Errorf("frames %d %d %d; want 4 6 7", evs[4].Frame, evs[5].Frame, evs[6].Frame)
	}
	if h := get(evs[4], "headers"); !strings.Contains(h, "x-long: aaa") || !strings.HasSuffix(h, "x-other: b") {
		t.Errorf("headers = %q", h)
	}
}

// TestManyContinuations: past maxHeld CONTINUATION frames the held
// events go out and the fields land on the block's last frame.
func TestManyContinuations(t *testing.T) {
	s := newScript().preface()
	b := s.block(decode.C2S, ":method", "GET", ":scheme", "http", ":authority", "c.test", ":path", "/many")
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:1], EndStream: true})
		for range maxHeld + 5 {
			f.WriteContinuation(1, false, nil)
		}
		f.WriteContinuation(1, true, b[1:])
	})
	evs := run(NewDecoder(Options{}), s.steps)
	hs := ofType(evs, TypeHeaders)
	cs := ofType(evs, TypeContinuation)
	if len(hs) != 1 || len(cs) != maxHeld+6 {
		t.Fatalf("got %d HEADERS, %d CONTINUATION", len(hs), len(cs))
	}
	if hs[0].Info.Has("method") || get(cs[len(cs)-1], "path") != "/many" {
		t.Errorf("fields not on the last frame: %s / %s", line(hs[0]), line(cs[len(cs)-1]))
	}
}

// TestTableSize: the dynamic table size an encoder may use is bounded by
// the peer's SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §4.2, §6.3).
func TestTableSize(t *testing.T) {
	for _, tc := range []struct {
		name      string
		advertise int64  // by the server, -1: none
		use       uint32 // the client's encoder table size
		opts      Options
		fail      bool
	}{
		{"default", -1, 4096, Options{}, false},
		{"larger advertised and used", 16384, 16384, Options{}, false},
		{"larger used, not advertised", -1, 16384, Options{}, true},
		{"smaller advertised and used", 0x100, 0x100, Options{}, false},
		{"zero advertised and used", 0, 0, Options{}, false},
		{"smaller used", -1, 0x100, Options{}, false},
		{"over our cap", 1 << 20, 1 << 20, Options{}, true},
		{"cap raised", 1 << 20, 1 << 20, Options{MaxHeaderTableSize: 1 << 20}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript()
			s.raw(decode.C2S, []byte(http2.ClientPreface))
			s.do(decode.C2S, func(f *http2.Framer) { f.WriteSettings() })
			if tc.advertise >= 0 {
				s.do(decode.S2C, func(f *http2.Framer) {
					f.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: uint32(tc.advertise)})
				})
				s.do(decode.C2S, func(f *http2.Framer) { f.WriteSettingsAck() })
			}
			s.enc[0].SetMaxDynamicTableSizeLimit(max(tc.use, 4096))
			s.enc[0].SetMaxDynamicTableSize(tc.use)
			// Enough distinct fields to evict entries in small tables.
			for i := uint32(1); i <= 9; i += 2 {
				s.request(i, true, "GET", "/p"+itoa(int(i)), "x-field", strings.Repeat("v", 100*int(i)))
			}
			s.request(11, true, "GET", "/last", "x-field", strings.Repeat("v", 900))
			evs := run(NewDecoder(tc.opts), s.steps)
			var errs []string
			for _, e := range evs {
				if e.Type == decode.TypeDecodeError {
					errs = append(errs, get(e, "error"))
				}
			}
			hs := ofType(evs, TypeHeaders)
			if len(hs) != 6 {
				t.Fatalf("%d HEADERS; want 6", len(hs))
			}
			last := hs[len(hs)-1]
			if tc.fail {
				if len(errs) != 1 || !strings.Contains(errs[0], "HPACK") || last.Info.Has("path") {
					t.Errorf("errors %q, last %s; want one HPACK error and no fields", errs, line(last))
				}
				if !strings.Contains(get(hs[0], "error"), "dynamic table size update") {
					t.Errorf("first HEADERS: %s", line(hs[0]))
				}
				return
			}
			if len(errs) > 0 || get(last, "path") != "/last" {
				t.Errorf("errors %q, last %s", errs, line(last))
			}
		})
	}
}

// TestHPACKError: a corrupt block stops header decoding for its direction
// only; frames and the other direction go on.
func TestHPACKError(t *testing.T) {
	s := newScript().preface()
	s.do(decode.C2S, func(f *http2.Framer) {
		// Index 70 is past the static table with an empty dynamic table.
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x80 | 70}, EndStream: true, EndHeaders: true})
	})
	s.request(3, true, "GET", "/after")
	s.response(1, true, "200")
	s.response(3, true, "404")
	evs := run(NewDecoder(Options{}), s.steps)
	check(t, evs, append(preamble(), []want{
		{TypeHeaders, decode.C2S, 1, []string{"state=half-closed-local", "error=HPACK: decoding error: invalid indexed representation index 70"}, []string{"method="}},
		{decode.TypeDecodeError, decode.DirNone, -1, []string{"decoder=http2"}, nil},
		{TypeHeaders, decode.C2S, 3, []string{"state=half-closed-local"}, []string{"method=", "error="}},
		{TypeHeaders, decode.S2C, 1, []string{"status=200", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"status=200", "method="}, nil},
		{TypeHeaders, decode.S2C, 3, []string{"status=404"}, nil},
		{TypeExchange, decode.DirNone, 3, []string{"status=404"}, nil},
	}...))
	if e := get(evs[4], "error"); !strings.HasPrefix(e, "c2s: HPACK") || !strings.Contains(e, "COMPRESSION_ERROR") {
		t.Errorf("decode-error: %q", e)
	}
}

// TestInterruptedBlock: a frame other than CONTINUATION inside a header
// block is a protocol error: the held HEADERS goes out with an error.
func TestInterruptedBlock(t *testing.T) {
	s := newScript().preface()
	b := s.block(decode.C2S, ":method", "GET", ":scheme", "http", ":authority", "c.test", ":path", "/x")
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3]})
		f.WritePing(false, [8]byte{})
		f.WriteContinuation(1, true, b[3:])
	})
	evs := run(NewDecoder(Options{}), s.steps)
	check(t, evs, append(preamble(), []want{
		{TypeHeaders, decode.C2S, 1, []string{"state=open", "error="}, nil},
		{decode.TypeDecodeError, decode.DirNone, -1, nil, nil},
		{TypePing, decode.C2S, 0, nil, nil},
		{TypeContinuation, decode.C2S, 1, []string{"error=CONTINUATION without a header block"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"incomplete=true"}, nil},
	}...))
}

func TestHeaderCaps(t *testing.T) {
	s := newScript().preface()
	kv := []string{"content-type", "text/plain"}
	for i := range 10 {
		kv = append(kv, "x-h"+itoa(i), strings.Repeat("v", 40))
	}
	s.request(1, true, "GET", "/"+strings.Repeat("p", 100), kv...)
	s.response(1, true, "200", "x-big", strings.Repeat("b", 2000))
	evs := run(NewDecoder(Options{MaxHeaders: 5, MaxString: 20, MaxHeaderListSize: 1500}), s.steps)
	check(t, evs, append(preamble(), []want{
		{TypeHeaders, decode.C2S, 1, []string{"path=/" + strings.Repeat("p", 19) + "…", "headers_omitted=10"}, []string{"headers_truncated=true"}},
		{TypeHeaders, decode.S2C, 1, []string{"error=a header string is longer than the 1500-byte cap"}, []string{"status="}},
		{decode.TypeCapLimit, decode.S2C, -1, []string{"cap=header_list_size", "limit=1500", "stream=1"}, nil},
		{decode.TypeDecodeError, decode.DirNone, -1, nil, nil},
		{TypeExchange, decode.DirNone, 1, []string{"status=0"}, nil},
	}...))
	if h := evs[3].Info; len(mustGet(t, h, "headers").Strs) != 5 {
		t.Errorf("headers: %q", mustGet(t, h, "headers").Strs)
	}

	// A list over the cap made of small fields: the rest is decoded but
	// not kept, and the table stays in step.
	s = newScript().preface()
	kv = nil
	for i := range 40 {
		kv = append(kv, "x-h"+itoa(i), strings.Repeat("v", 40))
	}
	s.request(1, true, "GET", "/", kv...)
	s.request(3, true, "GET", "/next", kv...)
	evs = run(NewDecoder(Options{MaxHeaderListSize: 1000}), s.steps)
	hs := ofType(evs, TypeHeaders)
	if len(hs) != 2 || get(hs[0], "headers_truncated") != "true" || get(hs[1], "path") != "/next" {
		t.Fatalf("got %q", lines(evs))
	}
	if n := len(ofType(evs, decode.TypeCapLimit)); n != 2 {
		t.Errorf("%d cap-limit events; want 2", n)
	}
}

func mustGet(t *testing.T, info decode.Info, key string) decode.Field {
	t.Helper()
	f, ok := info.Get(key)
	if !ok {
		t.Fatalf("no %s in %v", key, info)
	}
	return f
}

// TestGRPC: service and method from the path, status and message from
// the trailers, on the events and the exchange.
func TestGRPC(t *testing.T) {
	s := newScript().preface()
	s.request(1, false, "POST", "/helloworld.Greeter/SayHello", "content-type", "application/grpc+proto", "te", "trailers")
	s.data(decode.C2S, 1, true, 12)
	s.response(1, false, "200", "content-type", "application/grpc")
	s.data(decode.S2C, 1, false, 17)
	s.headers(decode.S2C, 1, true, "grpc-status", "5", "grpc-message", "not found")
	// A trailers-only response.
	s.request(3, true, "POST", "/helloworld.Greeter/SayBye", "content-type", "application/grpc")
	s.response(3, true, "200", "content-type", "application/grpc", "grpc-status", "12")
	evs := run(NewDecoder(Options{}), s.steps)
	ex := ofType(evs, TypeExchange)
	if len(ex) != 2 {
		t.Fatalf("got %q", lines(evs))
	}
	check(t, ex, []want{
		{TypeExchange, decode.DirNone, 1, []string{"grpc_service=helloworld.Greeter", "grpc_method=SayHello", "grpc_status=5", "grpc_message=not found", "req_bytes=12", "resp_bytes=17"}, nil},
		{TypeExchange, decode.DirNone, 3, []string{"grpc_service=helloworld.Greeter", "grpc_method=SayBye", "grpc_status=12"}, []string{"grpc_message="}},
	})
	hs := ofType(evs, TypeHeaders)
	if !hasPart(line(hs[0]), "grpc_method=SayHello") || !hasPart(line(hs[2]), "trailers=true") || !hasPart(line(hs[2]), "grpc_status=5") {
		t.Errorf("headers: %q", lines(hs))
	}
}

// TestEncoderInsertions checks the decoder against x/net's encoder over
// many blocks with evictions: every block's fields come back.
func TestEncoderInsertions(t *testing.T) {
	s := newScript().preface()
	var paths []string
	for i := range 200 {
		p := "/r/" + strings.Repeat("x", i%37) + itoa(i)
		paths = append(paths, p)
		s.request(uint32(2*i+1), true, "GET", p, "cookie", "c"+itoa(i%5), "x-rand", strings.Repeat("y", i%91))
	}
	evs := run(NewDecoder(Options{}), s.steps)
	hs := ofType(evs, TypeHeaders)
	if len(hs) != len(paths) {
		t.Fatalf("%d HEADERS; want %d", len(hs), len(paths))
	}
	for i, h := range hs {
		if get(h, "path") != paths[i] {
			t.Fatalf("HEADERS %d: %s; want path %s", i, line(h), paths[i])
		}
	}
	_ = hpack.HeaderField{}
}
