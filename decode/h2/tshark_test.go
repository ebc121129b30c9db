package h2

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// The tshark cross-check: every shared capture with HTTP/2 goes through
// the timeline with this package's decoders and through tshark 4.0, and
// per TCP connection (keyed by its two endpoints) the count of each frame
// type, of each frame type per stream, and of client prefaces must agree. Differences that are
// understood are in knownDiffs, each saying which side is wrong.

// h2Capture is one capture compared, with tshark's decode-as options for
// its ports. A key log beside the capture (pcaptest.KeyLogFile) is used
// by both sides.
type h2Capture struct {
	path     string
	decodeAs []string
}

var h2Captures = []h2Capture{
	{path: "http2/sv-dns-over-http2.pcap"},
	{path: "http2/sv-http2-bugfixes.pcap", decodeAs: []string{"tcp.port==443,http2"}}, // cleartext h2 on 443
	{path: "http2/sv-http2-continuation.pcap"},
	{path: "http2/sv-http2-deflate.pcap"},                                               // h2c upgrade
	{path: "http2/sv-http2-errorcode.pcap", decodeAs: []string{"tcp.port==6233,http2"}}, // and a CONNECT tunnel to 6233
	{path: "http2/sv-http2-long-frame.pcap", decodeAs: []string{"tcp.port==8443,http2"}},
	{path: "http2/sv-http2-multiple-headers.pcap", decodeAs: []string{"tcp.port==80,http2"}}, // server speaks first
	{path: "http2/sv-http2-range.pcap"},                                                      // h2c upgrade, three connections
	{path: "tls/tls13-cryptohack.pcapng"},
	{path: "tls/tls13-cryptohack-dsb.pcapng"},
	{path: "quic/chrome-cloudflare-quic-with-secrets.pcapng"},
}

// knownDiffs: capture → endpoints → label → why the counts differ, and
// which side is wrong. Empty: every capture agrees, with the decode-as options
// above. Without them tshark misses, besides the non-standard ports,
// the server's preface that sv-http2-multiple-headers.pcap sends before
// the client's (RFC 9113 §3.4 allows it): on port 80 tshark takes those
// bytes for HTTP/1.1 and counts one SETTINGS and one WINDOW_UPDATE
// fewer. The CONNECT tunnel in sv-http2-errorcode.pcap (through a proxy
// on 8888 to 6233) is decoded by both: tshark picks the tunnel's
// dissector by the CONNECT target's port.
var knownDiffs = map[string]pcaptest.Known{}

// frameNumbers are the type numbers of our named frame events.
var frameNumbers = map[decode.Type]int{
	TypeData: 0, TypeHeaders: 1, TypePriority: 2, TypeRSTStream: 3, TypeSettings: 4, TypePushPromise: 5,
	TypePing: 6, TypeGoAway: 7, TypeWindowUpdate: 8, TypeContinuation: 9,
}

// registry holds the HTTP/2 sniffer, a stand-in for decode/http1's
// Upgrade hand-off, and TLS decrypting into HTTP/2, in that order.
func registry(keys *keylog.Store) *decode.Registry {
	reg := &decode.Registry{}
	reg.Register(NewSniffer(Options{}))
	reg.Register(decode.Sniffer{Name: "http1-shim", Sniff: sniffH1, New: func() decode.StreamDecoder { return &h1Shim{} }})
	reg.Register(tlsmsg.NewSniffer(tlsmsg.Options{Keys: keys, Next: func() decode.StreamDecoder { return &lazyH2{} }}))
	return reg
}

// ourCounts counts frames through the timeline, with the capture's key
// log and Decryption Secrets Blocks.
func ourCounts(t *testing.T, path string) pcaptest.Counts {
	t.Helper()
	keys := &keylog.Store{}
	out := pcaptest.Counts{}
	pcaptest.Run(t, path, pcaptest.Options{Registry: registry(keys), Keys: keys}, func(ev *timeline.Event) {
		if ev.Conn == nil {
			return
		}
		ep := pcaptest.Endpoints(ev.Conn.Client.String(), ev.Conn.Server.String())
		if ev.Type == decode.TypeDecodeError || ev.Type == decode.TypeCapLimit {
			t.Logf("%s: %s", ep, line(ev.Event))
		}
		if ev.Layer != decode.LayerHTTP2 {
			return
		}
		typ := ""
		switch n, ok := frameNumbers[ev.Type]; {
		case ev.Type == TypePreface:
			out.Add(ep, "magic")
		case ok:
			typ = fmt.Sprint(n)
		case ev.Type != TypeExchange:
			typ = get(ev.Event, "frame_type")
		}
		if typ != "" {
			out.Add(ep, "type "+typ)
			out.Add(ep, fmt.Sprintf("stream %d type %s", ev.Stream, typ))
		}
	})
	return out
}

func tsharkCounts(t *testing.T, tshark, path string, c h2Capture) pcaptest.Counts {
	t.Helper()
	var args []string
	if k := pcaptest.KeyLogFile(path); k != "" {
		args = append(args, "-o", "tls.keylog_file:"+k)
	}
	for _, d := range c.decodeAs {
		args = append(args, "-d", d)
	}
	cs := pcaptest.Counts{}
	for _, r := range pcaptest.TsharkFields(t, tshark, path, args, "http2", "http2.type", "http2.magic", "http2.streamid") {
		ids := pcaptest.Values(r.Fields[2])
		for i, typ := range pcaptest.Values(r.Fields[0]) {
			cs.Add(r.Conn, "type "+typ)
			if i < len(ids) {
				cs.Add(r.Conn, "stream "+ids[i]+" type "+typ)
			}
		}
		for range pcaptest.Values(r.Fields[1]) {
			cs.Add(r.Conn, "magic")
		}
	}
	return cs
}

func TestTsharkHTTP2Counts(t *testing.T) {
	tshark := pcaptest.Tshark(t)
	for _, c := range h2Captures {
		name := filepath.Base(c.path)
		t.Run(name, func(t *testing.T) {
			path := pcaptest.Shared(t, c.path)
			ours := ourCounts(t, path)
			frames := 0
			for _, labels := range ours {
				for l, n := range labels {
					if strings.HasPrefix(l, "type ") {
						frames += n
					}
				}
			}
			if frames == 0 {
				t.Errorf("no HTTP/2 frames decoded")
			}
			t.Logf("%d frames", frames)
			pcaptest.CompareCounts(t, ours, tsharkCounts(t, tshark, path, c), knownDiffs[name])
		})
	}
}

// sniffH1 claims a client that starts with an HTTP/1.1 request line.
func sniffH1(dir decode.Dir, b []byte) decode.Verdict {
	if dir != decode.C2S {
		return decode.NeedMore
	}
	for _, m := range []string{"GET ", "POST ", "PUT ", "HEAD ", "OPTIONS ", "CONNECT ", "DELETE "} {
		n := min(len(b), len(m))
		if string(b[:n]) == m[:n] {
			if n < len(m) {
				return decode.NeedMore
			}
			return decode.Match
		}
	}
	return decode.NoMatch
}

// h1Shim stands in for decode/http1's Upgrade hand-off (built beside this
// package): it reads the first request and response heads and gives the
// rest of the connection to NewUpgraded after a 101 to h2c, or to a
// decoder after a 2xx to CONNECT when the client then sends the preface.
type h1Shim struct {
	handOff
	head [2][]byte
	done [2]bool
	held []step // bytes after a head, waiting for the other head
	at   decode.Position
	dead bool
}

func (h *h1Shim) Data(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) error {
	if h.next != nil {
		return h.next.Data(dir, data, at, emit)
	}
	if h.dead {
		return nil
	}
	i := dir.Index()
	if !h.done[i] {
		if dir == decode.C2S && len(h.head[i]) == 0 {
			h.at = at
		}
		old := len(h.head[i])
		h.head[i] = append(h.head[i], data...)
		end := bytes.Index(h.head[i], []byte("\r\n\r\n"))
		if end < 0 {
			if len(h.head[i]) > 64<<10 {
				h.dead = true
			}
			return nil
		}
		h.done[i] = true
		data = data[end+4-old:]
		h.head[i] = h.head[i][:end+4]
	}
	if len(data) > 0 {
		h.held = append(h.held, step{dir, bytes.Clone(data)})
	}
	if !h.done[0] || !h.done[1] {
		return nil
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(h.head[0])))
	if err != nil {
		h.dead = true
		return nil
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(h.head[1])), req)
	if err != nil {
		h.dead = true
		return nil
	}
	switch {
	case resp.StatusCode == 101 && strings.EqualFold(resp.Header.Get("Upgrade"), "h2c"):
		settings, _ := DecodeSettingsHeader(req.Header.Get("HTTP2-Settings"))
		h.next = NewUpgraded(Options{}, Upgraded{Settings: settings, Method: req.Method, Scheme: "http",
			Authority: req.Host, Path: req.URL.RequestURI(), At: h.at})
	case req.Method == "CONNECT" && resp.StatusCode/100 == 2:
		h.next = &lazyH2{}
	default:
		h.dead = true
		return nil
	}
	for _, st := range h.held {
		h.next.Data(st.dir, st.data, at, emit)
	}
	h.held = nil
	return nil
}

// handOff forwards Skip and End to the decoder a stand-in handed the
// connection to.
type handOff struct{ next decode.StreamDecoder }

func (h *handOff) Skip(dir decode.Dir, n uint64, at decode.Position, emit decode.Emit) {
	if h.next != nil {
		h.next.Skip(dir, n, at, emit)
	}
}

func (h *handOff) End(at decode.Position, emit decode.Emit) {
	if h.next != nil {
		h.next.End(at, emit)
	}
}

func (h *h1Shim) Summary() decode.Info {
	if s, ok := h.next.(decode.Summarizer); ok {
		return s.Summary()
	}
	return nil
}

// lazyH2 attaches a Decoder once the client's first bytes are the
// preface (TLS application data, a CONNECT tunnel); the server's bytes
// before that are held.
type lazyH2 struct {
	handOff
	no   bool
	c2s  []byte
	held []step
	at   []decode.Position
}

func (l *lazyH2) Data(dir decode.Dir, data []byte, at decode.Position, emit decode.Emit) error {
	if l.next != nil {
		return l.next.Data(dir, data, at, emit)
	}
	if l.no {
		return nil
	}
	if dir == decode.C2S {
		l.c2s = append(l.c2s, data...)
		switch sniff(decode.C2S, l.c2s) {
		case decode.NoMatch:
			l.no, l.held = true, nil
			return nil
		case decode.NeedMore:
			return nil
		}
		l.next = NewDecoder(Options{})
		l.next.Data(decode.C2S, l.c2s, at, emit)
		for i, st := range l.held {
			l.next.Data(st.dir, st.data, l.at[i], emit)
		}
		l.held, l.c2s = nil, nil
		return nil
	}
	if len(l.held) < 64 {
		l.held = append(l.held, step{dir, bytes.Clone(data)})
		l.at = append(l.at, at)
	}
	return nil
}
