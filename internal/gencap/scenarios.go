//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"

	"github.com/wiretrace/wiretrace/internal/netns"
)

// Ports. The client binds fixed ports too, so reruns differ only in what
// the kernel picks (ISNs, timestamp offsets) and in timing.
const (
	serverPort     = 8080
	closedPort     = 8081
	udpServerPort  = 40123
	tlsPort        = 8443
	clientPortBase = 40000

	// routerDelay is the router's delay toward the client (an RTT of
	// about 10 ms), in every scenario but tcp-zero-window.
	routerDelay = 10 * time.Millisecond

	// peerTimeout bounds every connection of a scenario.
	peerTimeout = 30 * time.Second
)

// side is where a capture is taken: the client's or the server's veth,
// inside that host's namespace.
type side int

const (
	atClient side = iota
	atServer
)

func (s side) String() string {
	if s == atServer {
		return "server"
	}
	return "client"
}

// output is one capture file of a scenario.
type output struct {
	name string // file name without extension
	at   side
}

type scenario struct {
	name string
	// desc is the README paragraph: what the peers did, where it was
	// captured, what to look for.
	desc    string
	delay   time.Duration // router delay toward the client; 0: none
	router  func(r *netns.Router) error
	filter  string
	snaplen int // 0: whole packets
	ring    int // the capture's kernel ring in bytes; 0: the default
	outs    []output
	// variants: also write the classic-pcap link-type variants.
	variants bool
	// keys is where a TLS scenario saves the key log its client wrote to
	// env.keylog.
	keys keyLog
	run  func(e *env) error
}

// keyLog is where a scenario saves the TLS client's NSS key log.
type keyLog int

const (
	noKeys   keyLog = iota
	keysFile        // NAME.keys beside each capture
	keysDSB         // a Decryption Secrets Block inside each capture
)

// fileName is what the README's key log column says for capture out.
func (k keyLog) fileName(out string) string {
	switch k {
	case keysFile:
		return out + ".keys"
	case keysDSB:
		return "DSB"
	}
	return ""
}

var scenarios = []scenario{
	{
		name:     "tcp-basic",
		desc:     `The client (198.18.1.2:40000) connects to the server (198.18.2.2:8080), sends one HTTP/1.1 GET request, and the server answers with exactly 20000 bytes (an HTTP header and a text body of numbered 64-byte lines). The client reads all 20000 bytes and closes first; the server sees EOF and closes too, so there is a FIN each way (client's first). Captured on the client's veth; the router delays packets toward the client by 10 ms. Look for: SYN, SYN-ACK, ACK, one round trip before the first data byte, handshake RTT ≈ 10 ms, bytes_s2c = 20000, close by FIN from the client.`,
		delay:    routerDelay,
		filter:   fmt.Sprintf("tcp port %d", serverPort),
		outs:     []output{{"tcp-basic", atClient}},
		variants: true,
		run:      func(e *env) error { return basic(e, false) },
	},
	{
		name:   "tcp-basic-ipv6",
		desc:   `tcp-basic over IPv6: [2001:db8:1::2]:40000 to [2001:db8:2::2]:8080, the same request, the same 20000-byte answer, the client closes first. Captured on the client's veth, 10 ms router delay toward the client. Look for: the same timeline as tcp-basic with IPv6 endpoints (MSS 1440 instead of 1460).`,
		delay:  routerDelay,
		filter: fmt.Sprintf("tcp port %d", serverPort),
		outs:   []output{{"tcp-basic-ipv6", atClient}},
		run:    func(e *env) error { return basic(e, true) },
	},
	{
		name:   "tcp-refused",
		desc:   `The client connects to 198.18.2.2:8081, where nothing listens; the server's kernel answers the SYN with RST-ACK and connect fails with ECONNREFUSED. Captured on the client's veth, 10 ms router delay toward the client. Look for: a SYN then an RST (refused), no handshake, close=refused.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("tcp port %d", closedPort),
		outs:   []output{{"tcp-refused", atClient}},
		run:    refused,
	},
	{
		name:   "tcp-reset",
		desc:   `The client sends a request; the server announces a 65536-byte body (Content-Length) but writes only the header and 8000 bytes of it, waits 50 ms, then aborts the connection (SetLinger(0) and Close), so its kernel sends RST instead of FIN. The client reads the partial answer and then gets ECONNRESET. Captured on the client's veth, 10 ms router delay toward the client. Look for: a normal handshake and data, then an RST from the server, no FINs, close by reset.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("tcp port %d", serverPort),
		outs:   []output{{"tcp-reset", atClient}},
		run:    reset,
	},
	{
		name:   "tcp-half-close",
		desc:   `The client sends its request and at once shuts down its sending side (CloseWrite: FIN). The server reads the request and waits for that EOF, then sends exactly 50000 bytes on the half-open connection, then closes (FIN). The client reads to EOF and closes. Captured on the client's veth, 10 ms router delay toward the client. Look for: the client's FIN before any response byte, 50000 bytes server to client after it (half_close), then the server's FIN.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("tcp port %d", serverPort),
		outs:   []output{{"tcp-half-close", atClient}},
		run:    halfClose,
	},
	{
		name:    "tcp-zero-window",
		desc:    `The client sets SO_RCVBUF to 4096 bytes before connecting (the kernel doubles it; the window scale stays small), asks for a 2 MiB answer, reads the first 64 KiB, stops reading for 300 ms, reads on up to 1 MiB, stops for 300 ms again, then drains the rest as fast as it can. The server writes all 2 MiB at once and closes after the last byte. No router delay (a LAN). Captured on the client's veth with snaplen 200, so data packets are cut after their TCP header and part of the payload. Look for: twice, the advertised window shrinking to zero, a zero-window probe from the server about 200 ms later (Linux probes with an empty segment one below the next sequence number, which Wireshark calls a keep-alive) answered by another zero window, and a window update when the client reads again; data packets truncated by the snaplen.`,
		filter:  fmt.Sprintf("tcp port %d", serverPort),
		snaplen: 200,
		outs:    []output{{"tcp-zero-window", atClient}},
		run:     zeroWindow,
	},
	{
		name:   "tcp-keepalive",
		desc:   `The client connects with TCP keep-alive on (idle 1 s, interval 1 s: TCP_KEEPIDLE, TCP_KEEPINTVL) and sends nothing for 3.5 s, then closes; the server has keep-alive off and only answers. Captured on the client's veth, 10 ms router delay toward the client. Look for: three keep-alive probes from the client (an ACK whose sequence number is one below the next byte, about 1 s apart) each answered by the server's keep-alive ACK, then the FIN exchange.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("tcp port %d", serverPort),
		outs:   []output{{"tcp-keepalive", atClient}},
		run:    keepAlive,
	},
	{
		name:  "tcp-loss",
		desc:  `The client asks for a 2 MiB answer through the router, whose iptables drops a fixed share of the server's data segments: ` + "`iptables -A FORWARD -i r-srv -o r-cli -p tcp --sport 8080 -m length --length 100:65535 -m statistic --mode nth --every 40 --packet 5 -j DROP`" + ` (one in every 40 such packets, retransmissions included), with 10 ms delay toward the client. The client reads everything and closes first. The same connection is captured twice at once, snaplen 200: tcp-loss-receiver.pcapng on the client's veth (the receiver: gaps in the sequence space, duplicate ACKs with SACK blocks, retransmissions filling the gaps, head-of-line stalls while data waits behind a hole) and tcp-loss-sender.pcapng on the server's veth (the sender: every segment appears, the original and later its retransmission; nothing is missing there).`,
		delay: routerDelay,
		router: func(r *netns.Router) error {
			return r.IPTables("-A", "FORWARD", "-i", r.ServerIface, "-o", r.ClientIface,
				"-p", "tcp", "--sport", fmt.Sprint(serverPort), "-m", "length", "--length", "100:65535",
				"-m", "statistic", "--mode", "nth", "--every", "40", "--packet", "5", "-j", "DROP")
		},
		filter:  fmt.Sprintf("tcp port %d", serverPort),
		snaplen: 200,
		outs:    []output{{"tcp-loss-receiver", atClient}, {"tcp-loss-sender", atServer}},
		run:     loss,
	},
	{
		name:   "tcp-pipelined",
		desc:   `One client opens three connections 25 ms apart, from ports 40000, 40001 and 40002 to 198.18.2.2:8080; each sends a request, the server thinks for 60 ms and answers 4000, 8000 and 12000 bytes respectively, the client reads the answer and closes first. The connections overlap in time. Captured on the client's veth, 10 ms router delay toward the client. Look for: three connections (conn 1, 2, 3) interleaved in one file, each with its own handshake, data and FINs.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("tcp port %d", serverPort),
		outs:   []output{{"tcp-pipelined", atClient}},
		run:    pipelined,
	},
	{
		name:   "udp-basic",
		desc:   `The client (198.18.1.2:40000) sends three UDP datagrams "ping N" 30 ms apart to 198.18.2.2:40123; the server answers each with a 100-byte "pong N" datagram. Captured on the client's veth, 10 ms router delay toward the client. Look for: one UDP flow with three requests and three responses.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("udp port %d", udpServerPort),
		outs:   []output{{"udp-basic", atClient}},
		run:    udpBasic,
	},
	tlsEntry("tls13-full", keysFile, `The client (198.18.1.2:40000) connects to the server (198.18.2.2:8443) with Go's crypto/tls, both limited to TLS 1.3; the client offers the X25519 group alone (one key share) and has no session cache. `+tlsDesc+` They agree on TLS_AES_128_GCM_SHA256 in a full handshake with no NewSessionTicket. `+tlsExchangeDesc+` The client's key log is tls13-full.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: ClientHello, ServerHello (key_share x25519), the middlebox-compatibility ChangeCipherSpec records, then (decrypted) EncryptedExtensions (alpn http/1.1), Certificate, CertificateVerify and Finished from the server and Finished from the client; round_trips_before_data 2; the GET and the 4000-byte answer in application data; a close_notify alert from the client.`, tlsScenario{
		Server: tlsPeer{Version: tls.VersionTLS13},
		Client: tlsClient{tlsPeer: tlsPeer{Version: tls.VersionTLS13, Curves: []tls.CurveID{tls.X25519}},
			Path: "/tls13-full", Conns: 1, WantSuite: tls.TLS_AES_128_GCM_SHA256, WantCurve: tls.X25519},
	}),
	tlsEntry("tls13-hrr", keysFile, `As tls13-full, but the client offers X25519 and P-256 and sends a key share for X25519 only, while the server accepts P-256 alone (CurvePreferences), so the server answers the first ClientHello with a HelloRetryRequest selecting secp256r1 (then, in a segment of its own, a ChangeCipherSpec); the client sends a ChangeCipherSpec and a second ClientHello with a P-256 key share and the handshake goes on as a full one (TLS_AES_128_GCM_SHA256). The client's key log is tls13-hrr.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: ClientHello (key_share x25519), a HelloRetryRequest (key_share secp256r1), a second ClientHello (key_share secp256r1), ServerHello, the encrypted server flight; round_trips_before_data 3.`, tlsScenario{
		Server: tlsPeer{Version: tls.VersionTLS13, Curves: []tls.CurveID{tls.CurveP256}},
		Client: tlsClient{tlsPeer: tlsPeer{Version: tls.VersionTLS13, Curves: []tls.CurveID{tls.X25519, tls.CurveP256}},
			Path: "/tls13-hrr", Conns: 1, WantSuite: tls.TLS_AES_128_GCM_SHA256, WantCurve: tls.CurveP256},
	}),
	tlsEntry("tls13-resumed", keysFile, `Two TLS 1.3 connections in a row, each as in tls13-full, 50 ms apart, from client ports 40000 and 40001, with one client session cache. The first is a full handshake; because the client offers psk_dhe_ke, the server sends a NewSessionTicket after its Finished. The second offers that ticket (pre_shared_key, with a fresh X25519 key share) and the server accepts it: its ServerHello has pre_shared_key (identity 0) and key_share, and there is no Certificate or CertificateVerify; the server sends another NewSessionTicket after its Finished. The client's key log (both connections) is tls13-resumed.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: two connections; a NewSessionTicket on the first; on the second, psk_identities 1 in the ClientHello, pre_shared_key in the ServerHello, then EncryptedExtensions, Finished and NewSessionTicket only; round_trips_before_data 2 on both.`, tlsScenario{
		Server: tlsPeer{Version: tls.VersionTLS13},
		Client: tlsClient{tlsPeer: tlsPeer{Version: tls.VersionTLS13, Curves: []tls.CurveID{tls.X25519}},
			Path: "/tls13-resumed", Conns: 2, Cache: true, WantSuite: tls.TLS_AES_128_GCM_SHA256, WantCurve: tls.X25519},
	}),
	tlsEntry("tls12-full", keysFile, `The client (198.18.1.2:40000) connects to the server (198.18.2.2:8443), both limited to TLS 1.2; the client offers TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 alone and the X25519 group, and has a session cache, so it sends an empty session_ticket extension. `+tlsDesc+` Full handshake: ServerHello (empty session ID; session_ticket, renegotiation_info, extended_master_secret, alpn, ec_point_formats, server_name), Certificate, ServerKeyExchange (x25519), ServerHelloDone; ClientKeyExchange, ChangeCipherSpec, Finished; NewSessionTicket, ChangeCipherSpec, Finished. `+tlsExchangeDesc+` The client's key log (one CLIENT_RANDOM line) is tls12-full.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: the TLS 1.2 full handshake above, round_trips_before_data 3, the encrypted Finished messages and (with the key log) the GET and the 4000-byte answer.`, tlsScenario{
		Server: tlsPeer{Version: tls.VersionTLS12},
		Client: tlsClient{tlsPeer: tlsPeer{Version: tls.VersionTLS12, Curves: []tls.CurveID{tls.X25519}, Suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			Path: "/tls12-full", Conns: 1, Cache: true, WantSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, WantCurve: tls.X25519},
	}),
	tlsEntry("tls12-resumed", keysFile, `Two TLS 1.2 connections in a row, each as in tls12-full, 50 ms apart, from client ports 40000 and 40001, with one client session cache. The first is a full handshake ending in a NewSessionTicket. The second sends that ticket in its ClientHello's session_ticket extension (ticket_len > 0, with a fresh session ID) and the server resumes it with the abbreviated handshake: ServerHello echoing the session ID, NewSessionTicket, ChangeCipherSpec, Finished; then the client's ChangeCipherSpec and Finished, and at once its request. crypto/tls writes a key log line for full TLS 1.2 handshakes only, so gencap adds the resumed connection's: its ClientHello random with the session's master secret (resumption keeps it). tls12-resumed.keys holds both lines. Captured on the client's veth, 10 ms router delay toward the client. Look for: two connections; the second with no Certificate, ServerKeyExchange or ClientKeyExchange; round_trips_before_data 3 then 2; both decrypted with the key log.`, tlsScenario{
		Server: tlsPeer{Version: tls.VersionTLS12},
		Client: tlsClient{tlsPeer: tlsPeer{Version: tls.VersionTLS12, Curves: []tls.CurveID{tls.X25519}, Suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			Path: "/tls12-resumed", Conns: 2, Cache: true, WantSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, WantCurve: tls.X25519},
	}),
	tlsEntry("tls13-chacha-dsb", keysDSB, `As tls13-full, but with TLS_CHACHA20_POLY1305_SHA256, and the key log inside the capture. TLS 1.3 has no cipher suite setting in crypto/tls, which lists ChaCha20-Poly1305 first only on machines without AES hardware; so the client runs as a child process (gencap -tls-client) with GODEBUG=cpu.aes=off, lists TLS_CHACHA20_POLY1305_SHA256 first, and the server, seeing a client that does not prefer AES-GCM, picks it. The client's key log is not in a file: it is a pcapng Decryption Secrets Block (secrets type 0x544c534b "TLSK") written just before the first packet that needs it, the server's first data segment (ServerHello and the encrypted rest of its flight), after the TCP handshake and the ClientHello. Captured on the client's veth, 10 ms router delay toward the client. Look for: cipher_suite TLS_CHACHA20_POLY1305_SHA256 (the client's cipher_suites list it first), round_trips_before_data 2, and everything decrypted with no --keylog: the secrets come from the file.`, tlsScenario{
		Server: tlsPeer{Version: tls.VersionTLS13},
		Client: tlsClient{tlsPeer: tlsPeer{Version: tls.VersionTLS13, Curves: []tls.CurveID{tls.X25519}},
			Path: "/tls13-chacha-dsb", Conns: 1, WantSuite: tls.TLS_CHACHA20_POLY1305_SHA256, WantCurve: tls.X25519},
		godebug: "cpu.aes=off",
	}),
	httpEntry("http1-keepalive", serverPort, `The client (198.18.1.2:40000, Go's net/http Transport) makes one keep-alive connection to a net/http server (198.18.2.2:8080) and sends four requests on it, each after the previous answer: GET /chunked, answered 200 with Transfer-Encoding: chunked (the handler writes and flushes 1000 bytes three times, 10 ms apart: three chunks, then the last, empty one); GET /length, answered 200 with Content-Length: 6000; HEAD /head, answered 200 with Content-Length: 12000 and no body; POST /upload with Content-Length: 512 and Expect: 100-continue: the client sends the header alone, the server answers HTTP/1.1 100 Continue when its handler reads the body, the client sends the 512 bytes and the server answers 201 Created ("stored 512 bytes"). The server sends no Date header. Then the client closes the idle connection first (FIN) and the server follows. Captured on the client's veth, 10 ms router delay toward the client. Look for: one connection with 4 requests (GET, GET, HEAD, POST) and 5 responses (200, 200, 200, 100, 201) matched in order; the chunked body of 3000 bytes; the HEAD answer ending at its header although it announces 12000 bytes; the 100 Continue as an interim answer before the POST's body; close by FIN from the client.`, http1KeepAlive),
	httpEntry("http1-pipelined", serverPort, `A raw client (198.18.1.2:40000) writes three HTTP/1.1 requests in one write, so they leave in a single segment before any answer: GET /pipelined/1, HEAD /pipelined/2, and GET /pipelined/3 with Connection: close. Go's net/http server (198.18.2.2:8080) takes them from its buffer and answers one at a time, each handler thinking 20 ms: 200 with Content-Length: 2000 and the body; 200 with Content-Length: 5000 and no body (HEAD); 200 with Content-Length: 3000, Connection: close and the body. After the last answer the server closes first (FIN); the client reads to EOF and closes. Captured on the client's veth, 10 ms router delay toward the client. Look for: 3 requests in one packet and 3 responses (200, 200, 200) matched to them in order, the second without a body because its request was HEAD; Connection: close on the last; the server's FIN first. tshark 4.0 shows only the first response: it takes the HEAD answer's Content-Length for a body and swallows the third answer into it.`, http1Pipelined),
	httpEntry("h2c-prior-knowledge", serverPort, `HTTP/2 on plain TCP with prior knowledge (no Upgrade). The client (198.18.1.2:40000) is golang.org/x/net/http2's Transport (AllowHTTP, a ClientConn made by Transport.NewClientConn on a plain TCP connection) with a stream receive window of 65535 bytes and a connection window of 1 MiB; the server (198.18.2.2:8080) is an http2.Server serving the connection (ServeConn). The client's first segment holds the preface, SETTINGS and a WINDOW_UPDATE on stream 0. Then five requests go out together, each started when the previous one's HEADERS are written, so that the streams are in this order: stream 1 GET /h2/large (a 262144-byte body, four times the stream window, sent in DATA frames paced by the client's WINDOW_UPDATEs on stream 1 and stream 0); stream 3 GET /h2/slow (the server sends HEADERS and 1000 bytes of DATA, then waits; the client reads them and cancels the request: RST_STREAM CANCEL on stream 3); stream 5 GET /h2/trailers (a 2000-byte body, then a trailer HEADERS frame with END_STREAM carrying x-body-lines: 32); stream 7 POST /h2/echo (HEADERS, then 1000 bytes of DATA with END_STREAM, echoed back); stream 9 GET /h2/small (500 bytes). When all are done the server shuts down gracefully (http.Server.Shutdown, wired to the http2.Server by http2.ConfigureServer): GOAWAY NO_ERROR, last stream 9; the client, seeing it, closes first (FIN). The server sends no Date header. Captured on the client's veth, 10 ms router delay toward the client. Look for: one connection; client streams 1, 3, 5, 7, 9; 5 requests and 5 responses, all 200; HEADERS 5 from the client and 6 from the server (one is the trailers); one RST_STREAM (CANCEL, stream 3, client); one GOAWAY (server, last stream 9); SETTINGS and SETTINGS ACK each way; dozens of WINDOW_UPDATEs from the client; stream 1's DATA adding up to 262144 bytes.`, h2cPriorKnowledge),
	httpEntry("h2c-upgrade", serverPort, `HTTP/2 by Upgrade on plain TCP (RFC 7540 section 3.2). The server (198.18.2.2:8080) is net/http with golang.org/x/net/http2/h2c's handler; the client (198.18.1.2:40000) is written in gencap with x/net's http2.Framer and hpack.Encoder, as no Go library does the upgrading client's side. The client sends GET /upgrade HTTP/1.1 with Connection: Upgrade, HTTP2-Settings, Upgrade: h2c and HTTP2-Settings (base64url of SETTINGS_ENABLE_PUSH 0 and SETTINGS_INITIAL_WINDOW_SIZE 1048576); the server answers HTTP/1.1 101 Switching Protocols (Connection: Upgrade, Upgrade: h2c) and then its SETTINGS. The client sends the preface and its SETTINGS in one segment, acknowledges the server's SETTINGS, and reads the answer to the upgraded request on stream 1 (HEADERS 200, 4000 bytes of DATA): stream 1 was opened by the Upgrade, half-closed on the client's side, and has no HEADERS from the client. Then it sends GET /second on stream 3 (one HEADERS frame with END_STREAM) and reads its 2000-byte answer, sends GOAWAY (NO_ERROR, last stream 0); the server answers with a GOAWAY of its own (NO_ERROR, last stream 3); the client then shuts down its sending side (FIN) and the server closes too. Captured on the client's veth, 10 ms router delay toward the client. Look for: one HTTP/1.1 request and its 101, then HTTP/2 on the same connection: the preface, HEADERS 1 from the client (stream 3) and 2 from the server (streams 1 and 3), 2 requests and 2 responses (200, 200), a GOAWAY each way, the client's first. tshark 4.0 follows this switch.`, h2cUpgrade),
	httpEntry("h2-tls", tlsPort, `HTTP/2 over TLS 1.3 negotiated by ALPN. The server (198.18.2.2:8443) is net/http's http.Server.ServeTLS with the fixed server.test certificate, offering h2 and http/1.1; the client (198.18.1.2:40000) is net/http's Transport (ForceAttemptHTTP2, MaxConnsPerHost 1) with the same TLS settings, TLS 1.3 only, Go's default groups (the ClientHello carries an X25519MLKEM768 key share, so it takes two segments, and the server picks that group). Three GETs are in flight together on the one connection, streams 1, 3 and 5, each handler waiting 30 ms: /h2/1 (200, 4000 bytes), /h2/2 (200, 16000 bytes), /h2/missing (404 from the ServeMux, 19 bytes, answered at once, so first). The server sends no Date header. Then the client closes the idle connection: a close_notify alert, then FIN; the server answers with its own close_notify and FIN, which reach a closed socket and draw an RST each from the client's kernel. The client's key log is h2-tls.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: TLS 1.3 with ALPN h2 (decrypted EncryptedExtensions), round_trips_before_data 2, then the preface, SETTINGS and SETTINGS ACK each way, 3 requests and 3 responses (200, 200, 404) on streams 1, 3 and 5, HEADERS 3 each way, WINDOW_UPDATEs from the client; two RSTs after the FINs.`, h2TLS),
	httpEntry("ws-basic", serverPort, `WebSocket without compression: github.com/coder/websocket on both sides, the server an echo handler behind net/http (198.18.2.2:8080). The client (198.18.1.2:40000) sends GET /ws with Upgrade: websocket, Sec-WebSocket-Key and Sec-WebSocket-Version: 13 and no extensions; the server answers 101 with the matching Sec-WebSocket-Accept. The client then sends, waiting for each echo: a 21-byte text message; a 256-byte binary message (bytes 0 to 255); a 27-byte text message written through the library's Writer in three writes, which leaves as four frames in one segment (text "fragmented: one, " without FIN, continuation "two, ", continuation "three", an empty continuation with FIN), read whole by the server and echoed in one text frame; a ping (payload "1"), answered by a pong; then a close frame with code 1000 and reason "done", which the server echoes. The server closes the TCP connection right after its close frame and the client as soon as it reads that frame, so the FINs cross: on the client's veth the server's usually comes first, but not always. Client frames are masked, the server's are not. Captured on the client's veth, 10 ms router delay toward the client. Look for: one HTTP request and its 101; client frames text 2 (one without FIN), binary 1, continuation 3, ping 1, close 1; server frames text 2, binary 1, pong 1, close 1 (1000, "done"); the fragmented message reassembled to 27 bytes.`, func(e *env) error {
		return wsEcho(e, websocket.CompressionDisabled, wsBasicMessages)
	}),
	httpEntry("ws-deflate", serverPort, `As ws-basic (client 198.18.1.2:40000, server 198.18.2.2:8080), with permessage-deflate (RFC 7692): both sides use coder/websocket's CompressionContextTakeover mode, so the client offers Sec-WebSocket-Extensions: permessage-deflate with no parameters and the server accepts the same; each side keeps its compression context (the LZ77 window) from one message to the next, so each direction's messages must be inflated in order. The library compresses only messages of 128 bytes or more. The client sends, waiting for each echo: a 21-byte text message (uncompressed, RSV1 clear); a 65536-byte text message of numbered lines (RSV1 set, about 2900 bytes on the wire); a 4096-byte binary message (RSV1, about 340 bytes); a 6000-byte text message written through the Writer in three 2000-byte writes, which leaves as five frames (text with RSV1 and no FIN, three continuations, an empty final continuation; RSV1 on the first frame only); then a ping and its pong, and the close (1000, "done") both ways. The server echoes every message in one frame, compressed with its own context when 128 bytes or more (the 6000-byte echo is about 250 bytes, thanks to the earlier message). Captured on the client's veth, 10 ms router delay toward the client. Look for: the permessage-deflate extension in both handshake headers; client frames text 3 (two compressed, one of them without FIN), binary 1 (compressed), continuation 4, ping 1, close 1; server frames text 3 (two compressed), binary 1 (compressed), pong 1, close 1; message sizes after inflation 21, 65536, 4096 and 6000 each way. tshark 4.0 inflates the whole messages but shows the fragmented one's frames raw: it does not reassemble WebSocket fragments.`, func(e *env) error {
		return wsEcho(e, websocket.CompressionContextTakeover, wsDeflateMessages)
	}),
	{
		name:   "h3-quic",
		desc:   `HTTP/3 over QUIC v1: github.com/quic-go/quic-go's http3.Server on UDP 198.18.2.2:4433 with the fixed server.test certificate (TLS 1.3, ALPN h3), and its http3.Transport from UDP 198.18.1.2:40000 (UDP segmentation offload off, so one QUIC datagram per packet). Three GETs on the one connection, each handler waiting 30 ms: /h3/1 (200, 4000 bytes), /h3/2 (200, 16000 bytes), /h3/missing (404 from the ServeMux). The server sends no Date header. Then the client closes the connection (CONNECTION_CLOSE) and the server stops. The client's key log (QUIC's TLS 1.3 traffic secrets) is h3-quic.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: the client's Initial (ClientHello with sni server.test, alpn h3, QUIC transport parameters) padded to 1200 bytes, the server's Initial and Handshake packets, the client's Handshake packet with its Finished, then 1-RTT packets both ways; round_trips_before_data 1; with the key log, the HTTP/3 control and QPACK streams, 3 requests on client bidirectional streams 0, 4 and 8, 3 responses (200, 200, 404).`,
		delay:  routerDelay,
		filter: fmt.Sprintf("udp port %d", quicPort),
		outs:   []output{{"h3-quic", atClient}},
		keys:   keysFile,
		run:    h3QUIC,
	},
	{
		name:   "hostile",
		desc:   `Hostile strings on the wire, for the renderers' safety tests (every output must show them as inert text): three connections from 198.18.1.2 to 198.18.2.2. (1) TCP 40000 → 8080: a raw HTTP/1.1 GET whose path and Host hold script tags, quotes, an img onerror, "-->" and ";#", and whose X-Evil header holds terminal escapes (colours) and markup, answered by a status line whose reason phrase holds markup, an entity, quotes and "-->", the same X-Evil header, and an HTML body with a closing script tag. (2) TCP 40001 → 8443: TLS 1.3 from crypto/tls with SNI "<script>alert(4)</script>.test" and ALPN offering "\x1b[31mh2", "</script>" and "http/1.1" (the server picks http/1.1), then the same raw GET inside and a 404 whose reason holds markup; the key log is hostile.keys. (3) TCP 40002 → 8081: a WebSocket (coder/websocket) echoing one text message with a closing script tag and a cursor escape, closed with code 1000 and a reason holding quotes, markup, "-->" and an escape. Captured on the client's veth, 10 ms router delay toward the client. Look for: nothing from these strings acting as markup, syntax or a terminal control in any output.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("tcp port %d or tcp port %d or tcp port %d", serverPort, tlsPort, closedPort),
		outs:   []output{{"hostile", atClient}},
		keys:   keysFile,
		run:    hostile,
	},
	{
		name:   "h3-0rtt",
		desc:   `HTTP/3 0-RTT between two implementations: ngtcp2's example client (Debian's ngtcp2-client, gtlsclient with GnuTLS) and github.com/quic-go/quic-go's http3.Server (0-RTT allowed) on UDP 198.18.2.2:4433 with the fixed server.test certificate. The client fetches /h3/1000 twice; the second connection resumes the first's session (--session-file, --tp-file) and sends its request in 0-RTT packets. GnuTLS writes the key log (SSLKEYLOGFILE), CLIENT_EARLY_TRAFFIC_SECRET included: h3-0rtt.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: in the second connection, the client's Initial (ClientHello with psk and early_data) followed by 0-RTT packets carrying the HTTP/3 request, the response before the handshake completes, round_trips_before_data 0, the request phase early.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("udp port %d", quicPort),
		outs:   []output{{"h3-0rtt", atClient}},
		keys:   keysFile,
		run:    h3ZeroRTT,
	},
	{
		name:   "h3-migration",
		desc:   `QUIC connection migration: github.com/quic-go/quic-go's http3.Transport fetches /h3/2000 from UDP 198.18.1.2:40000 from its http3.Server on 198.18.2.2:4433 (fixed server.test certificate), then adds a path from 198.18.1.2:40001, probes it (PATH_CHALLENGE / PATH_RESPONSE, with a connection ID the server issued in NEW_CONNECTION_ID), switches to it and fetches /h3/3000 on the new path, then closes the connection. The client's key log is h3-migration.keys. Captured on the client's veth, 10 ms router delay toward the client. Look for: with the key log, one connection with a udp path-change event (side client, from 198.18.1.2:40000 to 198.18.1.2:40001, new_cid true) and both requests; without it, the new path's packets cannot be tied to the connection (their connection ID was issued encrypted) and show as a flow of their own.`,
		delay:  routerDelay,
		filter: fmt.Sprintf("udp port %d", quicPort),
		outs:   []output{{"h3-migration", atClient}},
		keys:   keysFile,
		run:    h3Migration,
	},
}

// httpEntry is an HTTP or WebSocket scenario's row: captured on the
// client's veth, 10 ms router delay toward the client; on tlsPort, the
// client's key log is saved as NAME.keys.
func httpEntry(name string, port uint16, desc string, run func(e *env) error) scenario {
	s := scenario{
		name: name, desc: desc, delay: routerDelay, filter: fmt.Sprintf("tcp port %d", port),
		outs: []output{{name, atClient}}, run: run,
	}
	if port == tlsPort {
		s.keys = keysFile
	}
	return s
}

// tlsEntry is a TLS scenario's row: port tlsPort, captured on the
// client's veth, 10 ms router delay toward the client.
func tlsEntry(name string, keys keyLog, desc string, s tlsScenario) scenario {
	return scenario{
		name: name, desc: desc, delay: routerDelay, filter: fmt.Sprintf("tcp port %d", tlsPort),
		outs: []output{{name, atClient}}, keys: keys, run: s.run,
	}
}

// Parts of the TLS scenarios' descriptions.
const (
	tlsDesc         = `The server's certificate is a self-signed ECDSA P-256 one for server.test (fixed, in internal/gencap); the client verifies it, sends SNI server.test, and both offer ALPN http/1.1.`
	tlsExchangeDesc = `The client sends one HTTP/1.1 GET and reads the 4000-byte answer, then closes first: a close_notify alert, then FIN; the server reads up to that close_notify and closes the TCP connection without sending one (it would only draw an RST from the closed client). TLS randoms, keys and tickets differ on every regeneration.`
)

// env is the running topology a scenario's peers use.
type env struct {
	topo *netns.Topology
	// keylog collects the TLS clients' NSS key log lines.
	keylog bytes.Buffer
}

func (e *env) serverAddr(v6 bool, port uint16) netip.AddrPort {
	if v6 {
		return netip.AddrPortFrom(e.topo.Server.Addr6, port)
	}
	return netip.AddrPortFrom(e.topo.Server.Addr4, port)
}

func (e *env) clientAddr(v6 bool, port uint16) netip.AddrPort {
	if v6 {
		return netip.AddrPortFrom(e.topo.Client.Addr6, port)
	}
	return netip.AddrPortFrom(e.topo.Client.Addr4, port)
}

// listen opens a TCP listener in the server's namespace, keep-alive off.
func (e *env) listen(addr netip.AddrPort) (net.Listener, error) {
	var ln net.Listener
	err := e.topo.Server.NS.Do(func() (err error) {
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err = lc.Listen(context.Background(), "tcp", addr.String())
		return err
	})
	return ln, err
}

type dialOpts struct {
	rcvbuf    int                  // SO_RCVBUF before connect; 0: default
	keepAlive *net.KeepAliveConfig // nil: keep-alive off
}

// dial connects from the client's namespace, from a fixed local port.
func (e *env) dial(local, remote netip.AddrPort, o dialOpts) (*net.TCPConn, error) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(local), Timeout: peerTimeout, KeepAlive: -1}
	if o.keepAlive != nil {
		d.KeepAliveConfig = *o.keepAlive
	}
	if o.rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	var c net.Conn
	err := e.topo.Client.NS.Do(func() (err error) {
		c, err = d.Dial("tcp", remote.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(peerTimeout))
	return c.(*net.TCPConn), nil
}

// serve accepts n connections and runs h on each, concurrently. The
// channel yields the first error, or nil when all are done.
func serve(ln net.Listener, n int, h func(c *net.TCPConn) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		errs := make(chan error, n)
		for range n {
			c, err := ln.Accept()
			if err != nil {
				errs <- err
				continue
			}
			c.SetDeadline(time.Now().Add(peerTimeout))
			go func() {
				defer c.Close()
				errs <- h(c.(*net.TCPConn))
			}()
		}
		var all []error
		for range n {
			all = append(all, <-errs)
		}
		ln.Close()
		done <- errors.Join(all...)
	}()
	return done
}

// request is the HTTP/1.1 request every TCP client sends.
func request(path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: server.test\r\nUser-Agent: wiretrace-gencap\r\nAccept: */*\r\n\r\n")
}

// readRequest reads up to the end of the request header.
func readRequest(c net.Conn) (*bufio.Reader, error) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("server: read request: %w", err)
		}
		if line == "\r\n" {
			return br, nil
		}
	}
}

// response is an HTTP/1.1 answer of exactly total bytes, header included.
func response(total int) []byte {
	return responseN(total, total)
}

// responseN is the first n bytes of an answer whose header announces a
// total-byte message.
func responseN(total, n int) []byte {
	var hdr string
	body := total
	for range 3 { // the header's length depends on the digits of body
		hdr = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", body)
		body = total - len(hdr)
	}
	b := append([]byte(hdr), pattern(body)...)
	return b[:n]
}

// pattern is n bytes of numbered 64-byte text lines: "00000001 abc...\n".
func pattern(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	var b bytes.Buffer
	b.Grow(n + 64)
	for line := 1; b.Len() < n; line++ {
		fmt.Fprintf(&b, "%08d ", line)
		b.WriteString(alphabet[line%10 : line%10+54])
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

// drain reads c to EOF.
func drain(c net.Conn) error {
	_, err := io.Copy(io.Discard, c)
	return err
}

func basic(e *env, v6 bool) error {
	const answer = 20000
	ln, err := e.listen(e.serverAddr(v6, serverPort))
	if err != nil {
		return err
	}
	done := serve(ln, 1, func(c *net.TCPConn) error {
		if _, err := readRequest(c); err != nil {
			return err
		}
		if _, err := c.Write(response(answer)); err != nil {
			return err
		}
		return drain(c) // the client closes first
	})
	if err := e.fetch(v6, "/basic", answer); err != nil {
		return err
	}
	return <-done
}

// fetch is the client of the request/response scenarios: it connects from
// the first client port, sends a request for path, reads the whole answer
// and closes first.
func (e *env) fetch(v6 bool, path string, answer int) error {
	c, err := e.dial(e.clientAddr(v6, clientPortBase), e.serverAddr(v6, serverPort), dialOpts{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(request(path)); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, make([]byte, answer)); err != nil {
		return fmt.Errorf("client: read answer: %w", err)
	}
	return nil
}

func refused(e *env) error {
	_, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, closedPort), dialOpts{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("client: dial a closed port: got %v; want ECONNREFUSED", err)
	}
	return nil
}

func reset(e *env) error {
	const announced, sent = 65536, 8000
	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	done := serve(ln, 1, func(c *net.TCPConn) error {
		if _, err := readRequest(c); err != nil {
			return err
		}
		if _, err := c.Write(responseN(announced, headerLen(announced)+sent)); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		if err := c.SetLinger(0); err != nil {
			return err
		}
		return nil // serve's Close sends the RST
	})
	c, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{})
	if err != nil {
		return err
	}
	if _, err := c.Write(request("/reset")); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c)
	c.Close()
	if !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("client: read: got %v; want ECONNRESET", err)
	}
	return <-done
}

// headerLen is the length of the header of a total-byte answer.
func headerLen(total int) int {
	r := response(total)
	return bytes.Index(r, []byte("\r\n\r\n")) + 4
}

func halfClose(e *env) error {
	const answer = 50000
	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	done := serve(ln, 1, func(c *net.TCPConn) error {
		br, err := readRequest(c)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, br); err != nil { // wait for the client's FIN
			return err
		}
		_, err = c.Write(response(answer))
		return err
	})
	c, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{})
	if err != nil {
		return err
	}
	if _, err := c.Write(request("/half-close")); err != nil {
		return err
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	b, err := io.ReadAll(c)
	c.Close()
	if err != nil || len(b) != answer {
		return fmt.Errorf("client: read %d bytes, %v; want %d", len(b), err, answer)
	}
	return <-done
}

func zeroWindow(e *env) error {
	const answer = 2 << 20
	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	done := serve(ln, 1, func(c *net.TCPConn) error {
		if _, err := readRequest(c); err != nil {
			return err
		}
		_, err := c.Write(response(answer))
		return err // serve closes after the last byte is queued
	})
	c, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{rcvbuf: 4096})
	if err != nil {
		return err
	}
	if _, err := c.Write(request("/zero-window")); err != nil {
		return err
	}
	// Read 64 KiB, stop reading for 300 ms (the window closes), read up
	// to 1 MiB, stop again, then drain.
	for _, n := range []int{64 << 10, 1<<20 - 64<<10} {
		if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
			return fmt.Errorf("client: read: %w", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	n, err := io.Copy(io.Discard, c)
	c.Close()
	if err != nil || n != answer-1<<20 {
		return fmt.Errorf("client: drained %d bytes, %v; want %d", n, err, answer-1<<20)
	}
	return <-done
}

func keepAlive(e *env) error {
	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	done := serve(ln, 1, func(c *net.TCPConn) error { return drain(c) })
	ka := &net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 9}
	c, err := e.dial(e.clientAddr(false, clientPortBase), e.serverAddr(false, serverPort), dialOpts{keepAlive: ka})
	if err != nil {
		return err
	}
	time.Sleep(3500 * time.Millisecond)
	c.Close()
	return <-done
}

func loss(e *env) error {
	const answer = 2 << 20
	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	done := serve(ln, 1, func(c *net.TCPConn) error {
		if _, err := readRequest(c); err != nil {
			return err
		}
		if _, err := c.Write(response(answer)); err != nil {
			return err
		}
		return drain(c)
	})
	if err := e.fetch(false, "/loss", answer); err != nil {
		return err
	}
	return <-done
}

func pipelined(e *env) error {
	const conns = 3
	ln, err := e.listen(e.serverAddr(false, serverPort))
	if err != nil {
		return err
	}
	done := serve(ln, conns, func(c *net.TCPConn) error {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		// "GET /pipelined/N HTTP/1.1": answer N*4000 bytes.
		var n int
		if _, err := fmt.Sscanf(line, "GET /pipelined/%d ", &n); err != nil {
			return fmt.Errorf("server: request %q: %w", line, err)
		}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if l == "\r\n" {
				break
			}
		}
		time.Sleep(60 * time.Millisecond)
		if _, err := c.Write(response(n * 4000)); err != nil {
			return err
		}
		return drain(c)
	})
	errs := make(chan error, conns)
	for i := range conns {
		go func() {
			time.Sleep(time.Duration(i) * 25 * time.Millisecond)
			c, err := e.dial(e.clientAddr(false, clientPortBase+uint16(i)), e.serverAddr(false, serverPort), dialOpts{})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if _, err := c.Write(request(fmt.Sprintf("/pipelined/%d", i+1))); err != nil {
				errs <- err
				return
			}
			_, err = io.ReadFull(c, make([]byte, (i+1)*4000))
			errs <- err
		}()
	}
	var all []error
	for range conns {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	return <-done
}

func udpBasic(e *env) error {
	var srv net.PacketConn
	err := e.topo.Server.NS.Do(func() (err error) {
		srv, err = net.ListenPacket("udp", e.serverAddr(false, udpServerPort).String())
		return err
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.SetDeadline(time.Now().Add(peerTimeout))
	const rounds = 3
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 1500)
		for range rounds {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				done <- err
				return
			}
			var i int
			if _, err := fmt.Sscanf(string(buf[:n]), "ping %d", &i); err != nil {
				done <- fmt.Errorf("server: datagram %q: %w", buf[:n], err)
				return
			}
			pong := fmt.Sprintf("pong %d ", i)
			pong += strings.Repeat(".", 99-len(pong)) + "\n"
			if _, err := srv.WriteTo([]byte(pong), from); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var c *net.UDPConn
	err = e.topo.Client.NS.Do(func() (err error) {
		c, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(e.clientAddr(false, clientPortBase)),
			net.UDPAddrFromAddrPort(e.serverAddr(false, udpServerPort)))
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(peerTimeout))
	buf := make([]byte, 1500)
	for i := 1; i <= rounds; i++ {
		if i > 1 {
			time.Sleep(30 * time.Millisecond)
		}
		if _, err := fmt.Fprintf(c, "ping %d\n", i); err != nil {
			return err
		}
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("pong %d ", i); !strings.HasPrefix(string(buf[:n]), want) {
			return fmt.Errorf("client: got %q; want it to start with %q", buf[:n], want)
		}
	}
	return <-done
}
