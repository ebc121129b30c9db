package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/http1"
	"github.com/wiretrace/wiretrace/decode/ws"
)

// Real peers: github.com/coder/websocket client and server over loopback
// TCP, with compression off, with context takeover and without. The
// server's connection is tapped (what it reads is c2s, what it writes s2c)
// and the bytes go through http1's decoder, whose Upgrade hook starts a ws
// Decoder, in random pieces. The messages each side sent must come out with
// their types and sizes (inflated where compressed), and nothing may be
// flagged.

type chunk struct {
	dir  decode.Dir
	data []byte
}

type tapListener struct {
	done chan struct{} // a WebSocket handler returned
	net.Listener
	mu  sync.Mutex
	log []chunk
}

type tapConn struct {
	net.Conn
	l *tapListener
}

func (l *tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tapConn{c, l}, nil
}

func (c tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.l.add(decode.C2S, b[:n])
	return n, err
}

// Write logs b before writing it, so the log never lags what the client
// has read.
func (c tapConn) Write(b []byte) (int, error) {
	c.l.add(decode.S2C, b)
	return c.Conn.Write(b)
}

func (l *tapListener) add(dir decode.Dir, b []byte) {
	if len(b) > 0 {
		l.mu.Lock()
		l.log = append(l.log, chunk{dir, bytes.Clone(b)})
		l.mu.Unlock()
	}
}

// msg is a message as the test sees it: type and (uncompressed) size.
type msg struct {
	op   string
	size int
}

func (m msg) String() string { return fmt.Sprintf("%s:%d", m.op, m.size) }

// echoServer echoes every message back with its type.
func echoServer(t *testing.T, mode websocket.CompressionMode) (*tapListener, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	tl := &tapListener{Listener: ln, done: make(chan struct{}, 1)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
			Subprotocols: []string{"echo"}, CompressionMode: mode, CompressionThreshold: 64,
		})
		if err != nil {
			return
		}
		// The handler returns once the closing handshake is read and
		// answered: every frame is in the log then.
		defer func() { tl.done <- struct{}{} }()
		ctx := r.Context()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, data); err != nil {
				return
			}
		}
	})
	srv := &http.Server{Handler: h}
	go srv.Serve(tl)
	t.Cleanup(func() { srv.Close() })
	return tl, "ws://" + ln.Addr().String()
}

func TestPeers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     websocket.CompressionMode
		handshke string // the handshake event's deflate keys
	}{
		{"no compression", websocket.CompressionDisabled, ""},
		{"context takeover", websocket.CompressionContextTakeover, "permessage_deflate=true"},
		{"no context takeover", websocket.CompressionNoContextTakeover,
			"permessage_deflate=true client_no_context_takeover=true server_no_context_takeover=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, url := echoServer(t, tc.mode)
			sent := talk(t, url, tc.mode)
			select {
			case <-tl.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not finish the closing handshake")
			}
			tl.mu.Lock()
			log := slices.Clone(tl.log)
			tl.mu.Unlock()
			checkPeers(t, log, sent, tc.handshke, tc.mode != websocket.CompressionDisabled)
		})
	}
}

// talk runs the client: messages of both types, one written in pieces, a
// ping and a close with a reason; it returns the messages it sent.
func talk(t *testing.T, url string, mode websocket.CompressionMode) []msg {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"echo"}, CompressionMode: mode, CompressionThreshold: 64,
	})
	if err != nil {
		t.Fatal(err)
	}
	echoes := make(chan msg, 10)
	go func() {
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				close(echoes)
				return
			}
			echoes <- msg{opName(typ), len(data)}
		}
	}()
	var sent []msg
	send := func(typ websocket.MessageType, parts ...[]byte) {
		t.Helper()
		w, err := c.Writer(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range parts {
			w.Write(p)
			n += len(p)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, msg{opName(typ), n})
		if got := <-echoes; got != sent[len(sent)-1] {
			t.Fatalf("echo %v; sent %v", got, sent[len(sent)-1])
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 700)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	send(websocket.MessageText, []byte("hello"))
	send(websocket.MessageBinary, bytes.Repeat([]byte("0123456789"), 300))
	send(websocket.MessageText, []byte(strings.Repeat(`{"k":"v"},`, 30)), []byte(strings.Repeat(`{"x":1},`, 40)))
	send(websocket.MessageBinary, noise)
	send(websocket.MessageText, []byte(strings.Repeat(`{"k":"v"},`, 200)))
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	return sent
}

func opName(typ websocket.MessageType) string {
	if typ == websocket.MessageText {
		return "text"
	}
	return "binary"
}

// checkPeers decodes the log and compares the messages of each direction
// with sent (the server echoes each one).
func checkPeers(t *testing.T, log []chunk, sent []msg, hsKeys string, compression bool) {
	t.Helper()
	var evs []decode.Event
	emit := func(e decode.Event) { evs = append(evs, e) }
	d := http1.NewDecoder(http1.Options{Upgrade: func(u *http1.Upgrade, emit decode.Emit) decode.StreamDecoder {
		if u.Protocol != "websocket" {
			t.Errorf("protocol %q", u.Protocol)
			return nil
		}
		return ws.New(ws.FromHeaders(u.Request, u.Response, u.At), ws.Options{}, emit)
	}})
	r := rand.New(rand.NewPCG(5, 6))
	for i, c := range log {
		b := c.data
		for len(b) > 0 {
			n := 1 + r.IntN(min(len(b), 200))
			d.Data(c.dir, b[:n], decode.Position{Frame: int64(i + 1)}, emit)
			b = b[n:]
		}
	}
	d.End(decode.Position{Frame: int64(len(log) + 1)}, emit)

	var got [2][]msg
	var cur [2]msg
	var compressed [2]int
	frames := map[string]int{}
	for _, e := range evs {
		if e.Layer != decode.LayerWS {
			if e.Layer == decode.LayerConn {
				t.Errorf("%s: %v", e.Type, e.Info)
			}
			continue
		}
		if f, ok := e.Info.Get("protocol_error"); ok {
			t.Errorf("%s %s: protocol_error %q", e.Dir, e.Type, f.Str)
		}
		i := e.Dir.Index()
		switch e.Type {
		case ws.TypeHandshake:
			var keys []string
			for _, f := range e.Info {
				if f.Key != "accept" && f.Key != "protocol" && f.Key != "extensions" {
					keys = append(keys, f.Key+"="+string(f.AppendValue(nil)))
				}
			}
			if f, _ := e.Info.Get("accept"); f.Str != "ok" {
				t.Errorf("accept %q; want ok", f.Str)
			}
			if p, _ := e.Info.Get("protocol"); p.Str != "echo" {
				t.Errorf("protocol %q", p.Str)
			}
			if s := strings.Join(keys, " "); s != hsKeys {
				t.Errorf("handshake %q; want %q", s, hsKeys)
			}
			continue
		case ws.TypeText, ws.TypeBinary:
			cur[i] = msg{string(e.Type), int(e.Len)}
		case ws.TypeContinuation:
			cur[i].size += int(e.Len)
		case ws.TypeMessage:
			if f, ok := e.Info.Get("inflated"); ok {
				got[i][len(got[i])-1].size = int(f.Int)
				compressed[i]++
			} else if e.Info.Has("compressed") {
				t.Errorf("%s message not inflated: %v", e.Dir, e.Info)
			}
		case ws.TypeClose:
			if e.Dir == decode.C2S {
				code, _ := e.Info.Get("code")
				reason, _ := e.Info.Get("reason")
				if code.Int != 1000 || reason.Str != "bye" {
					t.Errorf("close %v", e.Info)
				}
			}
		}
		frames[e.Dir.String()+" "+string(e.Type)]++
		if fin, _ := e.Info.Get("fin"); fin.Bool() && (e.Type == ws.TypeText || e.Type == ws.TypeBinary || e.Type == ws.TypeContinuation) {
			got[i] = append(got[i], cur[i])
		}
	}
	t.Logf("frames %v, inflated %v", frames, compressed)
	for i, dir := range []string{"c2s", "s2c"} {
		if !slices.Equal(got[i], sent) {
			t.Errorf("%s messages %v; sent %v", dir, got[i], sent)
		}
		if compression && compressed[i] < 3 || !compression && compressed[i] > 0 {
			t.Errorf("%s: %d messages inflated", dir, compressed[i])
		}
	}
	for _, k := range []string{"c2s ping", "s2c pong", "c2s close", "s2c close"} {
		if frames[k] != 1 {
			t.Errorf("%d %s frames; want 1 (all: %v)", frames[k], k, frames)
		}
	}
}
