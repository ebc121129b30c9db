//go:build linux

package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// MTU is the MTU of every veth in a Topology.
const MTU = 1500

// Addresses of a Topology. The client link is 198.18.1.0/24 and
// 2001:db8:1::/64, the server link 198.18.2.0/24 and 2001:db8:2::/64; the
// router is .1 / ::1 on both, the hosts .2 / ::2.
var (
	ClientAddr4 = netip.MustParseAddr("198.18.1.2")
	ClientAddr6 = netip.MustParseAddr("2001:db8:1::2")
	ServerAddr4 = netip.MustParseAddr("198.18.2.2")
	ServerAddr6 = netip.MustParseAddr("2001:db8:2::2")

	routerClientAddr4 = netip.MustParseAddr("198.18.1.1")
	routerClientAddr6 = netip.MustParseAddr("2001:db8:1::1")
	routerServerAddr4 = netip.MustParseAddr("198.18.2.1")
	routerServerAddr6 = netip.MustParseAddr("2001:db8:2::1")
)

// Fixed MAC addresses (locally administered), so that captures of the
// same scenario differ only where the kernel's choices do (ISNs,
// timestamps, timing).
var (
	clientMAC       = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x01, 0x02}
	routerClientMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}
	routerServerMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x02, 0x01}
	serverMAC       = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x02, 0x02}
)

// Host is the client or the server end of a Topology.
type Host struct {
	NS *NS
	// Iface is the host's veth ("eth0"), the place to capture what the
	// host itself sends and receives.
	Iface        string
	Addr4, Addr6 netip.Addr
	MAC          net.HardwareAddr
}

// Side names the router's interface toward one host.
type Side int

const (
	ToClient Side = iota // the router's veth to the client ("r-cli")
	ToServer             // the router's veth to the server ("r-srv")
)

// Router forwards between the client and server links.
type Router struct {
	NS *NS
	// ClientIface and ServerIface are the router's veths ("r-cli",
	// "r-srv").
	ClientIface, ServerIface string

	delays []*delayQueue
}

// Iface returns the router's interface toward side.
func (r *Router) Iface(side Side) string {
	if side == ToClient {
		return r.ClientIface
	}
	return r.ServerIface
}

// Topology is client ⟷ router ⟷ server: three namespaces joined by two
// veth pairs, MTU 1500, checksum and segmentation offloads off (so the
// frames captured are the frames on a real 1500-byte link, with valid
// checksums), static neighbour entries (no ARP or neighbour discovery in
// captures), and routes both ways for IPv4 and IPv6.
type Topology struct {
	Client, Server Host
	Router         Router
	nss            []*NS
}

// NewTopology creates the namespaces prefix-cli, prefix-rtr and prefix-srv
// and wires them. Close removes them.
func NewTopology(prefix string) (_ *Topology, err error) {
	t := &Topology{}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	newNS := func(role string) (*NS, error) {
		ns, err := New(prefix + "-" + role)
		if err != nil {
			return nil, err
		}
		t.nss = append(t.nss, ns)
		// Settings for interfaces created from now on: no router
		// solicitations or duplicate address detection noise.
		for _, kv := range [][2]string{
			{"net.ipv6.conf.default.router_solicitations", "0"},
			{"net.ipv6.conf.default.accept_dad", "0"},
			{"net.ipv6.conf.default.accept_ra", "0"},
		} {
			if err := ns.Sysctl(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return ns, nil
	}
	cli, err := newNS("cli")
	if err != nil {
		return nil, err
	}
	rtr, err := newNS("rtr")
	if err != nil {
		return nil, err
	}
	srv, err := newNS("srv")
	if err != nil {
		return nil, err
	}
	t.Client = Host{NS: cli, Iface: "eth0", Addr4: ClientAddr4, Addr6: ClientAddr6, MAC: clientMAC}
	t.Server = Host{NS: srv, Iface: "eth0", Addr4: ServerAddr4, Addr6: ServerAddr6, MAC: serverMAC}
	t.Router = Router{NS: rtr, ClientIface: "r-cli", ServerIface: "r-srv"}

	for _, kv := range [][2]string{
		{"net.ipv4.ip_forward", "1"},
		{"net.ipv6.conf.all.forwarding", "1"},
	} {
		if err := rtr.Sysctl(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	links := []struct {
		host           Host
		rIface         string
		rMAC           net.HardwareAddr
		rAddr4, rAddr6 netip.Addr
	}{
		{t.Client, t.Router.ClientIface, routerClientMAC, routerClientAddr4, routerClientAddr6},
		{t.Server, t.Router.ServerIface, routerServerMAC, routerServerAddr4, routerServerAddr6},
	}
	for _, l := range links {
		if err := runCmd("ip", "link", "add", l.host.Iface, "netns", l.host.NS.Name,
			"address", l.host.MAC.String(), "mtu", strconv.Itoa(MTU),
			"type", "veth", "peer", "name", l.rIface, "netns", rtr.Name,
			"address", l.rMAC.String(), "mtu", strconv.Itoa(MTU)); err != nil {
			return nil, err
		}
		if err := setupIface(l.host.NS, l.host.Iface, l.host.Addr4, l.host.Addr6); err != nil {
			return nil, err
		}
		if err := setupIface(rtr, l.rIface, l.rAddr4, l.rAddr6); err != nil {
			return nil, err
		}
		// Default routes via the router, and static neighbours both ways.
		h := l.host.NS
		steps := [][]string{
			{"-4", "route", "add", "default", "via", l.rAddr4.String(), "dev", l.host.Iface},
			{"-6", "route", "add", "default", "via", l.rAddr6.String(), "dev", l.host.Iface},
		}
		for _, s := range steps {
			if err := h.IP(s...); err != nil {
				return nil, err
			}
		}
		for _, n := range []struct {
			ns    *NS
			iface string
			addr  netip.Addr
			mac   net.HardwareAddr
		}{
			{h, l.host.Iface, l.rAddr4, l.rMAC},
			{h, l.host.Iface, l.rAddr6, l.rMAC},
			{rtr, l.rIface, l.host.Addr4, l.host.MAC},
			{rtr, l.rIface, l.host.Addr6, l.host.MAC},
		} {
			if err := n.ns.IP("neigh", "replace", n.addr.String(), "lladdr", n.mac.String(),
				"dev", n.iface, "nud", "permanent"); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// setupIface turns offloads off, adds the addresses and brings the
// interface up.
func setupIface(ns *NS, iface string, a4, a6 netip.Addr) error {
	// Without segmentation offloads the kernel hands AF_PACKET (and
	// netfilter) real MTU-sized frames instead of 64 KB super-packets;
	// without checksum offload the captured checksums are the real ones.
	if err := ns.Exec("ethtool", "-K", iface, "tx", "off", "rx", "off", "tso", "off",
		"gso", "off", "gro", "off"); err != nil {
		return err
	}
	if err := ns.IP("addr", "add", a4.String()+"/24", "dev", iface); err != nil {
		return err
	}
	if err := ns.IP("addr", "add", a6.String()+"/64", "dev", iface, "nodad"); err != nil {
		return err
	}
	return ns.IP("link", "set", iface, "up")
}

// NewTopologyT is NewTopology for tests: it skips tb unless running as
// root, names the namespaces after the process, and removes them in
// tb.Cleanup.
func NewTopologyT(tb testing.TB) *Topology {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("netns: needs root")
	}
	t, err := NewTopology(fmt.Sprintf("wt%d-%d", os.Getpid(), nextID()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := t.Close(); err != nil {
			tb.Error(err)
		}
	})
	return t
}

var lastID atomic.Int64

func nextID() int64 { return lastID.Add(1) }

// Close stops the router's delay queues and deletes the namespaces.
func (t *Topology) Close() error {
	var errs []error
	for _, d := range t.Router.delays {
		errs = append(errs, d.close())
	}
	t.Router.delays = nil
	for i := len(t.nss) - 1; i >= 0; i-- {
		errs = append(errs, t.nss[i].Close())
	}
	t.nss = nil
	return errors.Join(errs...)
}

// Delay holds every packet the router forwards out of its interface
// toward side for d, like "tc qdisc add dev IFACE root netem delay d".
// When the kernel has no netem (CONFIG_NET_SCH_NETEM), the packets are
// queued to user space with an iptables NFQUEUE rule in the mangle
// table's POSTROUTING chain (after the filter table's FORWARD rules, so
// Drop rules apply first) and released after d, in arrival order. It
// reports which of the two it used.
func (r *Router) Delay(side Side, d time.Duration) (how string, err error) {
	iface := r.Iface(side)
	err = r.NS.Exec("tc", "qdisc", "add", "dev", iface, "root", "netem", "delay", d.String())
	if err == nil {
		return "netem", nil
	}
	q, qerr := newDelayQueue(r.NS, uint16(len(r.delays)), d)
	if qerr != nil {
		return "", fmt.Errorf("router: delay %s: netem: %v; nfqueue: %w", iface, err, qerr)
	}
	r.delays = append(r.delays, q)
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if err := r.NS.Exec(ipt, "-t", "mangle", "-A", "POSTROUTING", "-o", iface,
			"-j", "NFQUEUE", "--queue-num", strconv.Itoa(int(q.num))); err != nil {
			return "", fmt.Errorf("router: delay %s: %w", iface, err)
		}
	}
	return "nfqueue", nil
}

// IPTables runs iptables with args in the router's namespace, for
// example "-A", "FORWARD", ..., "-j", "DROP".
func (r *Router) IPTables(args ...string) error { return r.NS.Exec("iptables", args...) }

// IP6Tables runs ip6tables with args in the router's namespace.
func (r *Router) IP6Tables(args ...string) error { return r.NS.Exec("ip6tables", args...) }
