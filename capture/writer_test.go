package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// writerPackets are the packets the writer tests write: real frames with
// nanosecond timestamps, lengths that need block padding, and one packet
// the snap length cut.
func writerPackets(t *testing.T) []Packet {
	t.Helper()
	base := time.Unix(1700000000, 123456789)
	var ps []Packet
	for i, f := range filterFrames[:5] {
		b := buildFrame(t, f)
		ps = append(ps, Packet{
			Frame: int64(i + 1), TS: base.Add(time.Duration(i) * 1001 * time.Nanosecond),
			LinkType: layers.LinkTypeEthernet, CapLen: len(b), OrigLen: len(b), Data: b,
		})
	}
	// Cut by the capture's snap length: 1500 bytes on the wire, 61 kept
	// (61 needs 3 bytes of padding).
	cut := buildFrame(t, filterFrames[0])
	cut = append(cut, bytes.Repeat([]byte{0xab}, 61-len(cut))...)
	ps = append(ps, Packet{Frame: 6, TS: base.Add(time.Second), LinkType: layers.LinkTypeEthernet, CapLen: 61, OrigLen: 1500, Data: cut})
	return ps
}

func writePcapng(t *testing.T, w io.Writer, ps []Packet) *PcapngWriter {
	t.Helper()
	pw, err := NewPcapngWriter(w, layers.LinkTypeEthernet, "lo", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if err := pw.WritePacket(&ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	return pw
}

// readPcapng reads a file back with pcapgo.NgReader and checks every field.
func checkPcapng(t *testing.T, b []byte, want []Packet) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("NewNgReader: %v", err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v; want Ethernet", r.LinkType())
	}
	intf, err := r.Interface(0)
	if err != nil {
		t.Fatal(err)
	}
	if intf.Name != "lo" || intf.SnapLength != MaxSnaplen || intf.TimestampResolution != 9 {
		t.Errorf("interface %q snaplen %d tsresol %d; want \"lo\" %d 9", intf.Name, intf.SnapLength, intf.TimestampResolution, MaxSnaplen)
	}
	for i, p := range want {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		if !ci.Timestamp.Equal(p.TS) || ci.CaptureLength != p.CapLen || ci.Length != p.OrigLen || !bytes.Equal(data, p.Data) {
			t.Errorf("packet %d: TS %v caplen %d len %d data %x\nwant TS %v caplen %d len %d data %x",
				i+1, ci.Timestamp, ci.CaptureLength, ci.Length, data, p.TS, p.CapLen, p.OrigLen, p.Data)
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("after %d packets: %v; want io.EOF", len(want), err)
	}
}

func TestPcapngWriterRoundTrip(t *testing.T) {
	ps := writerPackets(t)
	var buf bytes.Buffer
	pw := writePcapng(t, &buf, ps)
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	checkPcapng(t, buf.Bytes(), ps)
}

// TestPcapngWriterFlushMidway checks that Flush leaves a valid file while
// more packets are still to come, as when the CLI flushes on SIGINT.
func TestPcapngWriterFlushMidway(t *testing.T) {
	ps := writerPackets(t)
	var buf bytes.Buffer
	pw := writePcapng(t, &buf, ps[:3])
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	snapshot := bytes.Clone(buf.Bytes())
	for i := range ps[3:] {
		if err := pw.WritePacket(&ps[3+i]); err != nil {
			t.Fatal(err)
		}
	}
	checkPcapng(t, snapshot, ps[:3])
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	checkPcapng(t, buf.Bytes(), ps)
}

// TestPcapngWriterSecrets writes Decryption Secrets Blocks between packets
// (one needing padding) and checks that capture.FileSource hands them to
// OnSecrets in place and that pcapgo.NgReader still reads every packet.
func TestPcapngWriterSecrets(t *testing.T) {
	ps := writerPackets(t)
	var buf bytes.Buffer
	pw := writePcapng(t, &buf, ps[:2])
	for _, secrets := range []string{"CLIENT_RANDOM 0102 0304\n", "CLIENT_RANDOM 05 06\n"} {
		if err := pw.WriteSecrets(SecretsTLSKeyLog, []byte(secrets)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ps[2:] {
		if err := pw.WritePacket(&ps[2+i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.WriteSecrets(0x12345678, []byte("x")); err == nil {
		t.Error("WriteSecrets of an unregistered type: no error")
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	checkPcapng(t, buf.Bytes(), ps)

	var log []string
	s, err := NewReader(bytes.NewReader(buf.Bytes()), "w.pcapng", 0, FileOptions{
		OnSecrets: func(typ uint32, data []byte) { log = append(log, fmt.Sprintf("secrets %08x %q", typ, data)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for {
		var p Packet
		if err := s.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		log = append(log, fmt.Sprintf("packet %d", p.Frame))
	}
	want := []string{"packet 1", "packet 2",
		`secrets 544c534b "CLIENT_RANDOM 0102 0304\n"`, `secrets 544c534b "CLIENT_RANDOM 05 06\n"`,
		"packet 3", "packet 4", "packet 5", "packet 6"}
	if got := strings.Join(log, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("read back:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestPcapngWriterSnaplen(t *testing.T) {
	var buf bytes.Buffer
	pw, err := NewPcapngWriter(&buf, layers.LinkTypeEthernet, "eth0", 40)
	if err != nil {
		t.Fatal(err)
	}
	p := writerPackets(t)[0]
	if err := pw.WritePacket(&p); err != nil {
		t.Fatal(err)
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 40 || ci.CaptureLength != 40 || ci.Length != p.OrigLen || !bytes.Equal(data, p.Data[:40]) {
		t.Errorf("caplen %d len %d; want 40 and %d", ci.CaptureLength, ci.Length, p.OrigLen)
	}
}

func TestPcapngWriterErrors(t *testing.T) {
	if _, err := NewPcapngWriter(io.Discard, layers.LinkTypeEthernet, "lo", -1); err == nil ||
		err.Error() != "capture: pcapng writer: snaplen -1 out of range 1..262144" {
		t.Errorf("snaplen -1: %v", err)
	}
	pw, err := NewPcapngWriter(io.Discard, layers.LinkTypeEthernet, "lo", 0)
	if err != nil {
		t.Fatal(err)
	}
	p := Packet{Frame: 7, LinkType: layers.LinkTypeRaw, Data: []byte{0x45}, CapLen: 1, OrigLen: 1}
	want := "capture: pcapng writer: frame 7: link type Raw, file has Ethernet"
	if err := pw.WritePacket(&p); err == nil || err.Error() != want {
		t.Errorf("WritePacket: %v; want %s", err, want)
	}
	// A failing destination shows at Flush at the latest.
	fw, err := NewPcapngWriter(failWriter{}, layers.LinkTypeEthernet, "lo", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); !errors.Is(err, errFail) {
		t.Errorf("Flush to a failing writer: %v; want %v", err, errFail)
	}
}

var errFail = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

func TestPcapngWriterNoAllocs(t *testing.T) {
	pw, err := NewPcapngWriter(io.Discard, layers.LinkTypeEthernet, "lo", 0)
	if err != nil {
		t.Fatal(err)
	}
	p := writerPackets(t)[0]
	if allocs := testing.AllocsPerRun(100, func() {
		if err := pw.WritePacket(&p); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("WritePacket allocates %v per packet; want 0", allocs)
	}
}

// TestPcapngWriterTshark has tshark read the file and checks what it shows:
// interface name, nanosecond times, lengths and the decoded ports.
func TestPcapngWriterTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH (apt-get install tshark)")
	}
	ps := writerPackets(t)
	path := filepath.Join(t.TempDir(), "out.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := writePcapng(t, f, ps)
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=,",
		"-e", "frame.interface_name", "-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len", "-e", "tcp.dstport", "-e", "udp.dstport")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.Bytes())
	}
	var want []string
	for i, p := range ps {
		f := filterFrames[0]
		if i < 5 {
			f = filterFrames[i]
		}
		tcpPort, udpPort := "", ""
		if f.proto == "tcp" {
			tcpPort = fmt.Sprint(f.dport)
		} else {
			udpPort = fmt.Sprint(f.dport)
		}
		want = append(want, fmt.Sprintf("lo,%d.%09d,%d,%d,%s,%s", p.TS.Unix(), p.TS.Nanosecond(), p.CapLen, p.OrigLen, tcpPort, udpPort))
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tshark fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
