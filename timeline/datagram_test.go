package timeline

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

// pingDecoder decodes "PING n" / "PONG n" datagrams; "BOOM" fails.
type pingDecoder struct{ ended *int }

func (d pingDecoder) Datagram(dir decode.Dir, payload []byte, at decode.Position, emit decode.Emit) error {
	if bytes.Equal(payload, []byte("BOOM")) {
		return errors.New("boom")
	}
	e := decode.NewEvent(at.Frame, at.TS, dir, decode.LayerQUIC, decode.Type(payload[:4]))
	e.Len = int64(len(payload))
	if dir == decode.C2S {
		e.Flags = decode.FlagRequest | decode.FlagAppData
	} else {
		e.Flags = decode.FlagReply | decode.FlagAppData
	}
	emit(e)
	return nil
}

func (d pingDecoder) End(at decode.Position, emit decode.Emit) { *d.ended++ }

func (d pingDecoder) Summary() decode.Info {
	return decode.Info{decode.String("handshake", "UDP+PING")}
}

func pingRegistry(ended *int) *decode.DatagramRegistry {
	reg := &decode.DatagramRegistry{}
	reg.Register(decode.DatagramSniffer{
		Name:  "ping",
		Sniff: func(dir decode.Dir, p []byte) bool { return bytes.HasPrefix(p, []byte("PING")) },
		New:   func() decode.DatagramDecoder { return pingDecoder{ended} },
	})
	return reg
}

// TestDatagramDecoder: a flow whose first datagram a sniffer recognises
// is decoded datagram by datagram, summarised by its decoder and ended
// with it; other flows stay plain; a failing decoder is switched off with
// a decode-error event.
func TestDatagramDecoder(t *testing.T) {
	pkts := []tpkt{
		{at: 0, src: "10.0.0.1:4000", dst: "10.0.0.9:443", udp: true, payload: []byte("PING 1")},
		{at: ms(10), src: "10.0.0.9:443", dst: "10.0.0.1:4000", udp: true, payload: []byte("PONG 1")},
		{at: ms(11), src: "10.0.0.1:5353", dst: "10.0.0.9:53", udp: true, payload: []byte("query")},
		{at: ms(20), src: "10.0.0.1:4001", dst: "10.0.0.9:443", udp: true, payload: []byte("PING 2")},
		{at: ms(21), src: "10.0.0.1:4001", dst: "10.0.0.9:443", udp: true, payload: []byte("BOOM")},
		{at: ms(22), src: "10.0.0.1:4001", dst: "10.0.0.9:443", udp: true, payload: []byte("PING 3")},
	}
	ended := 0
	rec := run(t, Options{Datagrams: pingRegistry(&ended)}, pkts)
	var got []string
	for _, e := range rec.events {
		switch {
		case e.Layer == decode.LayerQUIC:
			got = append(got, fmt.Sprintf("conn %d %s %s", e.conn.ID, e.Dir, e.Type))
		case e.Type == decode.TypeDecodeError:
			got = append(got, fmt.Sprintf("conn %d error %s", e.conn.ID, infoString(e.Info, "error")))
		case e.Type == decode.TypeSummary:
			got = append(got, fmt.Sprintf("conn %d summary %s %s rounds %s", e.conn.ID,
				infoString(e.Info, "handshake"), infoString(e.Info, "protocol"), infoString(e.Info, "round_trips_before_data")))
		}
	}
	want := []string{
		"conn 1 c2s PING", "conn 1 s2c PONG",
		"conn 3 c2s PING", "conn 3 error boom",
		"conn 1 summary UDP+PING ping rounds 0",
		"conn 2 summary UDP <absent> rounds 0",
		"conn 3 summary UDP ping rounds 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ended != 1 {
		t.Errorf("End called %d times; want 1 (the failed decoder is not ended)", ended)
	}
}
