package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedTLS holds the TLS captures shared between sessions, with their key
// logs.
const sharedTLS = "../../../shared/pcaps/tls"

func sharedCapture(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sharedTLS, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared capture: %v", err)
	}
	return p
}

// decryptedTypes counts the decrypted tls events by direction and type
// ("s2c Finished"), and reports the keys events.
func decryptedTypes(t *testing.T, args ...string) (map[string]int, []string) {
	t.Helper()
	r := e2eRun(t, nil, append(args, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := map[string]int{}
	var keys []string
	for _, e := range e2eParseEvents(t, r.stdout) {
		if e.Layer != "tls" {
			continue
		}
		if e.Type == "keys" {
			keys = append(keys, e.Info["keys"].(string))
		}
		if d, _ := e.Info["decrypted"].(bool); d {
			got[e.Dir+" "+e.Type]++
		}
	}
	return got, keys
}

func TestDecryptTLS13(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"keylog flag", []string{"pcap", sharedCapture(t, "illustrated-tls13.pcap"), "--keylog", sharedCapture(t, "illustrated-tls13.keys")}},
		{"AES-128 keylog", []string{"pcap", sharedCapture(t, "illustrated-tls13-archive.pcap"), "--keylog", sharedCapture(t, "illustrated-tls13-archive.keys")}},
		{"pcapng DSB", []string{"pcap", sharedCapture(t, "tls13-cryptohack-dsb.pcapng")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, keys := decryptedTypes(t, tc.args...)
			for _, k := range []string{"s2c EncryptedExtensions", "s2c Certificate", "s2c CertificateVerify", "s2c Finished", "c2s Finished"} {
				if got[k] != 1 {
					t.Errorf("%s decrypted %d times; want 1 (all: %v)", k, got[k], got)
				}
			}
			if got["c2s ApplicationData"] == 0 || got["s2c ApplicationData"] == 0 {
				t.Errorf("application data not decrypted both ways: %v", got)
			}
			if len(keys) != 0 {
				t.Errorf("keys events %q; want none", keys)
			}
		})
	}
}

func TestDecryptWrongKeyLog(t *testing.T) {
	// Another connection's key log: the store is not empty, this
	// connection's random is not in it.
	got, keys := decryptedTypes(t, "pcap", sharedCapture(t, "tls13-cryptohack.pcapng"), "--keylog", sharedCapture(t, "illustrated-tls13.keys"))
	if len(got) != 0 {
		t.Errorf("decrypted %v with another connection's keys", got)
	}
	if strings.Join(keys, ",") != "missing" {
		t.Errorf("keys events %q; want one missing", keys)
	}
}

func TestKeyLogErrors(t *testing.T) {
	pcap := sharedCapture(t, "illustrated-tls13.pcap")
	r := e2eRun(t, nil, "pcap", pcap, "--keylog", "no-such.keys")
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no-such.keys") {
		t.Errorf("missing key log: exit %d, stderr %q; want exit 1 and one line naming it", r.code, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.keys")
	keys, err := os.ReadFile(sharedCapture(t, "illustrated-tls13.keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, append([]byte("CLIENT_RANDOM zz\n"), keys...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = e2eRun(t, nil, "pcap", pcap, "--keylog", bad, "--format", "json")
	if r.code != 0 || !strings.Contains(r.stderr, bad+":1:") {
		t.Errorf("bad line: exit %d, stderr %q; want exit 0 and a warning naming %s:1", r.code, r.stderr, bad)
	}
	if !strings.Contains(r.stdout, `"decrypted":true`) {
		t.Errorf("the good lines were not used")
	}
	// SSLKEYLOGFILE is read too.
	cmd := e2eCmd("pcap", pcap, "--format", "json")
	cmd.Env = append(cmd.Env, "SSLKEYLOGFILE="+sharedCapture(t, "illustrated-tls13.keys"))
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `"decrypted":true`) {
		t.Errorf("SSLKEYLOGFILE not used: %v", err)
	}
}

func TestDecryptTLS12(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		min  int // connections with both Finished decrypted
	}{
		{"zeek keylog", []string{"pcap", sharedCapture(t, "zeek-tls12-decryption.pcap"), "--keylog", sharedCapture(t, "zeek-tls12-decryption.keys")}, 1},
		{"gopacket DSB", []string{"pcap", sharedCapture(t, "gopacket-test301-tls12-dsb.pcapng")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, keys := decryptedTypes(t, tc.args...)
			if got["c2s Finished"] < tc.min || got["s2c Finished"] < tc.min {
				t.Errorf("Finished decrypted %d/%d times; want at least %d each way (all: %v)", got["c2s Finished"], got["s2c Finished"], tc.min, got)
			}
			if got["c2s ApplicationData"] == 0 || got["s2c ApplicationData"] == 0 {
				t.Errorf("application data not decrypted both ways: %v", got)
			}
			if len(keys) != 0 {
				t.Errorf("keys events %q; want none", keys)
			}
		})
	}
}
