//go:build linux

package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/capture"
)

// TestMain lets the test binary stand in for gencap as the child process
// of the TLS scenarios that need another GODEBUG (os.Executable is the
// test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-tls-client" {
		if err := runTLSClientPeer(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestResponseLength(t *testing.T) {
	for _, total := range []int{4000, 20000, 50000, 65536, 2 << 20} {
		r := response(total)
		if len(r) != total {
			t.Errorf("response(%d): %d bytes", total, len(r))
		}
		h := headerLen(total)
		want := "Content-Length: " + strconv.Itoa(total-h) + "\r\n"
		if !bytes.Contains(r[:h], []byte(want)) {
			t.Errorf("response(%d): header %q; want it to announce the %d-byte body", total, r[:h], total-h)
		}
	}
	if got := len(request("/basic")); got != 85 {
		t.Errorf("request(/basic) is %d bytes; cmd/wiretrace's e2e tests expect 85", got)
	}
}

// TestGenerateUDP runs the quickest scenario end to end into a temporary
// directory: namespaces, peers, live capture, pcapng writer.
func TestGenerateUDP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	var udp scenario
	for _, s := range scenarios {
		if s.name == "udp-basic" {
			udp = s
		}
	}
	dir := t.TempDir()
	files, _, err := runScenario(udp, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].packets != 6 {
		t.Fatalf("files %+v; want one with 6 packets", files)
	}
	n, err := countPackets(filepath.Join(dir, "udp-basic.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("read back %d packets; want 6", n)
	}
}

// TestScenarioTable checks what the README and -only rely on: unique
// scenario and file names, a description each, and a key log for every
// TLS scenario.
func TestScenarioTable(t *testing.T) {
	names := map[string]bool{}
	files := map[string]bool{}
	for _, s := range scenarios {
		if names[s.name] {
			t.Errorf("scenario %q twice", s.name)
		}
		names[s.name] = true
		if len(s.desc) < 100 {
			t.Errorf("%s: desc %q is too short for the README", s.name, s.desc)
		}
		if len(s.outs) == 0 {
			t.Errorf("%s: no outputs", s.name)
		}
		for _, o := range s.outs {
			if files[o.name] {
				t.Errorf("%s: output %q twice", s.name, o.name)
			}
			files[o.name] = true
		}
		isTLS := strings.HasPrefix(s.name, "tls") || s.name == "h2-tls"
		isQUIC := strings.HasPrefix(s.name, "h3-")
		if s.name == "hostile" {
			continue // several ports and protocols; checked by its own test
		}
		if isTLS != (s.keys != noKeys && !isQUIC) || isTLS != strings.Contains(s.filter, strconv.Itoa(tlsPort)) {
			t.Errorf("%s: keys %v, filter %q; TLS scenarios (and only they) keep a key log and capture port %d", s.name, s.keys, s.filter, tlsPort)
		}
		if isQUIC && (s.keys != keysFile || s.filter != fmt.Sprintf("udp port %d", quicPort)) {
			t.Errorf("%s: keys %v, filter %q; QUIC scenarios keep a key log and captures UDP port %d", s.name, s.keys, s.filter, quicPort)
		}
		if s.keys == keysFile && !strings.Contains(s.desc, s.outs[0].name+".keys") {
			t.Errorf("%s: desc does not name the key log %s.keys", s.name, s.outs[0].name)
		}
		if isTLS && (!strings.Contains(s.desc, "Look for:") || !strings.Contains(s.desc, "round_trips_before_data")) {
			t.Errorf("%s: desc does not say what to look for, round_trips_before_data included", s.name)
		}
		// The HTTP and WebSocket scenarios: one connection from the
		// client's veth, counts to look for, the port in the desc.
		if isHTTP := strings.HasPrefix(s.name, "http1-") || strings.HasPrefix(s.name, "h2") || strings.HasPrefix(s.name, "ws-"); isHTTP {
			port := serverPort
			if isTLS {
				port = tlsPort
			}
			if s.filter != fmt.Sprintf("tcp port %d", port) || !strings.Contains(s.desc, fmt.Sprintf("198.18.2.2:%d", port)) || !strings.Contains(s.desc, "198.18.1.2:40000") {
				t.Errorf("%s: filter %q; want port %d, named in the desc with the client's address", s.name, s.filter, port)
			}
			if len(s.outs) != 1 || s.outs[0].at != atClient || s.delay != routerDelay {
				t.Errorf("%s: want one capture on the client's veth with the router delay", s.name)
			}
			if look := s.desc[strings.Index(s.desc, "Look for:")+1:]; !strings.Contains(s.desc, "Look for:") || !strings.ContainsAny(look, "0123456789") {
				t.Errorf("%s: desc does not say what to look for, with counts", s.name)
			}
		}
	}
}

// TestLogResumedTLS12 checks the key log line gencap adds for a resumed
// TLS 1.2 connection.
func TestLogResumedTLS12(t *testing.T) {
	random := bytes.Repeat([]byte{0xab}, 32)
	var kl bytes.Buffer
	if err := logResumedTLS12(&kl, random); err == nil {
		t.Error("empty key log: no error")
	}
	kl.WriteString("CLIENT_RANDOM 0101 aaaa\nCLIENT_HANDSHAKE_TRAFFIC_SECRET 0202 bbbb\nCLIENT_RANDOM 0303 cccc\n")
	if err := logResumedTLS12(&kl, random[:8]); err == nil {
		t.Error("short random: no error")
	}
	if err := logResumedTLS12(&kl, random); err != nil {
		t.Fatal(err)
	}
	want := "CLIENT_RANDOM " + strings.Repeat("ab", 32) + " cccc\n"
	if !strings.HasSuffix(kl.String(), "\n"+want) {
		t.Errorf("key log ends %q; want %q", kl.String()[kl.Len()-len(want):], want)
	}
}

// TestHelloConn checks that the ClientHello's random is picked out of the
// first handshake record, and nothing else is.
func TestHelloConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go io.Copy(io.Discard, b)
	h := &helloConn{Conn: a}
	hello := append([]byte{22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3}, bytes.Repeat([]byte{7}, 32)...)
	alert := append([]byte{21, 3, 3, 0, 2}, make([]byte, 40)...)
	for _, w := range [][]byte{alert, hello, append([]byte{22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3}, make([]byte, 32)...)} {
		if _, err := h.Write(w); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(h.random, bytes.Repeat([]byte{7}, 32)) {
		t.Errorf("random %x; want the first ClientHello's", h.random)
	}
}

// TestFirstPayloadFrom checks where the Decryption Secrets Block goes:
// before the first frame with payload from the server's port.
func TestFirstPayloadFrom(t *testing.T) {
	seg := func(sport, dport uint16, payload string) frame {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 1, 2}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 2, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{198, 18, 1, 2}, DstIP: net.IP{198, 18, 2, 2}}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), ACK: true, Window: 100}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		return frame{ts: time.Unix(0, 0), data: buf.Bytes(), origLen: len(buf.Bytes())}
	}
	frames := []frame{
		seg(tlsPort, 40000, ""),      // SYN-ACK or ACK
		seg(40000, tlsPort, "hello"), // ClientHello
		seg(tlsPort, 40000, ""),      // ACK
		seg(tlsPort, 40000, "sh"),    // ServerHello
		seg(tlsPort, 40000, "more"),
	}
	if got := firstPayloadFrom(frames, tlsPort); got != 3 {
		t.Errorf("firstPayloadFrom = %d; want 3", got)
	}
	if got := firstPayloadFrom(frames[:3], tlsPort); got != -1 {
		t.Errorf("no server payload: firstPayloadFrom = %d; want -1", got)
	}
}

// TestReadmeOnly writes a capture into a directory and checks that
// -readme-only's table lists it from the file alone.
func TestReadmeOnly(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	w, err := capture.NewPcapngWriter(&buf, layers.LinkTypeEthernet, "eth0", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		p := capture.Packet{Frame: int64(i + 1), TS: time.Unix(1, 0), LinkType: layers.LinkTypeEthernet, CapLen: 60, OrigLen: 60, Data: make([]byte, 60)}
		if err := w.WritePacket(&p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"udp-basic.pcapng", "tls13-full.pcapng", "not-a-scenario.pcapng"} {
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(dir, "README.md")
	if err := os.WriteFile(old, []byte("... an iptables NFQUEUE rule in the mangle ..."), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := filesPresent(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeReadme(old, files, readmeDelayHow(old)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	size := strconv.Itoa(buf.Len())
	for _, want := range []string{
		"| tls13-full.pcapng | client's eth0 | Ethernet | whole packets | 3 | " + size + " | tls13-full.keys |\n",
		"| udp-basic.pcapng | client's eth0 | Ethernet | whole packets | 3 | " + size + " |  |\n",
		"NFQUEUE rule",
		"### tls13-chacha-dsb.pcapng\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("README lacks %q", want)
		}
	}
	if bytes.Contains(b, []byte("not-a-scenario")) || bytes.Count(b, []byte(".pcapng | ")) != 2 {
		t.Errorf("README lists other files than the two scenarios' captures:\n%s", b)
	}
}

// TestGenerateTLS runs three TLS scenarios end to end and checks the
// captures for what their descriptions promise: the HelloRetryRequest's
// special random; both ClientHello randoms of a resumed TLS 1.2 pair in
// the key log, with one master secret; the ChaCha20 client run as a child
// process, its key log in a Decryption Secrets Block before the server's
// first data.
func TestGenerateTLS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	hrrRandom, _ := hex.DecodeString("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
	dir := t.TempDir()
	byName := map[string]scenario{}
	for _, s := range scenarios {
		byName[s.name] = s
	}
	for _, name := range []string{"tls13-hrr", "tls12-resumed", "tls13-chacha-dsb"} {
		if _, _, err := runScenario(byName[name], dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	if !bytes.Contains(read("tls13-hrr.pcapng"), hrrRandom) {
		t.Error("tls13-hrr.pcapng: no HelloRetryRequest random")
	}

	pcap, keys := read("tls12-resumed.pcapng"), strings.Fields(string(read("tls12-resumed.keys")))
	if len(keys) != 6 || keys[0] != "CLIENT_RANDOM" || keys[3] != "CLIENT_RANDOM" || keys[2] != keys[5] || keys[1] == keys[4] {
		t.Errorf("tls12-resumed.keys: %q; want two CLIENT_RANDOM lines, two randoms, one secret", keys)
	} else {
		for _, r := range []string{keys[1], keys[4]} {
			if b, _ := hex.DecodeString(r); !bytes.Contains(pcap, b) {
				t.Errorf("tls12-resumed.keys: random %s is not in the capture", r)
			}
		}
	}

	if _, err := os.Stat(filepath.Join(dir, "tls13-chacha-dsb.keys")); err == nil {
		t.Error("tls13-chacha-dsb.keys written; the key log belongs in the capture")
	}
	var log []string
	src, err := capture.OpenFile(filepath.Join(dir, "tls13-chacha-dsb.pcapng"), 0, capture.FileOptions{
		OnSecrets: func(typ uint32, data []byte) {
			log = append(log, fmt.Sprintf("secrets %08x %d lines", typ, bytes.Count(data, []byte("\n"))))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p capture.Packet
	for len(log) < 3 {
		if err := src.Next(&p); err != nil {
			t.Fatal(err)
		}
		pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
		if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && len(tcp.Payload) > 0 {
			log = append(log, fmt.Sprintf("payload from %d", tcp.SrcPort))
		}
	}
	// OnSecrets runs inside the Next that returns the packet after the
	// block, so the loop ends with that packet: the server's first data.
	want := fmt.Sprintf("payload from %d\nsecrets 544c534b 4 lines\npayload from %d", clientPortBase, tlsPort)
	if got := strings.Join(log, "\n"); got != want {
		t.Errorf("tls13-chacha-dsb.pcapng:\n%s\nwant:\n%s", got, want)
	}
}

// tcpStreams reassembles the TCP payload of a one-connection capture in
// each direction: from the client's port (c2s) and to it (s2c).
func tcpStreams(t *testing.T, path string) (c2s, s2c []byte) {
	t.Helper()
	src, err := capture.OpenFile(path, 0, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	type half struct {
		isn  uint32
		syn  bool
		data []byte
	}
	var dirs [2]half
	var p capture.Packet
	for {
		if err := src.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			continue
		}
		d := &dirs[1]
		if tcp.SrcPort == clientPortBase {
			d = &dirs[0]
		}
		if tcp.SYN {
			d.isn, d.syn = tcp.Seq+1, true
			continue
		}
		if !d.syn || len(tcp.Payload) == 0 {
			continue
		}
		off := int(tcp.Seq - d.isn)
		switch {
		case off > len(d.data):
			t.Fatalf("%s: frame %d: a gap of %d bytes", path, p.Frame, off-len(d.data))
		case off+len(tcp.Payload) > len(d.data): // new bytes; retransmissions add nothing
			d.data = append(d.data, tcp.Payload[len(d.data)-off:]...)
		}
	}
	return dirs[0].data, dirs[1].data
}

// h2Frames reads the HTTP/2 frames of one direction, from its first frame
// on, and counts them by type and stream ("HEADERS 1"), with the DATA
// bytes of each stream ("DATA bytes 1"), the GOAWAY's last stream and
// RST_STREAM's code, and the header fields named date.
func h2Frames(t *testing.T, b []byte) map[string]int {
	t.Helper()
	n := map[string]int{}
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("HTTP/2 frame %d: %v", len(n), err)
		}
		h := f.Header()
		n[h.Type.String()]++
		n[fmt.Sprintf("%v %d", h.Type, h.StreamID)]++
		switch f := f.(type) {
		case *http2.DataFrame:
			n[fmt.Sprintf("DATA bytes %d", f.StreamID)] += len(f.Data())
		case *http2.GoAwayFrame:
			n["GOAWAY last"] = int(f.LastStreamID)
			n["GOAWAY code"] = int(f.ErrCode)
		case *http2.RSTStreamFrame:
			n["RST_STREAM code"] = int(f.ErrCode)
		case *http2.MetaHeadersFrame:
			for _, hf := range f.Fields {
				if hf.Name == "date" {
					n["date"]++
				}
			}
		}
	}
}

// containsInOrder reports the first of needles not found in b after the
// previous one.
func containsInOrder(b []byte, needles ...string) (missing string, ok bool) {
	for _, s := range needles {
		i := bytes.Index(b, []byte(s))
		if i < 0 {
			return s, false
		}
		b = b[i+len(s):]
	}
	return "", true
}

// TestGenerateHTTP runs the HTTP and WebSocket scenarios end to end (their
// peers check what they received) and checks the captures for what the
// descriptions promise, from the bytes on the wire.
func TestGenerateHTTP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	byName := map[string]scenario{}
	for _, s := range scenarios {
		byName[s.name] = s
	}
	dir := t.TempDir()
	goAway := func(last uint32) string {
		return string([]byte{0, 0, 8, byte(http2.FrameGoAway), 0, 0, 0, 0, 0, 0, 0, 0, byte(last), 0, 0, 0, 0})
	}
	tests := []struct {
		name     string
		c2s, s2c []string // in this order, in each direction
		check    func(t *testing.T, c2s, s2c []byte)
	}{
		{
			name: "http1-keepalive",
			c2s:  []string{"GET /chunked HTTP/1.1\r\n", "GET /length ", "HEAD /head ", "POST /upload ", "Expect: 100-continue\r\n"},
			s2c: []string{"HTTP/1.1 200 OK\r\n", "Transfer-Encoding: chunked\r\n", "\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", "Content-Length: 6000\r\n",
				"HTTP/1.1 200 OK\r\n", "Content-Length: 12000\r\n", "\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"},
			check: func(t *testing.T, c2s, s2c []byte) {
				if bytes.Contains(s2c, []byte("Date:")) {
					t.Error("a Date header")
				}
				if n := bytes.Count(s2c, []byte("HTTP/1.1 ")); n != 5 {
					t.Errorf("%d status lines; want 5", n)
				}
			},
		},
		{
			name: "http1-pipelined",
			s2c:  []string{"Content-Length: 2000\r\n", "Content-Length: 5000\r\nContent-Type: text/plain\r\n\r\nHTTP/1.1 200 OK\r\n", "Connection: close\r\n"},
			check: func(t *testing.T, c2s, s2c []byte) {
				var all []byte
				for _, p := range pipelinedReqs {
					all = append(all, p.bytes()...)
				}
				if !bytes.Equal(c2s, all) {
					t.Errorf("client sent %q; want the three requests", c2s)
				}
			},
		},
		{
			name: "h2c-prior-knowledge",
			c2s:  []string{http2.ClientPreface},
			check: func(t *testing.T, c2s, s2c []byte) {
				c, s := h2Frames(t, c2s[len(http2.ClientPreface):]), h2Frames(t, s2c)
				for _, w := range []struct {
					m    map[string]int
					key  string
					want int
				}{
					{c, "HEADERS", 5}, {c, "RST_STREAM 3", 1}, {c, "RST_STREAM", 1}, {c, "RST_STREAM code", int(http2.ErrCodeCancel)},
					{c, "DATA bytes 7", h2Echo}, {c, "GOAWAY", 0}, {c, "SETTINGS", 2},
					{s, "HEADERS", 6}, {s, "HEADERS 5", 2}, {s, "GOAWAY", 1}, {s, "GOAWAY last", 9}, {s, "GOAWAY code", 0},
					{s, "DATA bytes 1", h2Large}, {s, "DATA bytes 3", h2Slow}, {s, "DATA bytes 5", h2Trailer},
					{s, "DATA bytes 7", h2Echo}, {s, "DATA bytes 9", h2Small}, {s, "RST_STREAM", 0}, {s, "SETTINGS", 2}, {s, "date", 0},
				} {
					if w.m[w.key] != w.want {
						t.Errorf("%s: %d; want %d", w.key, w.m[w.key], w.want)
					}
				}
				if c["WINDOW_UPDATE 1"] < 10 {
					t.Errorf("%d WINDOW_UPDATEs on stream 1; want the large answer paced by them", c["WINDOW_UPDATE 1"])
				}
				t.Logf("client frames %v", c)
				t.Logf("server frames %v", s)
			},
		},
		{
			name: "h2c-upgrade",
			c2s:  []string{"GET /upgrade HTTP/1.1\r\n", "Upgrade: h2c\r\nHTTP2-Settings: AAIAAAAAAAQAEAAA\r\n\r\n" + http2.ClientPreface, goAway(0)},
			s2c:  []string{"HTTP/1.1 101 Switching Protocols\r\n", goAway(3)},
			check: func(t *testing.T, c2s, s2c []byte) {
				c := h2Frames(t, c2s[bytes.Index(c2s, []byte(http2.ClientPreface))+len(http2.ClientPreface):])
				s := h2Frames(t, s2c[bytes.Index(s2c, []byte("\r\n\r\n"))+4:])
				if c["HEADERS 3"] != 1 || c["HEADERS"] != 1 || c["GOAWAY"] != 1 || s["GOAWAY"] != 1 || s["GOAWAY last"] != 3 || s["HEADERS 1"] != 1 || s["HEADERS 3"] != 1 ||
					s["DATA bytes 1"] != h2cUpgradeBody || s["DATA bytes 3"] != h2cSecondBody || s["date"] != 0 {
					t.Errorf("client frames %v, server frames %v", c, s)
				}
			},
		},
		{
			name: "h2-tls",
			c2s:  []string{"\x02h2\x08http/1.1"}, // the ClientHello's ALPN list
			check: func(t *testing.T, c2s, s2c []byte) {
				// The key log: TLS 1.3's four secrets for this
				// connection's ClientHello random.
				keys, err := os.ReadFile(filepath.Join(dir, "h2-tls.keys"))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(keys)), "\n")
				if len(lines) != 4 {
					t.Fatalf("h2-tls.keys: %d lines; want 4", len(lines))
				}
				for _, l := range lines {
					f := strings.Fields(l)
					random, err := hex.DecodeString(f[1])
					if len(f) != 3 || err != nil || !bytes.Contains(c2s, random) {
						t.Errorf("h2-tls.keys: line %q: not a secret for this connection's ClientHello", l)
					}
				}
			},
		},
		{
			name: "ws-basic",
			c2s:  []string{"GET /ws HTTP/1.1\r\n", "Upgrade: websocket\r\n"},
			s2c: []string{"HTTP/1.1 101 Switching Protocols\r\n", "Sec-Websocket-Accept: ",
				"\x81\x15hello from the client", "\x82\x7e\x01\x00", "\x81\x1bfragmented: one, two, three", "\x8a\x011", "\x88\x06\x03\xe8done"},
			check: func(t *testing.T, c2s, s2c []byte) {
				if bytes.Contains(c2s, []byte("Sec-WebSocket-Extensions")) || bytes.Contains(s2c, []byte("Sec-WebSocket-Extensions")) {
					t.Error("an extension header")
				}
			},
		},
		{
			name: "ws-deflate",
			c2s:  []string{"Sec-Websocket-Extensions: permessage-deflate\r\n"},
			s2c:  []string{"Sec-Websocket-Extensions: permessage-deflate\r\n", "\x81\x15hello from the client", "\xc1\x7e", "\xc2\x7e", "\xc1\x7e", "\x8a\x011", "\x88\x06\x03\xe8done"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := runScenario(byName[tt.name], dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.name+".pcapng")
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > 400<<10 {
				t.Errorf("%d bytes; keep captures small", st.Size())
			}
			c2s, s2c := tcpStreams(t, path)
			if s, ok := containsInOrder(c2s, tt.c2s...); !ok {
				t.Errorf("client to server: no %q (in order)", s)
			}
			if s, ok := containsInOrder(s2c, tt.s2c...); !ok {
				t.Errorf("server to client: no %q (in order)", s)
			}
			if tt.check != nil {
				tt.check(t, c2s, s2c)
			}
		})
	}
}
