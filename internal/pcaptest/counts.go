package pcaptest

import (
	"maps"
	"slices"
	"testing"
)

// Counts are what a capture holds per connection: Endpoints → label →
// count. A test fills one from wiretrace's events and one from tshark's
// fields (TsharkFields) and compares them with CompareCounts.
type Counts map[string]map[string]int

// Add counts one more of label on the connection conn (Endpoints).
func (c Counts) Add(conn, label string) {
	if c[conn] == nil {
		c[conn] = map[string]int{}
	}
	c[conn][label]++
}

// Known are the differences between wiretrace and tshark that were looked
// into: Endpoints → label → why the counts differ and which side is
// wrong.
type Known map[string]map[string]string

// CompareCounts compares wiretrace's counts (got) with tshark's (want),
// every label of every connection either side has, in order. A difference
// fails the test unless known explains it, in which case it is logged
// with the reason; a known difference that did not occur is logged too,
// as is how much was compared. Comparing nothing fails the test.
func CompareCounts(t testing.TB, got, want Counts, known Known) {
	t.Helper()
	conns := slices.Sorted(maps.Keys(labelSet(got, want)))
	compared := 0
	seen := map[string]map[string]bool{}
	for _, ep := range conns {
		for _, l := range slices.Sorted(maps.Keys(labelSet(got[ep], want[ep]))) {
			g, w := got[ep][l], want[ep][l]
			compared++
			if g == w {
				continue
			}
			if why, ok := known[ep][l]; ok {
				t.Logf("%s: %s: got %d; tshark %d (known: %s)", ep, l, g, w, why)
				if seen[ep] == nil {
					seen[ep] = map[string]bool{}
				}
				seen[ep][l] = true
				continue
			}
			t.Errorf("%s: %s: got %d; tshark %d", ep, l, g, w)
		}
	}
	for _, ep := range slices.Sorted(maps.Keys(known)) {
		for _, l := range slices.Sorted(maps.Keys(known[ep])) {
			if !seen[ep][l] {
				t.Logf("%s: %s: known difference did not occur (%s)", ep, l, known[ep][l])
			}
		}
	}
	if compared == 0 {
		t.Errorf("nothing compared")
	}
	t.Logf("%d connections, %d counts compared", len(conns), compared)
}

// labelSet returns the keys of both maps.
func labelSet[V any](a, b map[string]V) map[string]bool {
	s := map[string]bool{}
	for k := range a {
		s[k] = true
	}
	for k := range b {
		s[k] = true
	}
	return s
}
