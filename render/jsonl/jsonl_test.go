package jsonl

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

func TestAppendEvent(t *testing.T) {
	conn := &timeline.Conn{ID: 1, Transport: timeline.TCP,
		Client: netip.MustParseAddrPort("198.18.0.1:45574"), Server: netip.MustParseAddrPort("[2001:db8::1]:18080")}
	ts := time.Date(2026, 11, 22, 14, 50, 32, 588113000, time.UTC)
	tests := []struct {
		name string
		ev   timeline.Event
		want string
	}{
		{
			name: "syn",
			ev: timeline.Event{Conn: conn, Event: decode.Event{Frame: 12, TS: ts, Dir: decode.C2S, Layer: decode.LayerTCP,
				Type: decode.TypeSYN, Stream: decode.NoValue, Len: 0, Info: decode.Info{decode.Int("mss", 1460), decode.Bool("sack_perm", true)}}},
			want: `{"ts":"2026-11-22T14:50:32.588113Z","frame":12,"conn":1,"transport":"tcp","client":"198.18.0.1:45574","server":"[2001:db8::1]:18080","dir":"c2s","layer":"tcp","type":"SYN","len":0,"info":{"mss":1460,"sack_perm":true}}`,
		},
		{
			name: "summary without dir, nanoseconds",
			ev: timeline.Event{Conn: conn, Event: decode.Event{Frame: 20, TS: ts.Add(7), Layer: decode.LayerConn, Type: decode.TypeSummary,
				Stream: decode.NoValue, Len: decode.NoValue, Info: decode.Info{decode.Millis("rtt_ms", 1500*time.Microsecond), decode.Strings("alpn", []string{"h2"})}}},
			want: `{"ts":"2026-11-22T14:50:32.588113007Z","frame":20,"conn":1,"transport":"tcp","client":"198.18.0.1:45574","server":"[2001:db8::1]:18080","layer":"conn","type":"summary","info":{"rtt_ms":1.5,"alpn":["h2"]}}`,
		},
		{
			name: "capture-wide with stream",
			ev: timeline.Event{Event: decode.Event{Frame: 3, TS: ts, Layer: decode.LayerCapture, Type: decode.TypeCapLimit,
				Stream: 5, Len: decode.NoValue}},
			want: `{"ts":"2026-11-22T14:50:32.588113Z","frame":3,"layer":"capture","type":"cap-limit","stream":5,"info":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendEvent(nil, &tt.ev))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("invalid JSON: %s", got)
			}
		})
	}
}

func TestAppendStringHostile(t *testing.T) {
	inputs := []string{"<script>alert(1)</script>", "a\"b\\c", "\x00\x1b[31mred\x7f", "\xff\xfe bad utf8", "line\u2028sep", "ok ünïcødé"}
	for _, in := range inputs {
		out := AppendString(nil, in)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Errorf("AppendString(%q) = %s: not valid JSON: %v", in, out, err)
			continue
		}
		if strings.ContainsAny(string(out), "<>\x00\x1b") {
			t.Errorf("AppendString(%q) = %s: raw markup or control bytes left", in, out)
		}
		if utf8.ValidString(in) && in != back {
			t.Errorf("round trip of %q gave %q", in, back)
		}
	}
}

func TestAppendEventAllocs(t *testing.T) {
	conn := &timeline.Conn{ID: 1, Transport: timeline.TCP,
		Client: netip.MustParseAddrPort("10.0.0.1:1234"), Server: netip.MustParseAddrPort("10.0.0.2:80")}
	ev := timeline.Event{Conn: conn, Event: decode.Event{Frame: 1, TS: time.Unix(1, 0), Dir: decode.C2S, Layer: decode.LayerTCP,
		Type: decode.TypeSYN, Stream: decode.NoValue, Len: 0, Info: decode.Info{decode.Int("mss", 1460)}}}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = AppendEvent(buf[:0], &ev) }); n != 0 {
		t.Errorf("AppendEvent allocates %v times per event; want 0", n)
	}
}
