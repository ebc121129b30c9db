package capture

import (
	"fmt"
	"io"
	"runtime"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PcapngWriter writes packets of one interface to a pcapng file: a section
// header, one interface description (name, link type, snap length,
// nanosecond timestamps: if_tsresol 9), then one enhanced packet block per
// packet.
//
// Output is buffered. pcapng has no trailer, so after Flush the file holds
// only whole blocks and is valid as it stands; call Flush before closing
// w, and whenever the file must be readable (on SIGINT, say).
type PcapngWriter struct {
	w        *pcapgo.NgWriter
	linkType layers.LinkType
	snaplen  int
}

// NewPcapngWriter writes the section header and the interface description
// to w. snaplen 0 means MaxSnaplen; WritePacket cuts longer packets to it.
func NewPcapngWriter(w io.Writer, linkType layers.LinkType, ifaceName string, snaplen int) (*PcapngWriter, error) {
	if snaplen == 0 {
		snaplen = MaxSnaplen
	}
	if snaplen < 0 || snaplen > MaxSnaplen {
		return nil, fmt.Errorf("capture: pcapng writer: snaplen %d out of range 1..%d", snaplen, MaxSnaplen)
	}
	ng, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{
		Name:                ifaceName,
		OS:                  runtime.GOOS,
		LinkType:            linkType,
		SnapLength:          uint32(snaplen),
		TimestampResolution: 9, // what NgWriter writes, whatever is set
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Hardware:    runtime.GOARCH,
		OS:          runtime.GOOS,
		Application: "wiretrace",
	}})
	if err != nil {
		return nil, fmt.Errorf("capture: pcapng writer: %w", err)
	}
	return &PcapngWriter{w: ng, linkType: linkType, snaplen: snaplen}, nil
}

// WritePacket appends p as an enhanced packet block. p's link type must be
// the writer's. It does not allocate.
func (pw *PcapngWriter) WritePacket(p *Packet) error {
	if p.LinkType != pw.linkType {
		return fmt.Errorf("capture: pcapng writer: frame %d: link type %v, file has %v", p.Frame, p.LinkType, pw.linkType)
	}
	data := p.Data
	if len(data) > pw.snaplen {
		data = data[:pw.snaplen]
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     p.TS,
		CaptureLength: len(data),
		Length:        max(p.OrigLen, len(data)),
	}
	if err := pw.w.WritePacket(ci, data); err != nil {
		return fmt.Errorf("capture: pcapng writer: frame %d: %w", p.Frame, err)
	}
	return nil
}

// Flush writes out buffered blocks.
func (pw *PcapngWriter) Flush() error {
	if err := pw.w.Flush(); err != nil {
		return fmt.Errorf("capture: pcapng writer: %w", err)
	}
	return nil
}

// SecretsTLSKeyLog is the Secrets Type of a pcapng Decryption Secrets
// Block that holds an NSS key log ("TLSK").
const SecretsTLSKeyLog = 0x544c534b

// WriteSecrets appends a Decryption Secrets Block (draft-ietf-opsawg-pcapng
// section 4.7) of secretsType holding data, padded to 32 bits. Readers
// apply it to the packets written after it. pcapgo knows the registered
// types only (TLS, SSH, WireGuard, Zigbee) and refuses others.
func (pw *PcapngWriter) WriteSecrets(secretsType uint32, data []byte) error {
	if err := pw.w.WriteDecryptionSecretsBlock(secretsType, data); err != nil {
		return fmt.Errorf("capture: pcapng writer: secrets type %#08x: %w", secretsType, err)
	}
	return nil
}
