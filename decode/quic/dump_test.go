package quic

import (
	"flag"
	"fmt"
	"testing"
)

var dumpFile = flag.String("dump", "", "print the events of this capture")

func TestDump(t *testing.T) {
	if *dumpFile == "" {
		t.Skip("no -dump")
	}
	evs, _ := runPcap(t, *dumpFile, Options{})
	for _, fe := range evs {
		e := fe.ev
		s := fmt.Sprintf("%d %s %s %s len=%d flags=%d", e.Frame, e.Dir, e.Layer, e.Type, e.Len, e.Flags)
		for _, f := range e.Info {
			s += " " + f.Key + "=" + string(f.AppendValue(nil))
		}
		fmt.Println(s)
	}
}

func TestDumpPeers(t *testing.T) {
	if *dumpFile != "peers" {
		t.Skip("no -dump peers")
	}
	ex := runExchange(t, true, nil)
	evs, _ := decodeExchange(t, ex.datagrams)
	for _, e := range evs {
		s := fmt.Sprintf("%d %s %s %s len=%d flags=%d", e.Frame, e.Dir, e.Layer, e.Type, e.Len, e.Flags)
		for _, f := range e.Info {
			s += " " + f.Key + "=" + string(f.AppendValue(nil))
		}
		fmt.Println(s[:min(len(s), 250)])
	}
	for _, p := range ex.client.packets() {
		fmt.Println("client", p.typ, p.pn, p.frames)
	}
}
