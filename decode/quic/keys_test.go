package quic

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
)

// keyStore reads a key log into a Store.
func keyStore(t testing.TB, log []byte) *keylog.Store {
	t.Helper()
	st := &keylog.Store{}
	if _, err := st.Add(bytes.NewReader(log), "test"); err != nil {
		t.Fatal(err)
	}
	return st
}

// decodeWith runs datagrams through a Decoder made with opts.
func decodeWith(t testing.TB, dgs []datagram, opts Options) ([]decode.Event, *Decoder) {
	t.Helper()
	d := NewDecoder(opts)
	var evs []decode.Event
	for i, dg := range dgs {
		at := decode.Position{Frame: int64(i + 1), TS: time.Unix(int64(i), 0)}
		if err := d.Datagram(dg.dir, dg.data, at, func(e decode.Event) { evs = append(evs, e) }); err != nil {
			t.Fatal(err)
		}
	}
	return evs, d
}

// frameTypes returns the names of a packet event's frames, PADDING left
// out (quic-go's qlog does not list it).
func frameTypes(e decode.Event) []string {
	f, _ := e.Info.Get("frames")
	var out []string
	for _, s := range f.Strs {
		name, _, _ := strings.Cut(s, " ")
		if name != "PADDING" {
			out = append(out, name)
		}
	}
	return out
}

// checkDecrypted compares every packet of one direction, all spaces, with
// the sender's qlog: the packet number and the frame types, and requires
// each to be decrypted without error. Packets are matched by type and
// number: with lossy set, the qlog may list packets the capture never saw
// (loopback drops datagrams when the receiver's socket buffer is full).
func checkDecrypted(t *testing.T, evs []decode.Event, dir decode.Dir, sent []sentPacket, lossy bool) {
	t.Helper()
	byPN := map[string]sentPacket{}
	for _, q := range sent {
		byPN[q.typ+" "+strconv.FormatInt(q.pn, 10)] = q
	}
	n := 0
	for i, e := range evs {
		if e.Layer != decode.LayerQUIC || e.Dir != dir || e.Type == "Retry" || e.Type == "VersionNegotiation" {
			continue
		}
		n++
		if f, ok := e.Info.Get("decrypted"); !ok || !f.Bool() {
			t.Errorf("%s event %d (%s): not decrypted: %v", dir, i, e.Type, e.Info)
			continue
		}
		if f, ok := e.Info.Get("error"); ok {
			t.Errorf("%s event %d (%s): error %s", dir, i, e.Type, f.Str)
		}
		pn, _ := e.Info.Get("pn")
		q, ok := byPN[string(e.Type)+" "+strconv.FormatInt(pn.Int, 10)]
		if !ok {
			// After closing, quic-go answers late packets with its
			// last CONNECTION_CLOSE packet again, without logging it.
			if !slices.Equal(frameTypes(e), []string{"CONNECTION_CLOSE"}) {
				t.Errorf("%s %s pn %d: not in the qlog", dir, e.Type, pn.Int)
			}
			continue
		}
		var want []string
		for _, n := range q.types {
			if n != "PADDING" {
				want = append(want, n)
			}
		}
		if got := frameTypes(e); !slices.Equal(got, want) {
			t.Errorf("%s %s pn %d: frames %q; qlog %q", dir, e.Type, q.pn, got, want)
		}
	}
	if n < len(sent) && !lossy || n < len(sent)/2 {
		t.Errorf("%s: %d packets; qlog %d", dir, n, len(sent))
	}
}

// checkHandshakeKeys checks what the key log reveals of the handshake:
// the encrypted handshake messages, the ALPN in the summary, and the one
// client packet that carries its Finished completing the handshake.
func checkHandshakeKeys(t *testing.T, evs []decode.Event, d *Decoder) {
	t.Helper()
	var msgs []string
	done := -1
	for i, e := range evs {
		if e.Layer == decode.LayerTLS && e.Type != "ClientHello" && e.Type != "ServerHello" {
			msgs = append(msgs, e.Dir.String()+" "+string(e.Type))
			if f, ok := e.Info.Get("decrypted"); !ok || !f.Bool() {
				t.Errorf("%s %s without decrypted: true", e.Dir, e.Type)
			}
			if e.Type == "Finished" && e.Dir == decode.C2S {
				// The tls event follows the packet that completed it.
				if done < 0 || done != i-1 {
					t.Errorf("client Finished at event %d; FlagHandshakeDone at %d", i, done)
				}
			}
		}
		if e.Flags&decode.FlagHandshakeDone != 0 {
			if done >= 0 {
				t.Errorf("FlagHandshakeDone twice")
			}
			done = i
		}
	}
	for _, m := range []string{"s2c EncryptedExtensions", "s2c Certificate", "s2c CertificateVerify", "s2c Finished", "c2s Finished"} {
		if !slices.Contains(msgs, m) {
			t.Errorf("no %s among %q", m, msgs)
		}
	}
	if f, _ := d.Summary().Get("alpn"); f.Str != peerALPN {
		t.Errorf("summary alpn %q; want %q", f.Str, peerALPN)
	}
}

// TestRecordedKeys decrypts the recorded quic-go connection with its key
// log: every packet, all spaces.
func TestRecordedKeys(t *testing.T) {
	keys, err := os.ReadFile("testdata/quicgo-v1.keys")
	if err != nil {
		t.Fatal(err)
	}
	evs, d := decodeWith(t, readExchange(t), Options{Keys: keyStore(t, keys), MaxFrames: 1 << 10})
	types := map[string]int{}
	for _, e := range evs {
		if e.Layer != decode.LayerQUIC {
			continue
		}
		types[string(e.Type)]++
		if f, ok := e.Info.Get("decrypted"); !ok || !f.Bool() {
			t.Errorf("frame %d %s %s: not decrypted: %v", e.Frame, e.Dir, e.Type, e.Info)
		}
	}
	if types["Handshake"] == 0 || types["1-RTT"] == 0 {
		t.Errorf("packet types %v; want Handshake and 1-RTT", types)
	}
	checkHandshakeKeys(t, evs, d)
}

// TestPeersKeys decrypts quic-go connections over loopback with the
// client's key log and checks every packet of both sides against quic-go's
// qlog: packet numbers and frame types in all packet number spaces.
func TestPeersKeys(t *testing.T) {
	for _, tc := range []struct {
		name     string
		retry    bool
		versions []quicgo.Version
	}{
		{"v1", false, []quicgo.Version{quicgo.Version1}},
		{"v2", false, []quicgo.Version{quicgo.Version2}},
		{"v1-retry", true, []quicgo.Version{quicgo.Version1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := runExchange(t, tc.retry, tc.versions)
			evs, d := decodeWith(t, ex.datagrams, Options{Keys: keyStore(t, ex.keyLog), MaxFrames: 1 << 10, RTT: true})
			samples := 0
			for _, e := range evs {
				if f, ok := e.Info.Get("rtt_ms"); ok {
					samples++
					if f.Duration() < 0 || f.Duration() > 5*time.Second {
						t.Errorf("%s %s: rtt_ms %v", e.Dir, e.Type, f.Duration())
					}
				}
			}
			if f, ok := d.Summary().Get("rtt_ms"); !ok || samples < 2 || f.Duration() <= 0 {
				t.Errorf("%d rtt samples, summary rtt_ms %v; want some, > 0", samples, f.Duration())
			}
			checkDecrypted(t, evs, decode.C2S, ex.client.packets(), false)
			checkDecrypted(t, evs, decode.S2C, ex.server.packets(), false)
			checkHandshakeKeys(t, evs, d)
			if want := os.Getenv("WIRETRACE_QUIC_SUITE"); want != "" && tlsmsg.CipherSuite(d.suiteID).String() != want {
				t.Errorf("cipher suite %s; want %s", tlsmsg.CipherSuite(d.suiteID), want)
			}
		})
	}
}

// TestPeersChaCha runs TestPeersKeys again in a process whose Go runtime
// believes the CPU lacks AES instructions: crypto/tls then prefers
// ChaCha20-Poly1305, so packets are protected with it and their headers
// with ChaCha20 (RFC 9001 §5.4.4).
func TestPeersChaCha(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the peers again in a subprocess")
	}
	if os.Getenv("WIRETRACE_QUIC_SUITE") != "" {
		t.Skip("in the subprocess")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeersKeys$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.aes=off", "WIRETRACE_QUIC_SUITE="+tlsmsg.CipherSuite(0x1303).String())
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestPeersKeys")) {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestKeysMissing: a key log without the connection, or with a wrong
// secret, says so once, and the packets still show their headers.
func TestKeysMissing(t *testing.T) {
	keys, err := os.ReadFile("testdata/quicgo-v1.keys")
	if err != nil {
		t.Fatal(err)
	}
	dgs := readExchange(t)
	other := bytes.Repeat([]byte("ab"), 32)
	// Another connection's client random: missing.
	missing := "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + string(other) + " " + strings.Repeat("11", 32) + "\n"
	// This connection's random with other secrets of the right length: wrong.
	var wrong strings.Builder
	for _, line := range strings.Split(string(keys), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			wrong.WriteString(f[0] + " " + f[1] + " " + strings.Repeat("22", len(f[2])/2) + "\n")
		}
	}
	for _, tc := range []struct{ name, log, want string }{
		{"missing", missing, tlsmsg.KeysMissing},
		{"wrong", wrong.String(), tlsmsg.KeysWrong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, _ := decodeWith(t, dgs, Options{Keys: keyStore(t, []byte(tc.log))})
			n, hs := 0, 0
			for _, e := range evs {
				if e.Type == tlsmsg.TypeKeys {
					n++
					if f, _ := e.Info.Get("keys"); e.Layer != decode.LayerTLS || f.Str != tc.want {
						t.Errorf("%s %s keys=%q; want tls keys=%q", e.Layer, e.Type, f.Str, tc.want)
					}
				}
				if e.Type == "Handshake" {
					hs++
					if f, _ := e.Info.Get("decrypted"); f.Bool() {
						t.Errorf("a Handshake packet decrypted with a %s key", tc.name)
					}
				}
			}
			if n != 1 || hs == 0 {
				t.Errorf("%d keys events, %d Handshake packets; want 1, some", n, hs)
			}
		})
	}
}

// TestKeysDamagedFirst: the first 1-RTT packet the server sends is
// damaged; the secret is tried again on the next one and decrypts the
// rest, without a keys event.
func TestKeysDamagedFirst(t *testing.T) {
	keys, err := os.ReadFile("testdata/quicgo-v1.keys")
	if err != nil {
		t.Fatal(err)
	}
	dgs := readExchange(t)
	damaged := false
	for i, dg := range dgs {
		if dg.dir != decode.S2C || damaged {
			continue
		}
		for off := 0; off < len(dg.data); {
			if dg.data[off]&0x80 == 0 {
				// A short header runs to the end of the datagram:
				// its last byte is in the AEAD tag.
				dgs[i].data = bytes.Clone(dg.data)
				dgs[i].data[len(dg.data)-1] ^= 1
				damaged = true
				break
			}
			var h Header
			if ParseHeader(dg.data[off:], -1, &h) != nil || h.Size <= 0 {
				break
			}
			off += h.Size
		}
	}
	if !damaged {
		t.Fatal("no server 1-RTT packet in the recording")
	}
	evs, _ := decodeWith(t, dgs, Options{Keys: keyStore(t, keys)})
	bad, good := 0, 0
	for _, e := range evs {
		if e.Type == tlsmsg.TypeKeys {
			t.Errorf("keys event %v", e.Info)
		}
		if e.Type == "1-RTT" && e.Dir == decode.S2C {
			if f, _ := e.Info.Get("decrypted"); f.Bool() {
				good++
			} else {
				bad++
			}
		}
	}
	if bad != 1 || good == 0 {
		t.Errorf("server 1-RTT packets: %d not decrypted, %d decrypted; want 1, some", bad, good)
	}
}
