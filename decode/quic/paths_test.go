package quic

import (
	"testing"

	"github.com/wiretrace/wiretrace/decode"
)

func TestClaimPath(t *testing.T) {
	serverCID := []byte{1, 2, 3, 4}    // the client sends to it
	issued := []byte{9, 9, 9, 9}       // from the server's NEW_CONNECTION_ID
	clientCID := []byte{5, 6, 7, 8, 9} // the server sends to it
	newDecoder := func() *Decoder {
		d := NewDecoder(Options{})
		d.shortDCID = [2]int{4, 5}
		d.ids.learn(decode.C2S, serverCID)
		d.ids.learn(decode.C2S, issued)
		d.ids.learn(decode.S2C, clientCID)
		d.ids.last[decode.C2S.Index()] = makeCID(serverCID)
		return d
	}
	short := func(dcid []byte) []byte {
		return append(append([]byte{0x41}, dcid...), make([]byte, 20)...)
	}
	long := append([]byte{0xc0, 0, 0, 0, 1, 4}, serverCID...)
	long = append(long, 0, 0, 5, 0, 1, 2, 3, 4) // SCID len 0, token len 0, Length 5, packet
	tests := []struct {
		name    string
		payload []byte
		shortN  [2]int
		dir     decode.Dir
		ok      bool
		newCID  bool
	}{
		{name: "same CID, new address (NAT rebinding)", payload: short(serverCID), dir: decode.C2S, ok: true},
		{name: "issued CID (migration)", payload: short(issued), dir: decode.C2S, ok: true, newCID: true},
		{name: "server to a new client address", payload: append(short(clientCID), 1), dir: decode.S2C, ok: true, newCID: true},
		{name: "unknown CID", payload: short([]byte{7, 7, 7, 7, 7}), ok: false},
		{name: "too short", payload: []byte{0x41, 1, 2}, ok: false},
		{name: "empty", payload: nil, ok: false},
		{name: "zero-length CIDs never match", payload: short(nil), shortN: [2]int{0, 0}, ok: false},
		{name: "long header with a known DCID", payload: long, dir: decode.C2S, ok: true},
		{name: "version negotiation", payload: append([]byte{0x80, 0, 0, 0, 0, 4}, append(serverCID, 0, 0, 0, 0, 1)...), ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder()
			if tt.shortN != [2]int{} {
				d.shortDCID = tt.shortN
			}
			dir, info, ok := d.ClaimPath(tt.payload)
			if ok != tt.ok || (ok && dir != tt.dir) {
				t.Fatalf("ClaimPath = %v, %v; want %v, %v", dir, ok, tt.dir, tt.ok)
			}
			if ok {
				f, _ := info.Get("new_cid")
				if f.Bool() != tt.newCID {
					t.Errorf("new_cid %v; want %v (info %v)", f.Bool(), tt.newCID, info)
				}
			}
		})
	}
}

func TestConnIDsCap(t *testing.T) {
	var c connIDs
	for i := 0; i < maxKnownCIDs+4; i++ {
		c.learn(decode.C2S, []byte{byte(i), 1})
	}
	c.learn(decode.C2S, []byte{byte(maxKnownCIDs + 3), 1}) // known: not added again
	if n := len(c.known[0]); n != maxKnownCIDs {
		t.Fatalf("%d IDs kept; want %d", n, maxKnownCIDs)
	}
	if c.has(decode.C2S, []byte{0, 1}) || !c.has(decode.C2S, []byte{byte(maxKnownCIDs + 3), 1}) {
		t.Errorf("the oldest should be forgotten, the newest kept")
	}
	c.learn(decode.C2S, nil)
	c.learn(decode.C2S, make([]byte, MaxCIDLen+1))
	if n := len(c.known[0]); n != maxKnownCIDs {
		t.Errorf("empty or oversized IDs were learnt")
	}
}
