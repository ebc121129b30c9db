package ws_test

import (
	"bytes"
	"maps"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/http1"
	"github.com/wiretrace/wiretrace/decode/ws"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// The tshark cross-check: every shared WebSocket capture goes through the
// timeline with http1's sniffer, whose Upgrade hook starts a ws Decoder,
// and through tshark 4.0; per TCP connection the count of frames of each
// opcode must agree. The accept check must fail on
// zeek-wrong-accept-header.pcap only. Differences that were looked into are
// in knownWSDiffs, saying which side is wrong.

var wsCaptures = []string{
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
	"malformed/zeek-websocket-oversized-close-frame.pcapng",
}

// knownWSDiffs: capture → "endpoints label" → which side is wrong and why.
var knownWSDiffs = map[string]map[string]string{}

// wsRegistry is http1 with the WebSocket hand-off.
func wsRegistry() *decode.Registry {
	reg := &decode.Registry{}
	reg.Register(http1.NewSniffer(http1.Options{Upgrade: func(u *http1.Upgrade, emit decode.Emit) decode.StreamDecoder {
		if u.Protocol != "websocket" {
			return nil
		}
		return ws.New(ws.FromHeaders(u.Request, u.Response, u.At), ws.Options{}, emit)
	}}))
	return reg
}

var opcodeOf = map[decode.Type]int{
	ws.TypeContinuation: 0, ws.TypeText: 1, ws.TypeBinary: 2, ws.TypeClose: 8, ws.TypePing: 9, ws.TypePong: 10,
}

type counts map[string]map[string]int

func (c counts) add(ep, label string) {
	if c[ep] == nil {
		c[ep] = map[string]int{}
	}
	c[ep][label]++
}

// ourWSCounts counts frames by opcode per connection, and the handshakes
// by accept.
func ourWSCounts(t *testing.T, path string) counts {
	c := counts{}
	pcaptest.Run(t, path, pcaptest.Options{Registry: wsRegistry()}, func(ev *timeline.Event) {
		if ev.Conn == nil {
			return
		}
		ep := pcaptest.Endpoints(ev.Conn.Client.String(), ev.Conn.Server.String())
		switch {
		case ev.Layer == decode.LayerConn && (ev.Type == decode.TypeDecodeError || ev.Type == decode.TypeCapLimit):
			t.Logf("%s: %s: %v", ep, ev.Type, ev.Info)
		case ev.Layer != decode.LayerWS || ev.Type == ws.TypeMessage || ev.Info.Has("incomplete"):
		case ev.Type == ws.TypeHandshake:
			f, _ := ev.Info.Get("accept")
			c.add(ep, "accept="+f.Str)
		case ev.Type == ws.TypeUnknown:
			op, _ := ev.Info.Get("opcode")
			c.add(ep, "opcode "+strconv.FormatInt(op.Int, 10))
		default:
			c.add(ep, "opcode "+strconv.Itoa(opcodeOf[ev.Type]))
		}
	})
	return c
}

func tsharkWSCounts(t *testing.T, tshark, path string) counts {
	cmd := exec.Command(tshark, "-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", path, "-Y", "websocket", "-T", "fields",
		"-E", "separator=/t", "-E", "aggregator=,",
		"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
		"-e", "websocket.opcode")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	c := counts{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 7 || f[6] == "" {
			continue
		}
		ep := pcaptest.Endpoints(endpoint(f[0], f[1], f[2]), endpoint(f[3], f[4], f[5]))
		for _, op := range strings.Split(f[6], ",") {
			c.add(ep, "opcode "+op)
		}
	}
	return c
}

func endpoint(v4, v6, port string) string {
	ip := v4 + v6
	a, err := netip.ParseAddr(ip[strings.LastIndexByte(ip, ',')+1:])
	p, perr := strconv.ParseUint(port[strings.LastIndexByte(port, ',')+1:], 10, 16)
	if err != nil || perr != nil {
		return ip + ":" + port
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

func TestTsharkWSCounts(t *testing.T) {
	tshark := pcaptest.Tshark(t)
	for _, name := range wsCaptures {
		t.Run(name, func(t *testing.T) {
			path := pcaptest.Shared(t, name)
			ours := ourWSCounts(t, path)
			theirs := tsharkWSCounts(t, tshark, path)
			wantAccept := "accept=ok"
			if filepath.Base(name) == "zeek-wrong-accept-header.pcap" {
				wantAccept = "accept=wrong"
			}
			handshakes := 0
			for ep, c := range ours {
				for l, n := range c {
					if strings.HasPrefix(l, "accept=") {
						handshakes += n
						if l != wantAccept {
							t.Errorf("%s: %s; want %s", ep, l, wantAccept)
						}
						delete(c, l)
					}
				}
			}
			if handshakes == 0 {
				t.Errorf("no handshake")
			}
			compare(t, ours, theirs, knownWSDiffs[name])
		})
	}
}

func compare(t *testing.T, ours, theirs counts, known map[string]string) {
	t.Helper()
	eps := map[string]bool{}
	for ep := range ours {
		eps[ep] = true
	}
	for ep := range theirs {
		eps[ep] = true
	}
	n := 0
	for _, ep := range slices.Sorted(maps.Keys(eps)) {
		labels := map[string]bool{}
		for l := range ours[ep] {
			labels[l] = true
		}
		for l := range theirs[ep] {
			labels[l] = true
		}
		for _, l := range slices.Sorted(maps.Keys(labels)) {
			o, th := ours[ep][l], theirs[ep][l]
			n++
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
	if n == 0 {
		t.Errorf("nothing compared")
	}
	t.Logf("%d connections, %d counts compared", len(eps), n)
}
