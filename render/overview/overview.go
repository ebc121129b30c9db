package overview

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/timeline"
)

// Defaults for Options.
const (
	// DefaultMaxEdges bounds the edges tracked in memory (with their
	// hosts about 500 bytes each: 10 MB at most).
	DefaultMaxEdges = 20_000
	// DefaultMaxDrawn bounds the edges drawn: past a few hundred a graph
	// is no longer an overview, and Graphviz's layout time grows fast.
	DefaultMaxDrawn = 150
)

// Bounds of what one node or edge keeps.
const (
	maxPorts   = 12 // ports listed per host
	maxNames   = 4  // server names listed per host
	maxName    = 64 // bytes of one server name or protocol, before "…"
	maxRecent  = 4096
	maxPending = 4096
)

// Options configure a Writer.
type Options struct {
	// Title is the graph's caption, typically the input's name (cleaned
	// and escaped like any other string).
	Title string
	// MaxEdges bounds the edges tracked (DefaultMaxEdges if ≤ 0).
	MaxEdges int
	// MaxDrawn bounds the edges drawn (DefaultMaxDrawn if ≤ 0).
	MaxDrawn int
}

// Writer is a timeline.Sink that aggregates a capture's connections and
// writes the overview graph as SVG on Close. It is not safe for concurrent
// use.
type Writer struct {
	w     io.Writer
	opts  Options
	hosts map[netip.Addr]*host
	edges map[edgeKey]*edge
	links map[linkKey]int64
	// Connections beyond MaxEdges: only counted.
	otherConns, otherBytes int64
	// recent maps the last connections' IDs to their client address,
	// for proxy-link events that name a back connection already ended;
	// pending holds back connections named before their summary.
	recent    map[int]netip.Addr
	recentIDs []int
	pending   map[int]linkKey // back conn → the link, its back address unknown
	conns     int64
	closed    bool
}

type host struct {
	addr      netip.Addr
	ports     []uint16 // served, sorted
	morePorts bool     // more than maxPorts
	names     []string // SNIs asked of it, sorted
	moreNames bool
	// The first two other hosts it served and opened connections to:
	// enough to tell whether it sits between two different hosts.
	servedFrom, openedTo peers
	linked               bool // named by a proxy-link event
}

type edgeKey struct {
	client, server netip.Addr
	port           uint16
	proto          string
}

type edge struct {
	conns         int64
	c2s, s2c      int64
	resets, fails int64
}

type linkKey struct {
	front, back netip.Addr
	mode        string
}

// New returns a Writer that writes the SVG to w on Close.
func New(w io.Writer, opts Options) *Writer {
	if opts.MaxEdges <= 0 {
		opts.MaxEdges = DefaultMaxEdges
	}
	if opts.MaxDrawn <= 0 {
		opts.MaxDrawn = DefaultMaxDrawn
	}
	return &Writer{
		w: w, opts: opts,
		hosts: map[netip.Addr]*host{}, edges: map[edgeKey]*edge{}, links: map[linkKey]int64{},
		recent: map[int]netip.Addr{}, pending: map[int]linkKey{},
	}
}

// Event takes a connection's summary and proxy-link events; it ignores
// the others.
func (o *Writer) Event(ev *timeline.Event) error {
	if ev.Conn == nil {
		return nil
	}
	switch {
	case ev.Layer == decode.LayerConn && ev.Type == decode.TypeSummary:
		o.summary(ev)
	case ev.Layer == decode.LayerAnalysis && ev.Type == "proxy-link":
		o.proxyLink(ev)
	}
	return nil
}

// Flush does nothing: the graph is written whole on Close.
func (o *Writer) Flush() error { return nil }

// Close lays out the graph and writes it as SVG. Later calls do nothing.
func (o *Writer) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	keys, links, addrs, caption := o.scene()
	if err := o.writeSVG(o.w, keys, links, addrs, caption); err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	return nil
}

func (o *Writer) host(a netip.Addr) *host {
	h := o.hosts[a]
	if h == nil {
		h = &host{addr: a}
		o.hosts[a] = h
	}
	return h
}

func (o *Writer) summary(ev *timeline.Event) {
	c := ev.Conn
	o.conns++
	ca, sa := c.Client.Addr().Unmap(), c.Server.Addr().Unmap()
	o.remember(c.ID, ca)
	if l, ok := o.pending[c.ID]; ok {
		delete(o.pending, c.ID)
		o.link(l.front, ca, l.mode)
	}
	proto := c.Transport.String()
	if p := layout.Field(&ev.Event, "protocol"); p != "" {
		proto += "/" + p
	}
	proto = layout.Cut(proto, maxName)
	var c2s, s2c int64
	if f, ok := ev.Info.Get("bytes_c2s"); ok {
		c2s = f.Int
	}
	if f, ok := ev.Info.Get("bytes_s2c"); ok {
		s2c = f.Int
	}
	k := edgeKey{client: ca, server: sa, port: c.Server.Port(), proto: proto}
	e := o.edges[k]
	if e == nil {
		if len(o.edges) >= o.opts.MaxEdges {
			o.otherConns++
			o.otherBytes += c2s + s2c
			return
		}
		e = &edge{}
		o.edges[k] = e
	}
	e.conns++
	e.c2s += c2s
	e.s2c += s2c
	if v := layout.Field(&ev.Event, "close"); v == "rst" {
		e.resets++
	}
	if _, ok := ev.Info.Get("rtt_ms"); !ok && c.Transport == timeline.TCP && !c.Midstream {
		e.fails++ // no handshake completed: refused or unanswered
	}
	ch, sh := o.host(ca), o.host(sa)
	sh.addPort(c.Server.Port())
	if sni := layout.Field(&ev.Event, "sni"); sni != "" {
		sh.addName(layout.Cut(sni, maxName))
	}
	if ca != sa {
		sh.servedFrom.add(ca)
		ch.openedTo.add(sa)
	}
}

// remember keeps c's client address among the last maxRecent connections.
func (o *Writer) remember(id int, a netip.Addr) {
	if len(o.recentIDs) >= maxRecent {
		delete(o.recent, o.recentIDs[0])
		o.recentIDs = o.recentIDs[1:]
	}
	o.recent[id] = a
	o.recentIDs = append(o.recentIDs, id)
}

func (o *Writer) proxyLink(ev *timeline.Event) {
	front := ev.Conn.Server.Addr().Unmap()
	o.host(front).linked = true
	mode := layout.Field(&ev.Event, "mode")
	f, ok := ev.Info.Get("back")
	if !ok {
		return
	}
	back := int(f.Int)
	if a, ok := o.recent[back]; ok {
		o.link(front, a, mode)
		return
	}
	if len(o.pending) < maxPending {
		o.pending[back] = linkKey{front: front, mode: mode}
	}
}

// link marks the back address of a proxy and joins it to the front one.
func (o *Writer) link(front, back netip.Addr, mode string) {
	o.host(back).linked = true
	if front != back {
		o.links[linkKey{front: front, back: back, mode: layout.Cut(mode, maxName)}]++
	}
}

func (h *host) addPort(p uint16) { h.ports = addSorted(h.ports, p, maxPorts, &h.morePorts) }

func (h *host) addName(s string) { h.names = addSorted(h.names, s, maxNames, &h.moreNames) }

// addSorted inserts v into the sorted set list unless it holds max
// values already; then it sets *more.
func addSorted[T cmp.Ordered](list []T, v T, max int, more *bool) []T {
	i, found := slices.BinarySearch(list, v)
	switch {
	case found:
	case len(list) < max:
		list = slices.Insert(list, i, v)
	default:
		*more = true
	}
	return list
}

// proxy reports a host named by a proxy-link event, or one that served
// connections from one host and opened connections to another.
func (h *host) proxy() bool {
	if h.linked {
		return true
	}
	for _, a := range h.servedFrom.list() {
		for _, b := range h.openedTo.list() {
			if a != b {
				return true
			}
		}
	}
	return false
}

// peers keeps the first two distinct addresses added.
type peers struct {
	a [2]netip.Addr
	n int
}

func (p *peers) add(a netip.Addr) {
	if p.n < len(p.a) && !slices.Contains(p.a[:p.n], a) {
		p.a[p.n] = a
		p.n++
	}
}

func (p *peers) list() []netip.Addr { return p.a[:p.n] }

// scene picks what is drawn: the busiest edges (at most MaxDrawn), the
// proxy links, their hosts, sorted; and the caption saying what was left
// out. The result depends only on the events seen.
func (o *Writer) scene() (keys []edgeKey, links []linkKey, addrs []netip.Addr, caption string) {
	keys = make([]edgeKey, 0, len(o.edges))
	for k := range o.edges {
		keys = append(keys, k)
	}
	// The busiest edges are drawn; then sorted for a stable output.
	slices.SortFunc(keys, func(a, b edgeKey) int {
		ea, eb := o.edges[a], o.edges[b]
		if c := cmp.Compare(eb.conns, ea.conns); c != 0 {
			return c
		}
		if c := cmp.Compare(eb.c2s+eb.s2c, ea.c2s+ea.s2c); c != 0 {
			return c
		}
		return compareKeys(a, b)
	})
	var hiddenEdges, hiddenConns int64
	if len(keys) > o.opts.MaxDrawn {
		for _, k := range keys[o.opts.MaxDrawn:] {
			hiddenEdges++
			hiddenConns += o.edges[k].conns
		}
		keys = keys[:o.opts.MaxDrawn]
	}
	slices.SortFunc(keys, compareKeys)
	links = make([]linkKey, 0, len(o.links))
	for k := range o.links {
		links = append(links, k)
	}
	slices.SortFunc(links, func(a, b linkKey) int {
		if c := a.front.Compare(b.front); c != 0 {
			return c
		}
		if c := a.back.Compare(b.back); c != 0 {
			return c
		}
		return strings.Compare(a.mode, b.mode)
	})
	drawn := map[netip.Addr]bool{}
	for _, k := range keys {
		drawn[k.client], drawn[k.server] = true, true
	}
	for _, l := range links {
		drawn[l.front], drawn[l.back] = true, true
	}
	addrs = make([]netip.Addr, 0, len(drawn))
	for a := range drawn {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return keys, links, addrs, o.caption(hiddenEdges, hiddenConns)
}

// DOT returns the graph in the DOT language, for tools that want another
// layout (Graphviz's dot draws it well). The result depends only on the
// events seen.
func (o *Writer) DOT() []byte {
	keys, links, addrs, caption := o.scene()
	id := make(map[netip.Addr]string, len(addrs))
	for i, a := range addrs {
		id[a] = "h" + strconv.Itoa(i+1)
	}

	var b bytes.Buffer
	b.WriteString("digraph overview {\n")
	b.WriteString("  graph [rankdir=LR, bgcolor=\"#ffffff\", pad=0.3, nodesep=0.4, ranksep=1.2, " +
		"fontname=\"Helvetica,Arial,sans-serif\", fontsize=13, labelloc=t, labeljust=l, label=")
	b.WriteString(quoteLines(caption+"\n", `\l`))
	b.WriteString("];\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f6fa\", color=\"#5b6b80\", " +
		"fontname=\"Helvetica,Arial,sans-serif\", fontsize=11, margin=\"0.15,0.08\"];\n")
	b.WriteString("  edge [color=\"#5b6b80\", fontname=\"Helvetica,Arial,sans-serif\", fontsize=10, fontcolor=\"#263238\", arrowsize=0.7];\n")
	for _, a := range addrs {
		h := o.hosts[a]
		b.WriteString("  " + id[a] + " [label=" + quote(h.label()))
		if h.proxy() {
			b.WriteString(", fillcolor=\"#ffe08a\", color=\"#b26b00\", penwidth=2, class=\"proxy\"")
		} else if len(h.ports) > 0 {
			b.WriteString(", class=\"server\"")
		} else {
			b.WriteString(", fillcolor=\"#ffffff\", class=\"client\"")
		}
		b.WriteString("];\n")
	}
	for _, k := range keys {
		e := o.edges[k]
		b.WriteString("  " + id[k.client] + " -> " + id[k.server] + " [label=" + quote(e.label(k)))
		b.WriteString(", penwidth=" + penwidth(e.conns))
		if e.resets > 0 || e.fails > 0 {
			b.WriteString(", color=\"#c0392b\"")
		}
		b.WriteString("];\n")
	}
	for _, l := range links {
		lbl := "proxy link"
		if l.mode != "" {
			lbl += " (" + l.mode + ")"
		}
		lbl += "\n" + plural(o.links[l], "link")
		b.WriteString("  " + id[l.front] + " -> " + id[l.back] + " [label=" + quote(lbl) +
			", style=dashed, color=\"#b26b00\", fontcolor=\"#b26b00\", arrowhead=none, constraint=false];\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func compareKeys(a, b edgeKey) int {
	if c := a.client.Compare(b.client); c != 0 {
		return c
	}
	if c := a.server.Compare(b.server); c != 0 {
		return c
	}
	if c := cmp.Compare(a.port, b.port); c != 0 {
		return c
	}
	return strings.Compare(a.proto, b.proto)
}

// caption is the graph's title line and what was left out.
func (o *Writer) caption(hiddenEdges, hiddenConns int64) string {
	s := "wiretrace overview"
	if o.opts.Title != "" {
		s += ": " + layout.Clean(o.opts.Title, 200)
	}
	s += "\n" + plural(o.conns, "connection") + " between " + plural(int64(len(o.hosts)), "host")
	if hiddenEdges > 0 {
		s += "\n" + plural(hiddenEdges, "more edge") + " (" + plural(hiddenConns, "connection") + ") not drawn"
	}
	if o.otherConns > 0 {
		s += "\n" + plural(o.otherConns, "connection") + " (" + layout.Grouped(o.otherBytes) + " B) past the edge limit, counted only"
	}
	return s
}

func (h *host) label() string {
	s := h.addr.String()
	if h.proxy() {
		s = "proxy\n" + s
	}
	if len(h.ports) > 0 {
		ps := make([]string, len(h.ports))
		for i, p := range h.ports {
			ps[i] = strconv.Itoa(int(p))
		}
		word := "port "
		if len(h.ports) > 1 {
			word = "ports "
		}
		s += "\n" + word + strings.Join(ps, ", ")
		if h.morePorts {
			s += " …"
		}
	}
	for _, n := range h.names {
		s += "\n" + n
	}
	if h.moreNames {
		s += "\n… more names"
	}
	return s
}

func (e *edge) label(k edgeKey) string {
	s := ":" + strconv.Itoa(int(k.port)) + " " + k.proto + "\n" + plural(e.conns, "conn") +
		" · " + bytesShort(e.c2s) + " → " + bytesShort(e.s2c) + " ←"
	if e.resets > 0 {
		s += "\n" + plural(e.resets, "reset")
	}
	if e.fails > 0 {
		s += "\n" + strconv.FormatInt(e.fails, 10) + " without handshake"
	}
	return s
}

// penwidth grows with the logarithm of the connection count.
func penwidth(n int64) string {
	w := 1.0
	for n >= 10 && w < 4 {
		n /= 10
		w += 0.75
	}
	return strconv.FormatFloat(w, 'f', 2, 64)
}

// bytesShort formats a byte count for an edge label: "512 B", "22.3 kB".
func bytesShort(n int64) string {
	units := [...]string{"kB", "MB", "GB", "TB"}
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	u := -1
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u]
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return layout.Grouped(n) + " " + word + "s"
}

// quote returns s as a DOT quoted string for a label. Strings in labels
// were cleaned already (no control characters); here '\' and '"' are
// escaped for DOT, '&' becomes "&amp;" so that Graphviz, which reads
// entities in labels, shows it as itself, characters XML cannot hold
// become U+FFFD, and '\n' becomes DOT's centred line break.
func quote(s string) string { return quoteLines(s, `\n`) }

// quoteLines is quote with brk, DOT's escape for a centred (\n) or
// left-justified (\l) line end, for '\n'.
func quoteLines(s, brk string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(brk)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '&':
			b.WriteString("&amp;")
		case !xmlChar(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// xmlChar reports whether XML 1.0 can hold r (its Char production).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0a || r == 0x0d || r >= 0x20 && r <= 0xd7ff ||
		r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}
