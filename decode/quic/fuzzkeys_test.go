package quic

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// sealShort builds a 1-RTT packet (short header, 4-byte packet number)
// protected with k, the Key Phase bit set as phase.
func sealShort(k *keys, dcid []byte, pn uint32, phase bool, payload []byte) []byte {
	first := byte(0x43) // fixed bit, 4-byte packet number
	if phase {
		first |= 0x04
	}
	hdr := append([]byte{first}, dcid...)
	return seal(k, hdr, len(hdr), pn, payload, 0x1f)
}

// shortDecoder returns a Decoder that has seen a v1 handshake with
// 4-byte connection IDs and holds 1-RTT keys for the client's packets.
func shortDecoder(k *keys) *Decoder {
	d := NewDecoder(Options{})
	d.version = Version1
	d.shortDCID = [2]int{4, 4}
	d.spaces[spaceApp].keys[0] = k
	return d
}

// TestKeyUpdate seals 1-RTT packets with each suite through three key
// generations, one packet reordered from before an update: each decrypts,
// the first of a generation says key_update.
func TestKeyUpdate(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 48)
	dcid := []byte{1, 2, 3, 4}
	for i := range suites {
		s := &suites[i]
		t.Run(tlsSuiteName(s), func(t *testing.T) {
			k0 := newSuiteKeys(s, secret[:s.hash().Size()], &paramsV1)
			k1 := k0.update(&paramsV1)
			k2 := k1.update(&paramsV1)
			d := shortDecoder(newSuiteKeys(s, secret[:s.hash().Size()], &paramsV1))
			for _, p := range []struct {
				k      *keys
				pn     uint32
				phase  bool
				update int64 // key_update, 0 for none
			}{
				{k0, 0, false, 0}, {k0, 1, false, 0}, {k1, 3, true, 1}, {k0, 2, false, 0},
				{k1, 4, true, 0}, {k2, 5, false, 2}, {k1, 4, true, 0},
			} {
				pkt := sealShort(p.k, dcid, p.pn, p.phase, frameBytes(1, 0, 0, 0))
				var evs []decode.Event
				d.Datagram(decode.C2S, pkt, decode.Position{TS: time.Unix(1, 0)}, func(e decode.Event) { evs = append(evs, e) })
				if len(evs) != 1 {
					t.Fatalf("pn %d: %d events", p.pn, len(evs))
				}
				info := evs[0].Info
				pn, _ := info.Get("pn")
				dec, _ := info.Get("decrypted")
				upd, _ := info.Get("key_update")
				if !dec.Bool() || pn.Int != int64(p.pn) || upd.Int != p.update {
					t.Errorf("pn %d phase %v: %v; want decrypted, key_update %d", p.pn, p.phase, info, p.update)
				}
			}
		})
	}
}

func tlsSuiteName(s *suite) string {
	switch s.id {
	case 0x1301:
		return "AES128"
	case 0x1302:
		return "AES256"
	}
	return "ChaCha20"
}

// FuzzShort seals fuzzed 1-RTT payloads with each suite (ChaCha20 header
// protection included) and decodes them: they decrypt with the right
// packet number, their frames go through stream reassembly, and a flipped
// byte never panics.
func FuzzShort(f *testing.F) {
	f.Add(uint8(0), []byte("\x01"), uint32(0), false, uint16(0))
	f.Add(uint8(2), encStream(0, 0, "hello", true), uint32(77), true, uint16(9))
	f.Add(uint8(1), append(encStream(4, 10, "later", false), encStream(4, 0, "0123456789", false)...), uint32(1<<20), false, uint16(30))
	f.Add(uint8(2), append(encReset(8, 3), encStream(8, 0, "abc", true)...), uint32(5), true, uint16(1))
	// NEW_CONNECTION_ID seq 1, retire 0, ID 09090909, reset token.
	f.Add(uint8(0), append([]byte{0x18, 1, 0, 4, 9, 9, 9, 9}, make([]byte, 16)...), uint32(3), false, uint16(2))
	f.Fuzz(func(t *testing.T, si uint8, payload []byte, pn uint32, phase bool, flip uint16) {
		if len(payload) < 4 || len(payload) > 1500 {
			return
		}
		s := &suites[int(si)%len(suites)]
		secret := bytes.Repeat([]byte{si}, s.hash().Size())
		k := newSuiteKeys(s, secret, &paramsV1)
		sk := k
		if phase {
			sk = k.update(&paramsV1)
		}
		pkt := sealShort(sk, []byte{1, 2, 3, 4}, pn, phase, payload)
		d := shortDecoder(k)
		d.opts.MaxStreamBuffer, d.opts.MaxStreamTotal = 64, 128
		d.opts.Next = func(string) decode.MultiStreamDecoder { return newRecorder("") }
		d.spaces[spaceApp].largest[0] = int64(pn) - 1
		var evs []decode.Event
		emit := func(e decode.Event) { evs = append(evs, e) }
		d.Datagram(decode.C2S, pkt, decode.Position{}, emit)
		checkEvents(t, evs, len(pkt))
		if got, _ := evs[0].Info.Get("decrypted"); !got.Bool() {
			t.Fatalf("not decrypted: %+v", evs[0].Info)
		}
		if got, _ := evs[0].Info.Get("pn"); got.Int != int64(pn) {
			t.Fatalf("pn %d; want %d", got.Int, pn)
		}
		if d.streams.buffered < 0 || d.streams.buffered > 128 {
			t.Fatalf("%d bytes buffered past the cap", d.streams.buffered)
		}
		// Connection IDs the payload issued may claim other flows.
		for _, b := range [][]byte{pkt, payload, append([]byte{0x40}, payload...)} {
			if dir, _, ok := d.ClaimPath(b); ok != (dir != decode.DirNone) {
				t.Fatalf("ClaimPath: %v, %v", dir, ok)
			}
		}
		if len(d.ids.known[0]) > maxKnownCIDs || len(d.ids.known[1]) > maxKnownCIDs {
			t.Fatalf("%d and %d connection IDs kept", len(d.ids.known[0]), len(d.ids.known[1]))
		}
		bad := bytes.Clone(pkt)
		bad[int(flip)%len(bad)] ^= 0x40
		evs = evs[:0]
		shortDecoder(k).Datagram(decode.C2S, bad, decode.Position{}, emit)
		checkEvents(t, evs, len(bad))
	})
}

// FuzzKeyed decodes the recorded connection with its key log, one byte of
// one datagram changed: Handshake and 1-RTT decryption, the encrypted
// handshake messages and stream reassembly on damaged input never panic
// and stay within the datagrams.
func FuzzKeyed(f *testing.F) {
	dgs := readExchange(f)
	keys, err := os.ReadFile("testdata/quicgo-v1.keys")
	if err != nil {
		f.Fatal(err)
	}
	for i := range dgs {
		f.Add(uint16(i), uint16(0), byte(0))
		f.Add(uint16(i), uint16(40), byte(1))
	}
	f.Fuzz(func(t *testing.T, which, pos uint16, xor byte) {
		d := NewDecoder(Options{Keys: keyStore(t, keys), Next: func(string) decode.MultiStreamDecoder { return newRecorder("") }})
		var evs []decode.Event
		emit := func(e decode.Event) { evs = append(evs, e) }
		for i, dg := range dgs {
			b := dg.data
			if i == int(which)%len(dgs) {
				b = bytes.Clone(b)
				b[int(pos)%len(b)] ^= xor
			}
			evs = evs[:0]
			d.Datagram(dg.dir, b, decode.Position{Frame: int64(i + 1)}, emit)
			checkEvents(t, evs, len(b))
		}
		d.End(decode.Position{}, emit)
	})
}
