package netns

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/wiretrace/wiretrace/capture"
)

// Recorder captures one interface of a namespace with the project's own
// live capture (capture.OpenLive) and keeps a copy of every packet, for
// tests that check what wiretrace makes of real traffic.
type Recorder struct {
	src     *capture.LiveSource
	packets []capture.Packet
	stop    chan struct{}
	done    chan error
}

// recordPoll is the recorder's poll timeout, and recordQuiet the empty
// polls in a row that end a recording after Finish: packets still in a
// delay queue when the peers return get time to arrive.
const (
	recordPoll  = 20 * time.Millisecond
	recordQuiet = 5
)

// Record starts capturing iface, inside ns, with a tcpdump filter ("" for
// every packet). The packet socket is opened in the namespace; the
// reading goroutine runs anywhere.
func Record(ns *NS, iface, filter string) (*Recorder, error) {
	r := &Recorder{stop: make(chan struct{}), done: make(chan error, 1)}
	if err := ns.Do(func() (err error) {
		r.src, err = capture.OpenLive(capture.LiveOptions{Iface: iface, Filter: filter, PollTimeout: recordPoll})
		return err
	}); err != nil {
		return nil, fmt.Errorf("capture %s in %s: %w", iface, ns.Name, err)
	}
	go r.loop()
	return r, nil
}

func (r *Recorder) loop() {
	var p capture.Packet
	quiet := 0
	for {
		err := r.src.Next(&p)
		if errors.Is(err, capture.ErrNoPacket) {
			select {
			case <-r.stop:
				if quiet++; quiet >= recordQuiet {
					r.done <- nil
					return
				}
			default:
			}
			continue
		}
		if err != nil {
			r.done <- err
			return
		}
		quiet = 0
		q := p
		q.Data = bytes.Clone(p.Data)
		q.Frame = int64(len(r.packets) + 1)
		r.packets = append(r.packets, q)
	}
}

// Finish stops the capture once the wire has been quiet a while and
// returns the packets, numbered from 1. It is an error when the kernel
// dropped any.
func (r *Recorder) Finish() ([]capture.Packet, error) {
	close(r.stop)
	err := <-r.done
	_, dropped := r.src.Stats()
	r.src.Close()
	if err == nil && dropped > 0 {
		err = fmt.Errorf("capture: the kernel dropped %d packets", dropped)
	}
	return r.packets, err
}
