package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestContractDocumented checks that every event type and info key in
// the JSON goldens is named in docs/events.md (in backticks, as the
// contract writes them: `name`, `name: value` or `name=value`), so the
// contract cannot fall behind the decoders.
func TestContractDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "events.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := func(name string) bool {
		for _, form := range []string{"`" + name + "`", "`" + name + ":", "`" + name + "="} {
			if strings.Contains(string(doc), form) {
				return true
			}
		}
		return false
	}
	goldens, err := filepath.Glob(filepath.Join(e2eGoldenDir, "*.jsonl"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no JSON goldens in %s: %v", e2eGoldenDir, err)
	}
	missing := map[string][]string{} // name → first golden using it
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var ev struct {
				Layer string                     `json:"layer"`
				Type  string                     `json:"type"`
				Info  map[string]json.RawMessage `json:"info"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("%s: %v", g, err)
			}
			names := []string{ev.Layer, ev.Type}
			for k := range ev.Info {
				names = append(names, k)
			}
			for _, n := range names {
				if !documented(n) && len(missing[n]) == 0 {
					missing[n] = append(missing[n], ev.Layer+"/"+ev.Type+" in "+filepath.Base(g))
				}
			}
		}
	}
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for k := range missing {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Errorf("%q is not in docs/events.md (first seen: %s)", n, missing[n][0])
	}
}
