package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wiretrace/wiretrace/internal/iostreams"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// flagError is a usage mistake: it prints the usage hint and exits 2.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func flagErrorf(format string, a ...any) error { return &flagError{fmt.Errorf(format, a...)} }

// run executes the command line and returns the exit code. SIGINT and
// SIGTERM cancel the context: commands flush their outputs and return nil.
func run(args []string, ios *iostreams.Streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Writes to a closed pipe must return EPIPE rather than kill us, so
	// that "wiretrace ... | head" ends quietly.
	signal.Ignore(syscall.SIGPIPE)

	root := newRootCmd(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, syscall.EPIPE) {
		return exitOK
	}
	msg := strings.TrimSpace(err.Error())
	var fe *flagError
	if errors.As(err, &fe) || isCobraUsageError(err) {
		fmt.Fprintf(ios.Err, "wiretrace: %s\nRun 'wiretrace --help' for usage.\n", msg)
		return exitUsage
	}
	fmt.Fprintf(ios.Err, "wiretrace: %s\n", msg)
	return exitError
}

// isCobraUsageError recognises cobra's own errors for unknown commands.
func isCobraUsageError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown shorthand flag") ||
		strings.HasPrefix(s, "unknown flag")
}

func newRootCmd(ios *iostreams.Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "wiretrace",
		Short: "Show what really happens on the wire, one connection at a time",
		Long: `wiretrace reads pcap/pcapng captures or captures live traffic, follows every
TCP connection and UDP flow, and shows each one as a timeline: the TCP
handshake and its RTT, retransmissions, lost and out-of-order segments,
duplicate ACKs, zero windows, keep-alives, head-of-line stalls, and how the
connection ended. Output as text for the terminal, JSON Lines for tools, or
one SVG sequence diagram per connection.`,
		Example: `  # Read a capture and print each connection's timeline
  $ wiretrace pcap testdata/pcaps/tcp-basic.pcapng

  # The same as JSON Lines, one event per line
  $ wiretrace pcap testdata/pcaps/tcp-basic.pcapng --format json

  # Capture on loopback, only HTTPS traffic
  $ sudo wiretrace live -i lo --filter 'tcp port 443'`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(newPcapCmd(ios, nil), newLiveCmd(ios, nil))
	addProfileFlags(root, &profileFlags{})
	return root
}
