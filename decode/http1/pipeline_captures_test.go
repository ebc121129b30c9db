package http1_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/http1"
	"github.com/wiretrace/wiretrace/internal/pcaptest"
	"github.com/wiretrace/wiretrace/timeline"
)

// TestPipelineStallsOnCaptures: a pipelining wait is reported where
// requests were really queued behind an answer, and nowhere else.
func TestPipelineStallsOnCaptures(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		// Three requests in one segment (frame 4); Go's server answers
		// them one at a time, 20 ms each: /pipelined/2 waits for the first
		// answer, /pipelined/3 for the second, with two answers ahead.
		{pcaptest.Project("http1-pipelined.pcapng"), []string{
			"#2 blocked_by=1 ahead=1 frames=4-", "#3 blocked_by=2 ahead=2 frames=4-"}},
		{pcaptest.Project("http1-keepalive.pcapng"), nil},
		{pcaptest.Project("h2c-upgrade.pcapng"), nil},
		{pcaptest.Project("ws-basic.pcapng"), nil},
	}
	for _, p := range httpCaptures {
		tests = append(tests, struct {
			path string
			want []string
		}{pcaptest.Shared(t, p), nil})
	}
	for _, tt := range tests {
		reg := &decode.Registry{}
		reg.Register(http1.NewSniffer(http1.Options{}))
		requests := 0
		var got []string
		pcaptest.Run(t, tt.path, pcaptest.Options{Registry: reg}, func(ev *timeline.Event) {
			switch ev.Type {
			case http1.TypeRequest:
				requests++
			case http1.TypeHOLStall:
				if scope, _ := ev.Info.Get("scope"); scope.Str != "pipeline" {
					return // the timeline's TCP stalls
				}
				by, _ := ev.Info.Get("blocked_by")
				ahead, _ := ev.Info.Get("ahead")
				start, _ := ev.Info.Get("start_frame")
				got = append(got, fmt.Sprintf("#%d blocked_by=%d ahead=%d frames=%d-", ev.Stream, by.Int, ahead.Int, start.Int))
			}
		})
		if requests == 0 && tt.want != nil {
			t.Errorf("%s: no request decoded", filepath.Base(tt.path))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: stalls\n%s\nwant\n%s", filepath.Base(tt.path), strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}
