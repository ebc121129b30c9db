package h2_test

import (
	"bytes"
	"fmt"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/h2"
)

func ExampleNewDecoder() {
	// A client's preface, SETTINGS and a GET; the server's SETTINGS and
	// its answer, written with x/net's Framer and HPACK encoder.
	var c2s, s2c, block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "example.com"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	c2s.WriteString(http2.ClientPreface)
	cf := http2.NewFramer(&c2s, nil)
	cf.WriteSettings()
	cf.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	block.Reset()
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	sf := http2.NewFramer(&s2c, nil)
	sf.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
	sf.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true})
	sf.WriteData(1, true, []byte("hello"))

	d := h2.NewDecoder(h2.Options{})
	emit := func(e decode.Event) {
		fmt.Printf("%-4s %-9s stream %2d", e.Dir, e.Type, e.Stream)
		for _, k := range []string{"method", "path", "status", "max_concurrent_streams", "conn_window", "state", "resp_bytes"} {
			if f, ok := e.Info.Get(k); ok {
				fmt.Printf(" %s=%s", k, f.AppendValue(nil))
			}
		}
		fmt.Println()
	}
	d.Data(decode.C2S, c2s.Bytes(), decode.Position{Frame: 1}, emit)
	d.Data(decode.S2C, s2c.Bytes(), decode.Position{Frame: 2}, emit)
	d.End(decode.Position{Frame: 3}, emit)
	requests, _ := d.Summary().Get("requests")
	fmt.Println("requests:", requests.Int)
	// Output:
	// c2s  PREFACE   stream -1
	// c2s  SETTINGS  stream  0
	// c2s  HEADERS   stream  1 method=GET path=/ state=half-closed-local
	// s2c  SETTINGS  stream  0 max_concurrent_streams=100
	// s2c  HEADERS   stream  1 status=200 state=half-closed-local
	// s2c  DATA      stream  1 conn_window=65530 state=closed
	//      exchange  stream  1 method=GET path=/ status=200 resp_bytes=5
	// requests: 1
}
