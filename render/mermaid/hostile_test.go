package mermaid_test

import (
	"bytes"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/mermaid"
)

// TestHostile renders connections whose wire strings are built to break
// out of a Mermaid text: every line must still be one statement of ours,
// with nothing raw that Mermaid reads as syntax, a directive or markup.
func TestHostile(t *testing.T) {
	for _, c := range []layouttest.Case{layouttest.HostileWire(), layouttest.Hostile()} {
		t.Run(c.Name, func(t *testing.T) {
			d := mermaid.Diagram(c.Conn, c.Events, mermaid.Options{})
			checkDiagram(t, d)
			for _, bad := range []string{"<script", "%%{", "<b>", "$$", "\x1b", "\x00", "\r", "\nclick", "\nend"} {
				if strings.Contains(d, bad) {
					t.Errorf("diagram contains %q", bad)
				}
			}
			if c.Name == "hostile-wire" {
				// The strings are there, as entity codes.
				for _, want := range []string{"SNI #60;script#62;alert(#34;x#34;)#60;/script#62;", "#37;#37;#123;init#58;", "reason end#92;nNote over C,S#58; injected"} {
					if !strings.Contains(d, want) {
						t.Errorf("diagram lacks %q", want)
					}
				}
			}
			if again := mermaid.Diagram(c.Conn, c.Events, mermaid.Options{}); again != d {
				t.Error("two renderings differ")
			}
			var md bytes.Buffer
			w := mermaid.New(&md, mermaid.Options{})
			for i := range c.Events {
				if err := w.Event(&c.Events[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			head, _, _ := strings.Cut(md.String(), "\n")
			if strings.ContainsAny(strings.ReplaceAll(head, `\`, ""), "<>&") && !strings.Contains(head, `\<`) {
				t.Errorf("Markdown heading not escaped: %q", head)
			}
			parseWithMermaid(t, []string{d})
		})
	}
}

// TestMermaidParses runs every golden capture's diagrams through Mermaid's
// own parser: each must parse, and Mermaid must read each message, note,
// participant and title as exactly the text we meant.
func TestMermaidParses(t *testing.T) {
	var all []string
	for _, name := range captures {
		all = append(all, blocks(t, renderCapture(t, name, mermaid.Options{}))...)
	}
	parseWithMermaid(t, all)
}

// parsed is what testdata/parse.mjs reports of one diagram.
type parsed struct {
	Error    string      `json:"error"`
	Type     string      `json:"type"`
	Title    string      `json:"title"`
	Actors   [][2]string `json:"actors"`
	Messages [][4]any    `json:"messages"`
}

// parseWithMermaid parses diagrams with Mermaid (skipped unless node and
// $WIRETRACE_MERMAID_DIR, a directory where `npm install mermaid jsdom`
// ran, are there; required when $WIRETRACE_REQUIRE_MERMAID is set) and compares what Mermaid read with what each line
// says.
func parseWithMermaid(t *testing.T, diagrams []string) {
	t.Helper()
	node, dir, ok := layouttest.NodeModules(t, "WIRETRACE_MERMAID_DIR", "WIRETRACE_REQUIRE_MERMAID", "mermaid")
	if !ok {
		t.Log("Mermaid's parser not run: set WIRETRACE_MERMAID_DIR to a directory with node_modules/mermaid and jsdom, and install node")
		return
	}
	var res []parsed
	layouttest.NodeJSON(t, node, "testdata/parse.mjs", dir, diagrams, &res)
	if len(res) != len(diagrams) {
		t.Fatalf("parse.mjs returned %d results for %d diagrams", len(res), len(diagrams))
	}
	for i, d := range diagrams {
		r := res[i]
		if r.Error != "" {
			t.Errorf("diagram %d does not parse: %s\n%s", i, r.Error, d)
			continue
		}
		if r.Type != "sequence" {
			t.Errorf("diagram %d: type %q", i, r.Type)
		}
		var want []string
		var title string
		var actors []string
		for _, l := range strings.Split(strings.TrimSuffix(d, "\n"), "\n")[1:] {
			l = strings.TrimPrefix(l, "    ")
			switch {
			case strings.HasPrefix(l, "title "):
				title = ours(strings.TrimPrefix(l, "title "))
			case strings.HasPrefix(l, "participant "):
				_, desc, _ := strings.Cut(l, " as ")
				actors = append(actors, ours(desc))
			default:
				_, text, _ := strings.Cut(l, ": ")
				want = append(want, ours(text))
			}
		}
		if got := theirs(r.Title); got != title {
			t.Errorf("diagram %d: Mermaid read the title as %q; want %q", i, got, title)
		}
		if len(r.Actors) != 2 {
			t.Errorf("diagram %d: %d participants; want 2", i, len(r.Actors))
		}
		for k := 0; k < len(r.Actors) && k < len(actors); k++ {
			if got := theirs(r.Actors[k][1]); got != actors[k] {
				t.Errorf("diagram %d: participant %s read as %q; want %q", i, r.Actors[k][0], got, actors[k])
			}
		}
		if len(r.Messages) != len(want) {
			t.Errorf("diagram %d: Mermaid read %d messages and notes; we wrote %d", i, len(r.Messages), len(want))
			continue
		}
		for k, m := range r.Messages {
			text, _ := m[3].(string)
			if got := theirs(text); got != want[k] {
				t.Errorf("diagram %d, statement %d: Mermaid read %q; want %q", i, k+1, got, want[k])
			}
		}
	}
}

var entity = regexp.MustCompile(`#([0-9]+);`)

// ours is the text a statement of ours means: its entity codes decoded.
func ours(s string) string {
	s = entity.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(m[1 : len(m)-1])
		return string(rune(n))
	})
	return strings.TrimSpace(s)
}

// theirs is the text Mermaid holds for a statement: Mermaid keeps entity
// codes as placeholders that become HTML character references.
func theirs(s string) string {
	s = strings.NewReplacer("ﬂ°°", "&#", "ﬂ°", "&", "¶ß", ";").Replace(s)
	return strings.TrimSpace(html.UnescapeString(s))
}
