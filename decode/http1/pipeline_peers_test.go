package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Pipelining on a real server: Go's net/http answers pipelined requests
// one at a time, so a slow first handler holds back the requests behind
// it. Both ends are recorded with times: the client's log is a capture
// beside the client, the server's one beside the server.

type timedChunk struct {
	chunk
	ts time.Time
}

type timedLog struct {
	mu     sync.Mutex
	chunks []timedChunk
}

// timedConn logs a connection: what it reads is read, what it writes
// write (the server reads c2s, the client s2c).
type timedConn struct {
	net.Conn
	log         *timedLog
	read, write decode.Dir
}

func (c timedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.add(c.read, b[:n])
	return n, err
}

func (c timedConn) Write(b []byte) (int, error) {
	c.add(c.write, b)
	return c.Conn.Write(b)
}

func (c timedConn) add(dir decode.Dir, b []byte) {
	if len(b) == 0 {
		return
	}
	c.log.mu.Lock()
	c.log.chunks = append(c.log.chunks, timedChunk{chunk{dir, append([]byte(nil), b...)}, time.Now()})
	c.log.mu.Unlock()
}

// decode feeds the log to a Decoder, chunk i at frame i+1 and its time,
// and returns the hol-stall events.
func (l *timedLog) stalls() []decode.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := NewDecoder(Options{})
	var out []decode.Event
	emit := func(e decode.Event) {
		if e.Type == TypeHOLStall {
			out = append(out, e)
		}
	}
	var last time.Time
	for i, c := range l.chunks {
		d.Data(c.dir, c.data, decode.Position{Frame: int64(i + 1), TS: c.ts}, emit)
		last = c.ts
	}
	d.End(decode.Position{Frame: int64(len(l.chunks) + 1), TS: last}, emit)
	return out
}

// timedListener logs every connection it accepts into log.
type timedListener struct {
	net.Listener
	log *timedLog
}

func (l timedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return timedConn{c, l.log, decode.C2S, decode.S2C}, nil
}

func TestPeersPipelineStall(t *testing.T) {
	const slow = 60 * time.Millisecond
	// What the handlers know: when each began and ended.
	var mu sync.Mutex
	began := map[string]time.Time{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		began[r.URL.Path] = time.Now()
		mu.Unlock()
		if r.URL.Path == "/slow" {
			time.Sleep(slow)
		}
		io.WriteString(w, r.URL.Path)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	srvLog := &timedLog{}
	srv := &http.Server{Handler: mux}
	go srv.Serve(timedListener{ln, srvLog})
	t.Cleanup(func() { srv.Close() })

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cliLog := &timedLog{}
	tc := timedConn{c, cliLog, decode.S2C, decode.C2S}
	paths := []string{"/slow", "/fast", "/last"}
	var reqs string
	for _, p := range paths {
		reqs += "GET " + p + " HTTP/1.1\r\nHost: pipe.test\r\n\r\n"
	}
	sent := time.Now()
	if _, err := io.WriteString(tc, reqs); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(tc)
	for _, p := range paths {
		res, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != p {
			t.Fatalf("%s answered %q", p, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Go's server took the requests in order, each after the last answer.
	if !began["/fast"].After(began["/slow"].Add(slow)) || !began["/last"].After(began["/fast"]) {
		t.Fatalf("handlers began %v; want one at a time", began)
	}

	// At the client: requests 2 and 3 were complete when the client wrote
	// them; each waited for the answer before it to end.
	cs := cliLog.stalls()
	checkChain(t, "client", cs, slow)
	if len(cs) > 0 {
		if f, _ := cs[0].Info.Get("start"); f.Str != cliLog.chunks[0].ts.UTC().Format(time.RFC3339Nano) || cliLog.chunks[0].ts.Before(sent) {
			t.Errorf("client's %s: want it to start when the requests were written", render(cs[0]))
		}
	}
	// At the server: each wait ends when the server wrote the answer
	// before it, before it began the next handler; the client's waits
	// are longer by the way there and back.
	ss := srvLog.stalls()
	checkChain(t, "server", ss, slow)
	for i := 0; i < len(ss) && i < len(cs); i++ {
		next := paths[ss[i].Stream-1]
		if ss[i].TS.After(began[next]) {
			t.Errorf("server's %s: ends after %s began (%v)", render(ss[i]), next, began[next])
		}
		sd, _ := ss[i].Info.Get("duration_ms")
		cd, _ := cs[i].Info.Get("duration_ms")
		if sd.Duration() > cd.Duration() {
			t.Errorf("server's wait %v longer than the client's %v", sd.Duration(), cd.Duration())
		}
	}
}

// checkChain checks the stalls of the three pipelined requests: 2 waited
// behind 1 (the slow one), 3 behind 2 with 2 answers ahead of it, both
// for at least the slow handler's time.
func checkChain(t *testing.T, where string, evs []decode.Event, slow time.Duration) {
	t.Helper()
	if len(evs) != 2 {
		for _, e := range evs {
			t.Logf("%s: %s", where, render(e))
		}
		t.Fatalf("%s: %d stalls; want 2", where, len(evs))
	}
	for i, e := range evs {
		want := int64(i + 2)
		by, _ := e.Info.Get("blocked_by")
		ahead, _ := e.Info.Get("ahead")
		d, _ := e.Info.Get("duration_ms")
		if e.Stream != want || by.Int != want-1 || ahead.Int != want-1 || d.Duration() < slow {
			t.Errorf("%s: %s; want stream %d blocked by %d for at least %v", where, render(e), want, want-1, slow)
		}
	}
}
