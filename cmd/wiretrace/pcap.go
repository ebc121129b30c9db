package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/internal/iostreams"
	"github.com/wiretrace/wiretrace/timeline"
)

// PcapOptions are the pcap command's settings.
type PcapOptions struct {
	IO       *iostreams.Streams
	Files    []string
	Output   OutputOptions
	Progress bool
}

func newPcapCmd(ios *iostreams.Streams, runF func(context.Context, *PcapOptions) error) *cobra.Command {
	opts := &PcapOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "pcap FILE...",
		Short: "Decode pcap/pcapng capture files",
		Long: `Decode one or more pcap or pcapng files (several files are merged in
timestamp order; "-" reads standard input) and show every connection.

The text view prints one block per connection when it ends: time since the
connection's first packet, frame number, direction (C ───▶ S is client to
server), the event and its details, then a summary with the handshake RTT,
round trips before the first application byte, bytes each way and how the
connection closed. --format json prints the event stream as JSON Lines
(docs/events.md); --svg writes one sequence diagram per connection.`,
		Example: `  # Timeline of every connection in a capture
  $ wiretrace pcap testdata/pcaps/tcp-basic.pcapng

  # Events as JSON Lines, for jq or a script
  $ wiretrace pcap testdata/pcaps/tcp-loss-receiver.pcapng --format json

  # One SVG sequence diagram per connection, into ./diagrams
  $ wiretrace pcap testdata/pcaps/tcp-basic.pcapng --svg -o diagrams

  # Two captures of the same traffic, merged by time; read from a pipe
  $ cat testdata/pcaps/tcp-basic.pcapng | wiretrace pcap - --segments`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return flagErrorf("pcap: give at least one capture file (or - for standard input)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if err := opts.Output.validate(cmd.Flags()); err != nil {
				return err
			}
			stdin := 0
			for _, f := range args {
				if f == "-" {
					stdin++
				}
			}
			if stdin > 1 {
				return flagErrorf("pcap: standard input (-) can be read only once")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPcap(cmd.Context(), opts)
		},
	}
	addOutputFlags(cmd.Flags(), &opts.Output)
	cmd.Flags().BoolVar(&opts.Progress, "progress", true, "draw a progress bar on stderr for long files when stderr is a terminal")
	return cmd
}

func runPcap(ctx context.Context, opts *PcapOptions) error {
	ios := opts.IO
	var sources []capture.Source
	defer func() {
		for _, s := range sources {
			s.Close()
		}
	}()
	if _, err := opts.Output.loadKeys(ios.Err, false); err != nil {
		return err
	}
	for i, name := range opts.Files {
		fopts := capture.FileOptions{OnSecrets: opts.Output.addSecrets(ios.Err, name)}
		var src *capture.FileSource
		var err error
		if name == "-" {
			src, err = capture.NewReader(ios.In, "<stdin>", i, fopts)
		} else {
			src, err = capture.OpenFile(name, i, fopts)
		}
		if err != nil {
			return err
		}
		sources = append(sources, src)
	}
	var src capture.Source = sources[0]
	if len(sources) > 1 {
		src = capture.Merge(sources)
	}

	out, err := newOutputs(ios, &opts.Output, false, "wiretrace "+strings.Join(opts.Files, " "))
	if err != nil {
		return err
	}
	links := opts.Output.proxyLinker(out)
	// The proxy analysis and the renderers run on a goroutine of their
	// own, and the capture is read ahead on another (pipeline.go).
	async := newAsyncSink(links)
	b := timeline.New(opts.Output.timelineOptions(), async)

	var bar *progressBar
	if p, ok := src.(capture.Progress); ok && opts.Progress && ios.Progress() {
		bar = startProgress(ios.Err, p)
	}
	readErr := readAhead(ctx, src, b.Packet)
	if bar != nil {
		bar.stop()
	}
	closeErr := errors.Join(b.Close(), async.Close(), links.Close())
	outErr := out.close()
	reportSkipped(ios, b.Stats())
	var warn *capture.FileError
	switch {
	case readErr != nil && errors.Is(readErr, capture.ErrTruncatedFile) && errors.As(readErr, &warn):
		fmt.Fprintf(ios.Err, "wiretrace: warning: %v; decoded every packet before it\n", readErr)
	case readErr != nil:
		return readErr
	}
	if closeErr != nil {
		return closeErr
	}
	return outErr
}

// reportSkipped says on stderr what the timeline could not use, so that a
// quiet output is never mistaken for a complete one.
func reportSkipped(ios *iostreams.Streams, st timeline.Stats) {
	var parts []string
	if st.Malformed > 0 {
		parts = append(parts, fmt.Sprintf("%d malformed frames skipped", st.Malformed))
	}
	if st.Fragments > 0 {
		parts = append(parts, fmt.Sprintf("%d IP fragments not reassembled", st.Fragments))
	}
	if st.Evicted > 0 {
		parts = append(parts, fmt.Sprintf("%d connections ended early because --max-conns was reached", st.Evicted))
	}
	if len(parts) > 0 {
		fmt.Fprintf(ios.Err, "wiretrace: note: %s\n", strings.Join(parts, "; "))
	}
}
