// Package keylog reads TLS key logs in the NSS key log format, as written by
// browsers, curl, Go's crypto/tls (Config.KeyLogWriter) and OpenSSL when
// SSLKEYLOGFILE is set, and as carried in pcapng Decryption Secrets Blocks
// (https://datatracker.ietf.org/doc/draft-ietf-tls-keylogfile/).
//
// Each line is "LABEL <client random, 64 hex digits> <secret, hex>". The
// labels are CLIENT_RANDOM (the TLS 1.2 master secret, 48 bytes), the TLS
// 1.3 secrets CLIENT_EARLY_TRAFFIC_SECRET, CLIENT_HANDSHAKE_TRAFFIC_SECRET,
// SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0,
// SERVER_TRAFFIC_SECRET_0, EARLY_EXPORTER_SECRET and EXPORTER_SECRET (32 or
// 48 bytes, the suite's hash length), and "RSA <first 8 bytes of the
// encrypted premaster secret, 16 hex digits> <premaster secret, 96 hex
// digits>", and Wireshark's "PMS_CLIENT_RANDOM <client random> <premaster
// secret, 96 hex digits>" for TLS 1.2 and below. Lines starting with '#' and blank lines are ignored; CRLF line
// endings, runs of spaces or tabs between fields and upper- or lower-case
// hex are accepted. ECH_SECRET and ECH_CONFIG lines are skipped silently.
//
// # Place in the flow
//
// keylog sits in decode, beside tlsmsg, in the flow capture → decode →
// timeline → render: the command line gathers the key logs (--keylog files,
// SSLKEYLOGFILE, Decryption Secrets Blocks from capture) into one Store,
// and the TLS decoder looks secrets up by the ClientHello random. keylog
// does no I/O beyond the io.Reader it is given, reads no clock and prints
// nothing.
//
// # Contracts
//
// A malformed line never fails a key log: Store.Add reports it as a Warning
// with its source and line number and goes on; only read errors are errors.
// When two logs give different secrets for the same connection and label,
// the first is kept and the second is a warning.
//
// Memory is bounded: lines longer than Store.MaxLineLength are skipped
// without being buffered, the number of secrets is capped by
// Store.MaxEntries, and a Report keeps at most 100 warnings.
//
// Secrets are never printed. Secrets and Store redact themselves under every
// fmt verb, and no Warning contains a secret or any field that could be one.
// Slices returned by Secrets.Secret are read-only.
package keylog
