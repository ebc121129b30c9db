// Package netns builds small throw-away networks out of Linux network
// namespaces for tests and for the capture generator (internal/gencap):
// named namespaces (ip netns add), veth pairs with fixed MAC, IPv4 and IPv6
// addresses, and a three-namespace topology client ⟷ router ⟷ server whose
// router can delay and drop forwarded packets.
//
// It follows cilium/ebpf's internal/testutils netns helper: Do runs a
// function on an OS thread locked inside the namespace, so sockets it opens
// (net.Listen, net.Dial, capture.OpenLive) belong to that namespace and can
// be used from any goroutine afterwards. Goroutines started by the function
// do not inherit the namespace.
//
// Everything here needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip
// command from iproute2; Topology also uses ethtool, sysctl and, for
// Router.Drop, iptables. Addresses come only from the ranges reserved for
// documentation and benchmarking (198.18.0.0/15, RFC 2544; 2001:db8::/32,
// RFC 3849) and exist only inside the namespaces: nothing here sends a
// packet to the host's own network.
//
// The package is a helper, not part of the capture → decode → timeline →
// render flow; nothing in that flow imports it.
package netns
