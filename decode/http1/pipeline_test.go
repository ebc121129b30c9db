package http1

import (
	"slices"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// stalls runs the steps and keeps the hol-stall events, with start.
func stalls(steps []step, split func(n int) []int) []string {
	var out []string
	emit := func(e decode.Event) {
		if e.Type == TypeHOLStall {
			if e.Layer != decode.LayerAnalysis || e.Dir != decode.S2C || e.Flags != 0 {
				out = append(out, "malformed "+render(e))
			}
			f, _ := e.Info.Get("start")
			out = append(out, render(e)+" from="+f.Str[17:])
		}
	}
	feed(NewDecoder(Options{}), steps, split, emit)
	return out
}

func TestPipelineStall(t *testing.T) {
	// Step i is frame i+1 at i ms (03:04:05.00i).
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{{
		name: "one request at a time: no wait",
		steps: []step{
			c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
			c2s("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
		},
	}, {
		name: "the second request waits from its end to the first response's end",
		steps: []step{
			c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"),
			c2s("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nx"),
			s2c("x"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
		},
		want: []string{"s2c analysis/hol-stall #2 scope=pipeline stream=2 blocked_by=1 ahead=1 end=2026-01-02T03:04:05.003Z duration_ms=2 start_frame=2 from=05.001Z"},
	}, {
		name: "the second request completes while the first response is being sent",
		steps: []step{
			c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nx"),
			c2s("POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\na"),
			c2s("b"),
			s2c("x"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
		},
		want: []string{"s2c analysis/hol-stall #2 scope=pipeline stream=2 blocked_by=1 ahead=1 end=2026-01-02T03:04:05.004Z duration_ms=1 start_frame=4 from=05.003Z"},
	}, {
		name: "a request body still coming when the response ends: no wait",
		steps: []step{
			c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"),
			c2s("POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\na"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
			c2s("b"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
		},
	}, {
		name: "three deep: each waits for the one before it",
		steps: []step{
			c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			c2s("GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			s2c("HTTP/1.1 204 No Content\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
		},
		want: []string{
			"s2c analysis/hol-stall #2 scope=pipeline stream=2 blocked_by=1 ahead=1 end=2026-01-02T03:04:05.002Z duration_ms=2 start_frame=1 from=05Z",
			"s2c analysis/hol-stall #3 scope=pipeline stream=3 blocked_by=2 ahead=2 end=2026-01-02T03:04:05.003Z duration_ms=2 start_frame=2 from=05.001Z",
		},
	}, {
		name: "an interim response does not end the wait",
		steps: []step{
			c2s("POST /1 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"),
			s2c("HTTP/1.1 100 Continue\r\n\r\n"),
			c2s("aGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
		},
		want: []string{"s2c analysis/hol-stall #2 scope=pipeline stream=2 blocked_by=1 ahead=1 end=2026-01-02T03:04:05.004Z duration_ms=2 start_frame=3 from=05.002Z"},
	}, {
		name: "a response that ends with the connection: the next is never answered",
		steps: []step{
			c2s("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\n\r\nbody until close"),
		},
	}, {
		name: "a response without a request (picked up mid-stream): no wait",
		steps: []step{
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			c2s("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
			s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, split := range []func(int) []int{whole, bytewise} {
				got := stalls(tt.steps, split)
				if !slices.Equal(got, tt.want) {
					t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
			}
		})
	}
}
