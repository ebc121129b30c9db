package http1_test

import (
	"bytes"
	"maps"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/http1"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// The tshark cross-check: every shared capture with HTTP/1.x in it goes
// through the timeline with the http1 sniffer and through tshark 4.0; per
// TCP connection (keyed by its two endpoints) the number of requests and
// responses (interim ones included) must agree. Differences that were
// looked into, and which side is wrong, are in knownDiffs.

// httpCaptures are the shared captures in which tshark finds HTTP/1.x.
var httpCaptures = []string{
	"tcp/sv-decode-sll2.pcap",
	"tcp/sv-syn-retransmit-with-ts.pcap",
	"tcp/sv-tcp-fastopen.pcap",
	"tcp/sv-tcp-rst-unacked-stream.pcap",
	"tcp/sv-tcp-urgent.pcap",
	"tcp/tcpdump-ipv4_tcp_http_xml.pcap",
	"tcp/zeek-handshake-reorder.pcap",
	"tcp/zeek-http-206-zero-window.pcap",
	"tcp/zeek-http-vlan-0.pcap",
	"tcp/zeek-missing-syn.pcap",
	"tcp/zeek-retransmit-timeout.pcapng",
	"tcp/zeek-tcp-fast-open.pcap",
	"tcp/zeek-vlan-qinqinq.pcap",
	"websocket/sv-basic_websockets.pcap",
	"websocket/sv-websocket-compressed.pcap",
	"websocket/sv-websocket-control-frag.pcap",
	"websocket/sv-websocket-ping.pcap",
	"websocket/zeek-jupyter-websocket.pcap",
	"websocket/zeek-reply-ping-coalesced.pcap",
	"websocket/zeek-two-binary-fragments.pcap",
	"websocket/zeek-websocket.pcap",
	"websocket/zeek-wrong-accept-header.pcap",
	"websocket/zeek-wstunnel-https.pcap",
	"http2/sv-http2-deflate.pcap",
	"http2/sv-http2-errorcode.pcap",
	"http2/sv-http2-range.pcap",
	"malformed/zeek-websocket-oversized-close-frame.pcapng",
}

// knownDiffs: capture → "endpoints label" → which side is wrong and why.
// Each was checked packet by packet.
var knownDiffs = map[string]map[string]string{
	"tcp/sv-tcp-rst-unacked-stream.pcap": {
		"10.11.23.101:49470 47.32.209.86:80 response": "tshark is wrong: the second response's head (frame 9) is " +
			"complete, but its body has capture holes and the connection is reset, so tshark's HTTP " +
			"desegmentation never gets the whole message and never dissects it; we decode the head and count " +
			"the holes as missing_bytes",
	},
	"tcp/sv-tcp-urgent.pcap": {
		"10.10.10.44:43950 10.10.10.55:9090 request": "tshark is wrong: the request line is split over " +
			"frames 4, 5 (one urgent byte, URG set) and 8; tshark dissects frame 5 as Data and the request is " +
			"never reassembled, though the server answers it. We keep the urgent byte inline, as on the wire " +
			"(path /malicXious; the server's socket without SO_OOBINLINE saw /malicious)",
	},
	"tcp/zeek-retransmit-timeout.pcapng": {
		"10.0.0.1:51889 192.168.0.1:80 request": "not a decoder difference: the request is sent again exactly " +
			"5 minutes later; the timeline's idle timeout ended the first connection, so the repeat starts a " +
			"new one with the same endpoints (timeline/tshark_test.go knownDiffs), where tshark sees a spurious " +
			"retransmission in the same stream",
	},
}

// connCounts: "client server" endpoints, sorted → label → count.
type connCounts map[string]map[string]int

func (c connCounts) add(a, b, label string, n int) {
	k := pcaptest.Endpoints(a, b)
	if c[k] == nil {
		c[k] = map[string]int{}
	}
	c[k][label] += n
}

func ourHTTPCounts(t *testing.T, path string) connCounts {
	reg := &decode.Registry{}
	reg.Register(http1.NewSniffer(http1.Options{}))
	c := connCounts{}
	pcaptest.Run(t, path, pcaptest.Options{Registry: reg}, func(ev *timeline.Event) {
		if ev.Conn == nil {
			return
		}
		a, b := ev.Conn.Client.String(), ev.Conn.Server.String()
		switch ev.Type {
		case http1.TypeRequest:
			c.add(a, b, "request", 1)
		case http1.TypeResponse:
			c.add(a, b, "response", 1)
		case decode.TypeDecodeError, decode.TypeCapLimit:
			t.Logf("%s %s: %s: %v", a, b, ev.Type, ev.Info)
		}
	})
	return c
}

// tsharkFields runs tshark on path with the display filter and returns
// each packet's endpoints and the fields asked for.
func tsharkFields(t *testing.T, tshark, path, filter string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", path, "-Y", filter, "-T", "fields",
		"-E", "separator=/t", "-E", "aggregator=,",
		"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 6+len(fields) {
			continue
		}
		row := []string{addrPort(f[0], f[1], f[2]), addrPort(f[3], f[4], f[5])}
		rows = append(rows, append(row, f[6:]...))
	}
	return rows
}

// addrPort formats an endpoint like netip.AddrPort, from the innermost of
// possibly tunnelled address fields.
func addrPort(v4, v6, port string) string {
	ip := v4
	if ip == "" {
		ip = v6
	}
	ip = ip[strings.LastIndexByte(ip, ',')+1:]
	port = port[strings.LastIndexByte(port, ',')+1:]
	a, err := netip.ParseAddr(ip)
	p, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil {
		return ip + ":" + port
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// values counts the values of an aggregated field.
func values(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, ",") + 1
}

func tsharkHTTPCounts(t *testing.T, tshark, path string) connCounts {
	c := connCounts{}
	for _, r := range tsharkFields(t, tshark, path, "http", "http.request", "http.response") {
		c.add(r[0], r[1], "request", values(r[2]))
		c.add(r[0], r[1], "response", values(r[3]))
	}
	return c
}

func TestTsharkHTTPCounts(t *testing.T) {
	tshark := pcaptest.Tshark(t)
	for _, name := range httpCaptures {
		t.Run(name, func(t *testing.T) {
			path := pcaptest.Shared(t, name)
			ours, theirs := ourHTTPCounts(t, path), tsharkHTTPCounts(t, tshark, path)
			compareCounts(t, ours, theirs, knownDiffs[name])
		})
	}
}

// compareCounts checks every connection's labels both ways; known maps
// "endpoints label" to why a difference is expected.
func compareCounts(t *testing.T, ours, theirs connCounts, known map[string]string) {
	t.Helper()
	eps := map[string]bool{}
	for ep := range ours {
		eps[ep] = true
	}
	for ep := range theirs {
		eps[ep] = true
	}
	compared := 0
	for _, ep := range slices.Sorted(maps.Keys(eps)) {
		labels := map[string]bool{}
		for l, n := range ours[ep] {
			labels[l] = n > 0
		}
		for l, n := range theirs[ep] {
			labels[l] = labels[l] || n > 0
		}
		for _, l := range slices.Sorted(maps.Keys(labels)) {
			o, th := ours[ep][l], theirs[ep][l]
			compared++
			if o == th {
				continue
			}
			if why, ok := known[ep+" "+l]; ok {
				t.Logf("%s: %s: got %d; tshark %d (known: %s)", ep, l, o, th, why)
				continue
			}
			t.Errorf("%s: %s: got %d; tshark %d", ep, l, o, th)
		}
	}
	if compared == 0 {
		t.Errorf("nothing compared")
	}
	t.Logf("%d connections, %d counts compared", len(eps), compared)
}
