package quic

import (
	"flag"
	"fmt"
	"testing"
)

var dumpFile = flag.String("dump", "", "print the events of this capture")

// TestDump prints the events of a capture (-dump FILE), one line each,
// for looking at what the decoder makes of it.
func TestDump(t *testing.T) {
	if *dumpFile == "" {
		t.Skip("no -dump")
	}
	evs := runPcap(t, *dumpFile, Options{})
	for _, fe := range evs {
		e := fe.ev
		s := fmt.Sprintf("%d %s %s %s len=%d flags=%d", e.Frame, e.Dir, e.Layer, e.Type, e.Len, e.Flags)
		for _, f := range e.Info {
			s += " " + f.Key + "=" + string(f.AppendValue(nil))
		}
		fmt.Println(s)
	}
}
