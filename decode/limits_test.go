package decode

import "testing"

func TestCut(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"},                  // é is two bytes: not split
		{"日本語", 4, "日…"},                 // a three-byte rune
		{"\xff\xfe\xfd", 2, "\xff\xfe…"}, // not UTF-8: cut where asked
		{"abc", 0, "…"},
	}
	for _, tt := range tests {
		if got := Cut(tt.s, tt.max); got != tt.want {
			t.Errorf("Cut(%q, %d) = %q; want %q", tt.s, tt.max, got, tt.want)
		}
	}
}

func TestCapLimit(t *testing.T) {
	e := CapLimit(Position{Frame: 7}, C2S, "http2", "frame_size", 16384, Int("skipped", 9))
	if e.Layer != LayerConn || e.Type != TypeCapLimit || e.Frame != 7 || e.Dir != C2S {
		t.Fatalf("event %+v", e)
	}
	keys := ""
	for _, f := range e.Info {
		keys += f.Key + " "
	}
	if keys != "decoder cap limit skipped " {
		t.Errorf("info keys %q", keys)
	}
}
