package pcaptest

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// recordTB keeps what a helper reports instead of reporting it.
type recordTB struct {
	testing.TB
	errs, logs []string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordTB) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func TestCompareCounts(t *testing.T) {
	const a, b = "10.0.0.1:1 10.0.0.2:80", "10.0.0.1:2 10.0.0.2:80"
	counts := func(kv ...any) Counts {
		c := Counts{}
		for i := 0; i < len(kv); i += 3 {
			for range kv[i+2].(int) {
				c.Add(kv[i].(string), kv[i+1].(string))
			}
		}
		return c
	}
	tests := []struct {
		name      string
		got, want Counts
		known     Known
		errs      []string
		logs      []string // substrings, in order
	}{
		{
			name: "equal",
			got:  counts(a, "x", 2, b, "y", 1), want: counts(a, "x", 2, b, "y", 1),
			logs: []string{"2 connections, 2 counts compared"},
		},
		{
			name: "differ both ways",
			got:  counts(a, "x", 2, a, "z", 1), want: counts(a, "x", 1, b, "y", 1),
			errs: []string{a + ": x: got 2; tshark 1", a + ": z: got 1; tshark 0", b + ": y: got 0; tshark 1"},
			logs: []string{"2 connections, 3 counts compared"},
		},
		{
			name: "known",
			got:  counts(a, "x", 2), want: counts(a, "x", 1),
			known: Known{a: {"x": "tshark misses one", "y": "stale"}, b: {"x": "other conn"}},
			logs: []string{a + ": x: got 2; tshark 1 (known: tshark misses one)",
				a + ": y: known difference did not occur (stale)", b + ": x: known difference did not occur (other conn)",
				"1 connections, 1 counts compared"},
		},
		{
			name: "known elsewhere",
			got:  counts(a, "x", 2), want: counts(a, "x", 1),
			known: Known{b: {"x": "other conn"}, a: {"y": "other label"}},
			errs:  []string{a + ": x: got 2; tshark 1"},
		},
		{
			name: "nothing",
			got:  Counts{}, want: nil,
			errs: []string{"nothing compared"},
			logs: []string{"0 connections, 0 counts compared"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recordTB{TB: t}
			CompareCounts(r, tt.got, tt.want, tt.known)
			if !slices.Equal(r.errs, tt.errs) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(r.errs, "\n"), strings.Join(tt.errs, "\n"))
			}
			logs := strings.Join(r.logs, "\n")
			at := 0
			for _, l := range tt.logs {
				i := strings.Index(logs[at:], l)
				if i < 0 {
					t.Errorf("log %q missing (or out of order) in:\n%s", l, logs)
					break
				}
				at += i + len(l)
			}
		})
	}
}

func TestScript(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 1<<15+5)
	steps := []Step{
		{Dir: decode.C2S, Data: []byte("GET / HTTP/1.1\r\n\r\n")},
		{Dir: decode.S2C, Data: []byte{}},
		{Dir: decode.S2C, Data: long},
	}
	got := ParseScript(Script(steps))
	want := slices.Clone(steps)
	want[2].Data = long[:1<<15-1]
	if !slices.EqualFunc(got, want, func(x, y Step) bool { return x.Dir == y.Dir && bytes.Equal(x.Data, y.Data) }) {
		t.Errorf("round trip: got %d steps %v", len(got), got[:min(2, len(got))])
	}
	for _, tt := range []struct {
		in   string
		want []Step
	}{
		{"", nil},
		{"\x00", nil},
		{"\x80\x05ab", []Step{{decode.S2C, []byte("ab")}}},
		{"\x00\x01a\x80", []Step{{decode.C2S, []byte("a")}}},
	} {
		got := ParseScript([]byte(tt.in))
		if !slices.EqualFunc(got, tt.want, func(x, y Step) bool { return x.Dir == y.Dir && bytes.Equal(x.Data, y.Data) }) {
			t.Errorf("ParseScript(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestAddrPort(t *testing.T) {
	for _, tt := range []struct{ v4, v6, tcp, udp, want string }{
		{"10.0.0.1", "", "80", "", "10.0.0.1:80"},
		{"", "2001:db8::1", "443", "", "[2001:db8::1]:443"},
		{"", "2001:db8::1", "", "443", "[2001:db8::1]:443"},
		{"192.0.2.1,10.0.0.1", "", "80", "", "10.0.0.1:80"}, // IP in IP: the inner header's
		{"10.0.0.1", "", "53,80", "", "10.0.0.1:80"},
		{"10.0.0.1", "", "80", "4789", "10.0.0.1:80"}, // TCP in a UDP tunnel
		{"", "", "", "", ":"},
		{"bogus", "", "80", "", "bogus:80"},
	} {
		if got := addrPort(tt.v4, tt.v6, tt.tcp, tt.udp); got != tt.want {
			t.Errorf("addrPort(%q, %q, %q, %q) = %q; want %q", tt.v4, tt.v6, tt.tcp, tt.udp, got, tt.want)
		}
	}
	if got := Values(""); got != nil {
		t.Errorf("Values(\"\") = %q", got)
	}
	if got := Values("1,2"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("Values(\"1,2\") = %q", got)
	}
}

// TestTsharkFieldsConns checks that tshark's rows and the timeline name a
// connection alike, so that their Counts meet.
func TestTsharkFieldsConns(t *testing.T) {
	tshark := Tshark(t)
	for _, name := range []string{"tcp-basic.pcapng", "tcp-basic-ipv6.pcapng", "tls12-resumed.pcapng"} {
		t.Run(name, func(t *testing.T) {
			path := Project(name)
			got, want := Counts{}, Counts{}
			Run(t, path, Options{}, func(ev *timeline.Event) {
				if ev.Type == decode.TypeSYN {
					got.Add(Endpoints(ev.Conn.Client.String(), ev.Conn.Server.String()), "syn")
				}
			})
			for _, r := range TsharkFields(t, tshark, path, nil, "tcp.flags.syn==1 && tcp.flags.ack==0", "tcp.flags.syn") {
				for range Values(r.Fields[0]) {
					want.Add(r.Conn, "syn")
				}
			}
			CompareCounts(t, got, want, nil)
		})
	}
}

// TestTsharkFieldsUDP checks that a UDP flow is named by its ports.
func TestTsharkFieldsUDP(t *testing.T) {
	tshark := Tshark(t)
	rows := TsharkFields(t, tshark, Shared(t, "quic/sv-quic-ietf.pcap"), nil, "quic", "udp.length")
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for _, r := range rows {
		a, b, _ := strings.Cut(r.Conn, " ")
		for _, ep := range []string{a, b} {
			if ap, err := netip.ParseAddrPort(ep); err != nil || ap.Port() == 0 {
				t.Fatalf("conn %q: endpoint %q: %v", r.Conn, ep, err)
			}
		}
	}
}

func TestStreams(t *testing.T) {
	streams := Streams(t, Project("http1-pipelined.pcapng"))
	if len(streams) == 0 {
		t.Fatal("no streams")
	}
	for i, s := range streams {
		b := s.Bytes(1 << 30)
		if !bytes.HasPrefix(b[0], []byte("GET ")) || !bytes.HasPrefix(b[1], []byte("HTTP/1.1 ")) {
			t.Errorf("stream %d: c2s %.10q, s2c %.10q", i, b[0], b[1])
		}
		total := 0
		for _, st := range s {
			total += len(st.Data)
		}
		if n := len(b[0]) + len(b[1]); n != total {
			t.Errorf("stream %d: Bytes has %d bytes, the steps %d", i, n, total)
		}
		cut := s.Bytes(10)
		if len(cut[0]) != 10 || len(cut[1]) != 10 || !bytes.HasPrefix(b[0], cut[0]) {
			t.Errorf("stream %d: Bytes(10) = %q", i, cut)
		}
	}
}
