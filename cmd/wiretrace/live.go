package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/internal/iostreams"
	"github.com/wiretrace/wiretrace/timeline"
	"github.com/wiretrace/wiretrace/timeline/proxylink"
)

// LiveOptions are the live command's settings.
type LiveOptions struct {
	IO       *iostreams.Streams
	Iface    string
	Filter   string
	Write    string
	Count    int64
	Duration time.Duration
	Snaplen  int
	Promisc  bool
	Output   OutputOptions
}

// liveFlushInterval bounds how long an event waits in the output buffer, so
// each line appears within about 100 ms of its packet.
const liveFlushInterval = 20 * time.Millisecond

func newLiveCmd(ios *iostreams.Streams, runF func(context.Context, *LiveOptions) error) *cobra.Command {
	opts := &LiveOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "live -i IFACE [FILTER]",
		Short: "Capture on an interface and show events as they happen (Linux)",
		Long: `Capture packets on a network interface and print each connection's events
as they happen, tagged with the connection number. The filter uses tcpdump's
syntax, given with --filter or as the remaining arguments. -w also writes
what was captured to a pcapng file. Ctrl-C (or SIGTERM) stops the capture,
flushes every output (the -w file stays valid) and prints the kernel's
packet and drop counts on stderr.

Capturing needs root or the CAP_NET_RAW capability:
  sudo setcap cap_net_raw,cap_net_admin+eip "$(command -v wiretrace)"`,
		Example: `  # Watch every connection on loopback
  $ sudo wiretrace live -i lo

  # Only HTTPS, also saving the packets for later
  $ sudo wiretrace live -i eth0 --filter 'tcp port 443' -w https.pcapng

  # tcpdump style: the filter as arguments, stop after 100 packets
  $ sudo wiretrace live -i lo -c 100 tcp port 8080

  # JSON Lines for 30 seconds
  $ sudo wiretrace live -i lo --duration 30s --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Iface == "" {
				return flagErrorf("live: -i IFACE is required (for example -i lo)")
			}
			if len(args) > 0 {
				if opts.Filter != "" {
					return flagErrorf("live: give the filter either with --filter or as arguments, not both")
				}
				opts.Filter = strings.Join(args, " ")
			}
			if opts.Count < 0 || opts.Duration < 0 {
				return flagErrorf("live: --count and --duration must not be negative")
			}
			if err := opts.Output.validate(cmd.Flags()); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLive(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Iface, "interface", "i", "", "interface to capture on, e.g. lo or eth0")
	f.StringVarP(&opts.Filter, "filter", "f", "", "capture filter in tcpdump syntax, e.g. 'tcp port 443'")
	f.StringVarP(&opts.Write, "write", "w", "", "also write the captured packets to this pcapng file")
	f.Int64VarP(&opts.Count, "count", "c", 0, "stop after this many packets (0: no limit)")
	f.DurationVar(&opts.Duration, "duration", 0, "stop after this long, e.g. 30s (0: no limit)")
	f.IntVarP(&opts.Snaplen, "snaplen", "s", 0, "bytes kept of each packet (0: the whole packet)")
	f.BoolVarP(&opts.Promisc, "promisc", "p", false, "put the interface in promiscuous mode")
	addOutputFlags(f, &opts.Output)
	return cmd
}

func runLive(ctx context.Context, opts *LiveOptions) error {
	ios := opts.IO
	keys, err := opts.Output.loadKeys(ios.Err, true)
	if err != nil {
		return err
	}
	if keys != nil {
		defer keys.close()
	}
	src, err := capture.OpenLive(capture.LiveOptions{
		Iface:   opts.Iface,
		Snaplen: opts.Snaplen,
		Filter:  opts.Filter,
		Promisc: opts.Promisc,
	})
	if err != nil {
		return err
	}
	defer src.Close()
	filter := ""
	if opts.Filter != "" {
		filter = fmt.Sprintf(", filter %q", opts.Filter)
	}
	fmt.Fprintf(ios.Err, "wiretrace: listening on %s, link type %s%s (Ctrl-C to stop)\n", opts.Iface, src.LinkType(), filter)

	var pw *capture.PcapngWriter
	var wfile *os.File
	var wbuf *bufio.Writer
	if opts.Write != "" {
		wfile, err = os.Create(opts.Write)
		if err != nil {
			return err
		}
		defer wfile.Close()
		wbuf = bufio.NewWriterSize(wfile, 1<<20)
		pw, err = capture.NewPcapngWriter(wbuf, src.LinkType(), opts.Iface, opts.Snaplen)
		if err != nil {
			return fmt.Errorf("%s: %w", opts.Write, err)
		}
	}
	// A write error (a full disk) stops the capture: the file is cut
	// after its last whole block, so it stays valid, and the one error
	// says so.
	var writeErr error
	failWrite := func(err error) error {
		if writeErr == nil {
			kept := int64(0)
			if wfile != nil {
				kept, _ = capture.TrimPcapng(wfile)
			}
			writeErr = fmt.Errorf("-w %s: %w (the file keeps the %d bytes of whole packets written before it)", opts.Write, errors.Unwrap(err), kept)
		}
		return writeErr
	}
	flushCapture := func() error {
		if pw == nil || writeErr != nil {
			return nil
		}
		if err := pw.Flush(); err != nil {
			return failWrite(err)
		}
		if err := wbuf.Flush(); err != nil {
			return failWrite(err)
		}
		return nil
	}

	out, err := newOutputs(ios, &opts.Output, true, "wiretrace live -i "+opts.Iface)
	if err != nil {
		return err
	}
	links := opts.Output.proxyLinker(out)
	b := timeline.New(opts.Output.timelineOptions(), links)

	loopErr := liveLoop(ctx, opts, src, b, links, out, pw, failWrite)
	errs := []error{loopErr, b.Close(), links.Close(), out.close()}
	if loopErr == nil || loopErr != writeErr {
		errs = append(errs, flushCapture())
	}
	if wfile != nil {
		errs = append(errs, wfile.Close())
	}
	reportSkipped(ios, b.Stats())
	recv, drop := src.Stats()
	fmt.Fprintf(ios.Err, "wiretrace: %d packets captured on %s, %d dropped by the kernel\n", recv, opts.Iface, drop)
	return errors.Join(errs...)
}

func liveLoop(ctx context.Context, opts *LiveOptions, src *capture.LiveSource, b *timeline.Builder, links *proxylink.Linker, out *outputs, pw *capture.PcapngWriter, failWrite func(error) error) error {
	var p capture.Packet
	var deadline time.Time
	if opts.Duration > 0 {
		deadline = time.Now().Add(opts.Duration)
	}
	lastFlush := time.Now()
	var n int64
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		if !deadline.IsZero() && now.After(deadline) {
			return nil
		}
		err := src.Next(&p)
		if errors.Is(err, capture.ErrNoPacket) {
			// The wire is quiet: let idle connections end, show what we have.
			if err := b.Advance(now); err != nil {
				return err
			}
			if err := links.Advance(now); err != nil {
				return err
			}
			if err := out.flush(); err != nil {
				return err
			}
			lastFlush = now
			continue
		}
		if err != nil {
			return err
		}
		if pw != nil {
			if err := pw.WritePacket(&p); err != nil {
				return failWrite(err)
			}
		}
		if err := b.Packet(&p); err != nil {
			return err
		}
		n++
		if time.Since(lastFlush) >= liveFlushInterval {
			if err := out.flush(); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
		if opts.Count > 0 && n >= opts.Count {
			return nil
		}
	}
}
