//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/coder/websocket"
)

// wsMessage is one message of a WebSocket scenario's client, sent in
// parts (one frame each, through the library's Writer) when there is more
// than one.
type wsMessage struct {
	typ   websocket.MessageType
	parts [][]byte
}

func (m wsMessage) data() []byte { return bytes.Join(m.parts, nil) }

// wsReadLimit is both peers' read limit (the library's default is 32 KiB).
const wsReadLimit = 1 << 20

// The messages of ws-basic and ws-deflate.
var (
	wsBasicMessages = []wsMessage{
		{websocket.MessageText, [][]byte{[]byte("hello from the client")}},
		{websocket.MessageBinary, [][]byte{byteRange(256)}},
		{websocket.MessageText, [][]byte{[]byte("fragmented: one, "), []byte("two, "), []byte("three")}},
	}
	wsDeflateMessages = []wsMessage{
		{websocket.MessageText, [][]byte{[]byte("hello from the client")}}, // under the threshold: not compressed
		{websocket.MessageText, [][]byte{pattern(64 << 10)}},
		{websocket.MessageBinary, [][]byte{bytes.Repeat(byteRange(256), 16)}},
		{websocket.MessageText, [][]byte{pattern(2000), pattern(2000), pattern(2000)}},
	}
)

// byteRange is 0, 1, ..., n-1 (mod 256).
func byteRange(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// wsCloseReason is the client's close frame's reason (code 1000).
const wsCloseReason = "done"

// wsEcho: a coder/websocket echo server and client. The client sends
// msgs, reading each echo back, pings, and closes with 1000.
func wsEcho(e *env, mode websocket.CompressionMode, msgs []wsMessage) error {
	var s *httpServer
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: mode})
		if err != nil {
			s.fail("accept: %v", err)
			return
		}
		c.SetReadLimit(wsReadLimit)
		for n := 0; ; n++ {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				// The client's close; the library has answered it
				// with the same code and reason and closed.
				if ce := (websocket.CloseError{}); !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure || ce.Reason != wsCloseReason || n != len(msgs) {
					s.fail("after %d messages: %v; want a close (1000, %q) after %d", n, err, wsCloseReason, len(msgs))
				}
				return
			}
			if err := c.Write(r.Context(), typ, b); err != nil {
				s.fail("echo: %v", err)
				c.CloseNow()
				return
			}
		}
	})
	s, err := e.serveHTTP(serverPort, mux, nil)
	if err != nil {
		return err
	}
	cerr := wsClient(e, mode, msgs)
	return errors.Join(cerr, s.close())
}

func wsClient(e *env, mode websocket.CompressionMode, msgs []wsMessage) error {
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	var pongs atomic.Int32
	c, resp, err := websocket.Dial(ctx, "ws://server.test:8080/ws", &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: &http.Transport{DialContext: e.dialOnce(serverPort)}},
		CompressionMode: mode,
		OnPongReceived:  func(context.Context, []byte) { pongs.Add(1) },
	})
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer c.CloseNow()
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if deflate := strings.HasPrefix(ext, "permessage-deflate"); deflate != (mode != websocket.CompressionDisabled) {
		return fmt.Errorf("client: Sec-WebSocket-Extensions %q with compression mode %v", ext, mode)
	}
	c.SetReadLimit(wsReadLimit)

	// A reader runs all along: pongs and the close are read by it.
	type echo struct {
		typ websocket.MessageType
		b   []byte
		err error
	}
	echoes := make(chan echo, 1)
	go func() {
		for {
			typ, b, err := c.Read(ctx)
			echoes <- echo{typ, b, err}
			if err != nil {
				return
			}
		}
	}()
	for i, m := range msgs {
		if err := wsSend(ctx, c, m); err != nil {
			return fmt.Errorf("client: message %d: %w", i+1, err)
		}
		if got := <-echoes; got.err != nil || got.typ != m.typ || !bytes.Equal(got.b, m.data()) {
			return fmt.Errorf("client: echo of message %d: %v %d bytes, %v; want %v %d bytes", i+1, got.typ, len(got.b), got.err, m.typ, len(m.data()))
		}
	}
	if err := c.Ping(ctx); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if pongs.Load() != 1 {
		return fmt.Errorf("client: %d pongs; want 1", pongs.Load())
	}
	if err := c.Close(websocket.StatusNormalClosure, wsCloseReason); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if got := <-echoes; websocket.CloseStatus(got.err) != websocket.StatusNormalClosure {
		return fmt.Errorf("client: after close: %v; want the server's close 1000", got.err)
	}
	return nil
}

// wsSend writes m: in one frame (Conn.Write), or in parts through the
// library's Writer, which makes a frame of each Write and an empty final
// one at Close.
func wsSend(ctx context.Context, c *websocket.Conn, m wsMessage) error {
	if len(m.parts) == 1 {
		return c.Write(ctx, m.typ, m.parts[0])
	}
	w, err := c.Writer(ctx, m.typ)
	if err != nil {
		return err
	}
	for _, p := range m.parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Close()
}
