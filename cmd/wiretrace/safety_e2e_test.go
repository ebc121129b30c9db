package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeterministic runs every project capture twice with each output and
// requires byte-identical results (maps, goroutines and the pipeline must
// not leak into the output).
func TestDeterministic(t *testing.T) {
	for _, f := range e2eCaptures(t) {
		args := []string{"pcap", f}
		if k := strings.TrimSuffix(f, filepath.Ext(f)) + ".keys"; fileExists(k) {
			args = append(args, "--keylog", k)
		}
		for _, format := range []string{"text", "json", "qlog"} {
			a := e2eRun(t, nil, append(args, "--format", format)...)
			b := e2eRun(t, nil, append(args, "--format", format)...)
			if a.stdout != b.stdout || a.stderr != b.stderr || a.code != b.code {
				t.Errorf("%s --format %s: two runs differ", filepath.Base(f), format)
			}
		}
	}
}

// TestNoSecretsInOutput decodes every capture that has a key log and
// checks that no secret from it appears in any output, in hex either
// case.
func TestNoSecretsInOutput(t *testing.T) {
	n := 0
	for _, f := range e2eCaptures(t) {
		k := strings.TrimSuffix(f, filepath.Ext(f)) + ".keys"
		if !fileExists(k) {
			continue
		}
		n++
		var secrets []string
		kf, err := os.Open(k)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(kf)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) == 3 && !strings.HasPrefix(fields[0], "#") {
				secrets = append(secrets, strings.ToLower(fields[2]))
			}
		}
		kf.Close()
		dir := t.TempDir()
		for _, args := range [][]string{{"--format", "json"}, {"--format", "text", "--all"}, {"--format", "qlog"}, {"--svg", "-o", dir, "--format", "json"}} {
			r := e2eRun(t, nil, append([]string{"pcap", f, "--keylog", k}, args...)...)
			out := strings.ToLower(r.stdout + r.stderr)
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, p := range files {
				b, _ := os.ReadFile(p)
				out += strings.ToLower(string(b))
			}
			for _, s := range secrets {
				// Any 16 hex digits of a secret would be a leak.
				for i := 0; i+16 <= len(s); i += 16 {
					if strings.Contains(out, s[i:i+16]) {
						t.Fatalf("%s %v: output contains part of a secret from %s", filepath.Base(f), args, filepath.Base(k))
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no capture with a key log")
	}
}
