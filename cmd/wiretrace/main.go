// Command wiretrace shows what really happens on the wire: it reads pcap
// and pcapng captures or captures live, decodes each connection and prints
// its timeline as text, JSON Lines or SVG sequence diagrams.
//
// This package holds the cobra commands only: flags, wiring and exit codes.
package main

import (
	"os"

	"github.com/wiretrace/wiretrace/internal/iostreams"
)

func main() {
	os.Exit(run(os.Args[1:], iostreams.System()))
}
