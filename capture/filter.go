package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
	pcapfilter "github.com/packetcap/go-pcap/filter"
	"golang.org/x/net/bpf"
)

// MaxSnaplen is the largest snap length a capture accepts and the number of
// bytes an accepting filter program keeps (its "ret #k").
const MaxSnaplen = 262144

// maxFilterInsns is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const maxFilterInsns = 4096

// FilterError reports a filter expression that could not be compiled. Offset
// is the byte offset in Expr of the offending token, or -1.
type FilterError struct {
	Expr   string
	Offset int
	Msg    string
}

func (e *FilterError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("filter %q: %s (offset %d)", e.Expr, e.Msg, e.Offset)
	}
	return fmt.Sprintf("filter %q: %s", e.Expr, e.Msg)
}

// CompileFilter compiles a tcpdump filter expression (pcap-filter(7)) into a
// classic BPF program for packets of linkType, ready for SO_ATTACH_FILTER.
// An empty (or all-blank) expression returns a nil program: no filter.
//
// The boolean structure (and/&&, or/||, not/!, parentheses, and tcpdump's
// rule that "and" and "or" share one precedence and associate left to right)
// is parsed and compiled here; each primitive is compiled by
// github.com/packetcap/go-pcap/filter, whose own handling of "not (...)"
// and of mixed and/or is wrong (see compilePrimitive). Supported primitives
// (Ethernet link type only):
//
//	tcp, udp, icmp, icmp6, ip, ip6, arp
//	[ip|ip6|arp] [src|dst|src or dst|src and dst] host ADDR
//	[ip|ip6] [src|dst|...] net ADDR[/BITS]
//	[tcp|udp] [src|dst|...] port N|NAME
//	ether [src|dst|...] [host] MAC
//	a bare ID after "and"/"or" repeats the previous qualifiers ("port 53 or 443")
//
// Anything else (portrange, byte offsets like tcp[13], len, vlan, host
// names, ...) is a *FilterError saying it is not supported, never a program
// that silently matches the wrong packets.
func CompileFilter(expr string, linkType layers.LinkType) ([]bpf.RawInstruction, error) {
	prog, err := compileFilter(expr, linkType, MaxSnaplen)
	if err != nil || prog == nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, &FilterError{Expr: expr, Offset: -1, Msg: "assemble: " + err.Error()}
	}
	return raw, nil
}

// compileFilter is CompileFilter before assembly; accepted packets are cut
// to snaplen bytes by the program's return value.
func compileFilter(expr string, linkType layers.LinkType, snaplen int) ([]bpf.Instruction, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	toks, err := lexFilter(expr)
	if err != nil {
		return nil, err
	}
	if linkType != layers.LinkTypeEthernet {
		return nil, &FilterError{Expr: expr, Offset: -1, Msg: fmt.Sprintf("not supported on link type %v: filters work on Ethernet captures only", linkType)}
	}
	p := &filterParser{expr: expr, toks: toks}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	g := &filterGen{expr: expr, keep: uint32(snaplen), labels: []int{-1, -1}}
	if err := g.gen(root, labelAccept, labelReject); err != nil {
		return nil, err
	}
	prog, err := g.finish()
	if err != nil {
		return nil, err
	}
	if len(prog) > maxFilterInsns {
		return nil, &FilterError{Expr: expr, Offset: -1, Msg: fmt.Sprintf("too long: %d instructions, the kernel takes at most %d", len(prog), maxFilterInsns)}
	}
	return prog, nil
}

// Lexer.

type tokKind uint8

const (
	tokWord tokKind = iota
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	opCode // not a token: a filterNode holding code
)

type filterTok struct {
	kind tokKind
	text string
	off  int
}

func isFilterWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == ':' || c == '/' || c == '-' || c == '_' || c == '%'
}

func lexFilter(expr string) ([]filterTok, error) {
	var toks []filterTok
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, filterTok{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, filterTok{tokRParen, ")", i})
			i++
		case strings.HasPrefix(expr[i:], "&&"):
			toks = append(toks, filterTok{tokAnd, "&&", i})
			i += 2
		case strings.HasPrefix(expr[i:], "||"):
			toks = append(toks, filterTok{tokOr, "||", i})
			i += 2
		case c == '!' && !strings.HasPrefix(expr[i:], "!="):
			toks = append(toks, filterTok{tokNot, "!", i})
			i++
		case isFilterWordByte(c):
			j := i
			for j < len(expr) && isFilterWordByte(expr[j]) {
				j++
			}
			w := expr[i:j]
			k := tokWord
			switch w {
			case "and":
				k = tokAnd
			case "or":
				k = tokOr
			case "not":
				k = tokNot
			}
			toks = append(toks, filterTok{k, w, i})
			i = j
		case c == '[' || c == ']' || c == '&' || c == '|' || c == '=' || c == '<' || c == '>' || c == '!' ||
			c == '+' || c == '*' || c == '^':
			return nil, &FilterError{Expr: expr, Offset: i, Msg: fmt.Sprintf("not supported: byte and length expressions (%q)", c)}
		default:
			return nil, &FilterError{Expr: expr, Offset: i, Msg: fmt.Sprintf("syntax error: unexpected %q", c)}
		}
	}
	return toks, nil
}

// Parser.

// filterNode is a node of the expression tree: a primitive (leaf), or "not",
// "and", "or" over sub-nodes.
type filterNode struct {
	op   tokKind // tokWord for a primitive, opCode for code, else tokAnd, tokOr, tokNot
	a, b *filterNode
	prim filterPrim
	code []bpf.Instruction // for opCode: ends in returns, jumps stay inside
}

// filterPrim is one primitive: qualifiers and an ID, already validated and
// normalized (addresses canonical, ports numeric).
type filterPrim struct {
	proto string // "", tcp, udp, icmp, icmp6, ip, ip6, arp, ether
	dir   string // "", src, dst, "src or dst", "src and dst"
	kind  string // "", host, net, port
	id    string
	off   int
}

func (p filterPrim) String() string {
	var parts []string
	for _, s := range []string{p.proto, p.dir, p.kind, p.id} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

type filterParser struct {
	expr string
	toks []filterTok
	pos  int
	// last is the most recent primitive with an ID, whose qualifiers a bare
	// ID repeats.
	last *filterPrim
}

func (p *filterParser) errorf(off int, format string, args ...any) error {
	return &FilterError{Expr: p.expr, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (p *filterParser) peek() *filterTok {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *filterParser) parse() (*filterNode, error) {
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t != nil {
		return nil, p.errorf(t.off, "syntax error: unexpected %q", t.text)
	}
	return n, nil
}

// parseExpr: unary { ("and"|"or") unary }, left-associative, one precedence
// level, as pcap-filter(7) specifies.
func (p *filterParser) parseExpr() (*filterNode, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t == nil || (t.kind != tokAnd && t.kind != tokOr) {
			return left, nil
		}
		p.pos++
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = &filterNode{op: t.kind, a: left, b: right}
	}
}

func (p *filterParser) parseUnary() (*filterNode, error) {
	t := p.peek()
	if t == nil {
		return nil, p.errorf(len(p.expr), "syntax error: unexpected end of expression")
	}
	switch t.kind {
	case tokNot:
		p.pos++
		a, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &filterNode{op: tokNot, a: a}, nil
	case tokLParen:
		p.pos++
		n, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		c := p.peek()
		if c == nil {
			return nil, p.errorf(t.off, "syntax error: unbalanced \"(\"")
		}
		if c.kind != tokRParen {
			return nil, p.errorf(c.off, "syntax error: unexpected %q, expected \")\"", c.text)
		}
		p.pos++
		return n, nil
	case tokWord:
		prim, err := p.parsePrim()
		if err != nil {
			return nil, err
		}
		return &filterNode{op: tokWord, prim: prim}, nil
	}
	return nil, p.errorf(t.off, "syntax error: unexpected %q", t.text)
}

var filterProtos = map[string]bool{
	"tcp": true, "udp": true, "icmp": true, "icmp6": true,
	"ip": true, "ip4": true, "ip6": true, "arp": true, "ether": true,
}

var filterKinds = map[string]bool{"host": true, "net": true, "port": true}

// filterUnsupported are pcap-filter(7) keywords this compiler rejects, with
// the reason shown to the user.
var filterUnsupported = map[string]string{
	"portrange": "port ranges", "proto": "protocol numbers (proto)",
	"gateway": "gateway", "broadcast": "broadcast", "multicast": "multicast",
	"vlan": "vlan", "mpls": "mpls", "pppoed": "pppoe", "pppoes": "pppoe",
	"geneve": "geneve", "less": "length tests", "greater": "length tests",
	"len": "length tests", "inbound": "direction", "outbound": "direction",
	"ifname": "pflog", "on": "pflog", "rnr": "pflog", "rulenum": "pflog",
	"reason": "pflog", "rset": "pflog", "ruleset": "pflog", "srnr": "pflog",
	"subrulenum": "pflog", "action": "pflog", "mask": "net ... mask (use CIDR)",
	"rarp": "rarp", "sctp": "sctp", "igmp": "igmp", "igrp": "igrp", "pim": "pim",
	"ah": "ah", "esp": "esp", "vrrp": "vrrp", "carp": "carp", "atalk": "atalk",
	"aarp": "aarp", "decnet": "decnet", "iso": "iso", "stp": "stp", "ipx": "ipx",
	"netbeui": "netbeui", "lat": "lat", "sca": "sca", "moprc": "moprc",
	"mopdl": "mopdl", "llc": "llc", "fddi": "fddi", "tr": "tr", "wlan": "wlan",
	"type": "802.11", "subtype": "802.11", "dir": "802.11", "ra": "802.11",
	"ta": "802.11", "addr1": "802.11", "addr2": "802.11", "addr3": "802.11",
	"addr4": "802.11", "ip6protochain": "protochain", "protochain": "protochain",
	"icmptype": "icmp fields", "icmpcode": "icmp fields", "tcpflags": "tcp flags",
}

func (p *filterParser) isKeyword(w string) bool {
	return filterProtos[w] || filterKinds[w] || w == "src" || w == "dst"
}

// parsePrim parses qualifiers and an ID:
// [proto] [dir] [kind] [id], where at least one part is present.
func (p *filterParser) parsePrim() (filterPrim, error) {
	start := p.peek()
	prim := filterPrim{off: start.off}
	qualified := false
	// Protocol qualifier.
	if t := p.peek(); t != nil && t.kind == tokWord && filterProtos[t.text] {
		prim.proto = t.text
		if prim.proto == "ip4" {
			prim.proto = "ip"
		}
		p.pos++
		qualified = true
	}
	// Direction qualifier; "src or dst" and "src and dst" take the
	// boolean words as part of the qualifier.
	if t := p.peek(); t != nil && t.kind == tokWord && (t.text == "src" || t.text == "dst") {
		prim.dir = t.text
		p.pos++
		qualified = true
		if prim.dir == "src" && p.pos+1 < len(p.toks) {
			j, d := p.toks[p.pos], p.toks[p.pos+1]
			if (j.kind == tokAnd || j.kind == tokOr) && d.kind == tokWord && d.text == "dst" {
				prim.dir = "src or dst"
				if j.kind == tokAnd {
					prim.dir = "src and dst"
				}
				p.pos += 2
			}
		}
	}
	// Kind.
	if t := p.peek(); t != nil && t.kind == tokWord && filterKinds[t.text] {
		prim.kind = t.text
		p.pos++
		qualified = true
	}
	// ID.
	var idTok *filterTok
	if t := p.peek(); t != nil && t.kind == tokWord {
		if why, ok := filterUnsupported[t.text]; ok {
			return prim, p.errorf(t.off, "not supported: %s (%q)", why, t.text)
		}
		if !p.isKeyword(t.text) {
			idTok = t
			p.pos++
		}
	}
	if !qualified && idTok == nil {
		t := p.peek()
		return prim, p.errorf(t.off, "syntax error: unexpected %q", t.text)
	}
	if !qualified {
		// A bare ID repeats the previous primitive's qualifiers
		// ("port 53 or 443"); libpcap rejects one with none before it.
		if p.last == nil {
			return prim, p.errorf(idTok.off, "syntax error: unknown word %q (give host, net or port before a value)", idTok.text)
		}
		prim.proto, prim.dir, prim.kind = p.last.proto, p.last.dir, p.last.kind
	}
	if idTok != nil && prim.proto != "" && prim.dir == "" && prim.kind == "" {
		// pcap-filter(7) has no "tcp 80" or "ip 10.0.0.1".
		return prim, p.errorf(idTok.off, "syntax error: unexpected %q after %q", idTok.text, prim.proto)
	}
	if idTok == nil {
		if prim.kind != "" || prim.dir != "" {
			t := p.peek()
			if t == nil {
				return prim, p.errorf(len(p.expr), "syntax error: %q needs a value", prim.String())
			}
			return prim, p.errorf(t.off, "syntax error: %q needs a value, got %q", prim.String(), t.text)
		}
		// Protocol alone: "tcp", "ip6".
		if prim.proto == "" {
			return prim, p.errorf(prim.off, "syntax error: no protocol, host, net or port")
		}
		if prim.proto == "ether" {
			return prim, p.errorf(prim.off, "syntax error: \"ether\" needs host, src or dst")
		}
		return prim, nil
	}
	if prim.kind == "" {
		prim.kind = "host"
	}
	if err := p.checkID(&prim, idTok); err != nil {
		return prim, err
	}
	last := prim
	p.last = &last
	return prim, nil
}

// checkID validates and normalizes prim.id from t against the qualifiers.
func (p *filterParser) checkID(prim *filterPrim, t *filterTok) error {
	id := t.text
	switch prim.proto {
	case "tcp", "udp", "icmp", "icmp6":
		if prim.kind != "port" {
			return p.errorf(prim.off, "syntax error: %q cannot qualify %s", prim.proto, prim.kind)
		}
	}
	switch prim.kind {
	case "port":
		switch prim.proto {
		case "", "tcp", "udp":
		default:
			return p.errorf(prim.off, "syntax error: %q cannot qualify port", prim.proto)
		}
		n, err := strconv.Atoi(id)
		if err != nil {
			netw := prim.proto
			if netw == "" {
				netw = "tcp"
			}
			n, err = net.LookupPort(netw, id)
			if err != nil && prim.proto == "" {
				n, err = net.LookupPort("udp", id)
			}
			if err != nil {
				return p.errorf(t.off, "unknown port %q", id)
			}
		}
		if n < 0 || n > 65535 {
			return p.errorf(t.off, "port %s out of range", id)
		}
		prim.id = strconv.Itoa(n)
	case "host":
		if prim.proto == "ether" {
			hw, err := net.ParseMAC(id)
			if err != nil || len(hw) != 6 {
				return p.errorf(t.off, "invalid Ethernet address %q", id)
			}
			prim.id = hw.String()
			return nil
		}
		a, err := netip.ParseAddr(id)
		if err != nil {
			if _, perr := netip.ParsePrefix(id); perr == nil {
				return p.errorf(t.off, "host %q: a host is one address; use net for a prefix", id)
			}
			return p.errorf(t.off, "not supported: host names (%q); give an IP address", id)
		}
		if a.Zone() != "" || a.Is4In6() {
			return p.errorf(t.off, "not supported: address %q (zoned or IPv4-mapped)", id)
		}
		switch {
		case prim.proto == "" || prim.proto == "ip" && a.Is4() || prim.proto == "arp" && a.Is4() || prim.proto == "ip6" && a.Is6():
		default:
			return p.errorf(t.off, "%s host %q: address family does not match %q", prim.proto, id, prim.proto)
		}
		prim.id = a.String()
	case "net":
		switch prim.proto {
		case "", "ip", "ip6":
		default:
			return p.errorf(prim.off, "syntax error: %q cannot qualify net", prim.proto)
		}
		var pfx netip.Prefix
		if a, err := netip.ParseAddr(id); err == nil {
			pfx = netip.PrefixFrom(a, a.BitLen())
		} else if pfx, err = netip.ParsePrefix(id); err != nil {
			return p.errorf(t.off, "invalid network %q: give ADDR/BITS", id)
		}
		if pfx.Addr().Zone() != "" || pfx.Addr().Is4In6() {
			return p.errorf(t.off, "not supported: network %q (zoned or IPv4-mapped)", id)
		}
		if pfx.Masked() != pfx {
			return p.errorf(t.off, "net %q: bits set past the /%d mask", id, pfx.Bits())
		}
		if prim.proto == "ip" && !pfx.Addr().Is4() || prim.proto == "ip6" && !pfx.Addr().Is6() {
			return p.errorf(t.off, "%s net %q: address family does not match", prim.proto, id)
		}
		if pfx.Bits() == 0 {
			return p.errorf(t.off, "not supported: net %q matches every address", id)
		}
		prim.id = pfx.String()
	}
	return nil
}

// Code generation.

// filterLabel names a jump target: the accept and reject returns, or the
// start of a later operand.
type filterLabel int

const (
	labelAccept filterLabel = iota
	labelReject
)

type filterGen struct {
	expr   string
	keep   uint32
	prog   []bpf.Instruction
	labels []int // position of each label (-1 until placed), by filterLabel
	fix    []int // positions of Jump instructions whose Skip holds a label
}

func (g *filterGen) newLabel() filterLabel {
	g.labels = append(g.labels, -1)
	return filterLabel(len(g.labels) - 1)
}

func (g *filterGen) place(l filterLabel) { g.labels[l] = len(g.prog) }

// jumpTo emits a return for the accept and reject labels and an
// unconditional jump, fixed up in finish, for the others. Every label is
// placed after every jump to it, so all jumps go forward as BPF requires.
func (g *filterGen) jumpTo(l filterLabel) {
	switch l {
	case labelAccept:
		g.prog = append(g.prog, bpf.RetConstant{Val: g.keep})
	case labelReject:
		g.prog = append(g.prog, bpf.RetConstant{Val: 0})
	default:
		g.fix = append(g.fix, len(g.prog))
		g.prog = append(g.prog, bpf.Jump{Skip: uint32(l)})
	}
}

// gen emits code for n that ends at label t when n matches and at f when it
// does not (short-circuit evaluation).
func (g *filterGen) gen(n *filterNode, t, f filterLabel) error {
	switch n.op {
	case tokNot:
		return g.gen(n.a, f, t)
	case tokAnd:
		mid := g.newLabel()
		if err := g.gen(n.a, mid, f); err != nil {
			return err
		}
		g.place(mid)
		return g.gen(n.b, t, f)
	case tokOr:
		mid := g.newLabel()
		if err := g.gen(n.a, t, mid); err != nil {
			return err
		}
		g.place(mid)
		return g.gen(n.b, t, f)
	case tokWord:
		sub, err := expandPrim(n.prim)
		if err != nil {
			return &FilterError{Expr: g.expr, Offset: n.prim.off, Msg: err.Error()}
		}
		return g.gen(sub, t, f)
	}
	// A leaf's code decides only by its return instructions; each
	// becomes a jump to t or f. Instructions map one to one, so the
	// primitive's own relative jumps stay valid.
	for _, ins := range n.code {
		if r, ok := ins.(bpf.RetConstant); ok {
			if r.Val != 0 {
				g.jumpTo(t)
			} else {
				g.jumpTo(f)
			}
			continue
		}
		g.prog = append(g.prog, ins)
	}
	return nil
}

func (g *filterGen) finish() ([]bpf.Instruction, error) {
	for _, at := range g.fix {
		j := g.prog[at].(bpf.Jump)
		target := g.labels[j.Skip]
		if target <= at {
			return nil, &FilterError{Expr: g.expr, Offset: -1, Msg: "internal error: backward jump"}
		}
		g.prog[at] = bpf.Jump{Skip: uint32(target - at - 1)}
	}
	if len(g.prog) == 0 {
		return nil, &FilterError{Expr: g.expr, Offset: -1, Msg: "internal error: empty program"}
	}
	switch g.prog[len(g.prog)-1].(type) {
	case bpf.RetConstant:
	default:
		return nil, &FilterError{Expr: g.expr, Offset: -1, Msg: "internal error: program does not end in a return"}
	}
	return g.prog, nil
}

// expandPrim returns code for one validated primitive: a leaf of code, or
// for primitives compiled here, a small tree of leaves that gen joins.
//
// Most primitives are compiled by packetcap/go-pcap/filter
// (v0.0.0-20240528124601), one at a time, because for whole expressions it:
// drops "not" before a parenthesis ("not (port 1 or port 2)" compiles as
// "(port 1 or port 2)"); joins a whole group with its last operator
// ("a and b or c" becomes "a or b or c"); compiles "icmp" and "portrange"
// to accept-everything; and resolves host names at compile time, using only
// the first address while sizing jumps for all of them. The parser above
// keeps those out. Its code for "ip", "ip6" and "arp" alone and for IPv6
// "net" jumps past its own end, so those are built here from leafTest.
// checkPrimitiveCode catches any other such jump.
func expandPrim(p filterPrim) (*filterNode, error) {
	ip4 := leafTest(bpf.LoadAbsolute{Off: 12, Size: 2}, 0, uint32(layers.EthernetTypeIPv4))
	ip6 := leafTest(bpf.LoadAbsolute{Off: 12, Size: 2}, 0, uint32(layers.EthernetTypeIPv6))
	if p.kind == "" {
		switch p.proto {
		case "ip":
			return ip4, nil
		case "ip6":
			return ip6, nil
		case "arp":
			return leafTest(bpf.LoadAbsolute{Off: 12, Size: 2}, 0, uint32(layers.EthernetTypeARP)), nil
		case "icmp":
			// IPv4 protocol byte at 14+9.
			return and(ip4, leafTest(bpf.LoadAbsolute{Off: 23, Size: 1}, 0, uint32(layers.IPProtocolICMPv4))), nil
		case "icmp6":
			// Next header right after the fixed IPv6 header (14+6)
			// only; extension headers are not walked.
			return and(ip6, leafTest(bpf.LoadAbsolute{Off: 20, Size: 1}, 0, uint32(layers.IPProtocolICMPv6))), nil
		}
	}
	if p.kind == "net" {
		pfx := netip.MustParsePrefix(p.id)
		if pfx.Addr().Is6() {
			// Source address at 14+8, destination at 14+24.
			return and(ip6, dirMatch(p.dir, ip6PrefixMatch(22, pfx), ip6PrefixMatch(38, pfx))), nil
		}
	}
	s := p.String()
	f := pcapfilter.NewExpression(s).Compile()
	if f == nil || !f.IsPrimitive() {
		return nil, fmt.Errorf("internal error: %q did not compile to one primitive", s)
	}
	code, err := f.Compile()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s, err)
	}
	if err := checkPrimitiveCode(code); err != nil {
		return nil, fmt.Errorf("internal error: %s: %v", s, err)
	}
	return &filterNode{op: opCode, code: code}, nil
}

func and(a, b *filterNode) *filterNode { return &filterNode{op: tokAnd, a: a, b: b} }
func or(a, b *filterNode) *filterNode  { return &filterNode{op: tokOr, a: a, b: b} }

// dirMatch combines a source and a destination test as dir asks.
func dirMatch(dir string, src, dst *filterNode) *filterNode {
	switch dir {
	case "src":
		return src
	case "dst":
		return dst
	case "src and dst":
		return and(src, dst)
	}
	return or(src, dst)
}

// ip6PrefixMatch tests the 16-byte address at off against pfx, one 32-bit
// word at a time.
func ip6PrefixMatch(off uint32, pfx netip.Prefix) *filterNode {
	a := pfx.Addr().As16()
	var n *filterNode
	for i, bits := 0, pfx.Bits(); bits > 0; i, bits = i+1, bits-32 {
		mask := ^uint32(0)
		if bits < 32 {
			mask <<= 32 - bits
		}
		want := binary.BigEndian.Uint32(a[4*i:]) & mask
		if bits >= 32 {
			mask = 0
		}
		t := leafTest(bpf.LoadAbsolute{Off: off + uint32(4*i), Size: 4}, mask, want)
		if n == nil {
			n = t
		} else {
			n = and(n, t)
		}
	}
	return n
}

// leafTest is code that loads a value, masks it (unless mask is 0) and
// matches when it equals want.
func leafTest(load bpf.Instruction, mask, want uint32) *filterNode {
	code := []bpf.Instruction{load}
	if mask != 0 {
		code = append(code, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
	}
	code = append(code,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: want, SkipFalse: 1},
		bpf.RetConstant{Val: MaxSnaplen},
		bpf.RetConstant{Val: 0},
	)
	return &filterNode{op: opCode, code: code}
}

// checkPrimitiveCode verifies what gen relies on: the last instruction is a
// return, returns are constants, and no jump leaves the code.
func checkPrimitiveCode(code []bpf.Instruction) error {
	if len(code) == 0 {
		return fmt.Errorf("no code")
	}
	if _, ok := code[len(code)-1].(bpf.RetConstant); !ok {
		return fmt.Errorf("code does not end in a return")
	}
	for i, ins := range code {
		var skips []int
		switch j := ins.(type) {
		case bpf.Jump:
			skips = []int{int(j.Skip)}
		case bpf.JumpIf:
			skips = []int{int(j.SkipTrue), int(j.SkipFalse)}
		case bpf.JumpIfX:
			skips = []int{int(j.SkipTrue), int(j.SkipFalse)}
		case bpf.RetA:
			return fmt.Errorf("instruction %d: unexpected ret a", i)
		}
		for _, s := range skips {
			if i+1+s >= len(code) {
				return fmt.Errorf("instruction %d jumps past the end", i)
			}
		}
	}
	return nil
}
