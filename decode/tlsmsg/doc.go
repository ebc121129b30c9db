// Package tlsmsg decodes the cleartext of TLS connections: records
// (RFC 8446 §5.1, RFC 5246 §6.2), handshake messages (RFC 8446 §4, RFC 5246
// §7.4), ChangeCipherSpec, alerts (RFC 8446 §6), the sizes of encrypted
// records, an SSLv2-compatible ClientHello (RFC 5246 appendix E.2), and the
// JA3, JA3S and JA4 fingerprints of the hellos.
//
// It sits in decode, after tcpflow, in the flow capture → decode →
// timeline → render: the timeline attaches a Decoder to a TCP connection
// when Sniffer matches its first bytes and hands it each direction's
// reassembled bytes in arbitrary chunks. It never does I/O, reads clocks or
// prints.
//
// With a key log (Options.Keys, a decode/keylog Store) it decrypts: TLS
// 1.3 from the traffic secrets (decrypt.go), TLS 1.2 and earlier from the
// CLIENT_RANDOM master secret or from an RSA or PMS_CLIENT_RANDOM
// premaster secret (decrypt12.go, session12.go), following KeyUpdate and
// TLS 1.2 renegotiation, and hands the plaintext
// to Options.Next. docs/events.md lists the suites.
//
// # Contracts
//
// Records are buffered up to MaxRecordLen (2^14 + 2048, RFC 5246 §6.2.3)
// and handshake messages up to MaxHandshakeLen; a larger declared length
// emits a decode-error event and stops decoding that direction. Parsers
// alias their input: Record.Fragment is valid until the next call, and what
// an event keeps (SNI, ALPN, names) is copied once into its Info.
//
// Without keys, TLS 1.3 handshake records after the ServerHello are
// ApplicationData records. They are emitted as ApplicationData with
// encrypted and handshake set, and only the client's records after its
// Finished flight are flagged decode.FlagAppData for the round-trip count.
package tlsmsg
