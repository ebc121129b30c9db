package timeline

import (
	"net/netip"

	"github.com/wiretrace/wiretrace/capture"
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
)

// A UDP connection whose decoder can follow it to other addresses (QUIC
// connection migration) may own several flows: its first, and one per
// path it moved to. The Builder maps each flow's key to the connection
// and keeps each extra path's addresses here.

// TypePathChange is the udp event emitted when a connection is first
// seen on a new path.
const TypePathChange decode.Type = "path-change"

// maxPaths caps the extra paths of one connection, and maxPathScan the
// recently active UDP connections asked to claim an unknown flow's first
// datagram, so that a flood of new flows costs a bounded amount each.
const (
	maxPaths    = 16
	maxPathScan = 1024
)

// path is one extra flow of a connection, with its ends.
type path struct {
	key            flowKey
	client, server netip.AddrPort
}

// connPaths is the extra paths of a connection, and the addresses it
// used last.
type connPaths struct {
	paths          []path
	client, server netip.AddrPort
}

// udpDir is the direction of a datagram from src on c, whichever of the
// connection's paths it came on.
func (b *Builder) udpDir(c *conn, src netip.AddrPort) decode.Dir {
	if src == c.info.Client {
		return decode.C2S
	}
	if src == c.info.Server {
		return decode.S2C
	}
	if cp := b.paths[c]; cp != nil {
		for i := range cp.paths {
			switch src {
			case cp.paths[i].client:
				return decode.C2S
			case cp.paths[i].server:
				return decode.S2C
			}
		}
	}
	return decode.S2C
}

// claimPath offers the first datagram of an unknown UDP flow to the most
// recently active connections whose decoders can migrate. The first to
// claim it gets the flow as a new path, and a path-change event says
// which end moved, from where to where.
func (b *Builder) claimPath(key flowKey, src, dst netip.AddrPort, pk *netpkt.Packet, p *capture.Packet) *conn {
	if len(pk.Payload) == 0 || b.opts.Datagrams.Len() == 0 {
		return nil
	}
	n := 0
	for c := b.idle[UDP-1].tail; c != nil && n < maxPathScan; c = c.idleLink.prev {
		n++
		pc, ok := c.datagramDecoder().(decode.PathClaimer)
		if !ok {
			continue
		}
		cp := b.paths[c]
		if cp != nil && len(cp.paths) == maxPaths {
			continue
		}
		dir, info, ok := pc.ClaimPath(pk.Payload)
		if !ok {
			continue
		}
		if cp == nil {
			cp = &connPaths{client: c.info.Client, server: c.info.Server}
			if b.paths == nil {
				b.paths = make(map[*conn]*connPaths)
			}
			b.paths[c] = cp
		}
		np := path{key: key, client: src, server: dst}
		if dir == decode.S2C {
			np.client, np.server = dst, src
		}
		cp.paths = append(cp.paths, np)
		b.insert(key, c)
		side, from, to := "client", cp.client, np.client
		if np.client == cp.client {
			side, from, to = "server", cp.server, np.server
		}
		cp.client, cp.server = np.client, np.server
		e := decode.NewEvent(p.Frame, p.TS, dir, decode.LayerUDP, TypePathChange)
		e.Info = append(decode.Info{decode.String("side", side), decode.String("from", from.String()),
			decode.String("to", to.String()), decode.Int("path", int64(len(cp.paths)))}, info...)
		b.emit(c, e)
		return c
	}
	return nil
}

// dropPaths forgets a finished connection's extra flows.
func (b *Builder) dropPaths(c *conn) {
	cp := b.paths[c]
	if cp == nil {
		return
	}
	for i := range cp.paths {
		if b.lookup(cp.paths[i].key) == c {
			b.remove(cp.paths[i].key, c)
		}
	}
	delete(b.paths, c)
}
