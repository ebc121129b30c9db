package http1

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// step is one run of bytes of one direction, or a hole (skip > 0).
type step struct {
	dir  decode.Dir
	data string
	skip uint64
}

func c2s(s string) step { return step{dir: decode.C2S, data: s} }
func s2c(s string) step { return step{dir: decode.S2C, data: s} }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is step i's position: frame i+1, i milliseconds after t0.
func at(i int) decode.Position {
	return decode.Position{Frame: int64(i + 1), TS: t0.Add(time.Duration(i) * time.Millisecond)}
}

// run feeds the steps to a Decoder, each cut into pieces by split, and
// renders the events.
func run(opts Options, steps []step, split func(n int) []int) []string {
	d := NewDecoder(opts)
	var out []string
	emit := func(e decode.Event) { out = append(out, render(e)) }
	if err := feed(d, steps, split, emit); err != nil {
		out = append(out, "error "+err.Error())
	}
	out = append(out, "summary "+render(decode.Event{Info: d.Summary()}))
	return out
}

// feed hands the steps to d, each cut by split, and ends it.
func feed(d decode.StreamDecoder, steps []step, split func(n int) []int, emit decode.Emit) error {
	for i, st := range steps {
		if st.skip > 0 {
			d.Skip(st.dir, st.skip, at(i), emit)
			continue
		}
		b := []byte(st.data)
		for _, n := range split(len(b)) {
			if err := d.Data(st.dir, b[:n], at(i), emit); err != nil {
				return err
			}
			b = b[n:]
		}
	}
	d.End(at(len(steps)), emit)
	return nil
}

func whole(n int) []int { return []int{n} }

func bytewise(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func randomSplit(r *rand.Rand) func(n int) []int {
	return func(n int) []int {
		var s []int
		for n > 0 {
			k := 1 + r.IntN(min(n, 17))
			s = append(s, k)
			n -= k
		}
		return s
	}
}

// render prints an event on one line without its headers list.
func render(e decode.Event) string {
	var b strings.Builder
	if e.Type != "" {
		fmt.Fprintf(&b, "%s %s/%s", e.Dir, e.Layer, e.Type)
		if e.Stream != decode.NoValue {
			fmt.Fprintf(&b, " #%d", e.Stream)
		}
	}
	for _, f := range e.Info {
		if f.Key == "headers" || f.Key == "start" {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", f.Key, f.AppendValue(nil))
	}
	return strings.TrimSpace(b.String())
}

func TestDecoder(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		steps []step
		want  []string
	}{
		{
			name: "get",
			steps: []step{
				c2s("GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n"),
				s2c("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/a?b=1 host=example.com version=HTTP/1.1",
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 content_type=text/plain content_length=5",
				"http1/exchange #1 method=GET authority=example.com path=/a?b=1 status=200 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=5",
				"summary requests=1",
			},
		},
		{
			name: "keep-alive, body split over steps",
			steps: []step{
				c2s("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234"),
				c2s("56789GET /two HTTP/1.1\r\nHost: h\r\n\r\n"),
				s2c("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
				s2c("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"),
				s2c("c"),
			},
			want: []string{
				"c2s http1/request #1 method=POST path=/up host=h version=HTTP/1.1 content_length=10",
				"c2s http1/request #2 method=GET path=/two host=h version=HTTP/1.1",
				"s2c http1/response #1 status=201 reason=Created version=HTTP/1.1 content_length=0",
				"http1/exchange #1 method=POST authority=h path=/up status=201 start_frame=1 first_byte_ms=2 duration_ms=2 req_bytes=10 resp_bytes=0",
				// Request 2 was complete (frame 2) before response 1 ended.
				"s2c analysis/hol-stall #2 scope=pipeline stream=2 blocked_by=1 ahead=1 end=2026-01-02T03:04:05.002Z duration_ms=1 start_frame=2",
				"s2c http1/response #2 status=200 reason=OK version=HTTP/1.1 content_length=3",
				"http1/exchange #2 method=GET authority=h path=/two status=200 start_frame=2 first_byte_ms=2 duration_ms=3 req_bytes=0 resp_bytes=3",
				"summary requests=2",
			},
		},
		{
			name: "pipelined",
			steps: []step{
				c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: h\r\n\r\n"),
				s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nyy"),
				s2c("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
				c2s("GET /4 HTTP/1.1\r\nHost: h\r\n\r\n"),
				s2c("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/1 host=h version=HTTP/1.1",
				"c2s http1/request #2 method=GET path=/2 host=h version=HTTP/1.1",
				"c2s http1/request #3 method=HEAD path=/3 host=h version=HTTP/1.1",
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 content_length=1",
				"http1/exchange #1 method=GET authority=h path=/1 status=200 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=1",
				"s2c analysis/hol-stall #2 scope=pipeline stream=2 blocked_by=1 ahead=1 end=2026-01-02T03:04:05.001Z duration_ms=1 start_frame=1",
				"s2c http1/response #2 status=404 reason=Not Found version=HTTP/1.1 content_length=2",
				"http1/exchange #2 method=GET authority=h path=/2 status=404 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=2",
				"s2c analysis/hol-stall #3 scope=pipeline stream=3 blocked_by=2 ahead=2 end=2026-01-02T03:04:05.001Z duration_ms=1 start_frame=1",
				"s2c http1/response #3 status=200 reason=OK version=HTTP/1.1 content_length=1000",
				"http1/exchange #3 method=HEAD authority=h path=/3 status=200 start_frame=1 first_byte_ms=2 duration_ms=2 req_bytes=0 resp_bytes=0",
				"c2s http1/request #4 method=GET path=/4 host=h version=HTTP/1.1",
				"s2c http1/response #4 status=304 reason=Not Modified version=HTTP/1.1 content_length=7",
				"http1/exchange #4 method=GET authority=h path=/4 status=304 start_frame=4 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=0",
				"summary requests=4",
			},
		},
		{
			name: "chunked both ways, extensions and trailers",
			steps: []step{
				c2s("PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
				s2c("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Sum\r\n\r\n"),
				s2c("A;name=v\r\n0123456789\r\n1\r\nz\r\n0\r\nX-Sum: 42\r\nX-More: 1\r\n\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=PUT path=/c host=h version=HTTP/1.1 transfer_encoding=chunked",
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 transfer_encoding=gzip, chunked",
				"http1/exchange #1 method=PUT authority=h path=/c status=200 start_frame=1 first_byte_ms=1 duration_ms=2 req_bytes=3 resp_bytes=11 req_chunks=1 resp_chunks=2 resp_trailers=X-Sum: 42,X-More: 1",
				"summary requests=1",
			},
		},
		{
			name: "100-continue and 103",
			steps: []step{
				c2s("POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
				s2c("HTTP/1.1 100 Continue\r\n\r\n"),
				c2s("data"),
				s2c("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
			},
			want: []string{
				"c2s http1/request #1 method=POST path=/p host=h version=HTTP/1.1 content_length=4 expect=100-continue",
				"s2c http1/response #1 status=100 reason=Continue version=HTTP/1.1 interim=true",
				"s2c http1/response #1 status=103 reason=Early Hints version=HTTP/1.1 interim=true",
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 content_length=2",
				"http1/exchange #1 method=POST authority=h path=/p status=200 start_frame=1 first_byte_ms=1 duration_ms=3 req_bytes=4 resp_bytes=2",
				"summary requests=1",
			},
		},
		{
			name: "read until close, HTTP/1.0",
			steps: []step{
				c2s("GET / HTTP/1.0\r\n\r\n"),
				s2c("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"),
				s2c("</html>"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/ version=HTTP/1.0 close=true",
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.0 content_type=text/html close=true",
				"http1/exchange #1 method=GET authority= path=/ status=200 start_frame=1 first_byte_ms=1 duration_ms=3 req_bytes=0 resp_bytes=13",
				"summary requests=1",
			},
		},
		{
			name: "connection close, lone LF, obs-fold, leading CRLF",
			steps: []step{
				c2s("\r\nGET http://Example.org:8080/x HTTP/1.1\nHost: other\nX-Long: a\n  b\nConnection: close\n\n"),
				s2c("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=http://Example.org:8080/x host=other version=HTTP/1.1 close=true",
				"s2c http1/response #1 status=204 reason=No Content version=HTTP/1.1 close=true",
				"http1/exchange #1 method=GET authority=Example.org:8080 path=http://Example.org:8080/x status=204 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=0",
				"summary requests=1",
			},
		},
		{
			name: "CONNECT tunnel without a next decoder",
			steps: []step{
				c2s("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01"),
				s2c("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00"),
				c2s("\x00\x01"),
			},
			want: []string{
				"c2s http1/request #1 method=CONNECT path=example.com:443 host=example.com:443 version=HTTP/1.1",
				"s2c http1/response #1 status=200 reason=Connection established version=HTTP/1.1",
				"http1/exchange #1 method=CONNECT authority=example.com:443 path=example.com:443 status=200 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=0 upgrade=connect",
				"http1/tunnel protocol=connect bytes_c2s=5 bytes_s2c=4",
				"summary requests=1 protocol=http1/tunnel",
			},
		},
		{
			name: "CONNECT refused",
			steps: []step{
				c2s("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
				s2c("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
				c2s("CONNECT example.com:443 HTTP/1.1\r\nProxy-Authorization: x\r\n\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=CONNECT path=example.com:443 host=example.com:443 version=HTTP/1.1",
				"s2c http1/response #1 status=407 reason=Proxy Authentication Required version=HTTP/1.1 content_length=0",
				"http1/exchange #1 method=CONNECT authority=example.com:443 path=example.com:443 status=407 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=0",
				"c2s http1/request #2 method=CONNECT path=example.com:443 version=HTTP/1.1",
				"http1/exchange #2 method=CONNECT authority=example.com:443 path=example.com:443 status=0 start_frame=3 duration_ms=1 req_bytes=0 resp_bytes=0 incomplete=true",
				"summary requests=2",
			},
		},
		{
			name: "upgrade declined: held request released",
			steps: []step{
				c2s("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
				s2c("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/chat host=h version=HTTP/1.1 upgrade=websocket",
				"s2c http1/response #1 status=400 reason=Bad Request version=HTTP/1.1 content_length=0",
				"c2s http1/request #2 method=GET path=/next host=h version=HTTP/1.1",
				"http1/exchange #1 method=GET authority=h path=/chat status=400 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=0",
				// The client sent /next with the upgrade request: it
				// waited for the 400 like any pipelined request.
				"s2c analysis/hol-stall #2 scope=pipeline stream=2 blocked_by=1 ahead=1 end=2026-01-02T03:04:05.001Z duration_ms=1 start_frame=1",
				"s2c http1/response #2 status=200 reason=OK version=HTTP/1.1 content_length=0",
				"http1/exchange #2 method=GET authority=h path=/next status=200 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=0",
				"summary requests=2",
			},
		},
		{
			name: "malformed request line stops c2s only",
			steps: []step{
				c2s("GET / HTTP/1.1\r\nHost: h\r\n\r\nBLAH\r\n"),
				s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/ host=h version=HTTP/1.1",
				`conn/decode-error decoder=http1 error=c2s: http1: request line: method is not a token: "BLAH" (offset 27); stopped decoding this direction`,
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 content_length=0",
				"http1/exchange #1 method=GET authority=h path=/ status=200 start_frame=1 first_byte_ms=1 duration_ms=1 req_bytes=0 resp_bytes=0",
				"summary requests=1",
			},
		},
		{
			name: "binary after a request stops early",
			steps: []step{
				c2s("GET / HTTP/1.1\r\n\r\n\x00\x01\x02"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/ version=HTTP/1.1",
				"conn/decode-error decoder=http1 error=c2s: http1: start line: control byte (offset 18); stopped decoding this direction",
				"http1/exchange #1 method=GET authority= path=/ status=0 start_frame=1 duration_ms=1 req_bytes=0 resp_bytes=0 incomplete=true",
				"summary requests=1",
			},
		},
		{
			name: "bad chunk size",
			steps: []step{
				c2s("GET / HTTP/1.1\r\n\r\n"),
				s2c("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/ version=HTTP/1.1",
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 transfer_encoding=chunked",
				`conn/decode-error decoder=http1 error=s2c: http1: bad chunk size line "zz" (offset 47); stopped decoding this direction`,
				"http1/exchange #1 method=GET authority= path=/ status=200 start_frame=1 first_byte_ms=1 duration_ms=2 req_bytes=0 resp_bytes=0 resp_chunks=0 incomplete=true",
				"summary requests=1",
			},
		},
		{
			name: "conflicting content-length",
			steps: []step{
				c2s("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
			},
			want: []string{
				"conn/decode-error decoder=http1 error=c2s: http1: conflicting Content-Length values (offset 0); stopped decoding this direction",
				"summary requests=0",
			},
		},
		{
			name: "header cap",
			opts: Options{MaxHeaderBytes: 64},
			steps: []step{
				c2s("GET / HTTP/1.1\r\nX-A: 0123456789012345678901234567890123456789\r\nX-B: 1\r\n\r\n"),
			},
			want: []string{
				"c2s conn/cap-limit decoder=http1 cap=header_bytes limit=64 dropped=the rest of the c2s stream",
				"summary requests=0",
			},
		},
		{
			name: "line cap",
			opts: Options{MaxLineLen: 20},
			steps: []step{
				c2s("GET /0123456789012345678901234567890 HTTP/1.1\r\n\r\n"),
			},
			want: []string{
				"c2s conn/cap-limit decoder=http1 cap=line_length limit=20 dropped=the rest of the c2s stream",
				"summary requests=0",
			},
		},
		{
			name: "holes: inside a body counted, in a head fatal",
			steps: []step{
				c2s("GET / HTTP/1.1\r\n\r\n"),
				s2c("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12"),
				{dir: decode.S2C, skip: 5},
				s2c("678"),
				c2s("GET /b HT"),
				{dir: decode.C2S, skip: 3},
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/ version=HTTP/1.1",
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 content_length=10",
				"http1/exchange #1 method=GET authority= path=/ status=200 start_frame=1 first_byte_ms=1 duration_ms=3 req_bytes=0 resp_bytes=10 missing_bytes=5",
				"conn/decode-error decoder=http1 error=c2s: http1: 3 bytes missing (offset 27); stopped decoding this direction",
				"summary requests=1",
			},
		},
		{
			name: "response without a request",
			steps: []step{
				s2c("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
			},
			want: []string{
				"s2c http1/response #1 status=200 reason=OK version=HTTP/1.1 content_length=2",
				"http1/exchange #1 method= authority= path= status=200 start_frame=1 first_byte_ms=0 duration_ms=0 req_bytes=0 resp_bytes=2 unmatched=true",
				"summary requests=1",
			},
		},
		{
			name: "headers list capped",
			opts: Options{MaxHeaders: 2, MaxString: 8},
			steps: []step{
				c2s("GET /0123456789 HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
			},
			want: []string{
				"c2s http1/request #1 method=GET path=/0123456… version=HTTP/1.1",
				"http1/exchange #1 method=GET authority= path=/0123456… status=0 start_frame=1 duration_ms=1 req_bytes=0 resp_bytes=0 incomplete=true",
				"summary requests=1",
			},
		},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(tc.opts, tc.steps, whole)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			// Any cut of the bytes gives the same events.
			for i, split := range []func(int) []int{bytewise, randomSplit(r), randomSplit(r)} {
				if g := run(tc.opts, tc.steps, split); !slices.Equal(g, got) {
					t.Errorf("split %d:\n%s\nwhole:\n%s", i, strings.Join(g, "\n"), strings.Join(got, "\n"))
				}
			}
		})
	}
}

// recorder is a next-layer decoder that records what it is given.
type recorder struct {
	data  [2][]byte
	skips int
	ended bool
}

func (r *recorder) Data(dir decode.Dir, b []byte, _ decode.Position, _ decode.Emit) error {
	r.data[dir.Index()] = append(r.data[dir.Index()], b...)
	return nil
}
func (r *recorder) Skip(decode.Dir, uint64, decode.Position, decode.Emit) { r.skips++ }
func (r *recorder) End(decode.Position, decode.Emit)                      { r.ended = true }

func TestUpgradeHandOff(t *testing.T) {
	steps := []step{
		c2s("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n\r\n\x81\x80"),
		s2c("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: a\r\n\r\n\x89\x00"),
		c2s("\x00\x00\x00\x00"),
		{dir: decode.S2C, skip: 3},
	}
	for i, split := range []func(int) []int{whole, bytewise} {
		var u *Upgrade
		rec := &recorder{}
		var types []string
		opts := Options{Upgrade: func(up *Upgrade, emit decode.Emit) decode.StreamDecoder {
			u = up
			e := decode.NewEvent(0, time.Time{}, decode.DirNone, decode.LayerWS, "handshake")
			emit(e)
			return rec
		}}
		feed(NewDecoder(opts), steps, split, func(e decode.Event) { types = append(types, string(e.Type)) })
		if u == nil {
			t.Fatalf("split %d: Upgrade not called", i)
		}
		if u.Protocol != "websocket" || u.Method != "GET" || u.Target != "/chat" ||
			u.Request.Get("Sec-Websocket-Key") != "k" || u.Response.Get("Sec-WebSocket-Accept") != "a" || u.At.Frame != 2 {
			t.Errorf("split %d: Upgrade %+v", i, u)
		}
		if got := string(rec.data[0]); got != "\x81\x80\x00\x00\x00\x00" {
			t.Errorf("split %d: c2s after switch %q", i, got)
		}
		if got := string(rec.data[1]); got != "\x89\x00" {
			t.Errorf("split %d: s2c after switch %q", i, got)
		}
		if rec.skips != 1 || !rec.ended {
			t.Errorf("split %d: skips %d ended %v", i, rec.skips, rec.ended)
		}
		want := []string{"request", "response", "exchange", "handshake"}
		if !slices.Equal(types, want) {
			t.Errorf("split %d: events %v; want %v", i, types, want)
		}
	}
}

func TestHeadersInfo(t *testing.T) {
	d := NewDecoder(Options{})
	var ev decode.Event
	d.Data(decode.C2S, []byte("GET / HTTP/1.1\r\nHost: h\r\nAccept:  */* \r\n\r\n"), at(0), func(e decode.Event) { ev = e })
	f, ok := ev.Info.Get("headers")
	if want := []string{"Host: h", "Accept: */*"}; !ok || !slices.Equal(f.Strs, want) {
		t.Errorf("headers %q; want %q", f.Strs, want)
	}
	if ev.Len != 42 || ev.Flags != decode.FlagRequest|decode.FlagAppData {
		t.Errorf("Len %d Flags %v", ev.Len, ev.Flags)
	}
}

func TestSniff(t *testing.T) {
	long := "GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\n"
	tests := []struct {
		dir   decode.Dir
		first string
		want  decode.Verdict
	}{
		{decode.C2S, "GET / HTTP/1.1\r\n", decode.Match},
		{decode.C2S, "GET / HTTP/1.0\n", decode.Match},
		{decode.C2S, "\r\nPOST /x HTTP/1.1\r\n", decode.Match},
		{decode.C2S, "G", decode.NeedMore},
		{decode.C2S, "GET /", decode.NeedMore},
		{decode.C2S, "GET / HTTP/1.", decode.NeedMore},
		{decode.C2S, long[:decode.SniffBytes], decode.Match},
		{decode.C2S, ("FOO /" + strings.Repeat("a", 52) + " HTTP/1.1")[:decode.SniffBytes], decode.Match},
		{decode.C2S, "FOO /" + strings.Repeat("a", 52) + " HTTP/2.0", decode.NoMatch},
		{decode.C2S, "FOO /x HTTP/1.1\r\n", decode.Match},
		{decode.C2S, "FOO /" + strings.Repeat("a", 100), decode.NoMatch},
		{decode.C2S, "OPTIONS * HTTP/1.1\r\n", decode.Match},
		{decode.C2S, "CONNECT example.com:443 HTTP/1.1\r\n", decode.Match},
		{decode.C2S, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", decode.NoMatch},
		{decode.C2S, "PRI * HTTP/2", decode.NoMatch},
		{decode.C2S, "EHLO mail.example.com\r\n", decode.NoMatch},
		{decode.C2S, "SSH-2.0-OpenSSH_9.2\r\n", decode.NoMatch},
		{decode.C2S, "\x16\x03\x01\x02\x00", decode.NoMatch},
		{decode.C2S, "GET  / HTTP/1.1", decode.NoMatch},
		{decode.S2C, "HTTP/1.1 200 OK\r\n", decode.Match},
		{decode.S2C, "HTTP/1.", decode.NeedMore},
		{decode.S2C, "HTTP/2 200", decode.NoMatch},
		{decode.C2S, "HTTP/1.1 200 OK\r\n", decode.NoMatch},
	}
	for _, tc := range tests {
		if got := Sniff(tc.dir, []byte(tc.first)); got != tc.want {
			t.Errorf("Sniff(%v, %q) = %v; want %v", tc.dir, tc.first, got, tc.want)
		}
	}
}
