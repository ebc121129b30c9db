package pcaptest

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Tshark returns tshark's path. Without tshark the test is skipped, or
// fails when WIRETRACE_REQUIRE_TSHARK=1 (as in CI).
func Tshark(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("WIRETRACE_REQUIRE_TSHARK") == "1" {
			t.Fatalf("tshark not found and WIRETRACE_REQUIRE_TSHARK=1: %v", err)
		}
		t.Skip("tshark not on PATH")
	}
	return p
}

// Row is one packet as TsharkFields returns it.
type Row struct {
	// Conn is the packet's TCP connection or UDP flow, as Endpoints
	// names it.
	Conn string
	// Fields are the values of the fields asked for, in order, each as
	// tshark prints it (see Values).
	Fields []string
}

// endpointFields come before the caller's fields: each side's address
// (IPv4 or IPv6) and port (TCP or UDP).
var endpointFields = []string{"ip.src", "ipv6.src", "tcp.srcport", "udp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport"}

// TsharkFields runs tshark on a capture and returns a Row for every packet
// that matches the display filter. Out-of-order TCP segments are
// reassembled, as the timeline does; args are further options (-o for a
// key log or a preference, -d decode-as). A failing tshark, or a line
// without every field, fails the test.
func TsharkFields(t testing.TB, tshark, path string, args []string, filter string, fields ...string) []Row {
	t.Helper()
	a := []string{"-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", path}
	a = append(a, args...)
	a = append(a, "-Y", filter, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,")
	for _, f := range slices.Concat(endpointFields, fields) {
		a = append(a, "-e", f)
	}
	cmd := exec.Command(tshark, a...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v: %s", path, err, stderr.String())
	}
	var rows []Row
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != len(endpointFields)+len(fields) {
			t.Fatalf("tshark %s: %d fields, want %d: %q", path, len(f), len(endpointFields)+len(fields), line)
		}
		src, dst := addrPort(f[0], f[1], f[2], f[3]), addrPort(f[4], f[5], f[6], f[7])
		rows = append(rows, Row{Conn: Endpoints(src, dst), Fields: f[len(endpointFields):]})
	}
	return rows
}

// addrPort formats an endpoint like netip.AddrPort from tshark's address
// and port fields, the TCP port if there is one. A tunnelled packet lists
// every header's: the innermost, last, is the connection's.
func addrPort(v4, v6, tcp, udp string) string {
	ip, port := v4, tcp
	if ip == "" {
		ip = v6
	}
	if port == "" {
		port = udp
	}
	ip = ip[strings.LastIndexByte(ip, ',')+1:]
	port = port[strings.LastIndexByte(port, ',')+1:]
	a, err := netip.ParseAddr(ip)
	p, perr := strconv.ParseUint(port, 10, 16)
	if err != nil || perr != nil {
		return ip + ":" + port
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// Values splits a field of a Row into its values: tshark joins with
// commas the values of a field that occurs more than once in a packet
// (several messages in one segment). An empty field has none.
func Values(field string) []string {
	if field == "" {
		return nil
	}
	return strings.Split(field, ",")
}
