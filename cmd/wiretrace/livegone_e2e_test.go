package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLiveInterfaceGone removes the interface under a running capture:
// wiretrace ends with one clear line and exit status 1, after its usual
// closing line with the packet and drop counts.
func TestLiveInterfaceGone(t *testing.T) {
	e2eSkipUnlessRoot(t)
	name := fmt.Sprintf("wtgone%d", os.Getpid()%100000)
	if out, err := exec.Command("ip", "link", "add", name, "type", "veth", "peer", "name", name+"p").CombinedOutput(); err != nil {
		t.Skipf("cannot create a veth pair: %v: %s", err, out)
	}
	defer exec.Command("ip", "link", "del", name).Run()
	for _, n := range []string{name, name + "p"} {
		if out, err := exec.Command("ip", "link", "set", n, "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s up: %v: %s", n, err, out)
		}
	}
	cmd := e2eCmd("live", "-i", name)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	var lines []string
	listening := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("wiretrace did not start listening")
	}
	if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	<-done
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v; want status 1; stderr:\n%s", err, strings.Join(lines, "\n"))
	}
	last := lines[len(lines)-1]
	if last != "wiretrace: capture on "+name+": the interface went down or away" {
		t.Errorf("last line %q", last)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "dropped by the kernel") {
		t.Errorf("no closing counts in:\n%s", strings.Join(lines, "\n"))
	}
}
