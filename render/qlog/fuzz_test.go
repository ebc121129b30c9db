package qlog

import (
	"encoding/json"
	"testing"
)

// FuzzFrame: any frame summary, documented form or not, gives one valid
// JSON object (or is left out).
func FuzzFrame(f *testing.F) {
	for _, s := range []string{
		"PADDING 947", "ACK largest=7 delay=200us ranges=5-7,0-3 ect0=1 ect1=0 ce=2",
		"ACK largest=9 delay_raw=99 ranges=9,+3 more", "STREAM id=4 off=100 len=12 fin",
		`CONNECTION_CLOSE err=PROTOCOL_VIOLATION frame=CRYPTO reason="a \"b\" c"…`,
		`CONNECTION_CLOSE err=app:0xzz reason="unterminated`, "MAX_STREAMS bidi max=x",
		"NEW_CONNECTION_ID seq=1 retire_prior_to=0 cid=8ddf8f4b", "+4 more", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := appendFrame(nil, s)
		if !ok {
			if len(b) != 0 {
				t.Fatalf("left out but wrote %q", b)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%q: %v: %s", s, err, b)
		}
		if _, ok := m["frame_type"].(string); !ok {
			t.Fatalf("%q: no frame_type: %s", s, b)
		}
	})
}
