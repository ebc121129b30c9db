package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLiveBench measures `wiretrace live` on loopback (issue 9): UDP
// datagrams sent at a steady rate while `wiretrace live -i lo --format
// json --segments` prints one event per datagram. It reports what was
// sent, what the kernel counted and dropped, the event lines printed, and
// the latency from each datagram's capture time (the kernel's timestamp,
// microseconds after the send on loopback) to its line being read from
// wiretrace's stdout. It only reports: timings are not asserted, since
// they depend on the machine and its load (docs/performance.md has the
// figures). It runs only when asked, as root:
//
//	WIRETRACE_LIVEBENCH=1 go test -run TestLiveBench -v ./cmd/wiretrace
//
// WIRETRACE_LIVEBENCH_PPS (default 100000), _SECONDS (5), _SIZE (payload
// bytes, 64), _SENDERS (goroutines, each with its own socket, 2) and
// _ARGS (more wiretrace flags, e.g. "--segments=false") change the run;
// scripts/livebench.sh runs it.
func TestLiveBench(t *testing.T) {
	if os.Getenv("WIRETRACE_LIVEBENCH") == "" {
		t.Skip("set WIRETRACE_LIVEBENCH=1 to run (scripts/livebench.sh)")
	}
	e2eSkipUnlessRoot(t)
	env := func(name string, def int) int {
		if v := os.Getenv("WIRETRACE_LIVEBENCH_" + name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("WIRETRACE_LIVEBENCH_%s=%q: want a positive number", name, v)
			}
			return n
		}
		return def
	}
	pps, secs, size, senders := env("PPS", 100000), env("SECONDS", 5), env("SIZE", 64), env("SENDERS", 2)

	// The sink: bound and never read, so datagrams cross loopback (and
	// the capture tap) and are then dropped by the full socket buffer,
	// without ICMP port-unreachable replies.
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	port := sink.LocalAddr().(*net.UDPAddr).Port

	args := []string{"live", "-i", "lo", "--format", "json", "--segments"}
	args = append(args, strings.Fields(os.Getenv("WIRETRACE_LIVEBENCH_ARGS"))...)
	args = append(args, "--filter", fmt.Sprintf("udp dst port %d", port))
	cmd := e2eCmd(args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The reader: one latency sample per datagram event line.
	type result struct {
		lines int
		lat   []time.Duration
		bad   int
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.lat = make([]time.Duration, 0, pps*secs)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			now := time.Now()
			line := sc.Bytes()
			r.lines++
			if !bytes.Contains(line, []byte(`"type":"datagram"`)) {
				continue
			}
			ts, ok := eventTime(line)
			if !ok {
				r.bad++
				continue
			}
			r.lat = append(r.lat, now.Sub(ts))
		}
		done <- r
	}()

	// Wait until the capture is attached: the listening line on stderr.
	for start := time.Now(); !strings.Contains(stderr.String(), "listening on"); {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("wiretrace did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)

	// The senders: each paces itself to pps/senders, catching up in
	// bursts after each sleep.
	var wg sync.WaitGroup
	sent := make([]int, senders)
	begin := time.Now()
	until := begin.Add(time.Duration(secs) * time.Second)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			payload := make([]byte, size)
			rate := float64(pps) / float64(senders)
			for n := 0; ; {
				now := time.Now()
				if now.After(until) {
					break
				}
				due := int(now.Sub(begin).Seconds() * rate)
				for ; n < due; n++ {
					if _, err := c.Write(payload); err != nil {
						t.Error(err)
						return
					}
				}
				sent[i] = n
				time.Sleep(200 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	total := 0
	for _, n := range sent {
		total += n
	}
	// Let the last events out, then stop as Ctrl-C would.
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	r := <-done
	cmd.Wait()

	counts := regexp.MustCompile(`(\d+) packets captured on lo, (\d+) dropped by the kernel`).FindStringSubmatch(stderr.String())
	if counts == nil {
		t.Fatalf("no packet counts on stderr: %s", stderr.String())
	}
	t.Logf("sent %d datagrams of %d bytes in %v (%.0f per second, %d senders); wiretrace %s",
		total, size, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), senders, strings.Join(args[1:], " "))
	t.Logf("kernel: %s packets captured, %s dropped; %d event lines, %d datagram events (%d unparsed)",
		counts[1], counts[2], r.lines, len(r.lat), r.bad)
	if len(r.lat) > 0 {
		slices.Sort(r.lat)
		q := func(f float64) time.Duration { return r.lat[min(int(f*float64(len(r.lat))), len(r.lat)-1)] }
		within := len(r.lat) - len(r.lat[sortedIndex(r.lat, 100*time.Millisecond):])
		t.Logf("capture to stdout: median %v, p90 %v, p99 %v, max %v; %.2f%% within 100 ms",
			q(0.5).Round(10*time.Microsecond), q(0.9).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond),
			r.lat[len(r.lat)-1].Round(10*time.Microsecond), 100*float64(within)/float64(len(r.lat)))
	}
}

// sortedIndex is the index of the first sample of sorted lat at or above d.
func sortedIndex(lat []time.Duration, d time.Duration) int {
	i, _ := slices.BinarySearch(lat, d)
	return i
}

// eventTime returns a JSON event line's "ts".
func eventTime(line []byte) (time.Time, bool) {
	const key = `"ts":"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return time.Time{}, false
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return ts, err == nil
}

// lockedBuffer is a buffer a command writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
