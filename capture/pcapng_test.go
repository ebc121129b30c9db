package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"strings"
	"testing"
	"time"
)

const sharedPcaps = "../../shared/pcaps"

// TestPcapngSections reads two sections in opposite byte orders with four
// interfaces of different link types, resolutions and offsets, and EPB, PB
// and SPB packets.
func TestPcapngSections(t *testing.T) {
	f := newNg().shb(binary.LittleEndian)
	f.idb(1, 0)                 // interface 0: Ethernet, default 10^-6
	f.idb(101, 0, f.tsresol(9)) // interface 1: Raw, 10^-9
	f.epb(0, 1700000000123456, 60, []byte("e0"))
	f.epb(1, 1700000000123456789, 2, []byte("e1"))
	f.pb(1, 1700000001000000001, 2, []byte("pb"))
	f.shb(binary.BigEndian)
	f.idb(113, 4, f.tsresol(0x80|20), f.tsoffset(1000)) // interface 2: SLL, 2^-20, +1000 s
	f.epb(0, 5<<20|1<<19, 2, []byte("s2"))
	f.spb(10, []byte("abcdefgh")) // cut to the snap length 4
	f.idb(229, 0, f.tsresol(3))   // interface 3: IPv6, 10^-3
	f.epb(1, 1500, 3, []byte("ms"))

	want := []pkt{
		{ts: time.Unix(1700000000, 123456000), link: 1, iface: 0, origLen: 60, data: "e0"},
		{ts: time.Unix(1700000000, 123456789), link: 101, iface: 1, origLen: 2, data: "e1"},
		{ts: time.Unix(1700000001, 1), link: 101, iface: 1, origLen: 2, data: "pb"},
		{ts: time.Unix(1005, 500000000), link: 113, iface: 2, origLen: 2, data: "s2"},
		{ts: time.Unix(1005, 500000000), link: 113, iface: 2, origLen: 10, data: "abcd"}, // SPB: previous TS
		{ts: time.Unix(1, 500000000), link: 229, iface: 3, origLen: 3, data: "ms"},
	}
	r, err := readBytes(t, "x.pcapng", f.b, FileOptions{})
	if err != nil || r.err != nil || len(r.bad) != 0 {
		t.Fatal(err, r.err, r.bad)
	}
	comparePackets(t, r.pkts, want)
}

// TestPcapngTime checks every if_tsresol against exact big-integer
// arithmetic.
func TestPcapngTime(t *testing.T) {
	tss := []uint64{0, 1, 999, 1700000000123456789, 1<<63 + 12345, ^uint64(0)}
	for _, pow2 := range []bool{false, true} {
		for exp := range uint8(128) {
			var ifc ngIface
			ifc.setResolution(pow2, exp)
			ifc.offset = -7
			units := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)
			if pow2 {
				units = new(big.Int).Lsh(big.NewInt(1), uint(exp))
			}
			for _, ts := range tss {
				sec, rem := new(big.Int).QuoRem(new(big.Int).SetUint64(ts), units, new(big.Int))
				nsec := rem.Mul(rem, big.NewInt(1e9))
				nsec.Quo(nsec, units)
				want := time.Unix(int64(sec.Uint64())-7, nsec.Int64())
				if got := ifc.time(ts); !got.Equal(want) {
					t.Errorf("pow2 %v exp %d ts %d: got %v; want %v", pow2, exp, ts, got, want)
				}
			}
		}
	}
}

// TestPcapngSecrets checks that each Decryption Secrets Block reaches
// OnSecrets in file order, before the packets after it, as a copy.
func TestPcapngSecrets(t *testing.T) {
	f := newNg().shb(binary.LittleEndian)
	f.dsb(0x544c534b, []byte("CLIENT_RANDOM 01 02\n")) // before any interface
	f.idb(1, 0)
	f.epb(0, 1, 1, []byte("a"))
	f.dsb(0x57474b4c, []byte("wg")) // WireGuard keys, padded
	f.epb(0, 2, 1, []byte("b"))
	f.shb(binary.BigEndian)
	f.dsb(0x544c534b, []byte("CLIENT_RANDOM 03 04\n"))

	var log []string
	var kept [][]byte
	s, err := NewReader(bytes.NewReader(f.b), "k.pcapng", 0, FileOptions{
		OnSecrets: func(typ uint32, data []byte) {
			log = append(log, fmt.Sprintf("secrets %08x %q", typ, data))
			kept = append(kept, data)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for {
		var p Packet
		err := s.Next(&p)
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatal(err)
			}
			break
		}
		log = append(log, fmt.Sprintf("packet %d %q", p.Frame, p.Data))
	}
	want := []string{
		`secrets 544c534b "CLIENT_RANDOM 01 02\n"`,
		`packet 1 "a"`,
		`secrets 57474b4c "wg"`,
		`packet 2 "b"`,
		`secrets 544c534b "CLIENT_RANDOM 03 04\n"`,
	}
	if got := strings.Join(log, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if len(kept) > 0 && string(kept[0]) != "CLIENT_RANDOM 01 02\n" {
		t.Errorf("kept secrets changed to %q", kept[0])
	}
}

func TestPcapngEmpty(t *testing.T) {
	tests := []struct {
		name string
		file []byte
	}{
		{"only shb", newNg().shb(binary.LittleEndian).b},
		{"shb and idb", newNg().shb(binary.BigEndian).idb(1, 0).b},
		{"two empty sections", newNg().shb(binary.BigEndian).shb(binary.LittleEndian).b},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := readBytes(t, "e.pcapng", tt.file, FileOptions{})
			if err != nil || r.err != nil || len(r.pkts) != 0 || len(r.bad) != 0 {
				t.Errorf("got %d packets, %v, %v, %v; want none and no error", len(r.pkts), err, r.err, r.bad)
			}
		})
	}
}

// TestPcapngDamaged puts one damaged block between two good packets.
func TestPcapngDamaged(t *testing.T) {
	good := func() *ngFile { return newNg().shb(binary.LittleEndian).idb(1, 0).epb(0, 1, 1, []byte("a")) }
	const at = 28 + 20 + 48 // the damaged block's offset: after SHB, IDB, EPB
	tests := []struct {
		name    string
		bad     func(f *ngFile)
		opts    FileOptions
		wantN   int    // packets read
		wantBad string // the ErrBadBlock error, if any
		wantErr string // the final error, if any
	}{
		{
			name:  "unknown block type is skipped",
			bad:   func(f *ngFile) { f.block(0x40000bad, []byte("custom")) },
			wantN: 2,
		},
		{
			name:    "undefined interface",
			bad:     func(f *ngFile) { f.epb(5, 1, 1, []byte("x")) },
			wantN:   2,
			wantBad: "x.pcapng: enhanced packet block at offset 96: bad block: interface 5 not defined (section has 1)",
		},
		{
			name: "captured length beyond the block",
			bad: func(f *ngFile) {
				start := len(f.b)
				f.epb(0, 1, 1, []byte("x"))
				f.b[start+20] = 200 // Captured Packet Length 200
			},
			wantN:   2,
			wantBad: "x.pcapng: enhanced packet block at offset 96: bad block: captured length 200 exceeds remaining 16",
		},
		{
			name:    "short enhanced packet block",
			bad:     func(f *ngFile) { f.block(6, []byte("tiny")) },
			wantN:   2,
			wantBad: "x.pcapng: enhanced packet block at offset 96: bad block: length 16 is too short (minimum 32)",
		},
		{
			name:    "secrets length beyond the block",
			bad:     func(f *ngFile) { f.block(0x0a, []byte{0x4b, 0x53, 0x4c, 0x54, 9, 0, 0, 0, 'a', 'b', 'c', 'd'}) },
			opts:    FileOptions{OnSecrets: func(uint32, []byte) {}},
			wantN:   2,
			wantBad: "x.pcapng: decryption secrets block at offset 96: bad block: secrets length 9 exceeds remaining 4",
		},
		{
			name:    "interface with a broken option is kept",
			bad:     func(f *ngFile) { f.idb(101, 0, []byte{9, 0, 8, 0}) }, // if_tsresol of length 8, 4 bytes left
			wantN:   2,
			wantBad: "x.pcapng: interface description block at offset 96: bad block: interface 1 kept: option 9 at body offset 8: length 8 exceeds remaining 4",
		},
		{
			name:    "simple packet before any interface",
			bad:     func(f *ngFile) { f.shb(binary.BigEndian).spb(1, []byte("x")).idb(1, 0) },
			wantN:   2,
			wantBad: "x.pcapng: simple packet block at offset 124: bad block: no interface defined in this section",
		},
		{
			name:    "too many interfaces",
			bad:     func(f *ngFile) { f.idb(1, 0) },
			opts:    FileOptions{MaxInterfaces: 1},
			wantN:   2,
			wantBad: "x.pcapng: interface description block at offset 96: bad block: more than 1 interfaces in one section",
		},
		{
			name: "length too short",
			bad: func(f *ngFile) {
				f.u32(6) // Block Type
				f.u32(8) // Block Total Length
			},
			wantN:   1,
			wantErr: "x.pcapng: block at offset 96: length 8 is too short",
		},
		{
			name: "length not a multiple of 4",
			bad: func(f *ngFile) {
				f.u32(6)  // Block Type
				f.u32(13) // Block Total Length
			},
			wantN:   1,
			wantErr: "x.pcapng: block at offset 96: length 13 is not a multiple of 4",
		},
		{
			name: "trailing length differs",
			bad: func(f *ngFile) {
				f.epb(0, 1, 1, []byte("x"))
				f.b[len(f.b)-4] = 99 // Block Total Length, again
			},
			wantN:   1,
			wantErr: "x.pcapng: enhanced packet block at offset 96: trailing length 99 does not match length 48",
		},
		{
			name:    "block over the limit",
			bad:     func(f *ngFile) { f.epb(0, 1, 100, make([]byte, 100)) },
			opts:    FileOptions{MaxBlockSize: 128},
			wantN:   1,
			wantErr: "x.pcapng: block at offset 96: too large: length 144 exceeds the limit of 128 bytes per block",
		},
		{
			name:    "unknown version",
			bad:     func(f *ngFile) { f.shb(binary.LittleEndian); f.b[len(f.b)-28+12] = 2 },
			wantN:   1,
			wantErr: "x.pcapng: section header block at offset 96: unsupported pcapng version 2.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good()
			if len(f.b) != at {
				t.Fatalf("fixture: damaged block at %d; want %d", len(f.b), at)
			}
			tt.bad(f)
			f.epb(0, 2, 1, []byte("b"))
			r, err := readBytes(t, "x.pcapng", f.b, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.pkts) != tt.wantN {
				t.Errorf("got %d packets; want %d", len(r.pkts), tt.wantN)
			}
			gotBad := ""
			if len(r.bad) > 0 {
				gotBad = r.bad[0].Error()
			}
			if gotBad != tt.wantBad || len(r.bad) > 1 {
				t.Errorf("got bad blocks %q; want %q", r.bad, tt.wantBad)
			}
			gotErr := ""
			if r.err != nil {
				gotErr = r.err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("got error %q; want %q", gotErr, tt.wantErr)
			}
		})
	}
}

// TestPcapngTruncated cuts a file at every length.
func TestPcapngTruncated(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		f := newNg().shb(order)
		ends, npk := []int{len(f.b)}, []int{0}
		f.idb(1, 0)
		ends, npk = append(ends, len(f.b)), append(npk, 0)
		f.epb(0, 1, 5, []byte("first"))
		ends, npk = append(ends, len(f.b)), append(npk, 1)
		f.dsb(1, []byte("k"))
		ends, npk = append(ends, len(f.b)), append(npk, 1)
		f.spb(3, []byte("abc"))
		ends, npk = append(ends, len(f.b)), append(npk, 2)
		t.Run(order.String(), func(t *testing.T) {
			testTruncated(t, f.b, ends, npk)
		})
	}
}

// TestLargeBlocks reads blocks and records larger than the read buffer.
func TestLargeBlocks(t *testing.T) {
	bigData := bytes.Repeat([]byte("0123456789abcdef"), (readBufSize+1000)/16)
	ng := newNg().shb(binary.LittleEndian).idb(1, 0)
	ng.epb(0, 1, uint32(len(bigData)), bigData)
	ng.block(0x0bad, bigData) // custom block: stepped over
	ng.dsb(1, bigData)
	ng.epb(0, 2, 1, []byte("b"))
	pc := newPcap(binary.BigEndian, false, 1).record(1, 0, uint32(len(bigData)), bigData).record(2, 0, 1, []byte("b"))
	for _, tt := range []struct {
		name    string
		file    []byte
		secrets bool
	}{
		{"pcapng", ng.b, false},
		{"pcapng with secrets", ng.b, true},
		{"pcap", pc.b, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts FileOptions
			gotSecrets := 0
			if tt.secrets {
				opts.OnSecrets = func(_ uint32, d []byte) { gotSecrets += len(d) }
			}
			r, err := readBytes(t, "x", tt.file, opts)
			if err != nil || r.err != nil {
				t.Fatal(err, r.err)
			}
			if len(r.pkts) != 2 || !bytes.Equal(r.pkts[0].Data, bigData) || string(r.pkts[1].Data) != "b" {
				t.Errorf("got %d packets; want the big one and %q", len(r.pkts), "b")
			}
			if tt.secrets && gotSecrets != len(bigData) {
				t.Errorf("got %d bytes of secrets; want %d", gotSecrets, len(bigData))
			}
			// Cut in the middle of the big block.
			cut := tt.file[:len(tt.file)-len(bigData)/2]
			r, err = readBytes(t, "x", cut, opts)
			if err != nil || !errors.Is(r.err, ErrTruncatedFile) {
				t.Errorf("cut: got %v, %v; want ErrTruncatedFile", err, r.err)
			}
		})
	}
}

func FuzzPcapng(f *testing.F) {
	ng := newNg().shb(binary.LittleEndian)
	ng.idb(1, 0, ng.tsresol(9)).epb(0, 1, 3, []byte("abc"))
	f.Add(ng.b) // one EPB, nanosecond interface
	ng = newNg().shb(binary.BigEndian).dsb(0x544c534b, []byte("CLIENT_RANDOM 1 2\n")).idb(113, 2).spb(5, []byte("abcd"))
	f.Add(ng.b) // big-endian, DSB, SPB cut by snaplen
	ng = newNg().shb(binary.LittleEndian).idb(1, 0).shb(binary.BigEndian)
	ng.idb(101, 0, ng.tsresol(0x94), ng.tsoffset(-5)).pb(0, 1, 1, []byte("x"))
	f.Add(ng.b)               // two sections, PB, 2^-20 resolution, negative offset
	f.Add(ng.b[:len(ng.b)-3]) // cut in the last block
	realSeeds(f, ".pcapng", 8)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFile(t, b)
	})
}

// TestSharedSecrets reads the Decryption Secrets Blocks of the real
// captures that have them: NSS key logs ("TLSK") with CLIENT_RANDOM or
// TLS 1.3 traffic secret lines.
func TestSharedSecrets(t *testing.T) {
	for _, name := range []string{
		"tls/gopacket-test301-tls12-dsb.pcapng",
		"tls/tls13-cryptohack-dsb.pcapng",
		"tls/tls12-wireshark-bug-dump-dsb.pcapng",
		"quic/chrome-cloudflare-quic-with-secrets.pcapng",
	} {
		t.Run(name, func(t *testing.T) {
			path := sharedPcaps + "/" + name
			var secrets []string
			packets := 0
			s, err := OpenFile(path, 0, FileOptions{OnSecrets: func(typ uint32, data []byte) {
				secrets = append(secrets, fmt.Sprintf("%08x after %d packets: %q", typ, packets, data[:min(len(data), 24)]))
				if typ != 0x544c534b || !bytes.Contains(data, []byte("_SECRET ")) && !bytes.Contains(data, []byte("CLIENT_RANDOM ")) {
					t.Errorf("got secrets %08x %.40q; want a TLSK key log", typ, data)
				}
			}})
			if errors.Is(err, fs.ErrNotExist) {
				t.Skipf("%s not found", path)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for {
				var p Packet
				if err := s.Next(&p); err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					break
				}
				packets++
			}
			if len(secrets) == 0 {
				t.Errorf("got no secrets; want at least one block")
			}
			for _, l := range secrets {
				t.Log(l)
			}
		})
	}
}
