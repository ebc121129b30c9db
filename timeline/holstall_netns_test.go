//go:build linux

package timeline

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/netpkt"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/internal/netns"
)

// Real loss on a real path: HTTP/2 with many concurrent streams between
// two network namespaces, through a router namespace that drops a share
// of the server's data segments at random. The same connection is
// captured at the client (the receiver of the lost data: stalls show as
// gaps) and at the server (the sender: stalls show in the client's SACK
// blocks), and each capture's hol-stall events are checked against what
// the client saw of its streams, against the segments the server
// retransmitted, and against each other. A run without the drop rule must
// show no stall.

const (
	lossPort    = 8080
	lossStreams = 24
	lossBody    = 96 << 10 // bytes per response
	lossProb    = "0.02"
	lossDelay   = 3 * time.Millisecond // each way, at the router
)

// streamLife is what the client saw of one stream: when its request left
// and when the last byte of its response became readable.
type streamLife struct {
	id          int64
	start, done time.Time
}

func TestHOLStallRealLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("real network namespaces: not in -short")
	}
	topo := netns.NewTopologyT(t)
	// A few milliseconds each way, so that a stall lasts a round trip
	// of a path rather than a scheduler tick.
	for _, side := range []netns.Side{netns.ToClient, netns.ToServer} {
		if _, err := topo.Router.Delay(side, lossDelay); err != nil {
			t.Fatal(err)
		}
	}
	cert := selfSigned(t)
	for _, tc := range []struct {
		name string
		tls  bool
		loss bool
	}{
		{"h2c clean", false, false},
		{"h2c loss", false, true},
		{"h2 over TLS loss", true, true},
		{"h2 over TLS clean", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := []string{"FORWARD", "-p", "tcp", "--sport", strconv.Itoa(lossPort), "-m", "length", "--length", "400:65535",
				"-m", "statistic", "--mode", "random", "--probability", lossProb, "-j", "DROP"}
			if tc.loss {
				if err := topo.Router.IPTables(append([]string{"-A"}, rule...)...); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := topo.Router.IPTables(append([]string{"-D"}, rule...)...); err != nil {
						t.Error(err)
					}
				}()
			}
			run := lossRun(t, topo, cert, tc.tls)
			if dir := os.Getenv("WIRETRACE_HOLSTALL_PCAPS"); dir != "" {
				run.save(t, filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")))
			}
			stalls := map[string][]recEvent{}
			for _, at := range []string{"client", "server"} {
				var keys *keylog.Store
				if tc.tls {
					keys = &keylog.Store{}
					if _, err := keys.Add(bytes.NewReader(run.keyLog), "keylog"); err != nil {
						t.Fatal(err)
					}
				}
				rec := &recorder{}
				b := New(Options{Registry: stack.Registry(stack.Options{Keys: keys})}, rec)
				for i := range run.pkts[at] {
					if err := b.Packet(&run.pkts[at][i]); err != nil {
						t.Fatal(err)
					}
				}
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
				stalls[at] = checkLossCapture(t, at, rec, run, tc.tls)
			}
			t.Logf("%s: %d stalls at the client, %d at the server, %d segments retransmitted by the server",
				tc.name, len(stalls["client"]), len(stalls["server"]), run.retransmitted)
			if !tc.loss {
				for at, st := range stalls {
					if len(st) > 0 {
						t.Errorf("clean run: %d stalls in the %s's capture: %v", len(st), at, st[0].Info)
					}
				}
				return
			}
			if run.retransmitted == 0 {
				t.Skip("no segment was dropped in this run")
			}
			for _, at := range []string{"client", "server"} {
				if len(stalls[at]) == 0 {
					t.Errorf("%d segments retransmitted but no stall in the %s's capture", run.retransmitted, at)
				}
			}
			compareCapturePoints(t, stalls["client"], stalls["server"], !tc.tls)
		})
	}
}

// lossResult is one run: both captures, the client's streams, the key log.
type lossResult struct {
	pkts    map[string][]capture.Packet
	streams []streamLife
	keyLog  []byte
	// frames maps offsets of the server's stream to HTTP/2 streams
	// (h2c only), from the server capture's own bytes.
	frames        []h2frame
	retransmitted int
	// retx are the server's retransmitted ranges (relative sequence
	// numbers, the first data byte is 1).
	retx [][2]uint64
}

func lossRun(t *testing.T, topo *netns.Topology, cert tls.Certificate, useTLS bool) *lossResult {
	t.Helper()
	filter := "tcp port " + strconv.Itoa(lossPort)
	caps := map[string]*netns.Recorder{}
	for at, h := range map[string]netns.Host{"client": topo.Client, "server": topo.Server} {
		r, err := netns.Record(h.NS, h.Iface, filter)
		if err != nil {
			t.Fatal(err)
		}
		caps[at] = r
	}
	var ln net.Listener
	if err := topo.Server.NS.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(topo.Server.Addr4, lossPort).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), lossBody/16)
	h2s := &http2.Server{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		if useTLS {
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
			if err := tc.Handshake(); err != nil {
				c.Close()
				return
			}
			c = tc
		}
		h2s.ServeConn(c, &http2.ServeConnOpts{Handler: handler})
	}()

	var conn net.Conn
	if err := topo.Client.NS.Do(func() (err error) {
		conn, err = net.DialTimeout("tcp", netip.AddrPortFrom(topo.Server.Addr4, lossPort).String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	res := &lossResult{pkts: map[string][]capture.Packet{}}
	var keyLog bytes.Buffer
	if useTLS {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}, KeyLogWriter: &keyLog})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		conn = tc
	}
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res.streams = make([]streamLife, lossStreams)
	var cwg sync.WaitGroup
	errs := make(chan error, lossStreams)
	for i := range lossStreams {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/"+strconv.Itoa(i), nil)
			start := time.Now()
			resp, err := cc.RoundTrip(req)
			if err != nil {
				errs <- err
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != int64(len(body)) {
				errs <- fmt.Errorf("stream for /%d: %d bytes, %v", i, n, err)
				return
			}
			// Streams are numbered in the order their HEADERS went
			// out; the client knows its own only after the fact, so
			// stream lives are matched by the request's path below.
			res.streams[i] = streamLife{id: int64(i), start: start, done: time.Now()}
		}()
	}
	cwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cc.Close()
	conn.Close()
	wg.Wait()
	res.keyLog = keyLog.Bytes()
	for at, r := range caps {
		pkts, err := r.Finish()
		if err != nil {
			t.Fatal(err)
		}
		res.pkts[at] = pkts
	}
	res.scanServer(t, useTLS)
	return res
}

// save writes both captures (and the key log) as PREFIX-client.pcapng,
// PREFIX-server.pcapng and PREFIX.keys, to look at a run with wiretrace
// or tshark (WIRETRACE_HOLSTALL_PCAPS=dir).
func (res *lossResult) save(t *testing.T, prefix string) {
	t.Helper()
	for at, pkts := range res.pkts {
		var buf bytes.Buffer
		w, err := capture.NewPcapngWriter(&buf, pkts[0].LinkType, "eth0", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range pkts {
			if err := w.WritePacket(&pkts[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(prefix+"-"+at+".pcapng", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(res.keyLog) > 0 {
		if err := os.WriteFile(prefix+".keys", res.keyLog, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scanServer reads the server's capture directly: its retransmitted
// ranges, and for h2c where each HTTP/2 frame of its stream lies.
func (res *lossResult) scanServer(t *testing.T, useTLS bool) {
	t.Helper()
	var isn uint32
	var stream []byte
	var have []bool
	seen := map[[2]uint64]bool{}
	for _, p := range res.pkts["server"] {
		pk, ok := decodeTCP(p)
		if !ok || pk.SrcPort != lossPort {
			continue
		}
		if pk.TCP.Flags&netpkt.FlagSYN != 0 {
			isn = pk.TCP.Seq
			continue
		}
		if pk.PayloadLen == 0 {
			continue
		}
		off := uint64(pk.TCP.Seq - isn - 1)
		r := [2]uint64{off + 1, off + 1 + uint64(pk.PayloadLen)}
		if seen[r] || (int(off) < len(have) && have[off]) {
			res.retransmitted++
			res.retx = append(res.retx, r)
		}
		seen[r] = true
		end := int(off) + len(pk.Payload)
		if end > len(stream) {
			stream = append(stream, make([]byte, end-len(stream))...)
			have = append(have, make([]bool, end-len(have))...)
		}
		copy(stream[off:], pk.Payload)
		for i := int(off); i < end; i++ {
			have[i] = true
		}
	}
	if useTLS {
		return
	}
	// The server's h2c stream: SETTINGS first, then frames back to back.
	for off := 0; off+9 <= len(stream); {
		n := int(stream[off])<<16 | int(stream[off+1])<<8 | int(stream[off+2])
		id := uint32(stream[off+5]&0x7f)<<24 | uint32(stream[off+6])<<16 | uint32(stream[off+7])<<8 | uint32(stream[off+8])
		res.frames = append(res.frames, h2frame{stream: id, start: off, end: off + 9 + n})
		off += 9 + n
	}
}

// checkLossCapture checks one capture's stalls and returns them.
func checkLossCapture(t *testing.T, at string, rec *recorder, run *lossResult, useTLS bool) []recEvent {
	t.Helper()
	// The client's streams by HTTP/2 stream ID, from the exchange events
	// (their paths say which request each was).
	lives := map[string]streamLife{}
	for _, e := range rec.ofType("exchange") {
		path := infoString(e.Info, "path")
		i, err := strconv.Atoi(strings.TrimPrefix(path, "/"))
		if err != nil || i < 0 || i >= len(run.streams) {
			continue
		}
		l := run.streams[i]
		l.id = e.Stream
		lives[strconv.FormatInt(e.Stream, 10)] = l
	}
	if len(lives) != lossStreams {
		t.Errorf("%s capture: %d exchanges matched to requests; want %d", at, len(lives), lossStreams)
	}
	want := map[string]string{"client": "receiver", "server": "sender"}[at]
	stalls := rec.ofType("hol-stall")
	for _, e := range stalls {
		if e.Dir != decode.S2C {
			t.Errorf("%s capture: stall of %s data; only the server's segments were dropped: %v", at, e.Dir, e.Info)
			continue
		}
		if got := infoString(e.Info, "capture_point"); got != want {
			t.Errorf("%s capture: capture_point %s; want %s", at, got, want)
		}
		f, _ := e.Info.Get("duration_ms")
		start, end := e.TS.Add(-f.Duration()), e.TS
		victims, _ := e.Info.Get("streams")
		culprits, _ := e.Info.Get("culprit_streams")
		// A victim's or culprit's stream was open then: its request had
		// left and its last byte not yet arrived. The client's capture
		// sees what the client sees (a millisecond of slack for the
		// clocks); the server's sees the client's ACKs a one-way delay
		// late, so its stalls end up to that much after the client read
		// the bytes (two path delays of slack).
		slack := time.Millisecond
		if at == "server" {
			slack = 2*lossDelay + time.Millisecond
		}
		for _, id := range slices.Concat(victims.Strs, culprits.Strs) {
			l, ok := lives[id]
			if !ok {
				t.Errorf("%s capture: stall names stream %s, which no request used", at, id)
				continue
			}
			if end.Before(l.start.Add(-slack)) || start.After(l.done.Add(slack)) {
				t.Errorf("%s capture: stream %s named by a stall %v–%v but open only %v–%v", at, id,
					start.Format("15:04:05.000000"), end.Format("15:04:05.000000"), l.start.Format("15:04:05.000000"), l.done.Format("15:04:05.000000"))
			}
		}
		seq, _ := strconv.ParseUint(infoString(e.Info, "gap_seq"), 10, 64)
		n, _ := strconv.ParseUint(infoString(e.Info, "gap_len"), 10, 64)
		// The missing bytes were sent again: a retransmission overlaps
		// the hole.
		if !slices.ContainsFunc(run.retx, func(r [2]uint64) bool { return r[0] < seq+n && r[1] > seq }) {
			t.Errorf("%s capture: hole %d+%d was never retransmitted by the server", at, seq, n)
		}
		if !useTLS {
			// h2c: the culprits are exactly the streams of the frames
			// in the hole, victims those of the frames behind it.
			wantC := streamsOver(run.frames, int(seq-1), int(seq-1+n))
			if got := strings.Join(culprits.Strs, ","); got != wantC {
				t.Errorf("%s capture: hole %d+%d: culprit_streams %s; the server's frames there are of %s", at, seq, n, got, wantC)
			}
		} else if len(culprits.Strs) == 0 && len(victims.Strs) > 0 {
			t.Errorf("%s capture: hole %d+%d: victims %v but no culprit", at, seq, n, victims.Strs)
		}
	}
	return stalls
}

// compareCapturePoints matches the stalls seen at the sender with those
// seen at the receiver: the same holes, by their first missing byte, of
// the same size; on h2c (exact frames on both sides) naming the same
// streams.
func compareCapturePoints(t *testing.T, recv, send []recEvent, exact bool) {
	t.Helper()
	holes := map[string]recEvent{}
	for _, e := range recv {
		holes[infoString(e.Info, "gap_seq")] = e
	}
	matched, differ := 0, 0
	for _, e := range send {
		seq := infoString(e.Info, "gap_seq")
		r, ok := holes[seq]
		if !ok {
			t.Logf("sender-side stall at %s (%s ms) has no receiver-side twin", seq, infoString(e.Info, "duration_ms"))
			continue
		}
		matched++
		same := infoString(r.Info, "gap_len") == infoString(e.Info, "gap_len")
		if exact {
			same = same && infoString(r.Info, "streams") == infoString(e.Info, "streams") &&
				infoString(r.Info, "culprit_streams") == infoString(e.Info, "culprit_streams")
		}
		// The two ends of a stall are seen a one-way delay later at the
		// sender than at the receiver, so the durations agree only as
		// well as that delay held still: here it does not, the router's
		// delay queue may run in user space (when the kernel has no
		// netem) on this machine's busy cores, and an ACK was seen held
		// 120 ms. They are logged, not compared; the recorded captures
		// agree within a millisecond (TestHOLStallBothCapturePoints).
		dr, _ := r.Info.Get("duration_ms")
		ds, _ := e.Info.Get("duration_ms")
		if d := dr.Duration() - ds.Duration(); d > 20*time.Millisecond || d < -20*time.Millisecond {
			t.Logf("hole %s: %v at the receiver, %v at the sender", seq, dr.Duration(), ds.Duration())
		}
		if !same {
			differ++
			t.Logf("hole %s: receiver %s+%s %s ms streams %s culprits %s; sender %s+%s %s ms streams %s culprits %s", seq,
				seq, infoString(r.Info, "gap_len"), infoString(r.Info, "duration_ms"), infoString(r.Info, "streams"), infoString(r.Info, "culprit_streams"),
				seq, infoString(e.Info, "gap_len"), infoString(e.Info, "duration_ms"), infoString(e.Info, "streams"), infoString(e.Info, "culprit_streams"))
		}
	}
	// Holes that merge or split differently on the two sides (a
	// retransmission lost again, a second loss inside a hole) are
	// allowed, but nearly all must agree.
	if len(send) > 0 && matched*10 < len(send)*9 {
		t.Errorf("only %d of %d sender-side stalls match a receiver-side one", matched, len(send))
	}
	if differ*10 > matched {
		t.Errorf("%d of %d matched stalls differ between the capture points", differ, matched)
	}
}

// decodeTCP decodes a captured TCP frame.
func decodeTCP(p capture.Packet) (*netpkt.Packet, bool) {
	var pk netpkt.Packet
	if err := netpkt.NewDecoder().Decode(p.LinkType, p.Data, p.OrigLen, &pk); err != nil || pk.Proto != netpkt.ProtoTCP {
		return nil, false
	}
	return &pk, true
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"x"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
