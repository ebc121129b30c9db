package vtt

import (
	"bufio"
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/render/layout"
)

// chapter is one cue of the chapters file.
type chapter struct {
	start, end time.Duration
	title      string
	depth      int
}

// writeChapters writes the WebVTT chapters file: a chapter per connection,
// connections that overlap in time sharing one (WebVTT chapters may nest
// but not overlap), and with PhaseChapters the phases of a connection
// that has its chapter to itself nested in it.
func (w *Writer) writeChapters(origin time.Time) error {
	conns := slices.Clone(w.order)
	slices.SortStableFunc(conns, func(a, b *connState) int {
		return cmp.Or(a.conn.FirstTS.Compare(b.conn.FirstTS), cmp.Compare(a.conn.ID, b.conn.ID))
	})
	var chapters []chapter
	for i := 0; i < len(conns); {
		end := conns[i].last
		j := i + 1
		for j < len(conns) && conns[j].conn.FirstTS.Before(end) {
			if conns[j].last.After(end) {
				end = conns[j].last
			}
			j++
		}
		group := conns[i:j]
		i = j
		s, e := clip(group[0].conn.FirstTS.Sub(origin), end.Sub(origin))
		if e <= 0 {
			continue
		}
		chapters = append(chapters, chapter{start: s, end: e, title: groupTitle(group)})
		if !w.opts.PhaseChapters || len(group) != 1 {
			continue
		}
		prev := s
		for _, p := range group[0].phases {
			// Phases follow each other; rounded to milliseconds they
			// could overlap, so each starts where the one before ended,
			// and one that is then empty has no chapter.
			ps, pe := clip(p.start.Sub(origin), p.end.Sub(origin))
			ps, pe = max(ps, prev), min(pe, e)
			if pe > ps {
				prev = pe
				chapters = append(chapters, chapter{start: ps, end: pe, depth: 1,
					title: "#" + strconv.Itoa(group[0].conn.ID) + " " + p.label})
			}
		}
	}
	slices.SortStableFunc(chapters, func(a, b chapter) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.depth, b.depth))
	})
	bw := bufio.NewWriter(w.opts.Chapters)
	bw.WriteString("WEBVTT\n")
	for _, c := range chapters {
		bw.WriteString("\n" + stamp(c.start) + " --> " + stamp(c.end) + "\n" + escape(layout.Cut(c.title, maxCaption)) + "\n")
	}
	return bw.Flush()
}

// clip rounds a chapter's times to milliseconds, starts it at 0 at the
// earliest and makes it at least a millisecond long.
func clip(start, end time.Duration) (time.Duration, time.Duration) {
	start, end = max(0, start.Truncate(time.Millisecond)), end.Truncate(time.Millisecond)
	if end <= start {
		end = start + time.Millisecond
	}
	return start, end
}

// connTitle names a connection in a chapter: "#1 TCP+TLS1.3 server.test ·
// tls/http2 · 3 requests".
func connTitle(c *connState) string {
	s := "#" + strconv.Itoa(c.conn.ID) + " "
	if c.summary == nil {
		return s + strings.ToUpper(c.conn.Transport.String()) + " " + layout.Clean(c.conn.Server.String(), 64)
	}
	f := func(k string) string { return layout.Field(c.summary, k) }
	s += f("handshake") + " " + name(c)
	if p := f("protocol"); p != "" {
		s += " · " + p
	}
	if r, ok := c.summary.Info.Get("requests"); ok && r.Int > 0 {
		s += " · " + strconv.FormatInt(r.Int, 10) + " request"
		if r.Int > 1 {
			s += "s"
		}
	}
	return s
}

// name is the server's name when the ClientHello gave one, else its
// address.
func name(c *connState) string {
	if c.summary != nil {
		if v := layout.Field(c.summary, "sni"); v != "" {
			return v
		}
	}
	return layout.Clean(c.conn.Server.String(), 64)
}

// groupTitle names the chapter of connections that overlap in time.
func groupTitle(group []*connState) string {
	if len(group) == 1 {
		return connTitle(group[0])
	}
	ids := make([]string, 0, 4)
	for i, c := range group {
		if i == 3 {
			ids = append(ids, "…")
			break
		}
		ids = append(ids, "#"+strconv.Itoa(c.conn.ID))
	}
	var names []string
	for _, c := range group {
		if n := name(c); !slices.Contains(names, n) {
			if len(names) == 3 {
				names = append(names, "…")
				break
			}
			names = append(names, n)
		}
	}
	return strconv.Itoa(len(group)) + " connections (" + strings.Join(ids, ", ") + "): " + strings.Join(names, ", ")
}
