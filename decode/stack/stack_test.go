package stack_test

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// layersOf runs a capture through the stack and returns, for connection
// conn, the layers its events came from (in order of first appearance)
// and its summary's protocol.
func layersOf(t *testing.T, path string, conn int) (layers, protocol string) {
	t.Helper()
	keys := &keylog.Store{}
	reg := stack.Registry(stack.Options{Keys: keys})
	seen := map[decode.Layer]bool{}
	var order []string
	pcaptest.Run(t, path, pcaptest.Options{Registry: reg, Keys: keys}, func(ev *timeline.Event) {
		if ev.Conn == nil || ev.Conn.ID != conn {
			return
		}
		if ev.Type == decode.TypeDecodeError {
			t.Errorf("decode error: %v", ev.Info)
		}
		if ev.Type == decode.TypeSummary {
			f, _ := ev.Info.Get("protocol")
			protocol = f.Str
			return
		}
		if ev.Layer != decode.LayerAnalysis && !seen[ev.Layer] {
			seen[ev.Layer] = true
			order = append(order, ev.Layer.String())
		}
	})
	return strings.Join(order, ","), protocol
}

// TestStack checks that each way HTTP reaches a connection ends at the
// right decoders: prior knowledge, h2c upgrade, HTTP/1.1, and HTTP inside
// decrypted TLS.
func TestStack(t *testing.T) {
	tests := []struct {
		file           string
		conn           int
		layers, protoc string
	}{
		{"shared:http2/sv-http2-multiple-headers.pcap", 1, "tcp,http2", "http2"},
		{"shared:http2/sv-http2-deflate.pcap", 1, "tcp,http1,http2", "http1/http2"},
		{"shared:tcp/zeek-http-vlan-0.pcap", 1, "tcp,http1", "http1"},
		{"shared:websocket/sv-websocket-compressed.pcap", 1, "tcp,http1,ws", "http1/ws"},
		{"project:tls13-full.pcapng", 1, "tcp,tls,http1", "tls/http1"},
		{"project:tls12-resumed.pcapng", 2, "tcp,tls,http1", "tls/http1"},
		{"project:tls13-chacha-dsb.pcapng", 1, "tcp,tls,http1", "tls/http1"},
		{"project:tcp-basic.pcapng", 1, "tcp,http1", "http1"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			where, name, _ := strings.Cut(tt.file, ":")
			path := pcaptest.Project(name)
			if where == "shared" {
				path = pcaptest.Shared(t, name)
			}
			layers, protocol := layersOf(t, path, tt.conn)
			if layers != tt.layers || protocol != tt.protoc {
				t.Errorf("layers %q, protocol %q; want %q, %q", layers, protocol, tt.layers, tt.protoc)
			}
		})
	}
}

// tlsClientHello returns the first flight of a real crypto/tls client.
func tlsClientHello(t *testing.T) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tc := tls.Client(c, &tls.Config{ServerName: "tunnel.test", InsecureSkipVerify: true})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		tc.Handshake() // fails when the pipe closes
		c.Close()
	}()
	buf := make([]byte, 4096)
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// TestConnectTunnel: after a CONNECT and its 200, the tunnel's bytes are
// sniffed again, and a TLS ClientHello inside is decoded as such.
func TestConnectTunnel(t *testing.T) {
	reg := stack.Registry(stack.Options{})
	req := []byte("CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test:443\r\n\r\n")
	v, sn := reg.Sniff(decode.C2S, req)
	if v != decode.Match || sn.Name != "http1" {
		t.Fatalf("sniff: %v %v", v, sn)
	}
	dec := sn.New()
	var got []string
	emit := func(e decode.Event) {
		got = append(got, e.Layer.String()+" "+string(e.Type))
		if e.Type == decode.TypeDecodeError {
			t.Errorf("decode error: %v", e.Info)
		}
	}
	at := decode.Position{Frame: 1, TS: time.Unix(1, 0)}
	steps := []struct {
		dir  decode.Dir
		data []byte
	}{
		{decode.C2S, req},
		{decode.S2C, []byte("HTTP/1.1 200 Connection established\r\n\r\n")},
		{decode.C2S, tlsClientHello(t)},
	}
	for _, st := range steps {
		if err := dec.Data(st.dir, st.data, at, emit); err != nil {
			t.Fatal(err)
		}
		at.Frame++
	}
	dec.End(at, emit)
	all := strings.Join(got, ", ")
	if !strings.Contains(all, "http1 request") || !strings.Contains(all, "tls ClientHello") {
		t.Errorf("events: %s; want an http1 request then a tls ClientHello", all)
	}
	if sum, ok := dec.(decode.Summarizer); ok {
		t.Logf("summary: %v", sum.Summary())
	}
}
