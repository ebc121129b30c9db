package keylog

import "strconv"

// Label names the kind of secret on a key log line. The names are those of
// the NSS key log format and draft-ietf-tls-keylogfile, section 3
// (https://datatracker.ietf.org/doc/draft-ietf-tls-keylogfile/).
type Label uint8

// Labels of the key log format. The zero Label is not a valid label.
const (
	// ClientRandom is the TLS 1.2 (and earlier) master secret, 48 bytes
	// (RFC 5246, section 8.1).
	ClientRandom Label = iota + 1
	// ClientEarlyTrafficSecret is client_early_traffic_secret (RFC 8446,
	// section 7.1), used for 0-RTT data.
	ClientEarlyTrafficSecret
	// ClientHandshakeTrafficSecret is client_handshake_traffic_secret.
	ClientHandshakeTrafficSecret
	// ServerHandshakeTrafficSecret is server_handshake_traffic_secret.
	ServerHandshakeTrafficSecret
	// ClientTrafficSecret0 is client_application_traffic_secret_0.
	ClientTrafficSecret0
	// ServerTrafficSecret0 is server_application_traffic_secret_0.
	ServerTrafficSecret0
	// EarlyExporterSecret is early_exporter_master_secret.
	EarlyExporterSecret
	// ExporterSecret is exporter_master_secret.
	ExporterSecret
	// RSA is a TLS 1.2 RSA premaster secret (48 bytes, RFC 5246, section
	// 7.4.7.1), keyed by the first 8 bytes of its encrypted form as sent in
	// the ClientKeyExchange rather than by client random.
	RSA
	// PMSClientRandom is a TLS 1.2 premaster secret (48 bytes) keyed by
	// client random, as Wireshark writes it ("PMS_CLIENT_RANDOM"); the
	// decoder derives the master secret from it (RFC 5246, section 8.1,
	// or RFC 7627 with the extended master secret).
	PMSClientRandom

	numLabels // one past the last label; Secrets is indexed by Label
)

var labelNames = [numLabels]string{
	ClientRandom:                 "CLIENT_RANDOM",
	ClientEarlyTrafficSecret:     "CLIENT_EARLY_TRAFFIC_SECRET",
	ClientHandshakeTrafficSecret: "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	ServerHandshakeTrafficSecret: "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	ClientTrafficSecret0:         "CLIENT_TRAFFIC_SECRET_0",
	ServerTrafficSecret0:         "SERVER_TRAFFIC_SECRET_0",
	EarlyExporterSecret:          "EARLY_EXPORTER_SECRET",
	ExporterSecret:               "EXPORTER_SECRET",
	RSA:                          "RSA",
	PMSClientRandom:              "PMS_CLIENT_RANDOM",
}

// String returns the label as it appears in a key log file, or Label(N) for
// values without a name.
func (l Label) String() string {
	if l < numLabels && labelNames[l] != "" {
		return labelNames[l]
	}
	return "Label(" + strconv.Itoa(int(l)) + ")"
}

// TLS13 reports whether l is one of the TLS 1.3 secrets, whose length is
// the output length of the suite's hash: 32 bytes (SHA-256) or 48 bytes
// (SHA-384).
func (l Label) TLS13() bool {
	return l >= ClientEarlyTrafficSecret && l <= ExporterSecret
}

// validLen reports whether a secret of n bytes fits label l.
func (l Label) validLen(n int) bool {
	switch {
	case l == ClientRandom || l == RSA || l == PMSClientRandom:
		return n == 48
	case l.TLS13():
		return n == 32 || n == 48
	}
	return false
}

// wantLen describes the valid lengths of l for warnings.
func (l Label) wantLen() string {
	if l.TLS13() {
		return "32 or 48"
	}
	return "48"
}

// parseLabel maps a label field to a Label. It returns 0 for labels this
// package does not know. The switch on string(b) does not allocate.
func parseLabel(b []byte) Label {
	switch string(b) {
	case "CLIENT_RANDOM":
		return ClientRandom
	case "CLIENT_EARLY_TRAFFIC_SECRET":
		return ClientEarlyTrafficSecret
	case "CLIENT_HANDSHAKE_TRAFFIC_SECRET":
		return ClientHandshakeTrafficSecret
	case "SERVER_HANDSHAKE_TRAFFIC_SECRET":
		return ServerHandshakeTrafficSecret
	case "CLIENT_TRAFFIC_SECRET_0":
		return ClientTrafficSecret0
	case "SERVER_TRAFFIC_SECRET_0":
		return ServerTrafficSecret0
	case "EARLY_EXPORTER_SECRET":
		return EarlyExporterSecret
	case "EXPORTER_SECRET":
		return ExporterSecret
	case "RSA":
		return RSA
	case "PMS_CLIENT_RANDOM":
		return PMSClientRandom
	}
	return 0
}

// ignoredLabel reports labels that are defined elsewhere but carry nothing
// wiretrace uses: the Encrypted Client Hello entries of
// draft-ietf-tls-ech-keylogfile. They are skipped without a warning.
func ignoredLabel(b []byte) bool {
	switch string(b) {
	case "ECH_SECRET", "ECH_CONFIG":
		return true
	}
	return false
}
