package decode

import (
	"bytes"
	"strings"
	"testing"
)

// recDecoder records what it is handed.
type recDecoder struct {
	data  map[Dir]*bytes.Buffer
	skips int
	ended bool
}

func (r *recDecoder) Data(dir Dir, data []byte, at Position, emit Emit) error {
	r.data[dir].Write(data)
	return nil
}
func (r *recDecoder) Skip(dir Dir, n uint64, at Position, emit Emit) { r.skips++ }
func (r *recDecoder) End(at Position, emit Emit)                     { r.ended = true }
func (r *recDecoder) Summary() Info                                  { return Info{Int("requests", 2)} }

// helloRegistry matches streams whose client starts with "HELLO"; the
// server's bytes never decide.
func helloRegistry(dec **recDecoder) *Registry {
	reg := &Registry{}
	reg.Register(Sniffer{
		Name: "hello",
		Sniff: func(dir Dir, first []byte) Verdict {
			const magic = "HELLO"
			n := min(len(first), len(magic))
			switch {
			case dir != C2S:
				return NeedMore // the client decides
			case string(first[:n]) != magic[:n]:
				return NoMatch
			case n < len(magic):
				return NeedMore
			}
			return Match
		},
		New: func() StreamDecoder {
			*dec = &recDecoder{data: map[Dir]*bytes.Buffer{C2S: {}, S2C: {}}}
			return *dec
		},
	})
	return reg
}

func TestSniffing(t *testing.T) {
	tests := []struct {
		name     string
		chunks   []string // "c:" client bytes, "s:" server bytes, "skip"
		attached bool
		c2s, s2c string
	}{
		{"one chunk", []string{"c:HELLO world", "s:hi"}, true, "HELLO world", "hi"},
		{"split magic", []string{"c:HE", "c:LL", "c:O!", "s:ok"}, true, "HELLO!", "ok"},
		{"no match", []string{"c:GET / HTTP/1.1", "s:x"}, false, "", ""},
		{"partial then mismatch", []string{"c:HEL", "c:P"}, false, "", ""},
		{"hole before match", []string{"c:HE", "skip", "c:LLO"}, false, "", ""},
		{"hole after match", []string{"c:HELLO", "skip", "c:x"}, true, "HELLOx", ""},
		// A server that speaks first, more than SniffBytes at once: held
		// until the client's bytes decide.
		{"server first", []string{"s:" + strings.Repeat("s", 100), "c:HELLO"}, true, "HELLO", strings.Repeat("s", 100)},
		{"server first, client other", []string{"s:" + strings.Repeat("s", 100), "c:GET"}, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dec *recDecoder
			s := NewSniffing(helloRegistry(&dec))
			for _, c := range tt.chunks {
				switch {
				case c == "skip":
					s.Skip(C2S, 3, Position{}, nil)
				case c[0] == 'c':
					if err := s.Data(C2S, []byte(c[2:]), Position{}, nil); err != nil {
						t.Fatal(err)
					}
				default:
					if err := s.Data(S2C, []byte(c[2:]), Position{}, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			s.End(Position{}, nil)
			if got := s.Name() == "hello"; got != tt.attached {
				t.Fatalf("attached = %v; want %v", got, tt.attached)
			}
			if !tt.attached {
				if s.Summary() != nil {
					t.Errorf("summary without a decoder: %v", s.Summary())
				}
				return
			}
			if got := dec.data[C2S].String(); got != tt.c2s {
				t.Errorf("c2s = %q; want %q", got, tt.c2s)
			}
			if got := dec.data[S2C].String(); got != tt.s2c {
				t.Errorf("s2c = %q; want %q", got, tt.s2c)
			}
			if !dec.ended {
				t.Error("End not passed on")
			}
			if sum := s.Summary(); len(sum) != 2 || sum[1].Str != "hello" {
				t.Errorf("summary = %v", sum)
			}
		})
	}
}
