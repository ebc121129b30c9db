package ws_test

import (
	"path/filepath"
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

// knownWSDiffs: capture → endpoints → label → which side is wrong and why.
var knownWSDiffs = map[string]pcaptest.Known{}

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

// ourWSCounts counts frames by opcode per connection, and the handshakes
// by accept.
func ourWSCounts(t *testing.T, path string) pcaptest.Counts {
	c := pcaptest.Counts{}
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
			c.Add(ep, "accept="+f.Str)
		case ev.Type == ws.TypeUnknown:
			op, _ := ev.Info.Get("opcode")
			c.Add(ep, "opcode "+strconv.FormatInt(op.Int, 10))
		default:
			c.Add(ep, "opcode "+strconv.Itoa(opcodeOf[ev.Type]))
		}
	})
	return c
}

func tsharkWSCounts(t *testing.T, tshark, path string) pcaptest.Counts {
	c := pcaptest.Counts{}
	for _, r := range pcaptest.TsharkFields(t, tshark, path, nil, "websocket", "websocket.opcode") {
		for _, op := range pcaptest.Values(r.Fields[0]) {
			c.Add(r.Conn, "opcode "+op)
		}
	}
	return c
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
			pcaptest.CompareCounts(t, ours, theirs, knownWSDiffs[name])
		})
	}
}
