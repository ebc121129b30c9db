package stack_test

import (
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// The tshark cross-check for HTTP inside decrypted TLS: every shared
// capture whose key log (or pcapng secrets) lets tshark see HTTP/1.x or
// HTTP/2 goes through the whole stack and through tshark with the same
// keys; per connection, the count of HTTP/1 requests and responses and of
// each HTTP/2 frame type must agree. (The plain-TCP HTTP captures are
// compared in decode/http1 and decode/h2.)

var tlsHTTPCaptures = []string{
	"tls/gopacket-test301-tls12-dsb.pcapng",
	"tls/tls12-wireshark-bug-dump.pcapng",
	"tls/tls12-wireshark-bug-dump-dsb.pcapng",
	"tls/tls13-cryptohack.pcapng",
	"tls/tls13-cryptohack-dsb.pcapng",
	"tls/zeek-tls-1.2-stream-keylog.pcap",
	"tls/zeek-tls12-decryption.pcap",
	"quic/chrome-cloudflare-quic-with-secrets.pcapng",
}

// knownDiffs: capture → connection endpoints → label → why.
var knownDiffs = map[string]pcaptest.Known{}

// h2Types names HTTP/2 frame types as the h2 decoder's events do.
var h2Types = []string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}

// unsupported marks a connection whose cipher suite wiretrace reported it
// does not decrypt (CAMELLIA, SEED, DES, export: docs/events.md); tshark
// does, so the HTTP inside is expected on its side only.
const unsupported = "keys unsupported"

func wiretraceCounts(t *testing.T, path string) pcaptest.Counts {
	keys := &keylog.Store{}
	reg := stack.Registry(stack.Options{Keys: keys})
	c := pcaptest.Counts{}
	pcaptest.Run(t, path, pcaptest.Options{Registry: reg, Keys: keys}, func(ev *timeline.Event) {
		if ev.Conn == nil {
			return
		}
		ep := pcaptest.Endpoints(ev.Conn.Client.String(), ev.Conn.Server.String())
		if ev.Layer == decode.LayerTLS && ev.Type == "keys" {
			if f, _ := ev.Info.Get("keys"); f.Str == "unsupported" {
				c.Add(ep, unsupported)
			}
		}
		switch ev.Layer {
		case decode.LayerHTTP1:
			if ev.Type == "request" || ev.Type == "response" {
				c.Add(ep, "http1 "+string(ev.Type))
			}
		case decode.LayerHTTP2:
			if ev.Type != "exchange" {
				c.Add(ep, "http2 "+string(ev.Type))
			}
		}
	})
	return c
}

func tsharkCounts(t *testing.T, tshark, path string) pcaptest.Counts {
	// Count message heads as they come: with body reassembly, tshark
	// shows a response whose body runs to the connection's close only
	// once the close is seen, and never when the TLS stream ends first.
	args := []string{"-o", "http.desegment_body:FALSE"}
	if k := pcaptest.KeyLogFile(path); k != "" {
		args = append(args, "-o", "tls.keylog_file:"+k)
	}
	c := pcaptest.Counts{}
	for _, r := range pcaptest.TsharkFields(t, tshark, path, args, "http || http2",
		"http.request", "http.response", "http2.type", "http2.magic") {
		// A packet may hold several messages: each field has a value
		// for each.
		for range pcaptest.Values(r.Fields[0]) {
			c.Add(r.Conn, "http1 request")
		}
		for range pcaptest.Values(r.Fields[1]) {
			c.Add(r.Conn, "http1 response")
		}
		for _, v := range pcaptest.Values(r.Fields[2]) {
			n, err := strconv.Atoi(v)
			name := "UNKNOWN"
			if err == nil && n >= 0 && n < len(h2Types) {
				name = h2Types[n]
			}
			c.Add(r.Conn, "http2 "+name)
		}
		for range pcaptest.Values(r.Fields[3]) {
			c.Add(r.Conn, "http2 PREFACE")
		}
	}
	return c
}

func TestTsharkHTTPInTLS(t *testing.T) {
	tshark := pcaptest.Tshark(t)
	for _, name := range tlsHTTPCaptures {
		t.Run(name, func(t *testing.T) {
			path := pcaptest.Shared(t, name)
			got, want := wiretraceCounts(t, path), tsharkCounts(t, tshark, path)
			total := 0
			for _, c := range want {
				for _, n := range c {
					total += n
				}
			}
			if total == 0 {
				t.Fatalf("tshark sees no HTTP in %s", name)
			}
			// A connection whose suite wiretrace does not decrypt has its
			// HTTP on tshark's side only.
			for ep, c := range got {
				if c[unsupported] == 0 {
					continue
				}
				delete(c, unsupported)
				for _, l := range slices.Sorted(maps.Keys(want[ep])) {
					if c[l] == 0 {
						t.Logf("%s %s: tshark %d, wiretrace reported the suite unsupported", ep, l, want[ep][l])
						delete(want[ep], l)
					}
				}
			}
			pcaptest.CompareCounts(t, got, want, knownDiffs[filepath.Base(name)])
		})
	}
}
