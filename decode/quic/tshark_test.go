package quic

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
)

// tsharkKnown are the differences from tshark 4.0 that were looked into,
// per capture, connection (pcaptest.Endpoints) and label, with the reason
// and the side that is wrong.
var tsharkKnown = map[string]map[string]map[string]string{
	"tcpdump-quic_vn.pcap": {
		"[::1]:443 [::1]:57406": {
			// The client's Initial after Version Negotiation (frame 3)
			// decrypts with keys from its DCID 9d5728481287a3b4, which
			// the server's Initial (frame 4) was keyed from too and
			// which tshark decrypts; tshark 4.0 does not decrypt frame
			// 3 and prints its protected packet number.
			"Initial pn=0":     noVNInitial,
			"Initial pn=35477": noVNInitial,
			"frame CRYPTO":     noVNInitial,
			"frame PADDING":    noVNInitial,
			"sni=localhost":    noVNInitial,
			// Frame 1 has the reserved version 0x1a2a3a4a, whose packet
			// format is unknown (RFC 8999 §5.1): tshark reads it as a
			// version 1 Initial; there is no packet number to read.
			"UNKNOWN pn=3285385": "tshark reads a packet number from a packet of an unknown version: tshark is wrong",
			"UNKNOWN pn=(none)":  "tshark reads a packet number from a packet of an unknown version: tshark is wrong",
		},
	},
	"sv-quic-retry.pcap": {
		"192.0.73.2:443 192.168.178.252:60027": {"sni=www.gravatar.com": clientHelloAgain},
	},
	"tcpdump-quic_retry.pcap": {
		"[::1]:443 [::1]:62821": {"sni=localhost": clientHelloAgain},
	},
	"sv-ja4-tls-quic.pcap": {
		"[2001:db8:1::1]:50280 [2606:4700:10::6816:826]:443": {"1-RTT": zeroPadding},
	},
	"chrome-cloudflare-quic-with-secrets.pcapng": {
		"[2001:db8:1::1]:50280 [2606:4700:10::6816:826]:443": {
			"1-RTT":                  zeroPadding,
			"frame ACK":              withSecrets,
			"frame CONNECTION_CLOSE": withSecrets,
			"frame CRYPTO":           withSecrets,
			"frame HANDSHAKE_DONE":   withSecrets,
			"frame PADDING":          withSecrets,
			"frame RESET_STREAM":     withSecrets,
			"frame STOP_SENDING":     withSecrets,
			"frame STREAM":           withSecrets,
		},
	},
	"zeek-interop-quic-go-zerortt.pcap": {
		"193.167.0.100:49394 193.167.100.100:443": {
			// Frame 79: the client's second Initial, DCID 3ec82f67 (the
			// server's CID), with a Handshake and a 1-RTT packet
			// coalesced. It decrypts with the keys from the first
			// Initial's DCID (pn 1, ACK + PADDING); tshark 4.0 fails
			// to, prints the protected packet number, and does not find
			// the 1-RTT packet after the Handshake one: tshark is wrong.
			"Initial pn=1":       noSecondInitial,
			"Initial pn=9612292": noSecondInitial,
			"frame ACK":          noSecondInitial,
			"frame PADDING":      noSecondInitial,
			"1-RTT":              noSecondInitial,
		},
	},
}

const (
	noVNInitial     = "tshark does not decrypt the client Initial after Version Negotiation: tshark is wrong"
	noSecondInitial = "tshark does not decrypt the resuming client's second Initial (frame 79) nor see the 1-RTT packet coalesced after it: tshark is wrong"
	// After a Retry the client starts its handshake again in a new
	// Initial, its ClientHello from CRYPTO offset 0 (RFC 9000
	// §17.2.5.2); tshark takes those bytes for a retransmission of the
	// first ClientHello and does not show the second. Both decrypt the
	// packets (the frame counts agree).
	clientHelloAgain = "we show the ClientHello the client sends again after the Retry; tshark does not"
	// The server pads its Initial datagrams with zero bytes after the
	// last packet; tshark shows them as a short-header packet with the
	// fixed bit 0, which no QUIC packet has (RFC 9000 §17.3.1): tshark
	// is wrong, they are padding (datagram_padding).
	zeroPadding = "tshark counts the zeros padding a datagram as a short-header packet: tshark is wrong"
	// tshark reads the capture's Decryption Secrets Block and decrypts
	// the Handshake and 1-RTT packets even when not asked to; TestTshark
	// gives the decoder no keys, so it lists only the Initial packets'
	// frames. TestTsharkKeys compares with the secrets: the counts agree.
	withSecrets = "tshark decrypts Handshake and 1-RTT packets with the capture's secrets; this run gives us none (TestTsharkKeys does)"
)

// TestTsharkKeys compares the captures that come with keys (a pcapng
// Decryption Secrets Block, or NAME.keys beside the capture) with tshark
// using the same keys: per connection, the counts of each packet type and
// of each frame type in all packets, now that Handshake and 1-RTT
// packets decrypt.
func TestTsharkKeys(t *testing.T) {
	tshark := pcaptest.Tshark(t)
	for _, name := range []string{"chrome-cloudflare-quic-with-secrets.pcapng", "illustrated-quic.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := pcaptest.Shared(t, "quic/"+name)
			store := &keylog.Store{}
			got := pcaptest.Counts{}
			decrypted := 0
			for _, fe := range runPcap(t, path, Options{Keys: store, MaxFrames: 1 << 20}) {
				countEvent(got, flowConn(fe.flow), &fe.ev)
				if f, ok := fe.ev.Info.Get("decrypted"); ok && f.Bool() && fe.ev.Type != "Initial" && fe.ev.Layer == decode.LayerQUIC {
					decrypted++
				}
				if fe.ev.Type == tlsmsg.TypeKeys {
					t.Errorf("keys event: %v", fe.ev.Info)
				}
			}
			if decrypted == 0 {
				t.Errorf("no Handshake or 1-RTT packet decrypted")
			}
			var extra []string
			if k := pcaptest.KeyLogFile(path); k != "" {
				extra = []string{"-o", "tls.keylog_file:" + k}
			}
			want := tsharkCounts(t, tshark, path, extra)
			pcaptest.CompareCounts(t, got, want, tsharkKeysKnown[name])
		})
	}
}

// tsharkKeysKnown are the differences with keys, as tsharkKnown.
var tsharkKeysKnown = map[string]map[string]map[string]string{
	"chrome-cloudflare-quic-with-secrets.pcapng": {
		"[2001:db8:1::1]:50280 [2606:4700:10::6816:826]:443": {"1-RTT": zeroPadding},
	},
}

// tsharkCaptures are the shared captures with QUIC: every one under quic/,
// and the QUIC ones among the malformed.
func tsharkCaptures(t *testing.T) []string {
	files := pcaptest.SharedGlob(t, "quic/*.pcap*")
	return append(files, pcaptest.SharedGlob(t, "malformed/*quic*.pcap")...)
}

// TestTshark compares, per UDP flow, the packets of every shared QUIC
// capture with tshark's view without keys: the count of each packet type
// (long headers by type, short headers as 1-RTT), the packet numbers of
// Initial packets (both decrypt them with the initial salt), the frames
// in them by type, and the ClientHello's SNI.
func TestTshark(t *testing.T) {
	tshark := pcaptest.Tshark(t)
	for _, path := range tsharkCaptures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			got := pcaptest.Counts{}
			evs := runPcap(t, path, Options{MaxFrames: 1 << 20})
			for _, fe := range evs {
				countEvent(got, flowConn(fe.flow), &fe.ev)
			}
			want := tsharkCounts(t, tshark, path, nil)
			if len(got) == 0 && len(want) == 0 {
				t.Logf("no QUIC in %s for either side", name)
				return
			}
			pcaptest.CompareCounts(t, got, want, tsharkKnown[name])
		})
	}
}

// flowConn turns a runPcap flow key into pcaptest.Endpoints form.
func flowConn(flow string) string {
	a, b, _ := strings.Cut(flow, " ")
	return pcaptest.Endpoints(a, b)
}

func countEvent(c pcaptest.Counts, conn string, e *decode.Event) {
	switch e.Layer {
	case decode.LayerQUIC:
		c.Add(conn, string(e.Type))
		if e.Type == "Initial" || e.Type == "UNKNOWN" && e.Info.Has("version") {
			pn := "(none)"
			if f, ok := e.Info.Get("pn"); ok {
				pn = strconv.FormatInt(f.Int, 10)
			}
			c.Add(conn, string(e.Type)+" pn="+pn)
		}
		if f, ok := e.Info.Get("frames"); ok {
			for _, s := range f.Strs {
				name, _, _ := strings.Cut(s, " ")
				c.Add(conn, "frame "+name)
			}
		}
	case decode.LayerTLS:
		if f, ok := e.Info.Get("sni"); ok && e.Type == "ClientHello" {
			c.Add(conn, "sni="+f.Str)
		}
	}
}

// tsharkCounts runs tshark and counts the same labels as countEvent.
func tsharkCounts(t *testing.T, tshark, path string, extra []string) pcaptest.Counts {
	fields := []string{"ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport",
		"quic.header_form", "quic.version", "quic.long.packet_type", "quic.long.packet_type_v2",
		"quic.packet_number", "quic.frame_type", "tls.handshake.extensions_server_name"}
	args := append([]string{"-n", "-r", path, "-Y", "quic", "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,", "-E", "occurrence=a"}, extra...)
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v: %s", path, err, stderr.String())
	}
	c := pcaptest.Counts{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != len(fields) {
			t.Fatalf("tshark: %d fields, want %d: %q", len(f), len(fields), line)
		}
		conn := pcaptest.Endpoints(endpoint(f[0], f[1], f[2]), endpoint(f[3], f[4], f[5]))
		versions, v1types, v2types, pns := values(f[7]), values(f[8]), values(f[9]), values(f[10])
		for _, form := range values(f[6]) {
			if form == "0" {
				c.Add(conn, "1-RTT")
				continue
			}
			if len(versions) == 0 {
				t.Fatalf("tshark: a long header without a version: %q", line)
			}
			v, _ := strconv.ParseUint(strings.TrimPrefix(versions[0], "0x"), 16, 32)
			versions = versions[1:]
			typ := PacketVersionNegotiation
			if v != 0 {
				types := &v1types
				if Version(v) == Version2 {
					types = &v2types
				}
				if len(*types) == 0 {
					t.Fatalf("tshark: a long header without a type: %q", line)
				}
				bits, _ := strconv.Atoi((*types)[0])
				*types = (*types)[1:]
				typ = PacketUnknown
				if p := Version(v).params(); p != nil {
					typ = p.types[bits&3]
				}
			}
			c.Add(conn, typ.String())
			if typ == PacketInitial || typ == PacketUnknown {
				pn := "(none)"
				if len(pns) > 0 {
					pn, pns = pns[0], pns[1:]
				}
				c.Add(conn, typ.String()+" pn="+pn)
			}
		}
		for _, ft := range values(f[11]) {
			n, _ := strconv.ParseUint(ft, 10, 64)
			c.Add(conn, "frame "+FrameType(n).String())
		}
		for _, sni := range values(f[12]) {
			c.Add(conn, "sni="+sni)
		}
	}
	return c
}

func values(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func endpoint(v4, v6, port string) string {
	ip := v4
	if ip == "" {
		ip = v6
	}
	ip = ip[strings.LastIndexByte(ip, ',')+1:]
	port = port[strings.LastIndexByte(port, ',')+1:]
	a, err := netip.ParseAddr(ip)
	p, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil {
		return fmt.Sprintf("%s:%s", ip, port)
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}
