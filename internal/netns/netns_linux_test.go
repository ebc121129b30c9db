//go:build linux

package netns

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// listen opens a TCP listener in h's namespace on addr:0.
func listen(t *testing.T, h Host, addr netip.Addr) net.Listener {
	t.Helper()
	var ln net.Listener
	err := h.NS.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// echoOnce accepts one connection and echoes it until EOF.
func echoOnce(ln net.Listener) <-chan net.Addr {
	peer := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(peer)
			return
		}
		defer c.Close()
		peer <- c.RemoteAddr()
		io.Copy(c, c)
	}()
	return peer
}

func TestTopologyRoutes(t *testing.T) {
	topo := NewTopologyT(t)
	for _, tc := range []struct {
		name     string
		cli, srv netip.Addr
	}{
		{"ipv4", ClientAddr4, ServerAddr4},
		{"ipv6", ClientAddr6, ServerAddr6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t, topo.Server, tc.srv)
			peer := echoOnce(ln)
			var c net.Conn
			err := topo.Client.NS.Do(func() (err error) {
				c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			msg := []byte("hello through the router")
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Errorf("echo: got %q; want %q", got, msg)
			}
			// Routed, not translated: the server sees the client's address.
			if got := (<-peer).(*net.TCPAddr).AddrPort().Addr(); got != tc.cli {
				t.Errorf("server saw client %v; want %v", got, tc.cli)
			}
		})
	}
}

func TestDoJoinsNamespace(t *testing.T) {
	topo := NewTopologyT(t)
	for _, h := range []Host{topo.Client, topo.Server} {
		err := h.NS.Do(func() error {
			ifi, err := net.InterfaceByName(h.Iface)
			if err != nil {
				return err
			}
			if ifi.MTU != MTU || ifi.HardwareAddr.String() != h.MAC.String() {
				t.Errorf("%s %s: mtu %d mac %v; want %d %v", h.NS.Name, h.Iface, ifi.MTU, ifi.HardwareAddr, MTU, h.MAC)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The caller's namespace is untouched.
	if _, err := net.InterfaceByName("r-cli"); err == nil {
		t.Error("r-cli visible outside the router namespace")
	}
}

func TestRouterDelay(t *testing.T) {
	topo := NewTopologyT(t)
	const d = 20 * time.Millisecond
	how, err := topo.Router.Delay(ToClient, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delay by %s", how)
	ln := listen(t, topo.Server, ServerAddr4)
	echoOnce(ln)
	start := time.Now()
	var c net.Conn
	err = topo.Client.NS.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// A lower bound only: the SYN-ACK cannot arrive before the delay.
	if rtt := time.Since(start); rtt < d {
		t.Errorf("connect took %v; want at least %v", rtt, d)
	}
}

func TestRouterIPTables(t *testing.T) {
	topo := NewTopologyT(t)
	if err := topo.Router.IPTables("-A", "FORWARD", "-p", "tcp", "--dport", "9", "-j", "REJECT", "--reject-with", "tcp-reset"); err != nil {
		t.Fatal(err)
	}
	err := topo.Client.NS.Do(func() error {
		_, err := net.DialTimeout("tcp", netip.AddrPortFrom(ServerAddr4, 9).String(), 5*time.Second)
		return err
	})
	if err == nil {
		t.Fatal("dial through a rejecting router succeeded")
	}
}
