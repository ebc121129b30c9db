package vtt_test

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/render/layout/layouttest"
	"github.com/wiretrace/wiretrace/render/vtt"
)

// TestChromiumTracks loads captions and chapters as <track>s of a <video>
// in headless Chromium, the way a browser plays a recording with them:
// every cue must load, with the times and the text (as the player shows
// it) that we wrote. It is skipped unless Chromium is installed.
func TestChromiumTracks(t *testing.T) {
	layouttest.Chromium(t)
	type pair struct{ name, caps, chapters string }
	var pairs []pair
	for _, name := range captures {
		c, ch := render(t, name, vtt.Options{PhaseChapters: true})
		pairs = append(pairs, pair{name, string(c), string(ch)})
	}
	for _, c := range []layouttest.Case{layouttest.HostileWire(), layouttest.Hostile()} {
		caps, ch := renderCase(t, c, vtt.Options{PhaseChapters: true})
		pairs = append(pairs, pair{c.Name, string(caps), string(ch)})
	}

	tmp := t.TempDir()
	var page strings.Builder
	page.WriteString(`<!doctype html><html><head><meta charset="utf-8"></head><body>` + "\n")
	var ids []string
	for i, p := range pairs {
		for k, text := range []string{p.caps, p.chapters} {
			id := "t" + string(rune('a'+k)) + strings.Repeat("x", i)
			kind := []string{"subtitles", "chapters"}[k]
			if err := os.WriteFile(filepath.Join(tmp, id+".vtt"), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			page.WriteString(`<video><track id="` + id + `" kind="` + kind + `" src="` + id + `.vtt"></video>` + "\n")
			ids = append(ids, id)
		}
	}
	page.WriteString(`<pre id="out">pending</pre><script>
const res = {}; let left = 0;
for (const t of document.querySelectorAll('track')) {
  left++;
  t.track.mode = 'hidden';
  t.addEventListener('load', () => {
    res[t.id] = [...t.track.cues].map((c) => [c.startTime, c.endTime, c.getCueAsHTML().textContent]);
    if (--left === 0) document.getElementById('out').textContent = JSON.stringify(res);
  });
  t.addEventListener('error', () => { res[t.id] = 'error'; if (--left === 0) document.getElementById('out').textContent = JSON.stringify(res); });
}
</script></body></html>`)
	pagePath := filepath.Join(tmp, "page.html")
	if err := os.WriteFile(pagePath, []byte(page.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := layouttest.DumpDOM(t, pagePath, 10*time.Second)
	_, body, _ := strings.Cut(out, `<pre id="out">`)
	body, _, _ = strings.Cut(body, "</pre>")
	var res map[string]json.RawMessage
	if err := json.Unmarshal([]byte(html.UnescapeString(body)), &res); err != nil {
		t.Fatalf("tracks did not load: %v: %.200s", err, body)
	}
	unescape := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	for i, id := range ids {
		p := pairs[i/2]
		text := []string{p.caps, p.chapters}[i%2]
		var cues [][3]any
		if err := json.Unmarshal(res[id], &cues); err != nil {
			t.Errorf("%s track %d: %s", p.name, i%2, res[id])
			continue
		}
		var want [][3]any
		for _, block := range strings.Split(strings.TrimSuffix(text, "\n"), "\n\n")[1:] {
			if strings.HasPrefix(block, "NOTE") {
				continue
			}
			line, txt, _ := strings.Cut(block, "\n")
			m := timing.FindStringSubmatch(line)
			want = append(want, [3]any{float64(cueTime(m, 1)) / 1000, float64(cueTime(m, 5)) / 1000, unescape.Replace(txt)})
		}
		if len(cues) != len(want) {
			t.Errorf("%s track %d: Chromium loaded %d cues; we wrote %d", p.name, i%2, len(cues), len(want))
			continue
		}
		for k := range cues {
			if cues[k] != want[k] {
				t.Errorf("%s track %d cue %d: Chromium read %v; want %v", p.name, i%2, k+1, cues[k], want[k])
			}
		}
	}
}
