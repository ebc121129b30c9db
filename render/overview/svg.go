package overview

import (
	"bufio"
	"cmp"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The layout is layered, left to right, as the connections run: hosts that
// only opened connections (clients) in the first column, proxies in the
// middle, hosts that served connections in the last. Within a column hosts
// are ordered by the mean position of the hosts they talk to (one
// barycentre pass, which removes most crossings of a client–server
// graph), ties by address. Edges are cubic curves from the client's right
// side to the server's left side, labelled at their middle.

// Geometry, in SVG user units (pixels).
const (
	svgPad      = 24.0
	lineHeight  = 15.0
	charWidth   = 6.6 // an average 11 px sans-serif glyph
	nodePadX    = 12.0
	nodePadY    = 8.0
	nodeGap     = 22.0
	columnGap   = 300.0
	captionLine = 18.0
	labelPad    = 3.0
)

// node is a drawn host and its box.
type node struct {
	h           *host
	col         int
	lines       []string
	x, y, w, ht float64
}

// svgEdge is a drawn edge: a connection aggregate or a proxy link.
type svgEdge struct {
	from, to *node
	lines    []string
	width    float64
	class    string // "edge", "edge failed", "link"
	tip      string
}

// writeSVG lays out the drawn edges and links and writes the SVG.
func (o *Writer) writeSVG(w io.Writer, keys []edgeKey, links []linkKey, addrs []netip.Addr, caption string) error {
	nodes := map[netip.Addr]*node{}
	for _, a := range addrs {
		h := o.hosts[a]
		n := &node{h: h, lines: strings.Split(h.label(), "\n")}
		switch {
		case h.proxy():
			n.col = 1
		case len(h.ports) > 0:
			n.col = 2
		}
		nodes[a] = n
	}
	var edges []svgEdge
	for _, k := range keys {
		e := o.edges[k]
		cls := "edge"
		if e.resets > 0 || e.fails > 0 {
			cls = "edge failed"
		}
		lines := strings.Split(e.label(k), "\n")
		edges = append(edges, svgEdge{from: nodes[k.client], to: nodes[k.server], lines: lines,
			width: strokeWidth(e.conns), class: cls, tip: k.client.String() + " → " + k.server.String() + " " + strings.Join(lines, " · ")})
	}
	for _, l := range links {
		if l.front == l.back {
			continue // the same address: the proxy's node says it all
		}
		lbl := "proxy link"
		if l.mode != "" {
			lbl += " (" + l.mode + ")"
		}
		lines := []string{lbl, plural(o.links[l], "link")}
		edges = append(edges, svgEdge{from: nodes[l.front], to: nodes[l.back], lines: lines, width: 1.2, class: "link",
			tip: l.front.String() + " – " + l.back.String() + " " + strings.Join(lines, " · ")})
	}

	// Columns: drop the empty ones, order each by barycentre.
	var cols [3][]*node
	for _, a := range addrs {
		n := nodes[a]
		cols[n.col] = append(cols[n.col], n)
	}
	var used [][]*node
	for _, c := range cols {
		if len(c) > 0 {
			used = append(used, c)
		}
	}
	pos := map[*node]float64{}
	for i, n := range firstOr(used) {
		pos[n] = float64(i)
	}
	for ci := 1; ci < len(used); ci++ {
		bary := map[*node]float64{}
		for _, n := range used[ci] {
			sum, cnt := 0.0, 0
			for _, e := range edges {
				var other *node
				switch n {
				case e.to:
					other = e.from
				case e.from:
					other = e.to
				}
				if p, ok := pos[other]; ok && other != nil {
					sum += p
					cnt++
				}
			}
			bary[n] = math.Inf(1)
			if cnt > 0 {
				bary[n] = sum / float64(cnt)
			}
		}
		slices.SortStableFunc(used[ci], func(a, b *node) int {
			if c := cmp.Compare(bary[a], bary[b]); c != 0 {
				return c
			}
			return a.h.addr.Compare(b.h.addr)
		})
		for i, n := range used[ci] {
			pos[n] = float64(i)
		}
	}

	// Edges between the same two hosts (other ports, other protocols)
	// bulge apart so that their labels stack instead of overlapping: each
	// gets a vertical offset at its middle.
	seen := map[[2]*node]int{}
	count := map[[2]*node]int{}
	stack := map[[2]*node]float64{}
	labelH := func(e *svgEdge) float64 { return float64(len(e.lines))*13 + 2*labelPad + 6 }
	for i := range edges {
		pair := [2]*node{edges[i].from, edges[i].to}
		count[pair]++
		stack[pair] += labelH(&edges[i])
	}
	// Room above and below for the bulges.
	bulge := 0.0
	for _, h := range stack {
		bulge = math.Max(bulge, h/2)
	}

	// Sizes and positions.
	caps := strings.Split(caption, "\n")
	top := svgPad + float64(len(caps))*captionLine + 16 + bulge
	x := svgPad
	height := 0.0
	colH := make([]float64, len(used))
	for ci, c := range used {
		colW := 0.0
		for _, n := range c {
			for _, l := range n.lines {
				colW = math.Max(colW, textW(l))
			}
			n.ht = float64(len(n.lines))*lineHeight + 2*nodePadY
			colH[ci] += n.ht + nodeGap
		}
		colW += 2 * nodePadX
		for _, n := range c {
			n.x, n.w = x, colW
		}
		x += colW + columnGap
		height = math.Max(height, colH[ci])
	}
	for ci, c := range used {
		y := top + (height-colH[ci])/2
		for _, n := range c {
			n.y = y
			y += n.ht + nodeGap
		}
	}
	width := x - columnGap + svgPad
	for _, l := range caps {
		width = math.Max(width, svgPad*2+textW(l)*1.15)
	}
	// Labels may stick out past the last column's edge: leave room.
	totalH := top + height + bulge + svgPad

	// The body first: the labels' placement decides the height.
	var body strings.Builder
	p := func(s ...string) {
		for _, x := range s {
			body.WriteString(x)
		}
	}
	p("<title>", esc(caps[0]), "</title>\n")
	p(`<style>
.node rect{fill:#f4f6fa;stroke:#5b6b80;stroke-width:1}
.node.client rect{fill:#ffffff}
.node.proxy rect{fill:#ffe08a;stroke:#b26b00;stroke-width:2}
.node text{font-size:11px;fill:#263238}
.node text.addr{font-weight:bold}
.edge path{fill:none;stroke:#5b6b80}
.edge.failed path{stroke:#c0392b}
.link path{fill:none;stroke:#b26b00;stroke-dasharray:6 4}
.lbl rect{fill:#ffffff;fill-opacity:0.85}
.lbl text{font-size:10px;fill:#263238}
.lbl.link text{fill:#b26b00}
.caption{font-size:13px;fill:#263238}
</style>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5b6b80"/></marker>
<marker id="arrow-failed" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>
`)
	p(`<rect width="100%" height="100%" fill="#ffffff"/>`, "\n")
	for i, l := range caps {
		p(`<text class="caption" x="`, num(svgPad), `" y="`, num(svgPad+float64(i)*captionLine+12), `">`, esc(l), "</text>\n")
	}
	// Edges first, labels over them, nodes on top. Several edges between
	// the same pair spread apart.
	type label struct {
		lines      []string
		x, y, w, h float64 // the box
	}
	labels := make([]label, len(edges))
	used2 := map[[2]*node]float64{}
	for ei, e := range edges {
		pair := [2]*node{e.from, e.to}
		i, n := seen[pair], count[pair]
		seen[pair]++
		off := 0.0
		if n > 1 {
			off = -stack[pair]/2 + used2[pair] + labelH(&edges[ei])/2
			used2[pair] += labelH(&edges[ei])
		}
		spread := func(nd *node) float64 {
			if n == 1 {
				return nd.y + nd.ht/2
			}
			return nd.y + nd.ht*(float64(i)+1)/float64(n+1)
		}
		var d string
		var mx, my float64
		if e.from.col == e.to.col {
			// Within a column (a proxy's two addresses): straight down
			// or up between the boxes, the label beside it.
			a, b := e.from, e.to
			if b.y < a.y {
				a, b = b, a
			}
			cx := a.x + a.w/2
			d = "M" + num(cx) + "," + num(a.y+a.ht) + " L" + num(cx) + "," + num(b.y)
			mx, my = cx, (a.y+a.ht+b.y)/2
		} else {
			x1, y1 := e.from.x+e.from.w, spread(e.from)
			x2, y2 := e.to.x, spread(e.to)
			if e.to.x < e.from.x { // backwards: leave and arrive on the sides facing each other
				x1, x2 = e.from.x, e.to.x+e.to.w
			}
			dx := math.Max(40, math.Abs(x2-x1)/2)
			c1, c2 := x1+dx, x2-dx
			if x2 < x1 {
				c1, c2 = x1-dx, x2+dx
			}
			// Control points shifted by off/0.75 put the curve's middle
			// off below the straight line's.
			cy1, cy2 := y1+off/0.75, y2+off/0.75
			d = "M" + num(x1) + "," + num(y1) + " C" + num(c1) + "," + num(cy1) + " " + num(c2) + "," + num(cy2) + " " + num(x2) + "," + num(y2)
			// The label at the curve's middle; on an edge that passes the
			// proxies' column, in the gap before it instead.
			t := 0.5
			if abs(e.to.col-e.from.col) == 2 && len(cols[1]) > 0 {
				t = 0.22
			}
			mx = bezier(t, x1, c1, c2, x2)
			my = bezier(t, y1, cy1, cy2, y2)
		}
		marker := "arrow"
		if e.class == "edge failed" {
			marker = "arrow-failed"
		}
		p(`<g class="`, e.class, `"><title>`, esc(e.tip), "</title>\n")
		p(`<path d="`, d, `" stroke-width="`, num(e.width), `"`)
		if e.class != "link" {
			p(` marker-end="url(#`, marker, `)"`)
		}
		p("/></g>\n")
		lw := 0.0
		for _, l := range e.lines {
			lw = math.Max(lw, textW(l)*0.92)
		}
		lh := float64(len(e.lines)) * 13
		labels[ei] = label{lines: e.lines, x: mx - lw/2 - labelPad, y: my - lh/2 - labelPad, w: lw + 2*labelPad, h: lh + 2*labelPad}
		if e.from.col == e.to.col {
			labels[ei].x = mx + 8
		}
	}
	// Labels must not cover each other or a host: each moves down past
	// whatever it overlaps, in order from the top.
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(labels[a].y, labels[b].y) })
	overlaps := func(l label, x, y, w, h float64) bool {
		return l.x < x+w && x < l.x+l.w && l.y < y+h && y < l.y+l.h
	}
	var placed []int
	for _, i := range order {
		l := &labels[i]
		for moved := true; moved; {
			moved = false
			for _, j := range placed {
				o := labels[j]
				if overlaps(*l, o.x, o.y, o.w, o.h) {
					l.y, moved = o.y+o.h+2, true
				}
			}
			for _, a := range addrs {
				n := nodes[a]
				if overlaps(*l, n.x, n.y, n.w, n.ht) {
					l.y, moved = n.y+n.ht+2, true
				}
			}
		}
		placed = append(placed, i)
		totalH = math.Max(totalH, l.y+l.h+svgPad)
	}
	for i, l := range labels {
		cls := "lbl"
		if edges[i].class == "link" {
			cls = "lbl link"
		}
		p(`<g class="`, cls, `"><rect x="`, num(l.x), `" y="`, num(l.y), `" width="`, num(l.w), `" height="`, num(l.h), `" rx="3"/>`, "\n")
		cx := l.x + l.w/2
		for j, t := range l.lines {
			p(`<text x="`, num(cx), `" y="`, num(l.y+labelPad+float64(j)*13+10), `" text-anchor="middle">`, esc(t), "</text>\n")
		}
		p("</g>\n")
	}
	for _, a := range addrs {
		n := nodes[a]
		cls := "node server"
		switch {
		case n.h.proxy():
			cls = "node proxy"
		case len(n.h.ports) == 0:
			cls = "node client"
		}
		p(`<g class="`, cls, `"><title>`, esc(strings.Join(n.lines, " · ")), "</title>\n")
		p(`<rect x="`, num(n.x), `" y="`, num(n.y), `" width="`, num(n.w), `" height="`, num(n.ht), `" rx="6"/>`, "\n")
		for j, l := range n.lines {
			attr := ""
			if l == a.String() {
				attr = ` class="addr"`
			}
			p(`<text`, attr, ` x="`, num(n.x+n.w/2), `" y="`, num(n.y+nodePadY+float64(j)*lineHeight+11), `" text-anchor="middle">`, esc(l), "</text>\n")
		}
		p("</g>\n")
	}
	p("</svg>\n")
	bw := bufio.NewWriter(w)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<svg xmlns="http://www.w3.org/2000/svg" width="` + num(width) + `" height="` + num(totalH) +
		`" viewBox="0 0 ` + num(width) + " " + num(totalH) + `" font-family="Helvetica, Arial, sans-serif">` + "\n")
	bw.WriteString(body.String())
	return bw.Flush()
}

// bezier is one coordinate of a cubic Bézier curve at t.
func bezier(t, p0, p1, p2, p3 float64) float64 {
	u := 1 - t
	return u*u*u*p0 + 3*u*u*t*p1 + 3*u*t*t*p2 + t*t*t*p3
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// firstOr returns the first column, or none.
func firstOr(cols [][]*node) []*node {
	if len(cols) == 0 {
		return nil
	}
	return cols[0]
}

// strokeWidth grows with the logarithm of the connection count.
func strokeWidth(n int64) float64 {
	w := 1.2
	for n >= 10 && w < 4 {
		n /= 10
		w += 0.8
	}
	return w
}

// textW estimates a label's width.
func textW(s string) float64 { return float64(utf8.RuneCountInString(s)) * charWidth }

func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// esc escapes s for XML text and attributes; characters XML cannot hold
// become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&#39;")
		case !xmlChar(r) || r == '\n' || r == '\r' || r == '\t':
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
