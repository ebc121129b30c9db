package h2

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/decode"
)

// stallLine renders a flow-control-stall event for the table: the blocked
// direction, scope, stream, window, the frames it started and ended at,
// and its duration (step i of a script is frame i+1 at i ms).
func stallLine(e decode.Event) string {
	return fmt.Sprintf("%s %s stream=%s window=%s frames=%s-%d ms=%s", e.Dir, get(e, "scope"), get(e, "stream"),
		get(e, "window"), get(e, "start_frame"), e.Frame, get(e, "duration_ms"))
}

func stallLines(evs []decode.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Type == TypeFlowControlStall {
			out = append(out, stallLine(e))
		}
	}
	return out
}

// settingsWindow is the receiver's SETTINGS_INITIAL_WINDOW_SIZE, sent by
// dir.
func settingsWindow(dir decode.Dir, v uint32) func(s *script) {
	return func(s *script) {
		s.do(dir, func(f *http2.Framer) { f.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: v}) })
	}
}

func windowUpdate(dir decode.Dir, id, inc uint32) func(s *script) {
	return func(s *script) { s.do(dir, func(f *http2.Framer) { f.WriteWindowUpdate(id, inc) }) }
}

func post(id uint32) func(s *script) {
	return func(s *script) { s.request(id, false, "POST", "/upload") }
}

func data(dir decode.Dir, id uint32, end bool, n int) func(s *script) {
	return func(s *script) { s.data(dir, id, end, n) }
}

// fill sends n bytes from the client on stream id in frames of at most
// 16,384 bytes (the default SETTINGS_MAX_FRAME_SIZE), the last with end.
func fill(id uint32, end bool, n int) func(s *script) {
	return func(s *script) {
		for n > 0 {
			k := min(n, 16384)
			n -= k
			s.data(decode.C2S, id, end && n == 0, k)
		}
	}
}

func TestFlowControlStall(t *testing.T) {
	// Frames: the preface and both empty SETTINGS are 1 to 3, then one
	// per step (fill: one per frame).
	tests := []struct {
		name  string
		steps []func(s *script)
		want  []string
	}{{
		name: "stream window reopened by WINDOW_UPDATE",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 600),
			data(decode.C2S, 1, false, 400), windowUpdate(decode.S2C, 1, 500), data(decode.C2S, 1, true, 500)},
		want: []string{"c2s stream stream=1 window=0 frames=7-8 ms=1"},
	}, {
		name: "the exhausting frame ends the stream",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 600),
			data(decode.C2S, 1, true, 400), windowUpdate(decode.S2C, 1, 500)},
	}, {
		name: "an empty END_STREAM after the exhausting frame: nothing was left",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 1000),
			data(decode.C2S, 1, true, 0), windowUpdate(decode.S2C, 1, 500)},
	}, {
		name: "trailers end the stream",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 1000),
			func(s *script) { s.headers(decode.C2S, 1, true, "grpc-status", "0") }, windowUpdate(decode.S2C, 1, 500)},
	}, {
		name: "reset during the stall",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 1000),
			func(s *script) { s.do(decode.S2C, func(f *http2.Framer) { f.WriteRSTStream(1, http2.ErrCodeCancel) }) },
			windowUpdate(decode.S2C, 1, 500)},
	}, {
		name: "window below zero: the update that brings it above zero ends the stall",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 1000),
			settingsWindow(decode.S2C, 500), windowUpdate(decode.S2C, 1, 300), windowUpdate(decode.S2C, 1, 300)},
		want: []string{"c2s stream stream=1 window=0 frames=6-9 ms=3"},
	}, {
		name: "an update to exactly zero does not reopen",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 1000),
			settingsWindow(decode.S2C, 500), windowUpdate(decode.S2C, 1, 500), windowUpdate(decode.S2C, 1, 1)},
		want: []string{"c2s stream stream=1 window=0 frames=6-9 ms=3"},
	}, {
		name: "reopened by a larger SETTINGS_INITIAL_WINDOW_SIZE",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), post(3), data(decode.C2S, 3, false, 1000),
			data(decode.C2S, 1, false, 1000), settingsWindow(decode.S2C, 2000)},
		want: []string{"c2s stream stream=1 window=0 frames=8-9 ms=1", "c2s stream stream=3 window=0 frames=7-9 ms=2"},
	}, {
		name: "a smaller SETTINGS_INITIAL_WINDOW_SIZE alone is no stall",
		steps: []func(s *script){post(1), data(decode.C2S, 1, false, 100), settingsWindow(decode.S2C, 0),
			windowUpdate(decode.S2C, 1, 1000), data(decode.C2S, 1, true, 100)},
	}, {
		name: "a window of zero from the start blocks a request body at its HEADERS",
		steps: []func(s *script){settingsWindow(decode.S2C, 0), post(1), windowUpdate(decode.S2C, 1, 100),
			data(decode.C2S, 1, true, 100)},
		want: []string{"c2s stream stream=1 window=0 frames=5-6 ms=1"},
	}, {
		name: "a GET is not blocked by a window of zero",
		steps: []func(s *script){settingsWindow(decode.S2C, 0),
			func(s *script) { s.request(1, true, "GET", "/") }, windowUpdate(decode.S2C, 1, 100)},
	}, {
		name: "connection window",
		steps: []func(s *script){settingsWindow(decode.S2C, 1<<20), post(1), fill(1, false, 65535),
			windowUpdate(decode.S2C, 0, 65535), data(decode.C2S, 1, true, 10)},
		want: []string{"c2s connection stream=0 window=0 frames=9-10 ms=1"},
	}, {
		name: "stream and connection exhausted by one frame, reopened one after the other",
		steps: []func(s *script){post(1), fill(1, false, 65535), windowUpdate(decode.S2C, 1, 65535),
			windowUpdate(decode.S2C, 0, 65535)},
		want: []string{"c2s stream stream=1 window=0 frames=8-9 ms=1", "c2s connection stream=0 window=0 frames=8-10 ms=2"},
	}, {
		name: "connection exhausted by the last frame of the only stream",
		steps: []func(s *script){settingsWindow(decode.S2C, 1<<20), post(1), fill(1, true, 65535),
			windowUpdate(decode.S2C, 0, 65535)},
	}, {
		name: "connection exhausted, then a request body is blocked from its HEADERS",
		steps: []func(s *script){settingsWindow(decode.S2C, 1<<20), post(1), fill(1, true, 65535), post(3),
			windowUpdate(decode.S2C, 0, 65535)},
		want: []string{"c2s connection stream=0 window=0 frames=10-11 ms=1"},
	}, {
		name: "connection exhausted, the blocked stream ends, another is still open",
		steps: []func(s *script){settingsWindow(decode.S2C, 1<<20), post(1), post(3), fill(1, false, 65535),
			data(decode.C2S, 1, true, 0), windowUpdate(decode.S2C, 0, 65535)},
		want: []string{"c2s connection stream=0 window=0 frames=10-12 ms=2"},
	}, {
		name: "connection exhausted, every stream ends",
		steps: []func(s *script){settingsWindow(decode.S2C, 1<<20), post(1), post(3), fill(1, false, 65535),
			data(decode.C2S, 1, true, 0), data(decode.C2S, 3, true, 0), windowUpdate(decode.S2C, 0, 65535)},
	}, {
		name: "the server's response blocked by the client's window",
		steps: []func(s *script){settingsWindow(decode.C2S, 100), func(s *script) { s.request(1, true, "GET", "/") },
			func(s *script) { s.response(1, false, "200") }, data(decode.S2C, 1, false, 100),
			windowUpdate(decode.C2S, 1, 100), data(decode.S2C, 1, true, 50)},
		want: []string{"s2c stream stream=1 window=0 frames=7-8 ms=1"},
	}, {
		name: "no stall while the window stays open",
		steps: []func(s *script){settingsWindow(decode.S2C, 1000), post(1), data(decode.C2S, 1, false, 999),
			windowUpdate(decode.S2C, 1, 999), data(decode.C2S, 1, true, 999)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript().preface()
			for _, st := range tt.steps {
				st(s)
			}
			evs := run(NewDecoder(Options{}), s.steps)
			got := stallLines(evs)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				dump(t, evs)
				t.Errorf("stalls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, e := range evs {
				if e.Type == TypeFlowControlStall && (e.Layer != decode.LayerAnalysis || e.Flags != 0 ||
					get(e, "start") == "" || get(e, "end") != e.TS.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")) {
					t.Errorf("malformed stall event: %s", line(e))
				}
			}
		})
	}
}

// stallScript has a stream stall and a connection stall, for the fuzz
// seeds: the client fills stream 1's window and the connection's, the
// server reopens them one after the other.
func stallScript() *script {
	s := newScript().preface()
	for _, st := range []func(s *script){post(1), fill(1, false, 65535), windowUpdate(decode.S2C, 1, 100),
		windowUpdate(decode.S2C, 0, 100), data(decode.C2S, 1, true, 100)} {
		st(s)
	}
	return s
}
