package vtt_test

import (
	"os"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/vtt"
)

// Captions of a connection refused by the server, for a recording that
// started 2 s before the capture's first packet.
func ExampleNew() {
	c := layouttest.Refused()
	w := vtt.New(os.Stdout, vtt.Options{TimeOrigin: layouttest.Epoch.Add(-2e9)})
	for i := range c.Events {
		w.Event(&c.Events[i])
	}
	w.Close()
	// Output:
	// WEBVTT
	//
	// NOTE
	// wiretrace captions. 00:00:00.000 is 2024-05-01T11:59:58Z.
	// #N is the connection number.
	//
	// 00:00:02.000 --> 00:00:06.000
	// #2 TCP SYN → 198.51.100.20:8080
	// #2 TCP connection refused
}
