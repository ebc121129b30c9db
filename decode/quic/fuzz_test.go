package quic

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// checkEvents asserts what every event must satisfy: it renders, and its
// length is within the datagram.
func checkEvents(t *testing.T, evs []decode.Event, datagram int) {
	t.Helper()
	for _, e := range evs {
		if e.Layer == decode.LayerQUIC && (e.Len < 0 || e.Len > int64(datagram)) {
			t.Fatalf("%s len %d outside the %d-byte datagram", e.Type, e.Len, datagram)
		}
		if e.Type == "" {
			t.Fatalf("event without a type: %+v", e)
		}
		for _, f := range e.Info {
			f.AppendValue(nil)
		}
	}
}

// FuzzHeader splits fuzzed datagrams into packets: ParseHeader's
// invariants (a packet lies within the datagram, its fields within the
// packet, an error leaves a size only when it is the rest), and a whole
// Decoder fed the datagram from both sides.
func FuzzHeader(f *testing.F) {
	// The recorded quic-go connection: Initial, Handshake, 1-RTT,
	// coalesced packets.
	for _, dg := range readExchange(f) {
		f.Add(dg.data, 8)
	}
	// RFC 9001 A.4's Retry; a Version Negotiation packet; an unknown
	// version; zero padding after a packet; a short header.
	f.Add(unhex(f, "ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba"), -1)
	f.Add(unhex(f, "80 00000000 00 01 07 00000001 6b3343cf"), -1)
	f.Add(unhex(f, "c0 1a2a3a4a 00 00 ffee"), -1)
	f.Add(unhex(f, "e0 00000001 00 00 02 0000 0000000000"), -1)
	f.Add(unhex(f, "41 0102 00 aabb"), 2)
	f.Fuzz(func(t *testing.T, b []byte, shortLen int) {
		var h Header
		err := ParseHeader(b, shortLen, &h)
		if h.Size < 0 || h.Size > len(b) {
			t.Fatalf("size %d outside %d bytes", h.Size, len(b))
		}
		if err == nil {
			if len(b) > 0 && h.Size == 0 {
				t.Fatalf("no error, size 0")
			}
			if h.PNOffset > h.Size {
				t.Fatalf("packet number offset %d past the packet's %d bytes", h.PNOffset, h.Size)
			}
			if h.Long && h.Length > 0 && uint64(h.PNOffset)+h.Length != uint64(h.Size) {
				t.Fatalf("offset %d + length %d != size %d", h.PNOffset, h.Length, h.Size)
			}
		} else {
			var de *decode.Error
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(b) {
				t.Fatalf("error %v: offset outside the input", err)
			}
		}
		for _, dir := range []decode.Dir{decode.C2S, decode.S2C} {
			d := NewDecoder(Options{})
			var evs []decode.Event
			emit := func(e decode.Event) { evs = append(evs, e) }
			// The datagram twice: the second time with the state the
			// first left (keys, connection ID lengths).
			for range 2 {
				if err := d.Datagram(dir, b, decode.Position{TS: time.Unix(0, 0)}, emit); err != nil {
					t.Fatal(err)
				}
			}
			checkEvents(t, evs, len(b))
			d.Summary()
		}
	})
}

// FuzzInitial decrypts Initial packets sealed with the keys of a fuzzed
// connection ID and version, around fuzzed plaintext: each must decrypt
// to its packet number with nothing lost, and a flipped byte must make it
// fail authentication, never panic.
func FuzzInitial(f *testing.F) {
	// The plaintexts of the recorded exchange's Initial packets.
	for _, p := range recordedInitialPayloads(f) {
		f.Add([]byte("\x83\x94\xc8\xf0\x3e\x51\x57\x08"), p, uint32(0), false, uint16(0))
		f.Add([]byte("\x01"), p, uint32(77), true, uint16(30))
	}
	f.Add([]byte{}, frameBytes(6, 0, 3, "abc", make([]byte, 40)), uint32(1<<20), false, uint16(3))
	f.Fuzz(func(t *testing.T, dcid, payload []byte, pn uint32, v2 bool, flip uint16) {
		if len(dcid) > MaxCIDLen || len(payload) < 4 || len(payload) > 1500 {
			return
		}
		v := Version1
		if v2 {
			v = Version2
		}
		c, _ := initialKeys(dcid, v)
		pkt := sealInitial(t, c, v, dcid, []byte{1, 2, 3, 4}, pn, payload)
		d := NewDecoder(Options{MaxFrames: 4})
		// The client's earlier packets: the packet number is decoded
		// near the largest received.
		d.spaces[spaceInitial].largest[0] = int64(pn) - 1
		var evs []decode.Event
		emit := func(e decode.Event) { evs = append(evs, e) }
		d.Datagram(decode.C2S, pkt, decode.Position{}, emit)
		checkEvents(t, evs, len(pkt))
		if len(evs) == 0 || evs[0].Type != "Initial" {
			t.Fatalf("events %+v", evs)
		}
		if got, _ := evs[0].Info.Get("decrypted"); !got.Bool() {
			t.Fatalf("not decrypted: %+v", evs[0].Info)
		}
		if got, _ := evs[0].Info.Get("pn"); got.Int != int64(pn) {
			t.Fatalf("pn %d; want %d", got.Int, pn)
		}
		// A server Initial from the same connection ID decrypts too.
		_, s := initialKeys(dcid, v)
		spkt := sealInitial(t, s, v, []byte{1, 2, 3, 4}, dcid, 0, payload)
		evs = evs[:0]
		d.Datagram(decode.S2C, spkt, decode.Position{}, emit)
		if got, _ := evs[0].Info.Get("decrypted"); !got.Bool() {
			t.Fatalf("server Initial not decrypted: %+v", evs[0].Info)
		}
		// One flipped byte in what AEAD protects fails it.
		bad := bytes.Clone(pkt)
		i := int(flip) % len(bad)
		bad[i] ^= 0x40
		evs = evs[:0]
		d2 := NewDecoder(Options{})
		d2.Datagram(decode.C2S, bad, decode.Position{}, emit)
		checkEvents(t, evs, len(bad))
	})
}

// recordedInitialPayloads decrypts the recorded exchange's Initial
// packets and returns their plaintexts.
func recordedInitialPayloads(tb testing.TB) [][]byte {
	var out [][]byte
	var dcid []byte
	for _, dg := range readExchange(tb) {
		var h Header
		if err := ParseHeader(dg.data, -1, &h); err != nil || h.Type != PacketInitial {
			continue
		}
		if dcid == nil {
			dcid = bytes.Clone(h.DCID)
		}
		c, s := initialKeys(dcid, h.Version)
		k := c
		if dg.dir == decode.S2C {
			k = s
		}
		u, err := k.unprotect(bytes.Clone(dg.data[:h.Size]), h.PNOffset, true, -1)
		if err == nil {
			out = append(out, bytes.Clone(u.payload))
		}
	}
	if len(out) == 0 {
		tb.Fatal("no Initial plaintext in the recording")
	}
	return out
}

// FuzzFrames parses fuzzed packet payloads frame by frame: each frame
// lies within the payload, an error comes without a length, every frame
// formats, and CRYPTO data goes through reassembly with a small cap.
func FuzzFrames(f *testing.F) {
	for _, p := range recordedInitialPayloads(f) {
		f.Add(p)
	}
	for _, b := range [][]byte{
		frameBytes(2, 10, 25, 2, 1, 0, 2, 1, 0), frameBytes(3, 3, 0, 0, 3, 1, 2, 3),
		frameBytes(0x0f, 4, 10, 2, "hi"), frameBytes(0x18, 1, 0, []byte{4, 1, 2, 3, 4}, "0123456789abcdef"),
		frameBytes(0x1c, 0x0a, 0x06, 3, "bad"), frameBytes(0x1d, 0x100, 3, "\xff\xfe\x00"),
		frameBytes(6, 5, 4, []byte{1, 0, 0, 0}, 6, 0, 5, []byte{1, 0, 0, 1, 0}),
		frameBytes(0xaf, 1, 2, 25000, 1), frameBytes(0x31, 2, "dg", 0x30, "rest"),
	} {
		f.Add(b)
	}
	ff := frameFormat{ackDelayExponent: 20, maxString: 16, maxRanges: 4}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frame
		var c cryptoStream
		for off := 0; off < len(b); {
			n, err := ParseFrame(b[off:], &fr)
			if (err != nil) != (n == 0) {
				t.Fatalf("n %d with error %v", n, err)
			}
			if err != nil {
				break
			}
			if off+n > len(b) {
				t.Fatalf("frame of %d bytes at %d past %d", n, off, len(b))
			}
			appendFrame(nil, &fr, &ff)
			if len(fr.Data) > n {
				t.Fatalf("%s data %d bytes in a %d-byte frame", fr.Type, len(fr.Data), n)
			}
			if fr.Type == FrameCrypto {
				c.add(fr.Offset, fr.Data, 256, func(m []byte) {
					if len(m) < 4 || len(m) > 256 {
						t.Fatalf("message of %d bytes", len(m))
					}
				})
			}
			off += n
		}
	})
}
