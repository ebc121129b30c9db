package ladder

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// glyphs are the characters a ladder is drawn with.
type glyphs struct {
	life, heavy                       rune // a lifeline; one stalled (receiver of a HOL stall)
	shaft, dotted, bulk               rune // arrow shafts: an event, a finding or retransmission, a folded run
	right, left, reset                rune // arrow heads; a reset's head
	note                              rune // bullet before a note
	top, mid, bottom, join, one, hook rune // phase brackets
	ellipsis                          string
}

var (
	unicodeGlyphs = glyphs{
		life: '│', heavy: '┃',
		shaft: '─', dotted: '┄', bulk: '═',
		right: '▶', left: '◀', reset: '✕',
		note: '•',
		top:  '┬', mid: '│', bottom: '┴', join: '┼', one: '╪', hook: '╴',
		ellipsis: "…",
	}
	asciiGlyphs = glyphs{
		life: '|', heavy: '#',
		shaft: '-', dotted: '.', bulk: '=',
		right: '>', left: '<', reset: 'x',
		note: '*',
		top:  '+', mid: '|', bottom: '+', join: '+', one: '+', hook: '-',
		ellipsis: "~",
	}
)

// asciiText replaces the non-ASCII characters wiretrace's own labels use
// by ASCII look-alikes, and any other by '?', for Options.ASCII.
var asciiText = strings.NewReplacer(
	"→", "->", "←", "<-", "·", "-", "×", "x", "µ", "u", "…", "...", "–", "-", "—", "-",
	"▶", ">", "◀", "<", "≈", "~", "⧗", "!!",
)

func toASCII(s string) string {
	s = asciiText.Replace(s)
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return strings.Map(func(r rune) rune {
				if r >= utf8.RuneSelf {
					return '?'
				}
				return r
			}, s)
		}
	}
	return s
}

// runeWidth is the number of terminal columns r takes: 0 for combining
// and format characters, 2 for East Asian wide and fullwidth ones.
func runeWidth(r rune) int {
	switch {
	case r < 0x300:
		return 1
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// textWidth is the number of terminal columns s takes.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// cell is one terminal column: a rune (0 for the second column of a wide
// rune) and the colour class it is drawn in.
type cell struct {
	r     rune
	class string
}

// canvas is one output line being drawn.
type canvas struct {
	cells []cell
	g     *glyphs
}

func newCanvas(width int, g *glyphs) *canvas {
	c := &canvas{cells: make([]cell, width), g: g}
	for i := range c.cells {
		c.cells[i].r = ' '
	}
	return c
}

// set draws r at column x, if it is on the canvas.
func (c *canvas) set(x int, r rune, class string) {
	if x >= 0 && x < len(c.cells) {
		c.cells[x] = cell{r: r, class: class}
	}
}

// fill draws r from column x to x+n-1.
func (c *canvas) fill(x, n int, r rune, class string) {
	for i := range n {
		c.set(x+i, r, class)
	}
}

// text draws s from column x in at most max columns, cut with the
// ellipsis when it is longer, and returns the columns used. Zero-width
// characters are dropped: every cell holds one character.
func (c *canvas) text(x int, s string, max int, class string) int {
	if max <= 0 {
		return 0
	}
	w := textWidth(s)
	ell := ""
	if w > max {
		ell = c.g.ellipsis
		max -= textWidth(ell)
	}
	used := 0
	for _, r := range s {
		rw := runeWidth(r)
		if rw == 0 {
			continue
		}
		if used+rw > max {
			break
		}
		c.set(x+used, r, class)
		if rw == 2 {
			c.set(x+used+1, 0, class)
		}
		used += rw
	}
	for _, r := range ell {
		c.set(x+used, r, class)
		used++
	}
	return used
}

// appendTo appends the line, trailing blanks trimmed, with ANSI colours
// when color is set.
func (c *canvas) appendTo(b []byte, color bool) []byte {
	end := len(c.cells)
	for end > 0 && c.cells[end-1].r == ' ' {
		end--
	}
	cur := ""
	for _, cl := range c.cells[:end] {
		if color && cl.class != cur && cl.r != ' ' {
			if cur != "" {
				b = append(b, "\x1b[0m"...)
			}
			if sgr := palette[cl.class]; sgr != "" {
				b = append(b, "\x1b["+sgr+"m"...)
			}
			cur = cl.class
		}
		if cl.r != 0 {
			b = utf8.AppendRune(b, cl.r)
		}
	}
	if color && cur != "" {
		b = append(b, "\x1b[0m"...)
	}
	return append(b, '\n')
}

// palette maps colour classes to ANSI SGR parameters.
var palette = map[string]string{
	"tcp": "36", "udp": "36", "tls": "35", "quic": "34",
	"http1": "32", "http2": "32", "http3": "32", "ws": "33",
	classNote: "2", classTime: "2", classPhase: "36;1", classWarn: "33", classError: "31;1",
	classTitle: "1", classLife: "2", classStall: "33;1",
}

// Colour classes besides layer names.
const (
	classNote  = "note"
	classTime  = "time"
	classPhase = "phase"
	classWarn  = "warn"
	classError = "error"
	classTitle = "title"
	classLife  = "life"
	classStall = "stall"
)
