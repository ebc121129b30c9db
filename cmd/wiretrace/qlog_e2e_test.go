package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQlogOutput runs --format qlog and --qlog-dir on the 0-RTT capture
// (two QUIC connections): stdout is one JSON-SEQ trace whose events carry
// each connection's group_id; the directory gets one trace per
// connection, its paths listed on stdout.
func TestQlogOutput(t *testing.T) {
	pcap := filepath.Join(e2ePcapDir, "h3-0rtt.pcapng")
	keys := filepath.Join(e2ePcapDir, "h3-0rtt.keys")
	r := e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--format", "qlog")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	groups := map[string]int{}
	zeroRTT := 0
	recs := strings.Split(r.stdout, "\x1e")
	if recs[0] != "" || len(recs) < 10 {
		t.Fatalf("not JSON-SEQ: %.200q", r.stdout)
	}
	for i, rec := range recs[1:] {
		var m struct {
			Name    string `json:"name"`
			GroupID string `json:"group_id"`
			Data    struct {
				Header struct {
					PacketType string `json:"packet_type"`
				} `json:"header"`
			} `json:"data"`
			QlogVersion string `json:"qlog_version"`
		}
		if err := json.Unmarshal([]byte(rec), &m); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if i == 0 {
			if m.QlogVersion == "" {
				t.Fatalf("first record is not a header: %s", rec)
			}
			continue
		}
		groups[m.GroupID]++
		if m.Data.Header.PacketType == "0RTT" {
			zeroRTT++
		}
	}
	if len(groups) != 2 || zeroRTT == 0 {
		t.Errorf("groups %v, %d 0-RTT packets; want two connections and 0-RTT in the second", groups, zeroRTT)
	}

	dir := t.TempDir()
	r = e2eRun(t, nil, "pcap", pcap, "--keylog", keys, "--qlog-dir", dir)
	want := filepath.Join(dir, "conn-1.sqlog") + "\n" + filepath.Join(dir, "conn-2.sqlog") + "\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d, stdout %q; want %q", r.code, r.stdout, want)
	}
	for _, name := range []string{"conn-1.sqlog", "conn-2.sqlog"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.HasPrefix(b, []byte("\x1e{\"qlog_version\"")) || !bytes.Contains(b, []byte(`"group_id"`)) {
			t.Errorf("%s: %v %.100q", name, err, b)
		}
	}
}
