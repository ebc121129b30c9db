package text

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

var (
	t0   = time.Date(2026, 11, 22, 14, 50, 32, 0, time.UTC)
	conn = &timeline.Conn{ID: 1, Transport: timeline.TCP, FirstTS: t0, FirstFrame: 1,
		Client: netip.MustParseAddrPort("198.18.0.1:45574"), Server: netip.MustParseAddrPort("198.18.1.2:80")}
)

func ev(frame int64, ms float64, dir decode.Dir, layer decode.Layer, typ decode.Type, info ...decode.Field) timeline.Event {
	e := decode.NewEvent(frame, t0.Add(time.Duration(ms*float64(time.Millisecond))), dir, layer, typ)
	e.Info = info
	return timeline.Event{Event: e, Conn: conn}
}

func render(t *testing.T, opts Options, evs ...timeline.Event) string {
	t.Helper()
	var buf bytes.Buffer
	w := New(&buf, opts)
	for i := range evs {
		if err := w.Event(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func summary(frame int64, ms float64) timeline.Event {
	return ev(frame, ms, decode.DirNone, decode.LayerConn, decode.TypeSummary,
		decode.String("handshake", "TCP"), decode.Millis("rtt_ms", 1500*time.Microsecond),
		decode.Int("round_trips_before_data", 1), decode.String("tls_version", ""),
		decode.Uint("bytes_c2s", 120), decode.Uint("bytes_s2c", 3<<20), decode.Uint("packets_c2s", 5), decode.Uint("packets_s2c", 7),
		decode.Millis("duration_ms", 2500*time.Millisecond), decode.String("close", "fin"), decode.String("ended", "closed"))
}

func TestBlock(t *testing.T) {
	got := render(t, Options{},
		ev(1, 0, decode.C2S, decode.LayerTCP, decode.TypeSYN, decode.Uint("seq", 0), decode.String("flags", "SYN"), decode.Bool("sack_perm", true), decode.Bool("off", false)),
		ev(2, 0.75, decode.S2C, decode.LayerTCP, decode.TypeSYNACK),
		ev(3, 1.5, decode.C2S, decode.LayerTCP, decode.TypeACK, decode.Millis("rtt_ms", 1500*time.Microsecond)),
		summary(9, 2500),
	)
	want := []string{
		"#1 TCP 198.18.0.1:45574 → 198.18.1.2:80  2026-11-22 14:50:32.000000 UTC\n",
		"   +0.000 ms      #1  C ───▶ S  tcp SYN                  seq=0 sack_perm\n",
		"   +0.750 ms      #2  C ◀─── S  tcp SYN-ACK\n",
		"rtt=1.5ms\n",
		"  summary: TCP, RTT 1.5 ms, 1 round trip before data, 120 B →, 3.0 MiB ← in 12 packets, lasted 2.500 s, closed by FIN both ways\n",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q; got:\n%s", w, got)
		}
	}
	if strings.Contains(got, "flags=") || strings.Contains(got, " off") {
		t.Errorf("flags of a flag event or a false boolean printed:\n%s", got)
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("colour without Options.Color:\n%s", got)
	}
}

func TestColor(t *testing.T) {
	got := render(t, Options{Color: true}, ev(1, 0, decode.C2S, decode.LayerTCP, decode.TypeRST), summary(2, 1))
	if !strings.Contains(got, red+"tcp RST") {
		t.Errorf("RST not red:\n%q", got)
	}
}

func TestGroupsConnections(t *testing.T) {
	other := *conn
	other.ID = 2
	e2 := ev(2, 1, decode.C2S, decode.LayerTCP, decode.TypeSYN)
	e2.Conn = &other
	s2 := summary(4, 3)
	s2.Conn = &other
	got := render(t, Options{}, ev(1, 0, decode.C2S, decode.LayerTCP, decode.TypeSYN), e2, s2, summary(5, 4))
	i2, i1 := strings.Index(got, "#2 TCP"), strings.Index(got, "#1 TCP")
	if i2 < 0 || i1 < 0 || i2 > i1 {
		t.Errorf("connection 2 ended first and should print first:\n%s", got)
	}
	stream := render(t, Options{Stream: true}, ev(1, 0, decode.C2S, decode.LayerTCP, decode.TypeSYN), e2, s2, summary(5, 4))
	if strings.Index(stream, "#1 TCP") > strings.Index(stream, "#2 TCP") {
		t.Errorf("streaming mode must print in arrival order:\n%s", stream)
	}
}

func TestCollapse(t *testing.T) {
	evs := []timeline.Event{ev(1, 0, decode.C2S, decode.LayerTCP, decode.TypeSYN)}
	for i := range 10 {
		evs = append(evs, ev(int64(10+i), float64(i), decode.S2C, decode.LayerTCP, decode.TypeDupAck, decode.Int("dup_ack_num", int64(i+1))))
	}
	evs = append(evs, summary(30, 20))
	got := render(t, Options{}, evs...)
	if !strings.Contains(got, "… 8 more tcp dup-ack (frames #11–#18 over 7.000 ms) …") {
		t.Errorf("run not folded:\n%s", got)
	}
	if !strings.Contains(got, "dup_ack_num=1\n") || !strings.Contains(got, "dup_ack_num=10\n") {
		t.Errorf("first and last of the run must print:\n%s", got)
	}
	all := render(t, Options{NoCollapse: true}, evs...)
	if strings.Count(all, "tcp dup-ack") != 10 {
		t.Errorf("NoCollapse printed %d dup-acks; want 10", strings.Count(all, "tcp dup-ack"))
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"esc\x1b[2Jape", "esc·[2Jape"},
		{"nul\x00bell\x07", "nul·bell·"},
		{"bidi\u202eevil", "bidi·evil"},
		{"bad\xffutf8", "bad\ufffdutf8"},
		{"c1\u009bx", "c1·x"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	got := render(t, Options{}, ev(1, 0, decode.C2S, decode.LayerTCP, decode.Type("X\x1b]0;pwned\x07"),
		decode.String("sni", "\x1b[31mevil")), summary(2, 1))
	if strings.ContainsAny(got, "\x1b\x07") {
		t.Errorf("control characters from the wire reached the terminal: %q", got)
	}
}

func TestHOLStallNote(t *testing.T) {
	stall := func(info ...decode.Field) timeline.Event {
		e := ev(7, 250, decode.S2C, decode.LayerAnalysis, "hol-stall",
			append([]decode.Field{decode.String("scope", "connection"), decode.Millis("duration_ms", 212*time.Millisecond)}, info...)...)
		e.Len = 2900
		return e
	}
	tests := []struct {
		name string
		ev   timeline.Event
		want string // the explanation line, trimmed; "" for none
	}{
		{"victims and a culprit", stall(decode.Strings("streams", []string{"3", "5", "7", "9"}), decode.Strings("culprit_streams", []string{"7"}),
			decode.String("capture_point", "receiver")),
			"streams 3, 5, 9 waited 212 ms for a lost segment of stream 7"},
		{"one victim, two culprits", stall(decode.Strings("streams", []string{"3"}), decode.Strings("culprit_streams", []string{"5", "7"})),
			"stream 3 waited 212 ms for a lost segment of streams 5, 7"},
		{"its own", stall(decode.Strings("streams", []string{"7"}), decode.Strings("culprit_streams", []string{"7"})),
			"stream 7 waited 212 ms for a lost segment of its own"},
		{"no complete frame waited", stall(decode.Strings("streams", nil), decode.Strings("culprit_streams", []string{"3"})),
			"2.8 KiB waited 212 ms for a lost segment of stream 3"},
		{"culprit unknown", stall(decode.Strings("streams", []string{"3", "5"}), decode.Strings("culprit_streams", nil)),
			"streams 3, 5 waited 212 ms for a lost segment"},
		{"no streams", stall(decode.String("capture_point", "receiver")),
			"2.8 KiB waited 212 ms for a lost segment"},
		{"sender side", stall(decode.Strings("streams", []string{"1"}), decode.Strings("culprit_streams", []string{"3"}), decode.String("capture_point", "sender")),
			"stream 1 waited 212 ms for a lost segment of stream 3 (lost after the capture point: the receiver's ACKs show the hole)"},
		{"QUIC stream stall: no note", ev(7, 250, decode.S2C, decode.LayerAnalysis, "hol-stall", decode.String("scope", "stream"),
			decode.Millis("duration_ms", time.Millisecond)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, opts := range []Options{{}, {Stream: true}} {
				got := render(t, opts, tt.ev, summary(9, 300))
				lines := strings.Split(got, "\n")
				i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "analysis hol-stall") })
				if i < 0 {
					t.Fatalf("no hol-stall line:\n%s", got)
				}
				note := ""
				if next := strings.TrimSpace(lines[i+1]); !strings.Contains(next, "summary:") {
					note = next
				}
				if note != tt.want {
					t.Errorf("stream=%v: note = %q; want %q\n%s", opts.Stream, note, tt.want, got)
				}
			}
		})
	}
}

func TestSummaryCapturePoint(t *testing.T) {
	for cp, want := range map[string]string{
		"":       "2 head-of-line stalls (25 ms)",
		"client": "2 head-of-line stalls (25 ms, captured near the client)",
		"middle": "2 head-of-line stalls (25 ms, captured between client and server)",
	} {
		s := summary(9, 300)
		s.Info = append(s.Info, decode.Int("hol_stalls", 2), decode.Millis("hol_stall_ms", 25*time.Millisecond))
		if cp != "" {
			s.Info = append(s.Info, decode.String("capture_point", cp))
		}
		if got := render(t, Options{}, s); !strings.Contains(got, want+",") {
			t.Errorf("capture_point %q: summary lacks %q:\n%s", cp, want, got)
		}
	}
}
