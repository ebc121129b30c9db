package proxylink

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// helloID returns what identifies a ClientHello relayed unchanged (its
// length, SNI, JA3 and JA4), and its SNI.
func helloID(ev *timeline.Event) (id, sni string) {
	b := strconv.AppendInt(nil, ev.Len, 10)
	for _, k := range [...]string{"sni", "ja3_hash", "ja4"} {
		f, _ := ev.Info.Get(k)
		b = append(b, 0)
		b = append(b, f.Str...)
		if k == "sni" {
			sni = f.Str
		}
	}
	return string(b), sni
}

// isFront reports whether a is one of Options.Proxies' listening
// addresses.
func (l *Linker) isFront(a netip.AddrPort) bool {
	addr := a.Addr().Unmap()
	for _, p := range l.opts.Proxies {
		if p.Addr().Unmap() == addr && (p.Port() == 0 || p.Port() == a.Port()) {
			return true
		}
	}
	return false
}

// isProxyAddr reports whether a is one of Options.Proxies' addresses.
func (l *Linker) isProxyAddr(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l.opts.Proxies {
		if p.Addr().Unmap() == a {
			return true
		}
	}
	return false
}

// Address evidence for a link.
const (
	evidenceProxy   = "proxy-option" // Options.Proxies
	evidenceAddress = "address"      // the front's server opened the back
	evidenceHello   = "tls-hello"
	evidenceConnect = "connect" // the front's CONNECT named the back's server
	evidenceBytes   = "bytes"
	evidencePrefix  = "bytes-prefix" // one side's stream cut short
)

// relayed reports whether a stream of got bytes can be the relay of one
// of sent bytes: the same, or cut short at the end by at most
// max(32, sent/16) bytes (a relay that closes one side before forwarding
// the other's last bytes: a TLS close_notify sent after the server
// closed, a reset).
func relayed(sent, got uint64) bool {
	if got > sent || got == 0 && sent > 0 {
		return false
	}
	return sent-got <= max(32, sent/16)
}

// sameStack reports whether front f and back b decoded alike: the same
// protocol stack, or for a tunnel "http1/" and the back's (or a tunnel
// nothing decoded).
func sameStack(f, b *connRec) bool {
	if f.connect == "" {
		return f.protocol == b.protocol
	}
	return f.protocol == "http1/tunnel" || f.protocol == "http1/"+b.protocol
}

// causal reports whether b's first decoded messages can be relays of f's:
// the client's reached b no earlier than f, the server's reached f no
// earlier than b (where both legs had one).
func (l *Linker) causal(f, b *connRec) bool {
	if !f.firstMsg[0].IsZero() && !b.firstMsg[0].IsZero() && l.early(b.firstMsg[0], f.firstMsg[0]) {
		return false
	}
	return f.firstMsg[1].IsZero() || b.firstMsg[1].IsZero() || !l.early(f.firstMsg[1], b.firstMsg[1])
}

// addrRule says what the addresses tell about front f and back b: the
// evidence, or "" when they cannot be linked by address.
func (l *Linker) addrRule(f, b *timeline.Conn) string {
	if len(l.opts.Proxies) > 0 {
		if l.isFront(f.Server) && (l.isProxyAddr(b.Client.Addr()) || b.Client.Addr().Unmap() == f.Server.Addr().Unmap()) {
			return evidenceProxy
		}
		return ""
	}
	if b.Client.Addr().Unmap() == f.Server.Addr().Unmap() {
		return evidenceAddress
	}
	return ""
}

// l4Find looks for front f's L4 back connection (the rules in the package
// doc). wait reports that a connection that would be preferred may still
// be the back but is open; with force, open connections are passed over.
func (l *Linker) l4Find(f *connRec, force bool) (back *connRec, evidence []string, wait bool) {
	fc := f.conn
	if fc.Transport != timeline.TCP || f.l7Front || f.l4Front || f.bytes[0] == 0 || f.forgot {
		return nil, nil, false
	}
	if len(l.opts.Proxies) > 0 && !l.isFront(fc.Server) {
		return nil, nil, false
	}
	// The streams relayed: a tunnel's without its CONNECT heads.
	sent := f.bytes
	target, _ := netip.ParseAddrPort(f.connect)
	if f.connect != "" {
		if uint64(f.tunnel[0]) > sent[0] || uint64(f.tunnel[1]) > sent[1] {
			return nil, nil, false
		}
		sent[0] -= uint64(f.tunnel[0])
		sent[1] -= uint64(f.tunnel[1])
	}
	// Connections are numbered in order of first packet: B comes after
	// F, or (clocks of merged captures apart) up to Skew before it.
	i, _ := slices.BinarySearchFunc(l.byID, fc.ID, func(x *connRec, id int) int { return x.conn.ID - id })
	for i > 0 && !l.early(l.byID[i-1].conn.FirstTS, fc.FirstTS) {
		i--
	}
	for ; i < len(l.byID); i++ {
		b := l.byID[i]
		bc := b.conn
		if l.early(f.end, bc.FirstTS) {
			break
		}
		if b == f || b.forgot || l.early(bc.FirstTS, fc.FirstTS) || bc.Transport != timeline.TCP || b.l4Back || b.l7Back || b.l7Front || bc.Server == fc.Server {
			continue
		}
		rule := l.addrRule(fc, bc)
		connect := f.connect != "" && target.IsValid() && target == bc.Server
		if connect && rule == "" && len(l.opts.Proxies) == 0 {
			rule = evidenceConnect
		}
		if f.hello != "" || b.hello != "" {
			// A relay forwards the ClientHello at once: a back
			// connection without it by the front's end is not this
			// front's.
			if f.hello != b.hello {
				continue
			}
			if rule == "" && len(l.opts.Proxies) == 0 {
				rule = evidenceHello
			}
		}
		if rule == "" || rule == evidenceHello && fc.Client.Addr().Unmap() == bc.Server.Addr().Unmap() {
			// No evidence; or the ClientHello alone, while the
			// addresses say B is the front and F its back.
			continue
		}
		if b.open {
			if force {
				continue
			}
			return nil, nil, true
		}
		if !sameStack(f, b) || !l.causal(f, b) ||
			!relayed(sent[0], b.bytes[0]) || !relayed(b.bytes[1], sent[1]) {
			continue
		}
		if connect {
			evidence = append(evidence, evidenceConnect)
		}
		if f.hello != "" {
			evidence = append(evidence, evidenceHello)
		}
		if rule != evidenceHello && rule != evidenceConnect {
			evidence = append(evidence, rule)
		}
		if b.bytes == sent {
			return b, append(evidence, evidenceBytes), false
		}
		return b, append(evidence, evidencePrefix), false
	}
	return nil, nil, false
}

// emitL4 emits the proxy-link event of an L4 pair, at the front's summary.
func (l *Linker) emitL4(f, b *connRec, evidence []string, sum *timeline.Event) {
	f.l4Front, b.l4Back = true, true
	l.stats.L4++
	info := make(decode.Info, 0, 12)
	info = append(info,
		decode.Int("front", int64(f.conn.ID)),
		decode.Int("back", int64(b.conn.ID)),
		decode.String("mode", "l4"),
		decode.String("back_conn", "new"),
		decode.Strings("evidence", evidence))
	if f.connect != "" {
		info = append(info, decode.String("connect", f.connect))
	}
	if f.hello != "" {
		info = append(info, decode.String("sni", f.sni))
	}
	info = append(info, decode.Uint("bytes_c2s", f.bytes[0]), decode.Uint("bytes_s2c", f.bytes[1]))
	if f.connect != "" || b.bytes != f.bytes {
		info = append(info, decode.Uint("back_bytes_c2s", b.bytes[0]), decode.Uint("back_bytes_s2c", b.bytes[1]))
	}
	info = append(info,
		decode.Millis("connect_ms", b.conn.FirstTS.Sub(f.conn.FirstTS)))
	if !f.firstMsg[0].IsZero() && !b.firstMsg[0].IsZero() {
		info = append(info, decode.Millis("to_back_ms", b.firstMsg[0].Sub(f.firstMsg[0])))
	}
	if !f.firstMsg[1].IsZero() && !b.firstMsg[1].IsZero() {
		info = append(info, decode.Millis("from_back_ms", f.firstMsg[1].Sub(b.firstMsg[1])))
	}
	if n := f.requests; f.connect != "" && n > 1 {
		info = append(info, decode.Int("requests", int64(n-1)))
	} else if f.connect == "" && n > 0 {
		info = append(info, decode.Int("requests", int64(n)))
	}
	l.emit(f, decode.Position{Frame: sum.Frame, TS: sum.TS}, decode.NoValue, info)
}
