package layout

import (
	"math"
	"sort"
	"strings"

	"github.com/wiretrace/wiretrace/decode"
)

// summaryKeys are the summary fields shown first, in this order, with
// their titles. Other non-empty fields follow under their own names.
var summaryKeys = [...]struct{ key, title string }{
	{"handshake", "Handshake"},
	{"rtt_ms", "Handshake RTT"},
	{"round_trips_before_data", "Round trips before data"},
	{"ttfb_ms", "First response byte"},
	{"bytes_c2s", "Bytes client → server"},
	{"bytes_s2c", "Bytes server → client"},
	{"packets_c2s", "Packets client → server"},
	{"packets_s2c", "Packets server → client"},
	{"duration_ms", "Duration"},
	{"close", "Close"},
	{"half_close", "Half close"},
	{"hol_stalls", "HOL stalls"},
	{"protocol", "Protocol"},
	{"requests", "Requests"},
	{"tls_version", "TLS version"},
	{"sni", "SNI"},
	{"alpn", "ALPN"},
	{"ended", "Ended by"},
	{"midstream", "Midstream"},
}

// summaryValue formats a summary field for the footer.
func summaryValue(info decode.Info, f decode.Field) string {
	switch f.Key {
	case "bytes_c2s", "bytes_s2c":
		if f.Kind == decode.KindUint || f.Kind == decode.KindInt {
			return bytesText(f.Int)
		}
	case "packets_c2s", "packets_s2c":
		if f.Kind == decode.KindUint || f.Kind == decode.KindInt {
			return grouped(f.Int)
		}
	case "hol_stalls":
		v := value(f, maxValueChars)
		if t, ok := info.Get("hol_stall_ms"); ok && t.Kind == decode.KindDuration && t.Int > 0 {
			v += " (" + human(t.Duration()) + ")"
		}
		return v
	}
	if f.Kind == decode.KindDuration {
		if f.Key == "duration_ms" {
			return human(f.Duration())
		}
		return millis(f.Duration()) + " ms"
	}
	return value(f, maxValueChars)
}

// cells lists the summary's key/value pairs.
func (s *seq) cells() [][2]string {
	if s.summary == nil {
		return [][2]string{{"Status", "no summary: the connection had not ended"}}
	}
	info := s.summary.Info
	var out [][2]string
	used := map[string]bool{"hol_stall_ms": true}
	for _, k := range summaryKeys {
		used[k.key] = true
		f, ok := info.Get(k.key)
		if !ok {
			continue
		}
		if v := summaryValue(info, f); v != "" {
			out = append(out, [2]string{k.title, v})
		}
	}
	// Fields added later by other layers, in their order.
	var extra [][2]string
	for _, f := range info {
		if used[f.Key] {
			continue
		}
		used[f.Key] = true
		if v := summaryValue(info, f); v != "" {
			extra = append(extra, [2]string{clean(f.Key, maxValueChars), v})
		}
	}
	return append(out, extra...)
}

// footer lays out the summary as a grid of cells under the lifelines.
func (s *seq) footer() {
	d := s.d
	top := d.Height + footerGap
	d.Footer.Rule = Line{X1: pad, Y1: top, X2: d.Width - pad, Y2: top}
	d.Footer.Heading = Text{X: pad, Y: top + footerHeadingDrop, S: "Summary", Anchor: Start, Class: TextHeading}
	cells := s.cells()
	avail := d.Width - 2*pad
	cellW := float64(minCellWidth)
	for _, c := range cells {
		cellW = math.Max(cellW, math.Max(textWidth(c[0], FontKey, false), textWidth(c[1], FontValue, true)))
	}
	cellW = math.Min(cellW, avail)
	cols := int((avail + cellGap) / (cellW + cellGap))
	if cols < 1 {
		cols = 1
	}
	y0 := top + footerHeadingDrop + cellTopGap
	for i, c := range cells {
		x := pad + float64(i%cols)*(cellW+cellGap)
		y := y0 + float64(i/cols)*cellHeight
		d.Footer.Cells = append(d.Footer.Cells, Cell{
			Key:   Text{X: round(x), Y: round(y + cellKeyDrop), S: fit(c[0], cellW, FontKey, false), Anchor: Start, Class: TextKey},
			Value: Text{X: round(x), Y: round(y + cellValueDrop), S: fit(c[1], cellW, FontValue, true), Anchor: Start, Class: TextValue},
		})
	}
	rows := (len(cells) + cols - 1) / cols
	d.Height = round(y0 + float64(rows)*cellHeight)
}

// layerOrder sorts legend entries for layers in the order of the event
// contract; unknown classes sort after, by name.
func layerOrder(class string) int {
	for l := decode.LayerUnknown; l <= decode.LayerCapture; l++ {
		if l.String() == class {
			return int(l)
		}
	}
	return math.MaxInt32
}

// legend explains the colours, shapes and bands used in this diagram,
// flowing left to right and wrapping at the canvas width.
func (s *seq) legend() {
	d := s.d
	type entry struct {
		kind, class string
		shape       Shape
		label       string
	}
	var items []entry
	seen := map[string]bool{}
	var layers []string
	dashed := ""
	for _, a := range d.Arrows {
		if strings.HasPrefix(a.Class, "stream-") {
			continue
		}
		if a.Class != ClassError && !seen[a.Class] {
			seen[a.Class] = true
			layers = append(layers, a.Class)
		}
		if a.Dashed && dashed == "" {
			dashed = a.Class
		}
	}
	sort.SliceStable(layers, func(i, j int) bool {
		oi, oj := layerOrder(layers[i]), layerOrder(layers[j])
		if oi != oj {
			return oi < oj
		}
		return layers[i] < layers[j]
	})
	for _, l := range layers {
		items = append(items, entry{"arrow", l, "", l})
	}
	classes, labels := s.streamLegend()
	for k := range classes {
		items = append(items, entry{"arrow", classes[k], "", labels[k]})
	}
	has := func(class string) bool {
		for _, a := range d.Arrows {
			if a.Class == class {
				return true
			}
		}
		for _, m := range d.Markers {
			if m.Class == class {
				return true
			}
		}
		for _, n := range d.Notes {
			if n.Class == class && n.Box != nil {
				return true
			}
		}
		return false
	}
	if has(ClassError) {
		items = append(items, entry{"arrow", ClassError, "", "reset / error"})
	}
	if dashed != "" {
		items = append(items, entry{"dashed", dashed, "", "retransmitted segment"})
	}
	shapes := map[Shape]bool{}
	for _, m := range d.Markers {
		if m.Class == ClassWarning {
			shapes[m.Shape] = true
		}
	}
	for _, sh := range [...]struct {
		shape Shape
		label string
	}{
		{Circle, "retransmission"}, {Cross, "lost segment"}, {Diamond, "duplicate ACK"},
		{Square, "zero window / cap limit"}, {Triangle, "out of order / keep-alive"},
	} {
		if shapes[sh.shape] {
			items = append(items, entry{"marker", ClassWarning, sh.shape, sh.label})
		}
	}
	bands := map[string]bool{}
	for _, b := range d.Bands {
		bands[b.Class] = true
	}
	if bands[ClassBulk] {
		items = append(items, entry{"band", ClassBulk, "", "bulk transfer folded"})
	}
	if bands[ClassStall] {
		items = append(items, entry{"band", ClassStall, "", "head-of-line stall"})
	}
	if bands[ClassFlowStall] {
		items = append(items, entry{"band", ClassFlowStall, "", "flow-control stall"})
	}
	if len(d.Brackets) > 0 {
		items = append(items, entry{"bracket", ClassPhase, "", "where the time went (phases, round trips)"})
	}
	if bands[ClassIdle] {
		items = append(items, entry{"band", ClassIdle, "", "idle time cut from the axis"})
	}
	if bands[ClassOmitted] {
		items = append(items, entry{"band", ClassOmitted, "", "events omitted"})
	}
	if len(items) == 0 {
		d.Height = round(d.Height + pad)
		return
	}
	x, y := float64(pad), d.Height+legendGap+legendRow/2
	for _, it := range items {
		w := legendSwatch + legendSwatchGap + textWidth(it.label, FontLegend, false)
		if x > pad && x+w > d.Width-pad {
			x, y = pad, y+legendRow
		}
		d.Legend = append(d.Legend, LegendItem{
			Kind: it.kind, Class: it.class, Shape: it.shape,
			Swatch: Rect{X: round(x), Y: round(y - legendSwatch/4), W: legendSwatch, H: legendSwatch / 2},
			Label:  Text{X: round(x + legendSwatch + legendSwatchGap), Y: round(y + textDrop), S: it.label, Anchor: Start, Class: TextLegend},
		})
		x += w + legendItemGap
	}
	d.Height = round(y + legendRow/2 + pad)
}
