package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCapFlags lowers each decoder cap far enough for a project capture
// to hit it and checks the conn/cap-limit event that says so.
func TestCapFlags(t *testing.T) {
	tests := []struct {
		capture string
		flag    string
		decoder string
		cap     string
	}{
		{"tls12-full", "--max-tls-handshake=200", "tls", "handshake_message"},
		{"h2-tls", "--max-header-list=20", "http2", "header_list_size"},
		{"h3-quic", "--max-header-list=20", "http3", ""},
		{"http1-keepalive", "--max-http1-head=40", "http1", "header_bytes"},
		{"ws-deflate", "--max-ws-message=1000", "ws", ""},
	}
	for _, tt := range tests {
		t.Run(tt.capture+" "+tt.flag, func(t *testing.T) {
			pcap := filepath.Join(e2ePcapDir, tt.capture+".pcapng")
			args := []string{"pcap", pcap, "--format", "json", tt.flag}
			if k := filepath.Join(e2ePcapDir, tt.capture+".keys"); fileExists(k) {
				args = append(args, "--keylog", k)
			}
			r := e2eRun(t, nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var caps []string
			for _, ev := range e2eParseEvents(t, r.stdout) {
				if ev.Type == "cap-limit" && ev.Info["decoder"] == tt.decoder {
					caps = append(caps, ev.Info["cap"].(string))
				}
			}
			if len(caps) == 0 || tt.cap != "" && caps[0] != tt.cap {
				t.Errorf("cap-limit events of %s: %v; want %q", tt.decoder, caps, tt.cap)
			}
			// Without the flag: none.
			r = e2eRun(t, nil, args[:4]...)
			if strings.Contains(r.stdout, `"cap-limit"`) {
				t.Errorf("a cap-limit event with the default caps")
			}
		})
	}
}
