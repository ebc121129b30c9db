package svg

import (
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/render/layout"
)

// Font stacks: the platform's UI and monospace fonts, then the fonts of
// common Linux installs, then the generic family.
const (
	sansFonts = `-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, 'DejaVu Sans', sans-serif`
	monoFonts = `ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', 'DejaVu Sans Mono', monospace`
)

// Sizes of the few shapes this package draws itself from a single point
// or box of the Diagram: marker shapes and legend swatches. Layout owns
// every position; these only say how big a symbol is.
const (
	// pointyGrow enlarges diamonds and triangles so that they look as big
	// as a circle of the same half-size.
	pointyGrow = 1
	// headRadius and noteRadius round the corners of head and note boxes.
	headRadius = 4
	noteRadius = 3
	// legendHeadLen and legendHeadHalf size a legend arrow's head;
	// legendLineStop is where its line stops short of the tip.
	legendHeadLen  = 7
	legendHeadHalf = 3.5
	legendLineStop = 6
	// legendMarkerR is the half-size of a legend marker.
	legendMarkerR = 5
	// legendBandGrow makes a band swatch taller than its box, above and
	// below, so that it reads as an area.
	legendBandGrow = 2
	// legendBracketTick and legendBracketGrow shape the bracket swatch.
	legendBracketTick = 4
	legendBracketGrow = 3
)

// colour is a class's stroke/fill colour and the darker colour its text
// uses, so that text keeps a 4.5:1 contrast on white.
type colour struct{ line, text string }

// palette maps classes to colours. Layers use the Okabe–Ito colours
// (distinguishable with the common colour-vision deficiencies) and, past
// those, Paul Tol's; orange is kept for findings and vermillion for
// errors. Unlisted classes are grey.
var palette = []struct {
	class string
	c     colour
}{
	{"tcp", colour{"#0072B2", "#005A8C"}},
	{"udp", colour{"#009E73", "#00704F"}},
	{"tls", colour{"#CC79A7", "#9C4A78"}},
	{"quic", colour{"#56B4E9", "#1F6F9E"}},
	{"http1", colour{"#332288", "#332288"}},
	{"http2", colour{"#882255", "#882255"}},
	{"http3", colour{"#117733", "#117733"}},
	{"ws", colour{"#999933", "#66661F"}},
	{"analysis", colour{"#E69F00", "#8F5F00"}},
	{layout.ClassWarning, colour{"#E69F00", "#8F5F00"}},
	{layout.ClassStall, colour{"#E69F00", "#8F5F00"}},
	{layout.ClassFlowStall, colour{"#9467BD", "#6A3D9A"}},
	{layout.ClassError, colour{"#D55E00", "#A84800"}},
	{layout.ClassPhase, colour{"#24292F", "#24292F"}},
	// HTTP/2 and HTTP/3 streams, layout.StreamColours of them: Paul
	// Tol's muted scheme, without its light sand and cyan (QUIC's), and
	// brown; darkened for text. Rose, the nearest to TLS's pink, comes late.
	{layout.StreamClass(0), colour{"#332288", "#332288"}},
	{layout.StreamClass(1), colour{"#44AA99", "#2A7A6C"}},
	{layout.StreamClass(2), colour{"#999933", "#66661F"}},
	{layout.StreamClass(3), colour{"#117733", "#117733"}},
	{layout.StreamClass(4), colour{"#AA4499", "#863478"}},
	{layout.StreamClass(5), colour{"#8C564B", "#8C564B"}},
	{layout.StreamClass(6), colour{"#CC6677", "#A23F51"}},
	{layout.StreamClass(7), colour{"#882255", "#882255"}},
}

// defaultColour is used for conn, capture and unknown layers.
var defaultColour = colour{"#6E7781", "#57606A"}

// style is the stylesheet: fonts per text class (sizes from layout, so
// that estimated widths hold) and the colours per class.
func style() string {
	px := func(v int) string { return strconv.Itoa(v) + "px" }
	rules := []string{
		`text{font-family:` + sansFonts + `;fill:#24292F}`,
		`.addr,.label,.note,.tick,.frame,.value{font-family:` + monoFonts + `}`,
		`.title{font-size:` + px(layout.FontTitle) + `;font-weight:600}`,
		`.subtitle{font-size:` + px(layout.FontSubtitle) + `;fill:#57606A}`,
		`.role{font-size:` + px(layout.FontRole) + `;font-weight:600}`,
		`.addr{font-size:` + px(layout.FontAddr) + `;fill:#57606A}`,
		`.label{font-size:` + px(layout.FontLabel) + `}`,
		`.note{font-size:` + px(layout.FontNote) + `}`,
		`.tick{font-size:` + px(layout.FontTick) + `;fill:#57606A}`,
		`.frame{font-size:` + px(layout.FontTick) + `;fill:#8C959F}`,
		`.axis-head{font-size:` + px(layout.FontTick) + `;fill:#8C959F;font-weight:600}`,
		`.band{font-size:` + px(layout.FontBand) + `;font-style:italic;fill:#57606A}`,
		`.heading{font-size:` + px(layout.FontHeading) + `;font-weight:600}`,
		`.key{font-size:` + px(layout.FontKey) + `;fill:#6E7781}`,
		`.value{font-size:` + px(layout.FontValue) + `}`,
		`.legend{font-size:` + px(layout.FontLegend) + `;fill:#57606A}`,
		`.head rect{fill:#F6F8FA;stroke:#D0D7DE}`,
		`.lifeline{stroke:#8C959F;stroke-width:1.5;stroke-dasharray:5 4}`,
		`.axis{stroke:#D0D7DE}`,
		`.guide{stroke:#EEF1F4}`,
		`.rule{stroke:#D0D7DE}`,
		`.hit{fill:#000;fill-opacity:0}`,
		`.dash{stroke-dasharray:6 3}`,
		`.ev line,.lg line{stroke-width:1.6}`,
		`.mk{stroke:#FFFFFF;stroke-width:1}`,
		`.mk path{stroke-width:2.4}`,
		`.b-stall{fill:#E69F00;fill-opacity:0.13}`,
		`.b-flow-stall{fill:#9467BD;fill-opacity:0.12}`,
		`.b-bulk{fill:#0072B2;fill-opacity:0.06;stroke:#0072B2;stroke-opacity:0.25;stroke-dasharray:2 3}`,
		`.ev line.bulk{stroke-width:4}`,
		`.b-idle{fill:#F6F8FA;stroke:#D0D7DE;stroke-dasharray:3 3}`,
		`.b-omitted{fill:url(#hatch);stroke:#D0D7DE}`,
		`.box{fill:#FFFFFF;stroke-width:1}`,
		`.br{fill:none;stroke:#24292F;stroke-width:1.2}`,
	}
	add := func(class string, c colour) {
		sel := ".c-" + string(appendName(nil, class))
		rules = append(rules,
			sel+" line,"+sel+" path{stroke:"+c.line+"}",
			sel+" polygon,"+sel+" circle,"+sel+" rect.shape{fill:"+c.line+"}",
			sel+" .box{stroke:"+c.line+"}",
			sel+" text.note,"+sel+" text.band,text.k-"+string(appendName(nil, class))+"{fill:"+c.text+"}")
	}
	add("default", defaultColour)
	for _, p := range palette {
		add(p.class, p.c)
	}
	return "\n" + strings.Join(rules, "\n") + "\n"
}

// known reports whether class has its own colour.
func known(class string) bool {
	for _, p := range palette {
		if p.class == class {
			return true
		}
	}
	return false
}

// Options are the choices of an SVG document beyond its Diagram. The
// zero value writes a still picture.
type Options struct {
	// Animate makes each arrow, marker, note and stall or bulk band fade
	// in at its time (layout's At: milliseconds since the connection's
	// first packet), with a CSS animation per element and no script.
	// Viewers without CSS animations show the whole diagram; so do
	// browsers set to reduce motion.
	Animate bool
	// Speed divides the animation's times: 1 (or ≤ 0) plays in real
	// time, 10 ten times faster, 0.1 ten times slower.
	Speed float64
}

// fadeIn is how long an animated element takes to appear.
const fadeIn = "0.25s"

// Write serializes d as a standalone SVG document. It makes no layout
// decision: every position and string comes from d. Strings are escaped,
// so a Diagram built from hostile input yields a well-formed document
// whose text stays text. The output is deterministic.
func Write(w io.Writer, d *layout.Diagram) error { return WriteOptions(w, d, Options{}) }

// WriteOptions is Write with options: with Options.Animate, an animated
// diagram.
func WriteOptions(w io.Writer, d *layout.Diagram, o Options) error {
	x := newWriter(w)
	if o.Animate {
		x.speed = o.Speed
		if x.speed <= 0 {
			x.speed = 1
		}
	}
	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.raw(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1"`)
	x.numAttr("width", d.Width)
	x.numAttr("height", d.Height)
	x.raw(` viewBox="0 0 `)
	x.num(d.Width)
	x.raw(" ")
	x.num(d.Height)
	x.raw(`" role="img" aria-labelledby="wt-title wt-desc">` + "\n")
	x.raw(`<title id="wt-title">`)
	x.esc(d.Title.S)
	x.raw("</title>\n")
	x.raw(`<desc id="wt-desc">`)
	x.esc(d.Desc)
	x.raw("</desc>\n")
	x.raw("<style>")
	x.raw(style())
	if x.speed > 0 {
		x.raw("@keyframes wt-in{from{opacity:0}to{opacity:1}}\n" +
			"@media (prefers-reduced-motion:reduce){g{animation:none!important}}\n")
	}
	x.raw("</style>\n")
	x.raw(`<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="8" height="8" fill="#F6F8FA"/><line x1="0" y1="0" x2="0" y2="8" stroke="#C9D1D9" stroke-width="3"/></pattern></defs>` + "\n")
	x.raw(`<rect width="100%" height="100%" fill="#FFFFFF"/>` + "\n")

	x.text(d.Title)
	x.text(d.Subtitle)
	x.raw("\n")

	// Back to front: bands, guides, axis, lifelines, heads, brackets,
	// arrows, markers, notes.
	x.raw(`<g class="bands">`)
	for _, b := range d.Bands {
		x.band(b)
	}
	x.raw("</g>\n")
	x.raw(`<g class="guides">`)
	for _, l := range d.Guides {
		x.line(l, "guide")
	}
	x.raw("</g>\n")
	x.axis(&d.Axis)
	x.raw(`<g class="lifelines">`)
	for _, l := range d.Lifelines {
		x.line(l, "lifeline")
	}
	x.raw("</g>\n")
	for _, h := range d.Heads {
		x.raw(`<g class="head">`)
		x.rect(h.Box, "", headRadius)
		x.text(h.Role)
		x.text(h.Addr)
		x.raw("</g>\n")
	}
	for _, b := range d.Brackets {
		x.bracket(b)
	}
	x.raw(`<g class="events">` + "\n")
	for _, a := range d.Arrows {
		x.arrow(a)
	}
	for _, m := range d.Markers {
		x.marker(m)
	}
	for _, n := range d.Notes {
		x.note(n)
	}
	x.raw("</g>\n")
	x.footer(&d.Footer)
	x.legend(d.Legend)
	x.raw("</svg>\n")
	return x.flush()
}

// classAttr writes a class attribute: fixed classes, then the colour
// class "c-<class>" (c-default if the palette lacks it), then an optional
// type tag "t-<type>", both encoded.
func (x *writer) classAttr(fixed, class, typ string) {
	x.raw(` class="` + fixed + " c-")
	if known(class) {
		x.name(class)
	} else {
		x.raw("default")
	}
	if typ != "" {
		x.raw(" t-")
		x.name(typ)
	}
	x.raw(`"`)
}

func (x *writer) text(t layout.Text) {
	if t.S == "" {
		return
	}
	x.raw("<text")
	x.numAttr("x", t.X)
	x.numAttr("y", t.Y)
	if t.Anchor != "" && t.Anchor != layout.Start {
		x.attr("text-anchor", string(t.Anchor))
	}
	x.raw(` class="`)
	x.name(t.Class)
	if t.Tone != "" {
		// k-<class>: the text colour of a colour class.
		x.raw(" k-")
		if known(t.Tone) {
			x.name(t.Tone)
		} else {
			x.raw("default")
		}
	}
	x.raw(`">`)
	x.esc(t.S)
	x.raw("</text>")
}

func (x *writer) line(l layout.Line, class string) {
	x.raw("<line")
	x.numAttr("x1", l.X1)
	x.numAttr("y1", l.Y1)
	x.numAttr("x2", l.X2)
	x.numAttr("y2", l.Y2)
	if class != "" {
		x.raw(` class="` + class + `"`)
	}
	x.raw("/>")
}

func (x *writer) rect(r layout.Rect, class string, radius float64) {
	x.raw("<rect")
	x.numAttr("x", r.X)
	x.numAttr("y", r.Y)
	x.numAttr("width", r.W)
	x.numAttr("height", r.H)
	if radius > 0 {
		x.numAttr("rx", radius)
	}
	if class != "" {
		x.raw(` class="` + class + `"`)
	}
	x.raw("/>")
}

func (x *writer) points(ps ...layout.Point) {
	x.raw(` points="`)
	for i, p := range ps {
		if i > 0 {
			x.raw(" ")
		}
		x.num(p.X)
		x.raw(",")
		x.num(p.Y)
	}
	x.raw(`"`)
}

// appear writes the style attribute that fades an element in at its
// time, when animating.
func (x *writer) appear(at float64) {
	if x.speed <= 0 || at <= 0 {
		return
	}
	x.raw(` style="animation:wt-in ` + fadeIn + ` ease-out `)
	x.num(math.Round(at/x.speed*1000) / 1000)
	x.raw(`ms both"`)
}

func (x *writer) band(b layout.Band) {
	x.raw(`<g class="band-g"`)
	x.appear(b.At)
	x.raw(">")
	x.title(b.Tip)
	x.raw("<rect")
	x.numAttr("x", b.Box.X)
	x.numAttr("y", b.Box.Y)
	x.numAttr("width", b.Box.W)
	x.numAttr("height", b.Box.H)
	x.raw(` class="b-`)
	x.name(b.Class)
	x.raw(`"/>`)
	x.text(b.Label)
	x.raw("</g>\n")
}

func (x *writer) axis(a *layout.Axis) {
	x.raw(`<g class="axis-g">`)
	for _, t := range a.Heads {
		x.text(t)
	}
	x.line(a.Line, "axis")
	for _, l := range a.Ticks {
		x.line(l, "axis")
	}
	for _, t := range a.Times {
		x.text(t)
	}
	for _, t := range a.Frames {
		x.text(t)
	}
	x.raw("</g>\n")
}

func (x *writer) bracket(b layout.Bracket) {
	x.raw("<g")
	x.classAttr("bracket", b.Class, "")
	x.raw(">")
	x.title(b.Tip)
	s := b.Spine
	x.raw(`<path class="br" d="M`)
	x.num(s.X1 + b.Tick)
	x.raw(" ")
	x.num(s.Y1)
	x.raw("H")
	x.num(s.X1)
	x.raw("V")
	x.num(s.Y2)
	x.raw("H")
	x.num(s.X1 + b.Tick)
	x.raw(`"/>`)
	x.text(b.Label)
	x.raw("</g>\n")
}

func (x *writer) arrow(a layout.Arrow) {
	x.raw("<g")
	x.classAttr("ev", a.Class, a.Type)
	x.raw(` id="`)
	x.name(a.ID)
	x.raw(`"`)
	x.appear(a.At)
	x.raw(">")
	x.title(a.Tip)
	x.rect(a.Hit, "hit", 0)
	cls := ""
	switch {
	case a.Dashed && a.Bulk:
		cls = "dash bulk"
	case a.Dashed:
		cls = "dash"
	case a.Bulk:
		cls = "bulk"
	}
	x.line(a.Line, cls)
	x.raw("<polygon")
	x.points(a.Head[:]...)
	x.raw("/>")
	for _, t := range a.Labels {
		x.text(t)
	}
	x.raw("</g>\n")
}

// shape draws a marker shape centred at (cx, cy) with half-size r.
func (x *writer) shape(s layout.Shape, cx, cy, r float64) {
	switch s {
	case layout.Diamond:
		x.raw("<polygon")
		g := r + pointyGrow
		x.points(layout.Point{X: cx, Y: cy - g}, layout.Point{X: cx + g, Y: cy}, layout.Point{X: cx, Y: cy + g}, layout.Point{X: cx - g, Y: cy})
		x.raw("/>")
	case layout.Square:
		x.rect(layout.Rect{X: cx - r, Y: cy - r, W: 2 * r, H: 2 * r}, "shape", 0)
	case layout.Triangle:
		x.raw("<polygon")
		g := r + pointyGrow
		x.points(layout.Point{X: cx, Y: cy - g}, layout.Point{X: cx + g, Y: cy + r}, layout.Point{X: cx - g, Y: cy + r})
		x.raw("/>")
	case layout.Cross:
		x.raw(`<path d="M`)
		x.num(cx - r)
		x.raw(" ")
		x.num(cy - r)
		x.raw("L")
		x.num(cx + r)
		x.raw(" ")
		x.num(cy + r)
		x.raw("M")
		x.num(cx + r)
		x.raw(" ")
		x.num(cy - r)
		x.raw("L")
		x.num(cx - r)
		x.raw(" ")
		x.num(cy + r)
		x.raw(`"/>`)
	default:
		x.raw("<circle")
		x.numAttr("cx", cx)
		x.numAttr("cy", cy)
		x.numAttr("r", r)
		x.raw("/>")
	}
}

func (x *writer) marker(m layout.Marker) {
	x.raw("<g")
	x.classAttr("mk", m.Class, m.Type)
	x.raw(` id="`)
	x.name(m.ID)
	x.raw(`"`)
	x.appear(m.At)
	x.raw(">")
	x.title(m.Tip)
	x.shape(m.Shape, m.X, m.Y, m.R)
	x.raw("</g>\n")
}

func (x *writer) note(n layout.Note) {
	x.raw("<g")
	x.classAttr("nt", n.Class, "")
	x.appear(n.At)
	x.raw(">")
	x.title(n.Tip)
	if n.Box != nil {
		x.rect(*n.Box, "box", noteRadius)
	}
	x.text(n.Text)
	x.raw("</g>\n")
}

func (x *writer) footer(f *layout.Footer) {
	x.raw(`<g class="footer">`)
	x.line(f.Rule, "rule")
	x.text(f.Heading)
	for _, c := range f.Cells {
		x.text(c.Key)
		x.text(c.Value)
	}
	x.raw("</g>\n")
}

// legend draws each entry's swatch inside its box: a short arrow, a
// marker shape, a band sample or a bracket.
func (x *writer) legend(items []layout.LegendItem) {
	if len(items) == 0 {
		return
	}
	x.raw(`<g class="legend-g">`)
	for _, it := range items {
		r := it.Swatch
		cy := r.Y + r.H/2
		x.raw("<g")
		x.classAttr("lg", it.Class, "")
		x.raw(">")
		switch it.Kind {
		case "arrow", "dashed":
			cls := ""
			if it.Kind == "dashed" {
				cls = "dash"
			}
			tip := r.X + r.W
			x.line(layout.Line{X1: r.X, Y1: cy, X2: tip - legendLineStop, Y2: cy}, cls)
			x.raw("<polygon")
			x.points(layout.Point{X: tip, Y: cy}, layout.Point{X: tip - legendHeadLen, Y: cy - legendHeadHalf}, layout.Point{X: tip - legendHeadLen, Y: cy + legendHeadHalf})
			x.raw("/>")
		case "marker":
			x.raw(`<g class="mk">`)
			x.shape(it.Shape, r.X+r.W/2, cy, legendMarkerR)
			x.raw("</g>")
		case "band":
			x.raw("<rect")
			x.numAttr("x", r.X)
			x.numAttr("y", r.Y-legendBandGrow)
			x.numAttr("width", r.W)
			x.numAttr("height", r.H+2*legendBandGrow)
			x.raw(` class="b-`)
			x.name(it.Class)
			x.raw(`"/>`)
		case "bracket":
			x.raw(`<path class="br" d="M`)
			mid := r.X + r.W/2
			x.num(mid + legendBracketTick)
			x.raw(" ")
			x.num(r.Y - legendBracketGrow)
			x.raw("H")
			x.num(mid)
			x.raw("V")
			x.num(r.Y + r.H + legendBracketGrow)
			x.raw("H")
			x.num(mid + legendBracketTick)
			x.raw(`"/>`)
		}
		x.text(it.Label)
		x.raw("</g>")
	}
	x.raw("</g>\n")
}
