package quic

import (
	"bytes"
	"encoding/hex"

	"github.com/wiretrace/wiretrace/decode"
)

// maxKnownCIDs caps the connection IDs remembered per direction for
// recognising a migrated path: the handshake's and those issued in
// NEW_CONNECTION_ID frames (peers rarely allow more than 8 at a time,
// active_connection_id_limit). Past the cap the oldest is forgotten.
const maxKnownCIDs = 16

// connIDs are the connection IDs packets of each direction may carry as
// their Destination Connection ID, and the one they carried last.
type connIDs struct {
	known [2][]cid
	last  [2]cid
}

// learn notes that packets travelling in dir may carry id as their DCID.
func (c *connIDs) learn(dir decode.Dir, id []byte) {
	if len(id) == 0 || len(id) > MaxCIDLen {
		return
	}
	l := &c.known[dir.Index()]
	for i := range *l {
		if bytes.Equal((*l)[i].bytes(), id) {
			return
		}
	}
	if len(*l) == maxKnownCIDs {
		copy(*l, (*l)[1:])
		*l = (*l)[:maxKnownCIDs-1]
	}
	*l = append(*l, makeCID(id))
}

// has reports whether packets in dir may carry id.
func (c *connIDs) has(dir decode.Dir, id []byte) bool {
	for i := range c.known[dir.Index()] {
		if bytes.Equal(c.known[dir.Index()][i].bytes(), id) {
			return true
		}
	}
	return false
}

// sawPacket notes the IDs a packet of dir shows: the DCID it carries,
// and for a long header its SCID, which the peer's packets will carry.
func (c *connIDs) sawPacket(dir decode.Dir, h *Header) {
	if !h.DCIDKnown {
		return
	}
	c.last[dir.Index()] = makeCID(h.DCID)
	if h.Long && h.Type != PacketVersionNegotiation && h.Type != PacketUnknown {
		c.learn(dir.Reverse(), h.SCID)
	}
}

// ClaimPath implements decode.PathClaimer: a datagram from an unknown
// flow belongs to this connection when its first packet's Destination
// Connection ID is one this connection's packets in that direction may
// carry: one from the handshake's long headers (the same ID on a new
// address: NAT rebinding, or a migration to a peer that issued no other)
// or one issued in a NEW_CONNECTION_ID frame (so with keys only: a
// migration to a fresh ID, RFC 9000 §9.5). A short header's DCID length
// is the one the connection uses; connections with zero-length IDs are
// never claimed, there is nothing to match.
func (d *Decoder) ClaimPath(payload []byte) (decode.Dir, decode.Info, bool) {
	if len(payload) == 0 {
		return decode.DirNone, nil, false
	}
	for _, dir := range [2]decode.Dir{decode.C2S, decode.S2C} {
		var dcid []byte
		if payload[0]&0x80 != 0 {
			var h Header
			if ParseHeader(payload, -1, &h) != nil || h.Type == PacketVersionNegotiation || h.Type == PacketUnknown {
				return decode.DirNone, nil, false
			}
			dcid = h.DCID
		} else {
			n := d.shortDCID[dir.Index()]
			if n <= 0 || len(payload) < 1+n {
				continue
			}
			dcid = payload[1 : 1+n]
		}
		if len(dcid) == 0 || !d.ids.has(dir, dcid) {
			continue
		}
		last := &d.ids.last[dir.Index()]
		info := decode.Info{
			decode.String("dcid", hex.EncodeToString(dcid)),
			decode.Bool("new_cid", !bytes.Equal(last.bytes(), dcid)),
		}
		return dir, info, true
	}
	return decode.DirNone, nil, false
}

// Closed implements decode.Closer: either side sent CONNECTION_CLOSE in a
// packet the decoder could read (RFC 9000 §10.2: the connection is then
// closing or draining).
func (d *Decoder) Closed() bool { return d.closed }
