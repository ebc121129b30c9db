package timeline

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// TestPhasesZeroRTT follows the events of a TLS 1.3 connection resumed
// with 0-RTT early data, as tlsmsg flags them: the request leaves with the
// ClientHello, before the handshake completes.
func TestPhasesZeroRTT(t *testing.T) {
	const (
		c2s = decode.C2S
		s2c = decode.S2C
		req = decode.FlagRequest
		rep = decode.FlagReply
		app = decode.FlagAppData
	)
	steps := []struct {
		dir   decode.Dir
		layer decode.Layer
		typ   decode.Type
		flags decode.Flags
	}{
		{c2s, decode.LayerTCP, decode.TypeSYN, req},
		{s2c, decode.LayerTCP, decode.TypeSYNACK, rep},
		{c2s, decode.LayerTCP, decode.TypeACK, 0},
		{c2s, decode.LayerTLS, "ClientHello", req},
		{c2s, decode.LayerTLS, "ApplicationData", app}, // early data
		{s2c, decode.LayerTLS, "ServerHello", rep},
		{s2c, decode.LayerTLS, "Finished", rep},
		{c2s, decode.LayerTLS, "EndOfEarlyData", 0},
		{c2s, decode.LayerTLS, "Finished", decode.FlagHandshakeDone},
		{s2c, decode.LayerTLS, "ApplicationData", rep | app}, // the response
	}
	var p phaseTracker
	start := time.Unix(1000, 0)
	for i, st := range steps {
		e := decode.NewEvent(int64(i+1), start.Add(time.Duration(i)*time.Millisecond), st.dir, st.layer, st.typ)
		e.Flags = st.flags
		p.observe(&e)
	}
	var got []string
	for _, ph := range p.phases(false) {
		e := ph.event()
		s := ph.name + ":" + strconv.FormatInt(e.Info[4].Int, 10)
		if ph.early {
			s += "!"
		}
		got = append(got, s)
	}
	if want := "tcp:1 tls:1 request:0! first-byte:1"; strings.Join(got, " ") != want {
		t.Errorf("phases %q; want %q", strings.Join(got, " "), want)
	}
	if fb, ok := p.firstByte(false); !ok || fb.frame != 10 {
		t.Errorf("first byte at frame %d (%v); want 10", fb.frame, ok)
	}
}
