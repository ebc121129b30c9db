package h2

import (
	"testing"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// flowScript: the server lowers the initial stream window after the
// client opened stream 1; the client fills the window, the server opens
// it again.
func flowScript() *script {
	s := newScript().preface()
	s.request(1, false, "POST", "/upload")
	s.do(decode.S2C, func(f *http2.Framer) {
		f.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	})
	s.data(decode.C2S, 1, false, 600)
	s.data(decode.C2S, 1, false, 400)
	s.do(decode.S2C, func(f *http2.Framer) { f.WriteWindowUpdate(1, 500); f.WriteWindowUpdate(0, 1000) })
	s.data(decode.C2S, 1, true, 500)
	s.do(decode.C2S, func(f *http2.Framer) {
		f.WriteSettingsAck()
		f.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 2000})
	})
	s.response(1, false, "200")
	s.data(decode.S2C, 1, false, 1500)
	s.do(decode.C2S, func(f *http2.Framer) { f.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000}) })
	s.data(decode.S2C, 1, true, 0)
	s.request(3, true, "GET", "/")
	return s
}

func TestFlowControl(t *testing.T) {
	d := NewDecoder(Options{})
	evs := run(d, flowScript().steps)
	check(t, evs, append(preamble(), []want{
		{TypeHeaders, decode.C2S, 1, []string{"state=open"}, nil},
		{TypeSettings, decode.S2C, 0, []string{"initial_window_size=1000"}, nil},
		{TypeData, decode.C2S, 1, []string{"stream_window=400", "conn_window=64935"}, []string{"window_exhausted=true"}},
		{TypeData, decode.C2S, 1, []string{"stream_window=0", "conn_window=64535", "window_exhausted=true"}, nil},
		{TypeWindowUpdate, decode.S2C, 1, []string{"increment=500", "stream_window=500", "conn_window=64535"}, nil},
		// The client filled the stream's window without ending its
		// request: blocked from its DATA (frame 7) to the update.
		{TypeFlowControlStall, decode.C2S, 1, []string{"scope=stream", "stream=1", "window=0", "start_frame=7", "duration_ms=1"}, nil},
		{TypeWindowUpdate, decode.S2C, 0, []string{"increment=1000", "conn_window=65535"}, []string{"stream_window="}},
		{TypeData, decode.C2S, 1, []string{"stream_window=0", "conn_window=65035", "window_exhausted=true", "state=half-closed-local"}, nil},
		{TypeSettings, decode.C2S, 0, []string{"ack=true"}, nil},
		{TypeSettings, decode.C2S, 0, []string{"initial_window_size=2000"}, nil},
		{TypeHeaders, decode.S2C, 1, []string{"status=200"}, nil},
		{TypeData, decode.S2C, 1, []string{"stream_window=500", "conn_window=64035"}, nil},
		// Lowered by 1000 while open: the server's window goes below zero
		// (RFC 9113 §6.9.2 allows it).
		{TypeSettings, decode.C2S, 0, []string{"initial_window_size=1000"}, nil},
		{TypeData, decode.S2C, 1, []string{"stream_window=-500", "window_exhausted=true", "state=closed"}, nil},
		{TypeExchange, decode.DirNone, 1, []string{"req_bytes=1500", "resp_bytes=1500", "status=200"}, nil},
		{TypeHeaders, decode.C2S, 3, []string{"state=half-closed-local"}, nil},
		{TypeExchange, decode.DirNone, 3, []string{"incomplete=true", "status=0"}, nil},
	}...))
	if w, ok := d.Window(decode.C2S, 0); !ok || w != 65035 {
		t.Errorf("Window(c2s, 0) = %d, %v; want 65035", w, ok)
	}
	if _, ok := d.Window(decode.S2C, 1); ok {
		t.Errorf("Window(s2c, 1): closed stream still tracked")
	}
	// Stream 3 opened after both settings: 1000 from the server, 1000
	// from the client.
	if w, ok := d.Window(decode.S2C, 3); !ok || w != 1000 {
		t.Errorf("Window(s2c, 3) = %d, %v; want 1000", w, ok)
	}
}
