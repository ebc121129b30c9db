package capture

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

var (
	testSrcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	testDstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
)

// testFrame describes one hand-built Ethernet frame for the filter tests.
type testFrame struct {
	name     string
	proto    string // tcp, udp, icmp, icmp6, arp
	src, dst string // addresses
	sport    uint16
	dport    uint16
	ipOpts   bool // IPv4 header with 4 bytes of options (IHL 6)
	fragment bool // IPv4 non-first fragment (offset 8 bytes)
}

// filterFrames covers the cases the filters below must tell apart.
var filterFrames = []testFrame{
	{name: "tcp4-lo-443", proto: "tcp", src: "127.0.0.1", dst: "127.0.0.1", sport: 50000, dport: 443},
	{name: "tcp4-80", proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 80},
	{name: "udp4-53", proto: "udp", src: "10.0.0.1", dst: "8.8.8.8", sport: 5353, dport: 53},
	{name: "tcp6-443", proto: "tcp", src: "2001:db8::1", dst: "2001:db8::2", sport: 40000, dport: 443},
	{name: "udp6-53", proto: "udp", src: "2001:db8::1", dst: "2001:db8:1::53", sport: 40001, dport: 53},
	{name: "tcp4-ssh-reply", proto: "tcp", src: "10.0.0.2", dst: "10.0.0.1", sport: 22, dport: 50022},
	{name: "icmp4", proto: "icmp", src: "10.0.0.1", dst: "10.0.0.2"},
	{name: "icmp6", proto: "icmp6", src: "2001:db8::1", dst: "2001:db8::2"},
	{name: "arp", proto: "arp", src: "10.0.0.1", dst: "10.0.0.2"},
	// The port is found through the IPv4 header length, not at offset 34.
	{name: "tcp4-opts-443", proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, ipOpts: true},
	// A later fragment has no TCP header: its first bytes (0xc350 0x01bb,
	// "ports" 50000 and 443) are payload and must not match a port.
	{name: "tcp4-frag", proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 50000, dport: 443, fragment: true},
	{name: "udp4-quic-443", proto: "udp", src: "10.0.0.1", dst: "10.0.0.2", sport: 443, dport: 9999},
}

func buildFrame(t testing.TB, f testFrame) []byte {
	t.Helper()
	src, dst := netip.MustParseAddr(f.src), netip.MustParseAddr(f.dst)
	eth := &layers.Ethernet{SrcMAC: testSrcMAC, DstMAC: testDstMAC}
	var ls []gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	switch {
	case f.proto == "arp":
		eth.EthernetType = layers.EthernetTypeARP
		ls = append(ls, eth, &layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: testSrcMAC, SourceProtAddress: src.AsSlice(),
			DstHwAddress: make([]byte, 6), DstProtAddress: dst.AsSlice(),
		})
	case src.Is4():
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		if f.ipOpts {
			ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
		}
		if f.fragment {
			ip.FragOffset = 1
		}
		nl = ip
		ls = append(ls, eth, ip)
	default:
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		nl = ip
		ls = append(ls, eth, ip)
	}
	setProto := func(p layers.IPProtocol) {
		switch ip := nl.(type) {
		case *layers.IPv4:
			ip.Protocol = p
		case *layers.IPv6:
			ip.NextHeader = p
		}
	}
	switch f.proto {
	case "tcp":
		setProto(layers.IPProtocolTCP)
		if f.fragment {
			// Payload that looks like ports 50000 -> 443.
			ls = append(ls, gopacket.Payload{0xc3, 0x50, 0x01, 0xbb, 0, 0, 0, 0})
			break
		}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport), SYN: true, Window: 1024}
		if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, tcp)
	case "udp":
		setProto(layers.IPProtocolUDP)
		udp := &layers.UDP{SrcPort: layers.UDPPort(f.sport), DstPort: layers.UDPPort(f.dport)}
		if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, udp, gopacket.Payload("x"))
	case "icmp":
		setProto(layers.IPProtocolICMPv4)
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)})
	case "icmp6":
		setProto(layers.IPProtocolICMPv6)
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
		if err := icmp.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, icmp, gopacket.Payload{0, 1, 0, 1})
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return buf.Bytes()
}

// filterCases: expression -> names of the filterFrames it accepts.
var filterCases = []struct {
	expr   string
	accept []string
}{
	{"tcp port 443", []string{"tcp4-lo-443", "tcp6-443", "tcp4-opts-443"}},
	{"tcp port https", []string{"tcp4-lo-443", "tcp6-443", "tcp4-opts-443"}},
	{"port 443", []string{"tcp4-lo-443", "tcp6-443", "tcp4-opts-443", "udp4-quic-443"}},
	{"udp port 443", []string{"udp4-quic-443"}},
	{"host 127.0.0.1 and tcp", []string{"tcp4-lo-443"}},
	{"udp", []string{"udp4-53", "udp6-53", "udp4-quic-443"}},
	{"tcp", []string{"tcp4-lo-443", "tcp4-80", "tcp6-443", "tcp4-ssh-reply", "tcp4-opts-443", "tcp4-frag"}},
	{"port 53 or port 443", []string{"tcp4-lo-443", "udp4-53", "tcp6-443", "udp6-53", "tcp4-opts-443", "udp4-quic-443"}},
	{"port 53 or 443", []string{"tcp4-lo-443", "udp4-53", "tcp6-443", "udp6-53", "tcp4-opts-443", "udp4-quic-443"}},
	{"port 53 || port 443", []string{"tcp4-lo-443", "udp4-53", "tcp6-443", "udp6-53", "tcp4-opts-443", "udp4-quic-443"}},
	{"not port 22", []string{"tcp4-lo-443", "tcp4-80", "udp4-53", "tcp6-443", "udp6-53", "icmp4", "icmp6", "arp", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
	{"! port 22", []string{"tcp4-lo-443", "tcp4-80", "udp4-53", "tcp6-443", "udp6-53", "icmp4", "icmp6", "arp", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
	{"src port 22", []string{"tcp4-ssh-reply"}},
	{"dst port 22", nil},
	{"tcp dst port 80", []string{"tcp4-80"}},
	{"tcp src port 80", nil},
	{"src or dst port 80", []string{"tcp4-80"}},
	{"src and dst port 80", nil},
	{"src && dst port 80", nil},
	{"src || dst port 80 or port 53", []string{"tcp4-80", "udp4-53", "udp6-53"}},
	{"udp and dst port 53", []string{"udp4-53", "udp6-53"}},
	{"host 10.0.0.1", []string{"tcp4-80", "udp4-53", "tcp4-ssh-reply", "icmp4", "arp", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
	{"ip host 10.0.0.1", []string{"tcp4-80", "udp4-53", "tcp4-ssh-reply", "icmp4", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
	{"src host 10.0.0.1", []string{"tcp4-80", "udp4-53", "icmp4", "arp", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
	{"src 10.0.0.1 and tcp", []string{"tcp4-80", "tcp4-opts-443", "tcp4-frag"}},
	{"dst host 10.0.0.1", []string{"tcp4-ssh-reply"}},
	{"host 10.0.0.9 or 10.0.0.2", []string{"tcp4-80", "tcp4-ssh-reply", "icmp4", "arp", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
	{"host 2001:db8::1", []string{"tcp6-443", "udp6-53", "icmp6"}},
	{"ip6 dst host 2001:db8::2", []string{"tcp6-443", "icmp6"}},
	{"src host 2001:db8::2", nil},
	{"host 2001:db8::1 and udp", []string{"udp6-53"}},
	{"net 10.0.0.0/8 and tcp", []string{"tcp4-80", "tcp4-ssh-reply", "tcp4-opts-443", "tcp4-frag"}},
	{"dst net 8.8.8.0/24", []string{"udp4-53"}},
	{"net 2001:db8:1::/64", []string{"udp6-53"}},
	{"ip6 net 2001:db8::/32", []string{"tcp6-443", "udp6-53", "icmp6"}},
	{"ip", []string{"tcp4-lo-443", "tcp4-80", "udp4-53", "tcp4-ssh-reply", "icmp4", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
	{"ip6", []string{"tcp6-443", "udp6-53", "icmp6"}},
	{"ip6 and tcp", []string{"tcp6-443"}},
	{"ip and udp", []string{"udp4-53", "udp4-quic-443"}},
	{"arp", []string{"arp"}},
	{"icmp", []string{"icmp4"}},
	{"icmp6", []string{"icmp6"}},
	{"icmp or icmp6", []string{"icmp4", "icmp6"}},
	{"not ip and not ip6", []string{"arp"}},
	{"not (port 443 or port 53)", []string{"tcp4-80", "tcp4-ssh-reply", "icmp4", "icmp6", "arp", "tcp4-frag"}},
	{"not (tcp or udp) and not arp", []string{"icmp4", "icmp6"}},
	// "and" and "or" have one precedence and associate left to right:
	// (port 53 or port 443) and tcp.
	{"port 53 or port 443 and tcp", []string{"tcp4-lo-443", "tcp6-443", "tcp4-opts-443"}},
	{"tcp and port 80 or port 53", []string{"tcp4-80", "udp4-53", "udp6-53"}},
	{"tcp and (port 80 or port 22)", []string{"tcp4-80", "tcp4-ssh-reply"}},
	{"(tcp && port 443) || (udp && port 53)", []string{"tcp4-lo-443", "udp4-53", "tcp6-443", "udp6-53", "tcp4-opts-443"}},
	{"ether src 02:00:00:00:00:01", allFrameNames()},
	{"ether host 02:00:00:00:00:02", allFrameNames()},
	{"ether dst 02:00:00:00:00:01", nil},
	{"not not tcp and port 22", []string{"tcp4-ssh-reply"}},
	{"tcp src or dst port 443 and src and dst host 127.0.0.1", []string{"tcp4-lo-443"}},
	{"ip6 src net 2001:db8::/32 and dst net 2001:db8:1::/48", []string{"udp6-53"}},
	{"net 2001:db8::/127", []string{"tcp6-443", "udp6-53", "icmp6"}},
	{"dst net 2001:db8::2/127", []string{"tcp6-443", "icmp6"}},
	{"src net 2001:db8::/128", nil},
	{"net 2001:db8::2/128", []string{"tcp6-443", "icmp6"}},
	{"ip net 10.0.0.0/31", []string{"tcp4-80", "udp4-53", "tcp4-ssh-reply", "icmp4", "tcp4-opts-443", "tcp4-frag", "udp4-quic-443"}},
}

func allFrameNames() []string {
	var names []string
	for _, f := range filterFrames {
		names = append(names, f.name)
	}
	return names
}

func runFilter(t *testing.T, raw []bpf.RawInstruction, frame []byte) bool {
	t.Helper()
	prog := make([]bpf.Instruction, len(raw))
	for i, r := range raw {
		prog[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n != 0 && n != MaxSnaplen {
		t.Fatalf("filter returned %d; want %d or 0", n, MaxSnaplen)
	}
	return n != 0
}

func TestCompileFilter(t *testing.T) {
	frames := make([][]byte, len(filterFrames))
	for i, f := range filterFrames {
		frames[i] = buildFrame(t, f)
	}
	for _, tc := range filterCases {
		t.Run(tc.expr, func(t *testing.T) {
			raw, err := CompileFilter(tc.expr, layers.LinkTypeEthernet)
			if err != nil {
				t.Fatalf("CompileFilter: %v", err)
			}
			var got []string
			for i, f := range filterFrames {
				if runFilter(t, raw, frames[i]) {
					got = append(got, f.name)
				}
			}
			if !slices.Equal(got, tc.accept) {
				t.Errorf("accepted %q; want %q", got, tc.accept)
			}
		})
	}
}

// TestCompileFilterTcpdump checks the same cases against libpcap, through
// tcpdump reading the frames from a pcap file.
func TestCompileFilterTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not on PATH")
	}
	path := filepath.Join(t.TempDir(), "frames.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, fr := range filterFrames {
		b := buildFrame(t, fr)
		// The timestamp's second is the frame's index, so tcpdump -tt
		// output names the frames it accepted.
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i+1), 0), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range filterCases {
		t.Run(tc.expr, func(t *testing.T) {
			out, err := exec.Command(tcpdump, "-r", path, "-nn", "-tt", tc.expr).Output()
			if err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				sec, _, ok := strings.Cut(line, ".")
				if !ok {
					continue
				}
				i, err := strconv.Atoi(sec)
				if err != nil || i < 1 || i > len(filterFrames) {
					t.Fatalf("tcpdump line %q", line)
				}
				got = append(got, filterFrames[i-1].name)
			}
			if !slices.Equal(got, tc.accept) {
				t.Errorf("tcpdump accepted %q; want %q", got, tc.accept)
			}
		})
	}
}

func TestCompileFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string
	}{
		{"tcp prot 80", `filter "tcp prot 80": syntax error: unexpected "prot" after "tcp" (offset 4)`},
		{"tcp port", `filter "tcp port": syntax error: "tcp port" needs a value (offset 8)`},
		{"port 99999", `filter "port 99999": port 99999 out of range (offset 5)`},
		{"port nosuchservice", `filter "port nosuchservice": unknown port "nosuchservice" (offset 5)`},
		{"(tcp", `filter "(tcp": syntax error: unbalanced "(" (offset 0)`},
		{"tcp)", `filter "tcp)": syntax error: unexpected ")" (offset 3)`},
		{"tcp and", `filter "tcp and": syntax error: unexpected end of expression (offset 7)`},
		{"tcp tcp", `filter "tcp tcp": syntax error: unexpected "tcp" (offset 4)`},
		{"tpc", `filter "tpc": syntax error: unknown word "tpc" (give host, net or port before a value) (offset 0)`},
		{"10.0.0.1", `filter "10.0.0.1": syntax error: unknown word "10.0.0.1" (give host, net or port before a value) (offset 0)`},
		{"TCP", `filter "TCP": syntax error: unknown word "TCP" (give host, net or port before a value) (offset 0)`},
		{"host example.com", `filter "host example.com": not supported: host names ("example.com"); give an IP address (offset 5)`},
		{"host 10.0.0.0/8", `filter "host 10.0.0.0/8": host "10.0.0.0/8": a host is one address; use net for a prefix (offset 5)`},
		{"ip6 host 10.0.0.1", `filter "ip6 host 10.0.0.1": ip6 host "10.0.0.1": address family does not match "ip6" (offset 9)`},
		{"net 10.0.0.1/8", `filter "net 10.0.0.1/8": net "10.0.0.1/8": bits set past the /8 mask (offset 4)`},
		{"tcp host 10.0.0.1", `filter "tcp host 10.0.0.1": syntax error: "tcp" cannot qualify host (offset 0)`},
		{"portrange 1-1024", `filter "portrange 1-1024": not supported: port ranges ("portrange") (offset 0)`},
		{"tcp portrange 1-1024", `filter "tcp portrange 1-1024": not supported: port ranges ("portrange") (offset 4)`},
		{"ip proto 6", `filter "ip proto 6": not supported: protocol numbers (proto) ("proto") (offset 3)`},
		{"vlan and tcp", `filter "vlan and tcp": not supported: vlan ("vlan") (offset 0)`},
		{"tcp[13] & 2 != 0", `filter "tcp[13] & 2 != 0": not supported: byte and length expressions ('[') (offset 3)`},
		{"len > 100", `filter "len > 100": not supported: byte and length expressions ('>') (offset 4)`},
		{"greater 100", `filter "greater 100": not supported: length tests ("greater") (offset 0)`},
		{"ether host 1.2.3.4", `filter "ether host 1.2.3.4": invalid Ethernet address "1.2.3.4" (offset 11)`},
		{"src or dst", `filter "src or dst": syntax error: "src or dst" needs a value (offset 10)`},
		{"tcp # comment", `filter "tcp # comment": syntax error: unexpected '#' (offset 4)`},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			raw, err := CompileFilter(tc.expr, layers.LinkTypeEthernet)
			if err == nil {
				t.Fatalf("CompileFilter accepted it (%d instructions); want error %q", len(raw), tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error:\n got %s\nwant %s", got, tc.want)
			}
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Errorf("error is %T; want *FilterError", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has more than one line")
			}
		})
	}
}

func TestCompileFilterEmpty(t *testing.T) {
	for _, expr := range []string{"", "  \t"} {
		raw, err := CompileFilter(expr, layers.LinkTypeEthernet)
		if err != nil || raw != nil {
			t.Errorf("CompileFilter(%q) = %v, %v; want nil, nil", expr, raw, err)
		}
	}
}

func TestCompileFilterLinkType(t *testing.T) {
	_, err := CompileFilter("tcp", layers.LinkTypeRaw)
	want := `filter "tcp": not supported on link type Raw: filters work on Ethernet captures only`
	if err == nil || err.Error() != want {
		t.Errorf("error %v; want %s", err, want)
	}
}

// TestCompileFilterSnaplen checks that accepting returns keep the asked
// number of bytes.
func TestCompileFilterSnaplen(t *testing.T) {
	prog, err := compileFilter("tcp or udp", layers.LinkTypeEthernet, 96)
	if err != nil {
		t.Fatal(err)
	}
	for _, ins := range prog {
		if r, ok := ins.(bpf.RetConstant); ok && r.Val != 0 && r.Val != 96 {
			t.Errorf("ret #%d; want #96 or #0", r.Val)
		}
	}
}

// FuzzCompileFilter: any expression either fails with a one-line
// *FilterError or compiles to a program the BPF VM accepts (jumps in range,
// ends in a return) and runs on every test frame without error.
func FuzzCompileFilter(f *testing.F) {
	for _, tc := range filterCases {
		f.Add(tc.expr) // every supported form
	}
	f.Add("tcp prot 80")                  // syntax error after a qualifier
	f.Add("not (port 1 or (udp and 2))")  // nesting, repeated qualifiers
	f.Add("src or dst")                   // direction with no value
	f.Add("ip6 net 2001:db8::/33 or ip")  // IPv6 prefix off a word boundary
	f.Add("tcp[13] & 2 != 0")             // unsupported byte expression
	f.Add("((((((((((tcp))))))))))")      // deep parentheses
	f.Add("port 1 or 2 or 3 or 4 or 5 6") // trailing junk
	var frames [][]byte
	for _, fr := range filterFrames {
		frames = append(frames, buildFrame(f, fr))
	}
	f.Fuzz(func(t *testing.T, expr string) {
		raw, err := CompileFilter(expr, layers.LinkTypeEthernet)
		if err != nil {
			var fe *FilterError
			if raw != nil || !errors.As(err, &fe) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("CompileFilter(%q) = %d instructions, %v", expr, len(raw), err)
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("CompileFilter(%q): %v", expr, err)
			}
			return
		}
		if raw == nil {
			if strings.TrimSpace(expr) != "" {
				t.Fatalf("CompileFilter(%q): no program and no error", expr)
			}
			return
		}
		prog := make([]bpf.Instruction, len(raw))
		for i, r := range raw {
			prog[i] = r.Disassemble()
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("CompileFilter(%q): VM rejects the program: %v", expr, err)
		}
		for _, fr := range frames {
			if _, err := vm.Run(fr); err != nil {
				t.Fatalf("CompileFilter(%q): run: %v", expr, err)
			}
		}
	})
}
