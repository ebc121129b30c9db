package quic

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/wiretrace/wiretrace/decode"
)

var update = flag.Bool("update", false, "record testdata/quicgo-v1.exchange (and its .keys) again from quic-go peers")

// recordedPath is a quic-go v1 connection over loopback, recorded by
// TestRecordExchange: one datagram a line, "c2s HEX" or "s2c HEX", as the
// server's socket saw them. quicgo-v1.keys beside it is the client's key
// log (NSS format), for decrypting the Handshake and 1-RTT packets.
const recordedPath = "testdata/quicgo-v1.exchange"

// TestRecordExchange records the exchange with -update; otherwise it
// checks that the recording and its key log belong together.
func TestRecordExchange(t *testing.T) {
	keysPath := strings.TrimSuffix(recordedPath, filepath.Ext(recordedPath)) + ".keys"
	if *update {
		ex := runExchange(t, false, []quicgo.Version{quicgo.Version1})
		var b bytes.Buffer
		for _, dg := range ex.datagrams {
			b.WriteString(dg.dir.String() + " " + hex.EncodeToString(dg.data) + "\n")
		}
		if err := os.WriteFile(recordedPath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keysPath, ex.keyLog, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dgs := readExchange(t)
	keyLog, err := os.ReadFile(keysPath)
	if err != nil {
		t.Fatal(err)
	}
	evs, d := decodeExchange(t, dgs)
	hellos := 0
	for _, e := range evs {
		if e.Type == "ClientHello" || e.Type == "ServerHello" {
			hellos++
		}
	}
	if hellos != 2 {
		t.Errorf("%d hellos in the recording; want 2", hellos)
	}
	if !bytes.Contains(keyLog, []byte("CLIENT_TRAFFIC_SECRET_0 ")) {
		t.Errorf("%s lacks the application secrets", keysPath)
	}
	if f, _ := d.Summary().Get("sni"); f.Str != peerSNI {
		t.Errorf("recorded sni %q; want %q", f.Str, peerSNI)
	}
}

// readExchange reads recordedPath.
func readExchange(t testing.TB) []datagram {
	t.Helper()
	f, err := os.Open(recordedPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var dgs []datagram
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dir, h, ok := strings.Cut(sc.Text(), " ")
		b, err := hex.DecodeString(h)
		if !ok || err != nil || dir != "c2s" && dir != "s2c" {
			t.Fatalf("%s: bad line %q", recordedPath, sc.Text())
		}
		d := decode.C2S
		if dir == "s2c" {
			d = decode.S2C
		}
		dgs = append(dgs, datagram{dir: d, data: b})
	}
	if err := sc.Err(); err != nil || len(dgs) == 0 {
		t.Fatalf("%s: %d datagrams, %v", recordedPath, len(dgs), err)
	}
	return dgs
}

// BenchmarkDecodeQUIC decodes the recorded quic-go connection: Initial
// decryption both ways, the hellos through tlsmsg, the rest headers only.
func BenchmarkDecodeQUIC(b *testing.B) { benchmarkDecode(b, Options{}) }

// BenchmarkDecodeQUICKeys decodes it with its key log: every packet
// decrypted, the stream reassembled, RTT samples taken.
func BenchmarkDecodeQUICKeys(b *testing.B) {
	keys, err := os.ReadFile(strings.TrimSuffix(recordedPath, filepath.Ext(recordedPath)) + ".keys")
	if err != nil {
		b.Fatal(err)
	}
	benchmarkDecode(b, Options{Keys: keyStore(b, keys), RTT: true})
}

func benchmarkDecode(b *testing.B, opts Options) {
	dgs := readExchange(b)
	n := 0
	for _, dg := range dgs {
		n += len(dg.data)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	events := 0
	emit := func(decode.Event) { events++ }
	at := decode.Position{TS: time.Unix(0, 0)}
	for b.Loop() {
		d := NewDecoder(opts)
		for _, dg := range dgs {
			d.Datagram(dg.dir, dg.data, at, emit)
		}
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
	b.ReportMetric(float64(len(dgs)), "datagrams/op")
}
