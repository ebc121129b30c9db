package keylog_test

import (
	"fmt"
	"strings"

	"github.com/wiretrace/wiretrace/decode/keylog"
)

func Example() {
	const log = `# written by SSLKEYLOGFILE
CLIENT_HANDSHAKE_TRAFFIC_SECRET 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f b8902ab5f9fe52fdec3aea54e9293e4b8eabf955fcd88536bf44b8b584f14982
SERVER_TRAFFIC_SECRET_0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f a1bfa69e70
CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
`
	var st keylog.Store
	rep, err := st.Add(strings.NewReader(log), "keys.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range rep.Warnings {
		fmt.Println(w)
	}

	var random [32]byte
	for i := range random {
		random[i] = byte(i)
	}
	s, ok := st.Lookup(random)
	fmt.Println(ok, len(s.Secret(keylog.ClientHandshakeTrafficSecret)))
	fmt.Println(s) // secrets are redacted
	// Output:
	// keys.txt:3: SERVER_TRAFFIC_SECRET_0: secret is 5 bytes, want 32 or 48
	// keys.txt:4: CLIENT_RANDOM: got 2 fields, want 3
	// true 32
	// client_random=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f CLIENT_HANDSHAKE_TRAFFIC_SECRET=<redacted 32 bytes>
}
