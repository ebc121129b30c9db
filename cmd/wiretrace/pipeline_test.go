package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/render/jsonl"
	"github.com/wiretrace/wiretrace/timeline"
)

// TestPipelineSameOutput runs every project capture through the timeline
// twice, on one goroutine and as the three-goroutine pipeline pcap uses
// (readAhead, asyncSink), and requires byte-identical event streams.
func TestPipelineSameOutput(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(e2ePcapDir, "*.pcap*"))
	if len(files) == 0 {
		t.Fatal("no captures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			direct := runPipeline(t, f, false)
			piped := runPipeline(t, f, true)
			if !bytes.Equal(direct, piped) {
				t.Errorf("the pipeline changed the output (%d bytes against %d)", len(piped), len(direct))
			}
			if len(direct) == 0 {
				t.Errorf("no events")
			}
		})
	}
}

func runPipeline(t *testing.T, path string, piped bool) []byte {
	t.Helper()
	keys := &keylog.Store{}
	if k := strings.TrimSuffix(strings.TrimSuffix(path, ".pcapng"), ".pcap") + ".keys"; fileExists(k) {
		o := &OutputOptions{KeyLogs: []string{k}}
		if _, err := o.loadKeys(io.Discard, false); err != nil {
			t.Fatal(err)
		}
		keys = o.keys
	}
	src, err := capture.OpenFile(path, 0, capture.FileOptions{OnSecrets: func(typ uint32, data []byte) { keys.AddDSB(typ, data, "dsb") }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	w := jsonl.New(&buf)
	var sink timeline.Sink = w
	var async *asyncSink
	if piped {
		async = newAsyncSink(w)
		sink = async
	}
	b := timeline.New(timeline.Options{Registry: stack.Registry(stack.Options{Keys: keys}), Datagrams: stack.Datagrams(stack.Options{Keys: keys})}, sink)
	if piped {
		err = readAhead(context.Background(), src, b.Packet)
	} else {
		var p capture.Packet
		for {
			err = src.Next(&p)
			if errors.Is(err, capture.ErrBadBlock) {
				continue
			}
			if err != nil {
				break
			}
			if err = b.Packet(&p); err != nil {
				break
			}
		}
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil && !errors.Is(err, capture.ErrTruncatedFile) {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if async != nil {
		if err := async.Close(); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return buf.Bytes()
}

// TestAsyncSinkError: the first error of the renderers comes back to the
// timeline's side, at a later Event or at Close.
func TestAsyncSinkError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	s := newAsyncSink(timeline.SinkFunc(func(*timeline.Event) error {
		n++
		if n == 10 {
			return boom
		}
		return nil
	}))
	var ev timeline.Event
	var got error
	for i := 0; i < 10*eventBatch && got == nil; i++ {
		got = s.Event(&ev)
	}
	if err := s.Close(); !errors.Is(err, boom) || (got != nil && !errors.Is(got, boom)) {
		t.Fatalf("Close: %v, Event: %v; want boom", err, got)
	}
	if got == nil {
		t.Errorf("Event never returned the error")
	}
}
