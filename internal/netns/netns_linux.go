//go:build linux

package netns

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotRoot is returned (wrapped) when the process lacks the privileges to
// create namespaces.
var ErrNotRoot = errors.New("netns: needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")

// NS is a named network namespace, as created by "ip netns add": it is
// visible under /run/netns/Name until Close deletes it.
type NS struct {
	Name string
	fd   int
}

// New creates the named namespace and brings its loopback up.
func New(name string) (*NS, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("create namespace %s: %w", name, ErrNotRoot)
	}
	if err := runCmd("ip", "netns", "add", name); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = runCmd("ip", "netns", "del", name)
		return nil, fmt.Errorf("netns %s: open: %w", name, err)
	}
	ns := &NS{Name: name, fd: fd}
	if err := ns.IP("link", "set", "lo", "up"); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// Do runs f on a fresh OS thread that has joined the namespace, and
// returns f's error. The thread is locked for f's whole run and discarded
// afterwards (the goroutine exits still locked), so no other goroutine ever
// runs in the namespace by accident. Sockets created by f stay in the
// namespace and may be used from any goroutine; goroutines started by f
// run in the process's own namespace.
func (ns *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends a thread whose goroutine exits
		// while locked, instead of reusing it in the wrong namespace.
		runtime.LockOSThread()
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns %s: setns: %w", ns.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// IP runs "ip -n NAME args...".
func (ns *NS) IP(args ...string) error {
	return runCmd("ip", append([]string{"-n", ns.Name}, args...)...)
}

// Exec runs a command inside the namespace ("ip netns exec NAME cmd
// args..."), which also gives it the namespace's view of /sys.
func (ns *NS) Exec(cmd string, args ...string) error {
	return runCmd("ip", append([]string{"netns", "exec", ns.Name, cmd}, args...)...)
}

// Sysctl sets key (dotted, e.g. "net.ipv4.ip_forward") to value inside the
// namespace.
func (ns *NS) Sysctl(key, value string) error {
	return ns.Exec("sysctl", "-q", "-w", key+"="+value)
}

// Close deletes the namespace. Sockets still open in it keep it alive
// until they are closed, but its name is gone.
func (ns *NS) Close() error {
	if ns.fd < 0 {
		return nil
	}
	unix.Close(ns.fd)
	ns.fd = -1
	return runCmd("ip", "netns", "del", ns.Name)
}

// runCmd runs name with args and returns an error carrying the command
// line and its stderr when it fails.
func runCmd(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return fmt.Errorf("netns: %s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return fmt.Errorf("netns: %s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}
