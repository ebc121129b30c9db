package qlog_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlogwriter"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/render/qlog"
	"github.com/wiretrace/wiretrace/timeline"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// events runs a project capture with its key log through the timeline.
func events(t *testing.T, name string) []timeline.Event {
	t.Helper()
	keys := &keylog.Store{}
	opts := pcaptest.Options{Keys: keys, Registry: stack.Registry(stack.Options{Keys: keys})}
	opts.Timeline.Datagrams = stack.Datagrams(stack.Options{Keys: keys})
	var evs []timeline.Event
	pcaptest.Run(t, pcaptest.Project(name), opts, func(ev *timeline.Event) { evs = append(evs, *ev) })
	return evs
}

func render(t *testing.T, evs []timeline.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := qlog.New(&buf, "test")
	for i := range evs {
		if err := w.Event(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// records splits JSON-SEQ output (RFC 7464) into parsed records, failing
// on anything that is not RS, a JSON text, LF.
func records(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	if len(b) == 0 || b[0] != 0x1e {
		t.Fatalf("output does not start with a record separator")
	}
	var out []map[string]any
	for i, r := range bytes.Split(b[1:], []byte{0x1e}) {
		if !bytes.HasSuffix(r, []byte("\n")) || bytes.Count(r, []byte("\n")) != 1 {
			t.Fatalf("record %d is not one line: %q", i, r)
		}
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatalf("record %d: %v: %s", i, err, r)
		}
		out = append(out, m)
	}
	return out
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"h3-quic", "h3-0rtt", "h3-migration"} {
		t.Run(name, func(t *testing.T) {
			got := render(t, events(t, name+".pcapng"))
			path := filepath.Join("testdata", name+".sqlog")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (go test -update to accept)", name, path)
			}
		})
	}
}

// TestPacketsAndFrames checks the trace against the event stream it came
// from: one packet record per QUIC packet event, sent for the client's and
// received for the server's, with its packet number and one frame per
// listed frame, of the same type.
func TestPacketsAndFrames(t *testing.T) {
	evs := events(t, "h3-migration.pcapng")
	recs := records(t, render(t, evs))
	hdr := recs[0]
	if hdr["qlog_version"] != qlog.Version || hdr["qlog_format"] != "JSON-SEQ" {
		t.Fatalf("header %v", hdr)
	}
	vp := hdr["trace"].(map[string]any)["vantage_point"].(map[string]any)
	if vp["type"] != "network" || vp["flow"] != "client" {
		t.Errorf("vantage point %v", vp)
	}
	var packets []map[string]any
	paths := 0
	for _, r := range recs[1:] {
		switch r["name"] {
		case "transport:packet_sent", "transport:packet_received":
			packets = append(packets, r)
		case "connectivity:path_updated":
			paths++
		}
	}
	i := 0
	for _, e := range evs {
		if e.Layer != decode.LayerQUIC {
			continue
		}
		if i >= len(packets) {
			t.Fatalf("%d packet records for more QUIC events", len(packets))
		}
		p := packets[i]
		i++
		wantName := "transport:packet_sent"
		if e.Dir == decode.S2C {
			wantName = "transport:packet_received"
		}
		data := p["data"].(map[string]any)
		h := data["header"].(map[string]any)
		pn, _ := e.Info.Get("pn")
		if p["name"] != wantName || h["packet_number"] != float64(pn.Int) {
			t.Errorf("frame %d: %v %v; want %s pn %d", e.Frame, p["name"], h["packet_number"], wantName, pn.Int)
		}
		frames, _ := e.Info.Get("frames")
		got, _ := data["frames"].([]any)
		if len(got) != len(frames.Strs) {
			t.Errorf("frame %d: %d qlog frames for %q", e.Frame, len(got), frames.Strs)
			continue
		}
		for j, f := range got {
			name, _, _ := strings.Cut(frames.Strs[j], " ")
			if ft := f.(map[string]any)["frame_type"]; ft != strings.ToLower(name) {
				t.Errorf("frame %d: qlog frame %d is %v; want %s", e.Frame, j, ft, name)
			}
		}
	}
	if i != len(packets) || paths != 1 {
		t.Errorf("%d QUIC events, %d packet records, %d path updates (want 1)", i, len(packets), paths)
	}
}

// TestFrames checks single frame summaries (docs/events.md's forms).
func TestFrames(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"PADDING 947", `{"frame_type":"padding","payload_length":947}`},
		{"PING", `{"frame_type":"ping"}`},
		{"ACK largest=7 delay=200us ranges=5-7,0-3 ect0=1 ect1=0 ce=2", `{"frame_type":"ack","ack_delay":0.2,"acked_ranges":[[0,3],[5,7]],"ect0":1,"ect1":0,"ce":2}`},
		{"ACK largest=9 delay=0us ranges=9,7,+3 more", `{"frame_type":"ack","ack_delay":0,"acked_ranges":[[7],[9]]}`},
		{"CRYPTO off=0 len=245", `{"frame_type":"crypto","offset":0,"length":245}`},
		{"STREAM id=4 off=100 len=12 fin", `{"frame_type":"stream","stream_id":4,"offset":100,"length":12,"fin":true}`},
		{"RESET_STREAM id=8 err=0x10c final=300", `{"frame_type":"reset_stream","stream_id":8,"error_code":268,"final_size":300}`},
		{"MAX_STREAMS bidi max=101", `{"frame_type":"max_streams","stream_type":"bidirectional","maximum":101}`},
		{"STREAMS_BLOCKED uni limit=3", `{"frame_type":"streams_blocked","stream_type":"unidirectional","limit":3}`},
		{"NEW_CONNECTION_ID seq=1 retire_prior_to=0 cid=8ddf8f4b", `{"frame_type":"new_connection_id","sequence_number":1,"retire_prior_to":0,"connection_id_length":4,"connection_id":"8ddf8f4b"}`},
		{"NEW_TOKEN len=57", `{"frame_type":"new_token","token":{"raw":{"length":57}}}`},
		{"PATH_CHALLENGE data=d60b7ace5f8d71bb", `{"frame_type":"path_challenge","data":"d60b7ace5f8d71bb"}`},
		{"CONNECTION_CLOSE err=app:0x100", `{"frame_type":"connection_close","error_space":"application","error_code":256}`},
		{`CONNECTION_CLOSE err=PROTOCOL_VIOLATION frame=CRYPTO reason="bad \"x\" </script>"…`,
			`{"frame_type":"connection_close","error_space":"transport","error_code":"protocol_violation","trigger_frame_type":"crypto","reason":"bad \"x\" \u003c/script\u003e"}`},
		{"CONNECTION_CLOSE err=CRYPTO_ERROR(handshake_failure) frame=PADDING", `{"frame_type":"connection_close","error_space":"transport","error_code":"crypto_error(handshake_failure)","trigger_frame_type":"padding"}`},
		{"HANDSHAKE_DONE", `{"frame_type":"handshake_done"}`},
		{"FUTURE_FRAME x=1", `{"frame_type":"unknown","raw_frame_type":"FUTURE_FRAME"}`},
	} {
		evs := []timeline.Event{{Conn: &timeline.Conn{ID: 1}}}
		evs[0].Event = decode.NewEvent(1, time.Unix(1, 0), decode.C2S, decode.LayerQUIC, "1-RTT")
		evs[0].Info = decode.Info{decode.Int("pn", 1), decode.Strings("frames", []string{tt.in})}
		recs := records(t, render(t, evs))
		got, _ := json.Marshal(recs[1]["data"].(map[string]any)["frames"].([]any)[0])
		var want any
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(got, wantJSON) {
			t.Errorf("%s:\n got %s\nwant %s", tt.in, got, wantJSON)
		}
	}
}

// TestSchemaLikeQuicGo compares the trace's shape with the qlog quic-go
// writes of a real exchange: every key our packet headers and frames use
// must be one quic-go uses for the same frame type (quic-go's traces open
// in qvis), and so must the event names.
func TestSchemaLikeQuicGo(t *testing.T) {
	theirs := quicGoKeys(t)
	ours := keysOf(t, records(t, render(t, events(t, "h3-quic.pcapng"))))
	// Fields of the qlog schema quic-go leaves out.
	extra := map[string]bool{"frame new_connection_id connection_id_length": true}
	compared := 0
	for k := range ours {
		if fields := strings.Fields(k); fields[0] == "frame" && !theirs["frame "+fields[1]+" frame_type"] {
			continue // a frame type quic-go's exchange did not log
		}
		if strings.HasPrefix(k, "event recovery:") || strings.HasPrefix(k, "event http:") || strings.HasPrefix(k, "event connectivity:") {
			continue // quic-go logs these at other moments
		}
		compared++
		if !theirs[k] && !extra[k] {
			t.Errorf("%s: not in quic-go's qlog", k)
		}
	}
	if compared < 20 {
		t.Errorf("only %d keys compared", compared)
	}
	if t.Failed() {
		var all []string
		for k := range theirs {
			all = append(all, k)
		}
		sort.Strings(all)
		t.Logf("quic-go's keys:\n%s", strings.Join(all, "\n"))
	}
}

// keysOf lists "event NAME", "header KEY" and "frame TYPE KEY" of packet
// records.
func keysOf(t *testing.T, recs []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs[1:] {
		name, _ := r["name"].(string)
		out["event "+name] = true
		if name != "transport:packet_sent" && name != "transport:packet_received" {
			continue
		}
		data := r["data"].(map[string]any)
		for k := range data["header"].(map[string]any) {
			out["header "+k] = true
		}
		frames, _ := data["frames"].([]any)
		for _, f := range frames {
			fm := f.(map[string]any)
			for k := range fm {
				out["frame "+fm["frame_type"].(string)+" "+k] = true
			}
		}
	}
	return out
}

// quicGoKeys runs a quic-go exchange over loopback with its JSON-SEQ qlog
// writer and returns the keys of the client's trace.
func quicGoKeys(t *testing.T) map[string]bool {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"q.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := quicgo.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos: []string{"q"}}, nil)
	if err != nil {
		t.Skip("no UDP on loopback: ", err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		s, err := c.AcceptStream(ctx)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(s)
		s.Write(b)
		s.Close()
	}()
	buf := &lockedBuffer{}
	var trace *qlogwriter.FileSeq
	conf := &quicgo.Config{Tracer: func(_ context.Context, isClient bool, odcid quicgo.ConnectionID) qlogwriter.Trace {
		trace = qlogwriter.NewConnectionFileSeq(buf, isClient, odcid)
		go trace.Run()
		return trace
	}}
	c, err := quicgo.DialAddr(ctx, ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"q"}}, conf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	s.Write(bytes.Repeat([]byte("x"), 5000))
	s.Close()
	io.ReadAll(s)
	c.CloseWithError(0x100, "bye")
	deadline := time.Now().Add(5 * time.Second)
	for !buf.closed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	recs := records(t, buf.bytes())
	if len(recs) < 5 || !slices.ContainsFunc(recs, func(r map[string]any) bool { return r["name"] == "transport:packet_sent" }) {
		t.Fatalf("quic-go's qlog has %d records", len(recs))
	}
	return keysOf(t, recs)
}

// lockedBuffer is the io.WriteCloser quic-go's trace writes to from its
// own goroutine.
type lockedBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	done bool
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	return nil
}

func (l *lockedBuffer) closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

func (l *lockedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
