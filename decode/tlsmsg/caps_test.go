package tlsmsg

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// TestHandshakeCap drops a handshake message over Options.MaxHandshake
// (a certificate chain spread over three records) with one cap-limit
// event and goes on with the messages after it, whether they share its
// last record or not.
func TestHandshakeCap(t *testing.T) {
	h := synthHello{version: VersionTLS12, suite: 0xc02f}
	cert := message(TypeCertificate, bytes.Repeat([]byte{7}, 3000))
	done := message(TypeServerHelloDone, nil)
	stream := append(cert, done...)
	var server []byte
	server = append(server, plainRecord(ContentHandshake, VersionTLS12, h.serverHello())...)
	// The certificate over three records, ServerHelloDone in the last.
	for len(stream) > 0 {
		n := min(len(stream), 1400)
		server = append(server, plainRecord(ContentHandshake, VersionTLS12, stream[:n])...)
		stream = stream[n:]
	}
	for _, limit := range []int{0, 1000} {
		d := NewDecoderOptions(Options{MaxHandshake: limit})
		var evs []decode.Event
		emit := func(e decode.Event) { evs = append(evs, e) }
		at := decode.Position{Frame: 1, TS: time.Unix(1, 0)}
		if err := d.Data(decode.C2S, plainRecord(ContentHandshake, VersionTLS12, h.clientHello()), at, emit); err != nil {
			t.Fatal(err)
		}
		// Byte by byte: the cap must hold however the records arrive.
		for i := range server {
			if err := d.Data(decode.S2C, server[i:i+1], at, emit); err != nil {
				t.Fatal(err)
			}
		}
		var types []string
		for _, e := range evs {
			types = append(types, string(e.Type))
			if e.Type == decode.TypeCapLimit {
				if f, _ := e.Info.Get("dropped"); f.Int != int64(len(cert)) {
					t.Errorf("limit %d: dropped %d; want %d", limit, f.Int, len(cert))
				}
			}
		}
		want := "ClientHello ServerHello Certificate ServerHelloDone"
		if limit > 0 {
			want = "ClientHello ServerHello cap-limit ServerHelloDone"
		}
		if got := strings.Join(types, " "); got != want {
			t.Errorf("limit %d: events %s; want %s", limit, got, want)
		}
	}
}

// TestCompressedCertificate parses RFC 8879's message (Chrome sends it):
// the algorithm by name, both lengths; a cut one is an error.
func TestCompressedCertificate(t *testing.T) {
	body := append([]byte{0, 2, 0, 0x0a, 0x45, 0, 0, 3}, 1, 2, 3)
	typ, info, err := ParseMessage(message(TypeCompressedCertificate, body), VersionTLS13)
	if err != nil || typ != "CompressedCertificate" {
		t.Fatalf("%s, %v", typ, err)
	}
	want := map[string]string{"algorithm": "brotli", "uncompressed_length": "2629", "compressed_length": "3"}
	for k, v := range want {
		if f, _ := info.Get(k); string(f.AppendValue(nil)) != v {
			t.Errorf("%s = %s; want %s", k, f.AppendValue(nil), v)
		}
	}
	if _, _, err := ParseMessage(message(TypeCompressedCertificate, body[:6]), VersionTLS13); err == nil {
		t.Errorf("a cut message parsed")
	}
}
