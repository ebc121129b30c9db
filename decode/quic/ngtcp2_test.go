package quic

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/wiretrace/wiretrace/decode"
)

// ngtcp2 0-RTT lines of gtlsclient's debug log: the packets it sent as
// 0-RTT and the STREAM frames in them.
var (
	ngtcp2Pkt   = regexp.MustCompile(`pkt tx pkn=(\d+) .*type=0RTT`)
	ngtcp2Frame = regexp.MustCompile(`frm tx (\d+) 0RTT STREAM\(0x[0-9a-f]+\) id=0x([0-9a-f]+) fin=(\d) offset=(\d+) len=(\d+)`)
)

// TestPeersZeroRTTNgtcp2 decrypts 0-RTT from real peers: ngtcp2's example
// client (Debian's ngtcp2-client, gtlsclient, on GnuTLS, which logs
// CLIENT_EARLY_TRAFFIC_SECRET as Go's crypto/tls does not) resumes a
// session with quic-go's HTTP/3 server and sends its request as 0-RTT.
// The oracle is the client's own debug log: every 0-RTT packet number and
// every STREAM frame in it must come out of the decoder the same.
func TestPeersZeroRTTNgtcp2(t *testing.T) {
	bin, err := exec.LookPath("gtlsclient")
	if err != nil {
		if os.Getenv("WIRETRACE_REQUIRE_NGTCP2") != "" {
			t.Fatal("WIRETRACE_REQUIRE_NGTCP2 is set but gtlsclient (ngtcp2-client) is missing")
		}
		t.Skip("gtlsclient (Debian package ngtcp2-client) not installed")
	}
	cert, _ := testCert(t, peerSNI)
	udp, tee, tr := teeTransport(t)
	defer tr.Close()
	ln, err := tr.ListenEarly(http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
		&quicgo.Config{Allow0RTT: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http3.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	})}
	go srv.ServeListener(ln)
	defer srv.Close()

	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	port := udp.LocalAddr().(*net.UDPAddr).Port
	var log []byte
	var second uint16
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--exit-on-all-streams-close", "--no-quic-dump", "--no-http-dump",
			"--session-file="+filepath.Join(dir, "session"), "--tp-file="+filepath.Join(dir, "tp"),
			"127.0.0.1", strconv.Itoa(port), fmt.Sprintf("https://%s:%d/early", peerSNI, port))
		cmd.Env = append(os.Environ(), "SSLKEYLOGFILE="+keys)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("gtlsclient (connection %d): %v\n%s", i+1, err, out)
		}
		log = out
		time.Sleep(20 * time.Millisecond)
	}
	// The second connection is the last client address the server saw.
	dgs := tee.datagrams()
	if len(dgs) == 0 {
		t.Fatal("no datagrams")
	}
	last, err := netip.ParseAddrPort(dgs[len(dgs)-1].peer)
	if err != nil {
		t.Fatal(err)
	}
	second = last.Port()
	var conn2 []datagram
	for _, dg := range dgs {
		if ap, err := netip.ParseAddrPort(dg.peer); err == nil && ap.Port() == second {
			conn2 = append(conn2, dg)
		}
	}
	keyLog, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(keyLog, []byte("CLIENT_EARLY_TRAFFIC_SECRET")) {
		t.Fatal("gtlsclient logged no CLIENT_EARLY_TRAFFIC_SECRET")
	}

	// What the client says it sent as 0-RTT.
	var wantPNs []int64
	wantFrames := map[int64][]string{}
	for _, line := range strings.Split(string(log), "\n") {
		if m := ngtcp2Pkt.FindStringSubmatch(line); m != nil {
			pn, _ := strconv.ParseInt(m[1], 10, 64)
			if !slices.Contains(wantPNs, pn) {
				wantPNs = append(wantPNs, pn)
			}
		}
		if m := ngtcp2Frame.FindStringSubmatch(line); m != nil {
			pn, _ := strconv.ParseInt(m[1], 10, 64)
			id, _ := strconv.ParseUint(m[2], 16, 64)
			f := fmt.Sprintf("STREAM id=%d off=%s len=%s", id, m[4], m[5])
			if m[3] == "1" {
				f += " fin"
			}
			wantFrames[pn] = append(wantFrames[pn], f)
		}
	}
	if len(wantPNs) == 0 {
		t.Fatalf("gtlsclient sent no 0-RTT packet:\n%s", log)
	}

	evs, _ := decodeWith(t, conn2, Options{Keys: keyStore(t, keyLog), Next: func(alpn string) decode.MultiStreamDecoder {
		return newRecorder(alpn)
	}})
	var gotPNs []int64
	gotFrames := map[int64][]string{}
	for _, e := range evs {
		if e.Type != "0-RTT" {
			if e.Type == "keys" {
				t.Errorf("keys event: %v", e.Info)
			}
			continue
		}
		if f, _ := e.Info.Get("decrypted"); !f.Bool() {
			t.Errorf("0-RTT packet not decrypted: %v", e.Info)
			continue
		}
		pn, _ := e.Info.Get("pn")
		gotPNs = append(gotPNs, pn.Int)
		frames, _ := e.Info.Get("frames")
		for _, s := range frames.Strs {
			if strings.HasPrefix(s, "STREAM ") {
				gotFrames[pn.Int] = append(gotFrames[pn.Int], s)
			}
		}
	}
	if !slices.Equal(gotPNs, wantPNs) {
		t.Errorf("0-RTT packet numbers %v; gtlsclient sent %v", gotPNs, wantPNs)
	}
	for _, pn := range wantPNs {
		if !slices.Equal(gotFrames[pn], wantFrames[pn]) {
			t.Errorf("0-RTT packet %d: STREAM frames %q; gtlsclient sent %q", pn, gotFrames[pn], wantFrames[pn])
		}
	}
}
