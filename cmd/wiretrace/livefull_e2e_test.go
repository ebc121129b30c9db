package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/capture"
)

// TestLiveDiskFull writes -w to a 256 KiB tmpfs while megabytes cross
// loopback: wiretrace stops with one line naming the file and the error,
// and what it wrote is a valid capture (whole blocks only).
func TestLiveDiskFull(t *testing.T) {
	e2eSkipUnlessRoot(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write(bytes.Repeat([]byte("x"), 4<<20))
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	out := filepath.Join(dir, "full.pcapng")
	cmd := e2eCmd("live", "-i", "lo", "-w", out, "--format", "json", "--filter", fmt.Sprintf("tcp port %d", port))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
	for waiting := true; waiting; {
		select {
		case <-tick.C:
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
		case err = <-done:
			waiting = false
		case <-timeout:
			t.Fatalf("still running after 30 s; stderr: %s", stderr.String())
		}
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v; want status 1; stderr: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "wiretrace: -w "+out+": ") || !strings.Contains(last, "no space left on device") || !strings.Contains(last, "whole packets") {
		t.Errorf("last line %q", last)
	}
	src, err := capture.OpenFile(out, 0, capture.FileOptions{})
	if err != nil {
		t.Fatalf("the capture left behind: %v", err)
	}
	defer src.Close()
	var p capture.Packet
	n := 0
	for {
		if err := src.Next(&p); err != nil {
			if err != io.EOF {
				t.Fatalf("after %d packets: %v", n, err)
			}
			break
		}
		n++
	}
	if fi, _ := os.Stat(out); n == 0 || fi.Size() > 256<<10 {
		t.Errorf("%d packets in %d bytes", n, fi.Size())
	}
}
