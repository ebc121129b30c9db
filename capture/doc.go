// Package capture reads packets from capture files and merges several
// inputs into one time-ordered stream.
//
// # Place in the flow
//
// capture → decode → timeline → render. capture is the first stage: it
// turns pcap and pcapng files (and, in the live_* files, network
// interfaces) into Packet values and knows nothing of the stages after it.
// It decodes only the capture format itself: link-layer bytes are handed on
// untouched in Packet.Data, with their type in Packet.LinkType (Ethernet,
// Linux SLL and SLL2, Null/Loop, Raw, IPv4, IPv6, ...).
//
// # Files
//
// OpenFile tells pcap from pcapng by the magic number, never by the file
// name, and reads standard input for "-". pcap: microsecond and nanosecond
// files in both byte orders (draft-ietf-opsawg-pcap). pcapng: several
// sections in either byte order, several interfaces with their own link
// type, if_tsresol and if_tsoffset; Enhanced, Simple and the obsolete
// Packet Blocks (draft-ietf-opsawg-pcapng). Decryption Secrets Blocks go to
// FileOptions.OnSecrets, in file order, before the packets that follow
// them. Timestamps are UTC at the file's full precision. Packet.Iface
// numbers a file's interfaces in order across all its sections, so it is
// unique within the file (tshark 4.0's frame.interface_id restarts at 0 in
// each section). Simple Packet Blocks carry no timestamp: they get the
// previous packet's (the zero Time before any).
//
// A snap length cut (CapLen < OrigLen) is not an error. A file cut in the
// middle of its last record yields every packet before the cut, then an
// error wrapping ErrTruncatedFile. A damaged pcapng block whose length
// field is still sane is reported as ErrBadBlock and skipped; anything else
// stops the file. Errors are *FileError values whose message is one line
// naming the file and the byte offset.
//
// # Live capture and writing
//
// OpenLive (Linux only; pure Go, no libpcap) captures on one interface with
// an AF_PACKET TPACKET_V3 ring. Next returns ErrNoPacket when nothing
// arrived within LiveOptions.PollTimeout (20 ms by default), so the caller
// can flush output and notice a signal; it never blocks longer. Capture
// filters use tcpdump's syntax and are compiled to classic BPF by
// CompileFilter and run in the kernel; packets taken in before the filter
// was attached are drained first, and on loopback the outgoing copy of
// each packet is dropped as libpcap does. An unprivileged process gets a
// *PermissionError whose message says how to get the privilege. Stats
// reports the kernel's packet and drop counts. Close must not run
// concurrently with Next.
//
// PcapngWriter writes packets to a pcapng file with nanosecond timestamps
// and the interface name; after Flush the file is complete and valid, so a
// capture interrupted by a signal stays readable.
//
// # Merging
//
// Merge interleaves several sources by timestamp (ties by input order, then
// file order) and numbers frames 1..n in output order. A single FileSource
// numbers its frames itself.
//
// # Contracts
//
//   - Packet.Data is valid until the next call to the source's Next: copy
//     what must outlive it. FileSource.Next does not allocate in steady
//     state.
//   - FileOptions.MaxBlockSize (16 MiB by default) caps the bytes read into
//     memory for one record or block; FileOptions.MaxInterfaces caps the
//     interfaces of a pcapng section.
//   - Size and Offset (the Progress interface) may be read from another
//     goroutine while Next runs, for a progress bar.
//   - No clocks and no global state: timestamps come from the file.
package capture
