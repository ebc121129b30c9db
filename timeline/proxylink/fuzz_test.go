package proxylink

import (
	"fmt"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// fuzzEvents turns bytes into an event stream over six connections among
// three hosts (so that the address rules fire): each 4 bytes are one
// event: kind, connection, and two time values. A connection's events
// stop after its summary, as the Builder's do.
func fuzzEvents(data []byte) []timeline.Event {
	hosts := []string{"198.18.1.2", "198.18.2.2", "198.18.3.2"}
	var conns []*timeline.Conn
	for i := range 6 {
		c := conn(i+1, fmt.Sprintf("%s:%d", hosts[i%3], 40000+i), fmt.Sprintf("%s:%d", hosts[(i+1)%3], 8000+i%2), float64(i))
		if i == 5 {
			c.Transport = timeline.UDP
		}
		conns = append(conns, c)
	}
	ended := map[int]bool{}
	var evs []timeline.Event
	now := 0.0
	paths := []string{"/a", "/b"}
	for len(data) >= 4 {
		kind, ci, a, b := data[0]%6, int(data[1])%len(conns), float64(data[2])/8, float64(data[3])/8
		data = data[4:]
		c := conns[ci]
		if ended[c.ID] {
			continue
		}
		now += a / 4
		var ev timeline.Event
		switch kind {
		case 0:
			ev = exch(c, decode.LayerHTTP1+decode.Layer(ci%3), int64(b)%4, "GET", hosts[ci%2], paths[int(b)%2], 200, now-b, now-b/2, now)
		case 1:
			ev = summary(c, now, uint64(a)*10, uint64(b)*10)
			ended[c.ID] = true
		case 2:
			ev = hello(c, now, paths[int(a)%2])
		case 3:
			ev = head(c, decode.Dir(1+int(a)%2), now, int64(b))
		case 4:
			ev = serverHello(c, now)
		case 5:
			e := decode.NewEvent(0, ms(now), decode.DirNone, decode.LayerCapture, decode.TypeCapLimit)
			ev = timeline.Event{Event: e}
		}
		evs = append(evs, ev)
	}
	return evs
}

// FuzzLinker checks the Linker's contract on arbitrary event streams:
// every event passes exactly once, only summaries are delayed, nothing
// of a connection follows its summary, and every link names connections
// of the input, front its own.
func FuzzLinker(f *testing.F) {
	f.Add([]byte{0, 1, 8, 4, 0, 0, 16, 16, 1, 0, 4, 4, 1, 1, 4, 4})
	f.Add([]byte{2, 0, 1, 1, 2, 1, 1, 1, 1, 1, 8, 8, 1, 0, 8, 8})
	f.Add([]byte{3, 0, 1, 80, 3, 1, 1, 80, 3, 0, 2, 90, 3, 1, 2, 90, 0, 1, 8, 4, 0, 0, 16, 16, 0, 0, 16, 16})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs := fuzzEvents(data)
		for i := range evs {
			evs[i].Frame = int64(i + 1)
		}
		seen := map[int64]int{}
		closed := map[int]bool{}
		conns := map[int]bool{}
		for _, ev := range evs {
			if ev.Conn != nil {
				conns[ev.Conn.ID] = true
			}
		}
		last := int64(0)
		sink := timeline.SinkFunc(func(ev *timeline.Event) error {
			if ev.Conn != nil && closed[ev.Conn.ID] {
				return fmt.Errorf("%s on connection %d after its summary", ev.Type, ev.Conn.ID)
			}
			if ev.Type == TypeProxyLink {
				front, _ := ev.Info.Get("front")
				back, _ := ev.Info.Get("back")
				if ev.Conn == nil || int(front.Int) != ev.Conn.ID || !conns[int(back.Int)] || front.Int == back.Int {
					return fmt.Errorf("bad link %v", ev.Info)
				}
				return nil
			}
			seen[ev.Frame]++
			if ev.Type == decode.TypeSummary {
				closed[ev.Conn.ID] = true
			} else if ev.Frame < last {
				return fmt.Errorf("event %d after %d", ev.Frame, last)
			} else {
				last = ev.Frame
			}
			return nil
		})
		l := New(sink, Options{MaxConns: 4, MaxExchanges: 3, MaxHeld: 2, HoldTime: 5 * time.Millisecond, MaxAge: 10 * time.Millisecond})
		for i := range evs {
			ev := evs[i]
			if err := l.Event(&ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			if n := seen[int64(i+1)]; n != 1 {
				t.Fatalf("event %d (%s) passed %d times", i+1, evs[i].Type, n)
			}
		}
	})
}

// TestCaps checks that the caps hold and cost only links: a full table
// leaves new connections unanalysed, kept exchanges and held summaries
// stay within their caps.
func TestCaps(t *testing.T) {
	var n int
	l := New(timeline.SinkFunc(func(ev *timeline.Event) error {
		if ev.Type != TypeProxyLink {
			n++
		}
		return nil
	}),
		Options{MaxConns: 8, MaxExchanges: 5, MaxHeld: 3, MaxAge: time.Second, HoldTime: 50 * time.Millisecond})
	var all []*timeline.Conn
	for i := range 20 {
		all = append(all, conn(i+1, fmt.Sprintf("198.18.2.2:%d", 50000+i), fmt.Sprintf("198.18.%d.2:80", i%4), float64(i)))
	}
	for i, c := range all {
		ev := exch(c, decode.LayerHTTP1, 1, "GET", "", "/x", 200, float64(i)+0.1, float64(i)+0.5, float64(i)+0.9)
		if err := l.Event(&ev); err != nil {
			t.Fatal(err)
		}
		if l.nexch > 5 || len(l.conns) > 8 {
			t.Fatalf("after %d: %d exchanges kept, %d connections", i+1, l.nexch, len(l.conns))
		}
	}
	if st := l.Stats(); st.Untracked != 12 {
		t.Errorf("untracked %d; want 12", st.Untracked)
	}
	// Summaries of connections with open candidates are held, at most 3.
	for i := range 8 {
		ev := hello(all[i], float64(30+i), "h.test")
		l.Event(&ev)
	}
	for i := range 4 {
		ev := summary(all[i], float64(40+i), 10, 10)
		l.Event(&ev)
		if len(l.held) > 3 {
			t.Fatalf("%d summaries held", len(l.held))
		}
	}
	// HoldTime: a later event releases them.
	ev := timeline.Event{Event: decode.NewEvent(0, ms(100), decode.DirNone, decode.LayerCapture, decode.TypeCapLimit)}
	l.Event(&ev)
	if len(l.held) != 0 {
		t.Errorf("%d summaries held past HoldTime", len(l.held))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 20+8+4+1 {
		t.Errorf("%d events passed; want %d", n, 20+8+4+1)
	}
}
