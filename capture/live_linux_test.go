//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
}

func openLive(t *testing.T, opts LiveOptions) *LiveSource {
	t.Helper()
	s, err := OpenLive(opts)
	if err != nil {
		t.Fatalf("OpenLive: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tcpSeen records what the test saw of one loopback TCP connection.
type tcpSeen struct {
	syn, synAck, finFromClient, finFromServer int
	data                                      string
}

// TestLiveLoopbackTCP captures a real TCP connection on lo through the
// kernel filter "tcp port P" while another connection runs on port Q.
func TestLiveLoopbackTCP(t *testing.T) {
	skipUnlessRoot(t)
	lnP := listenEcho(t)
	lnQ := listenEcho(t)
	portP := lnP.Addr().(*net.TCPAddr).Port
	portQ := lnQ.Addr().(*net.TCPAddr).Port

	s := openLive(t, LiveOptions{Iface: "lo", Filter: fmt.Sprintf("tcp port %d", portP)})
	if s.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("LinkType %v; want Ethernet", s.LinkType())
	}

	done := make(chan error, 2)
	go func() { done <- talk(lnQ.Addr().String(), "noise") }()
	go func() { done <- talk(lnP.Addr().String(), "hello") }()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		tcp     layers.TCP
		payload gopacket.Payload
		decoded []gopacket.LayerType
		seen    tcpSeen
		p       Packet
		frames  int64
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &tcp, &payload)
	// Read until the whole connection is seen; the bound only stops a
	// broken test from hanging (~10s of idle polls).
	for idle := 0; idle < 200; {
		if seen.finFromClient > 0 && seen.finFromServer > 0 && seen.data == "hello" {
			break
		}
		err := s.Next(&p)
		if errors.Is(err, ErrNoPacket) {
			idle++
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		frames++
		if p.Frame != frames {
			t.Errorf("Frame %d; want %d", p.Frame, frames)
		}
		if p.LinkType != layers.LinkTypeEthernet || p.CapLen != len(p.Data) || p.OrigLen < p.CapLen || p.TS.IsZero() {
			t.Errorf("frame %d: LinkType %v CapLen %d OrigLen %d len(Data) %d TS %v", p.Frame, p.LinkType, p.CapLen, p.OrigLen, len(p.Data), p.TS)
		}
		if time.Since(p.TS).Abs() > time.Hour {
			t.Errorf("frame %d: TS %v is not the kernel's wall clock", p.Frame, p.TS)
		}
		if err := parser.DecodeLayers(p.Data, &decoded); err != nil && len(decoded) < 3 {
			t.Fatalf("frame %d: decode: %v", p.Frame, err)
		}
		sport, dport := int(tcp.SrcPort), int(tcp.DstPort)
		if sport == portQ || dport == portQ || (sport != portP && dport != portP) {
			t.Fatalf("frame %d: %d -> %d passed the filter %q", p.Frame, sport, dport, "tcp port "+strconv.Itoa(portP))
		}
		fromClient := dport == portP
		switch {
		case tcp.SYN && !tcp.ACK && fromClient:
			seen.syn++
		case tcp.SYN && tcp.ACK && !fromClient:
			seen.synAck++
		}
		if tcp.FIN {
			if fromClient {
				seen.finFromClient++
			} else {
				seen.finFromServer++
			}
		}
		if fromClient && len(tcp.Payload) > 0 {
			seen.data += string(tcp.Payload)
		}
	}
	// Loopback shows each packet once: the kernel's outgoing copy is
	// filtered out.
	want := tcpSeen{syn: 1, synAck: 1, finFromClient: 1, finFromServer: 1, data: "hello"}
	if seen != want {
		t.Errorf("saw %+v; want %+v", seen, want)
	}
	received, _ := s.Stats()
	if received < uint64(frames) {
		t.Errorf("Stats received %d; want at least the %d frames read", received, frames)
	}
}

// listenEcho listens on 127.0.0.1 and reads each connection to its end.
func listenEcho(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return ln
}

// talk connects, writes msg, closes its side and waits for the server's
// close.
func talk(addr, msg string) error {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c)
	return err
}

// TestLiveIdle checks that Next comes back with ErrNoPacket when nothing
// arrives, instead of blocking.
func TestLiveIdle(t *testing.T) {
	skipUnlessRoot(t)
	ln := listenEcho(t) // a port nobody talks to
	port := ln.Addr().(*net.TCPAddr).Port
	s := openLive(t, LiveOptions{Iface: "lo", Filter: fmt.Sprintf("tcp port %d", port), PollTimeout: 20 * time.Millisecond})
	var p Packet
	for range 3 {
		start := time.Now()
		err := s.Next(&p)
		if !errors.Is(err, ErrNoPacket) {
			t.Fatalf("Next: %v; want ErrNoPacket", err)
		}
		// A generous bound: this checks "does not block", not timing.
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Next took %v with PollTimeout 20ms", d)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Next(&p); err != io.EOF {
		t.Errorf("Next after Close: %v; want io.EOF", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s.Stats() // works after Close
}

// TestLiveDrops overruns a small ring: the kernel drops what does not
// fit, and Stats reports it. Every packet the filter accepted is either
// read or counted as dropped.
func TestLiveDrops(t *testing.T) {
	skipUnlessRoot(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := openLive(t, LiveOptions{Iface: "lo", Filter: fmt.Sprintf("udp port %d", pc.LocalAddr().(*net.UDPAddr).Port),
		BufferSize: 64 << 10, Snaplen: 1500, PollTimeout: 20 * time.Millisecond})
	// 2 MB of datagrams into a 64 KiB ring nobody reads yet.
	const n = 2000
	msg := make([]byte, 1000)
	for range n {
		if _, err := pc.WriteTo(msg, pc.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	var p Packet
	read := 0
	for idle := 0; idle < 3; {
		switch err := s.Next(&p); {
		case err == nil:
			read++
			idle = 0
		case errors.Is(err, ErrNoPacket):
			idle++
		default:
			t.Fatal(err)
		}
	}
	received, dropped := s.Stats()
	t.Logf("sent %d, read %d, kernel: %d received, %d dropped", n, read, received, dropped)
	if dropped == 0 || read == 0 {
		t.Errorf("read %d, dropped %d of %d; want some of each from a 64 KiB ring", read, dropped, n)
	}
	if received != n || uint64(read)+dropped != received {
		t.Errorf("received %d (sent %d), read %d + dropped %d; want read + dropped = received = sent", received, n, read, dropped)
	}
}

// TestLiveNoAllocs checks the per-packet path: reading a packet from the
// ring allocates nothing.
func TestLiveNoAllocs(t *testing.T) {
	skipUnlessRoot(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := openLive(t, LiveOptions{Iface: "lo", Filter: fmt.Sprintf("udp port %d", pc.LocalAddr().(*net.UDPAddr).Port), Snaplen: 128})
	const n = 300
	msg := make([]byte, 1000)
	for range n {
		if _, err := pc.WriteTo(msg, pc.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	var p Packet
	got := 0
	read := func() {
		for idle := 0; idle < 100; idle++ {
			if err := s.Next(&p); err == nil {
				got++
				return
			} else if !errors.Is(err, ErrNoPacket) {
				t.Fatal(err)
			}
		}
		t.Fatal("no packet")
	}
	read() // waits for the kernel to hand over the first block
	if p.CapLen != 128 || p.OrigLen != 14+20+8+len(msg) {
		t.Errorf("CapLen %d OrigLen %d; want 128 and %d", p.CapLen, p.OrigLen, 14+20+8+len(msg))
	}
	if allocs := testing.AllocsPerRun(100, read); allocs != 0 {
		t.Errorf("Next allocates %v per packet; want 0", allocs)
	}
}

func TestOpenLiveErrors(t *testing.T) {
	for _, tc := range []struct {
		opts LiveOptions
		want string
	}{
		{LiveOptions{}, "capture: no interface given"},
		{LiveOptions{Iface: "any"}, "capture on any: not supported: capture one interface at a time (lo, eth0, ...)"},
		{LiveOptions{Iface: "lo", Snaplen: -1}, "capture on lo: snaplen -1 out of range 1..262144"},
		{LiveOptions{Iface: "lo", Snaplen: MaxSnaplen + 1}, "capture on lo: snaplen 262145 out of range 1..262144"},
		{LiveOptions{Iface: "lo", PollTimeout: -time.Second}, "capture on lo: negative poll timeout -1s"},
		{LiveOptions{Iface: "lo", Filter: "tcp prot 80"}, `filter "tcp prot 80": syntax error: unexpected "prot" after "tcp" (offset 4)`},
	} {
		s, err := OpenLive(tc.opts)
		if err == nil {
			s.Close()
			t.Errorf("OpenLive(%+v) succeeded; want %q", tc.opts, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("OpenLive(%+v):\n got %v\nwant %s", tc.opts, err, tc.want)
		}
	}
}

func TestOpenLiveNoInterface(t *testing.T) {
	_, err := OpenLive(LiveOptions{Iface: "eth9wt"})
	if !errors.Is(err, ErrNoInterface) {
		t.Fatalf("error %v; want ErrNoInterface", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "capture on eth9wt: no such interface (available: ") || !strings.Contains(msg, "lo") || strings.Contains(msg, "\n") {
		t.Errorf("error %q; want one line naming the interfaces, lo among them", msg)
	}
}

// TestOpenLivePermission runs OpenLive as user nobody in a subprocess (this
// test binary, re-run with livePermissionHelperEnv set) and checks the
// message tells how to fix it.
func TestOpenLivePermission(t *testing.T) {
	if os.Getenv(livePermissionHelperEnv) != "" {
		return // inside the helper subprocess
	}
	skipUnlessRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	// The test binary lives in a directory only root may enter; copy it
	// where nobody can run it.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "wiretrace-live-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "capture.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestOpenLivePermissionHelper$", "-test.v")
	cmd.Env = append(os.Environ(), livePermissionHelperEnv+"=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot switch to nobody: %v", err)
		}
		t.Fatalf("helper: %v\n%s", err, out)
	}
	want := `capture on lo: permission denied: run as root (sudo wiretrace live ...) or grant the capability once: sudo setcap cap_net_raw,cap_net_admin+eip "$(command -v wiretrace)"`
	if !strings.Contains(string(out), "error: "+want+"\n") {
		t.Errorf("helper output:\n%s\nwant the line: error: %s", out, want)
	}
	if !strings.Contains(string(out), "PermissionError: true\n") {
		t.Errorf("helper output:\n%s\nwant a *PermissionError wrapping EPERM", out)
	}
}

const livePermissionHelperEnv = "WIRETRACE_LIVE_PERMISSION_HELPER"

// TestOpenLivePermissionHelper is the subprocess of TestOpenLivePermission.
func TestOpenLivePermissionHelper(t *testing.T) {
	if os.Getenv(livePermissionHelperEnv) == "" {
		t.Skip("helper for TestOpenLivePermission")
	}
	s, err := OpenLive(LiveOptions{Iface: "lo"})
	if err == nil {
		s.Close()
		fmt.Println("error: <nil>")
		return
	}
	var pe *PermissionError
	fmt.Printf("error: %v\n", err)
	fmt.Printf("PermissionError: %v\n", errors.As(err, &pe) && errors.Is(err, syscall.EPERM))
}

// TestLiveFilterFromFirstPacket floods a port the filter excludes while the
// capture opens: packets the socket took before the filter was attached
// must not come out (attach drains them).
func TestLiveFilterFromFirstPacket(t *testing.T) {
	skipUnlessRoot(t)
	noise, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer noise.Close()
	want, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		for {
			select {
			case <-stop:
				return
			default:
			}
			noise.WriteTo([]byte("noise"), noise.LocalAddr())
		}
	}()
	wantPort := want.LocalAddr().(*net.UDPAddr).Port
	s := openLive(t, LiveOptions{Iface: "lo", Filter: fmt.Sprintf("udp port %d", wantPort), PollTimeout: 10 * time.Millisecond})
	for range 3 {
		if _, err := want.WriteTo([]byte("want"), want.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	var (
		p       Packet
		eth     layers.Ethernet
		ip4     layers.IPv4
		udp     layers.UDP
		payload gopacket.Payload
		decoded []gopacket.LayerType
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &udp, &payload)
	got := 0
	for idle := 0; got < 3 && idle < 500; {
		err := s.Next(&p)
		if errors.Is(err, ErrNoPacket) {
			idle++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := parser.DecodeLayers(p.Data, &decoded); err != nil {
			t.Fatalf("frame %d: %v", p.Frame, err)
		}
		if int(udp.DstPort) != wantPort {
			t.Fatalf("frame %d: udp %d -> %d passed the filter udp port %d", p.Frame, udp.SrcPort, udp.DstPort, wantPort)
		}
		got++
	}
	close(stop)
	<-flooded
	if got != 3 {
		t.Errorf("got %d packets to port %d; want 3", got, wantPort)
	}
}

// TestLiveToPcapng captures a UDP datagram on lo, writes it with
// PcapngWriter and, when tshark is installed, has tshark decode it.
func TestLiveToPcapng(t *testing.T) {
	skipUnlessRoot(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	s := openLive(t, LiveOptions{Iface: "lo", Filter: fmt.Sprintf("udp dst port %d", port)})
	if _, err := pc.WriteTo([]byte("hello"), pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	var p Packet
	for idle := 0; ; idle++ {
		err := s.Next(&p)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNoPacket) || idle > 200 {
			t.Fatalf("Next: %v", err)
		}
	}
	path := filepath.Join(t.TempDir(), "live.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := NewPcapngWriter(f, s.LinkType(), "lo", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.WritePacket(&p); err != nil {
		t.Fatal(err)
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH")
	}
	cmd := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=,", "-e", "frame.time_epoch", "-e", "udp.dstport", "-e", "data.data")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := fmt.Sprintf("%d.%09d,%d,68656c6c6f", p.TS.Unix(), p.TS.Nanosecond(), port)
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("tshark: %q; want %q", got, want)
	}
}

func TestRingGeometry(t *testing.T) {
	for _, tc := range []struct {
		snaplen, mtu, buf int
		block, blocks     int
	}{
		{MaxSnaplen, 65536, DefaultBufferSize, 128 << 10, 256}, // loopback
		{MaxSnaplen, 1500, DefaultBufferSize, 128 << 10, 256},  // Ethernet: 64 KiB GRO packets
		{MaxSnaplen, 9000, 1 << 20, 128 << 10, 8},
		{96, 1500, DefaultBufferSize, 128 << 10, 256},
		{96, 1500, 64 << 10, 8 << 10, 8},                        // a small ring: smaller blocks
		{MaxSnaplen, 65536, 64 << 10, 128 << 10, 2},             // never below one frame, two blocks
		{MaxSnaplen, 200000, DefaultBufferSize, 256 << 10, 128}, // a huge MTU: up to snaplen
		{MaxSnaplen, 1 << 20, DefaultBufferSize, 512 << 10, 64},
	} {
		block, blocks := ringGeometry(tc.snaplen, tc.mtu, tc.buf)
		if block != tc.block || blocks != tc.blocks {
			t.Errorf("ringGeometry(%d, %d, %d) = %d blocks of %d; want %d of %d", tc.snaplen, tc.mtu, tc.buf, blocks, block, tc.blocks, tc.block)
		}
	}
}
