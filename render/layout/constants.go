package layout

import "time"

// Every length below is in SVG user units (CSS pixels at 100% zoom). The
// values were chosen by rendering the testdata diagrams and looking at
// them; change them together with the goldens.

// Defaults for Options.
const (
	// DefaultMaxEvents bounds the events drawn per diagram. 2000 rows of
	// DefaultRowSpacing make a diagram about 50,000 px tall, which browsers
	// still scroll smoothly.
	DefaultMaxEvents = 2000
	// DefaultIdleBreak is the quietest gap that is cut out of the time
	// axis and marked "… N s idle …".
	DefaultIdleBreak = time.Second
)

// Fonts. Renderers must draw each Text class at these sizes: the layout
// estimates text widths from them to keep labels apart.
const (
	FontTitle    = 16 // diagram title, sans-serif bold
	FontSubtitle = 12 // line under the title, sans-serif
	FontRole     = 12 // "client" / "server" in the lifeline heads, sans-serif bold
	FontAddr     = 11 // addr:port in the lifeline heads, monospace
	FontLabel    = 11 // arrow labels, monospace
	FontNote     = 11 // notes beside the lifelines, monospace
	FontTick     = 10 // time and frame labels on the axis, monospace
	FontBand     = 11 // idle, omitted and centred notes, sans-serif italic
	FontHeading  = 13 // "Summary" heading, sans-serif bold
	FontKey      = 10 // summary keys, sans-serif
	FontValue    = 12 // summary values, monospace
	FontLegend   = 11 // legend entries, sans-serif
)

// Text width estimates, as a fraction of the font size per character.
// They overestimate common fonts a little so that estimated boxes contain
// the drawn text.
const (
	// monoAdvance is the advance of one monospace character: 0.600 in
	// DejaVu Sans Mono, Menlo and Courier, 0.55 in Consolas.
	monoAdvance = 0.62
	// sansAdvance is an average sans-serif character, wide enough for
	// DejaVu Sans (the widest common default) on mixed-case text.
	sansAdvance = 0.60
)

// Canvas.
const (
	// pad is the empty margin on every side of the drawing.
	pad = 20
	// minCanvasWidth keeps short connections from producing a cramped
	// drawing; spare width goes to the span between the lifelines.
	minCanvasWidth = 760
	// subtitleGap is the distance from the title baseline to the subtitle
	// baseline.
	subtitleGap = 19
)

// Lifeline heads: the boxes naming client and server.
const (
	// headTopGap is the distance from the subtitle baseline to the top of
	// the head boxes.
	headTopGap = 18
	// headHeight is the height of a head box (role line and address line).
	headHeight = 40
	// headPadX is the horizontal padding inside a head box.
	headPadX = 12
	// headRoleBaseline and headAddrBaseline place the two text lines,
	// measured from the top of the box.
	headRoleBaseline = 16
	headAddrBaseline = 31
	// headGap is the least space between the two head boxes.
	headGap = 40
)

// Columns, left to right: frame labels, time labels, axis, client notes,
// client lifeline, arrows, server lifeline, server notes.
const (
	// colGap separates neighbouring columns.
	colGap = 10
	// axisTickLen is the length of a tick mark left of the axis line.
	axisTickLen = 4
	// axisTextGap is the space between a time label and its tick.
	axisTextGap = 4
	// noteInset is the distance from a lifeline to the near end of the
	// notes written beside it; it leaves room for stacked markers.
	noteInset = 26
	// minNoteCol and maxNoteCol bound the width of a note column; longer
	// notes are cut with "…" (their tooltip keeps the whole text).
	minNoteCol = 40
	maxNoteCol = 300
	// minSpan is the least distance between the two lifelines, and
	// maxSpan the widest span arrow labels may ask for.
	minSpan = 380
	maxSpan = 640
	// labelPadX keeps arrow labels away from the lifelines.
	labelPadX = 16
)

// Rows: one per event, or per group of events from the same packet.
const (
	// firstRowGap is the distance from the bottom of the head boxes to the
	// first row, room for the first arrow's label.
	firstRowGap = 34
	// rowSpacing is the least distance between two rows: a label line
	// above the arrow plus air.
	rowSpacing = 24
	// minGapFloor is the least time gap that gets extra space; gaps at or
	// below the connection's median gap get none either (see gapFloor).
	minGapFloor = 100 * time.Microsecond
	// pxPerDecade is the extra space added for each tenfold growth of the
	// time gap above the floor: with the floor at 100 µs, 1 ms adds 10 and
	// 100 ms adds 30.
	pxPerDecade = 10
	// maxGapExtra caps that extra space (five decades above the floor).
	maxGapExtra = 50
	// breakHeight is the height of an idle break or omitted band.
	breakHeight = 34
	// bandMargin is the space between a row and the band below it.
	bandMargin = 12
	// tailGap is the length of the lifelines below the last row.
	tailGap = 24
	// minLifeline is the least length of the lifelines (no events).
	minLifeline = 60
)

// Arrows, markers and notes.
const (
	// arrowHeadLen and arrowHeadHalf size the arrowhead triangle.
	arrowHeadLen  = 9
	arrowHeadHalf = 4
	// labelRise is the distance from the arrow up to its label baseline.
	labelRise = 5
	// textDrop moves a text baseline below a row's y so that the text is
	// centred on the row (about a third of an 11 px font).
	textDrop = 4
	// hitAbove and hitBelow size the invisible rectangle that shows an
	// arrow's tooltip: the label above and a few pixels below.
	hitAbove = 16
	hitBelow = 5
	// markerRadius is the half-size of a marker shape.
	markerRadius = 5
	// markerStep is the distance between markers of the same row, which
	// stack outward from the lifeline.
	markerStep = 12
	// maxMarkersPerRow starts a new row when one packet carries more.
	maxMarkersPerRow = 4
	// centerNotePadX and centerNoteHalf size the box of a note that spans
	// the lifelines (decode errors and other connection-wide events).
	centerNotePadX = 8
	centerNoteHalf = 9
	// centerNoteClear is extra space below a centred note's row, so the
	// next arrow's label clears the note's box.
	centerNoteClear = 4
)

// Phase brackets, in their own column right of the time axis.
const (
	// bracketTick is the length of a bracket's end ticks.
	bracketTick = 5
	// phaseLabelGap is the space between a phase label and its bracket.
	phaseLabelGap = 6
	// phaseLabelAir is the least space between two phase labels' lines.
	phaseLabelAir = 3
)

// Head-of-line stall bands.
const (
	// minBandHeight keeps a stall visible when it starts and ends within
	// one row.
	minBandHeight = 6
)

// Footer (summary grid) and legend.
const (
	// footerGap is the distance from the end of the lifelines to the
	// footer's rule.
	footerGap = 22
	// footerHeadingDrop is the distance from the rule to the "Summary"
	// heading baseline.
	footerHeadingDrop = 24
	// cellTopGap is the space between the heading baseline and the first
	// row of cells.
	cellTopGap = 8
	// cellKeyDrop and cellValueDrop place a summary cell's key and value
	// baselines below the cell's top.
	cellKeyDrop   = 13
	cellValueDrop = 29
	// cellHeight is the height of one row of summary cells.
	cellHeight = 40
	// cellGap is the space between summary columns.
	cellGap = 24
	// minCellWidth keeps short summary cells from crowding.
	minCellWidth = 110
	// maxValueChars cuts long summary values (an SNI, say).
	maxValueChars = 64
	// legendGap is the distance from the last summary row to the legend.
	legendGap = 12
	// legendRow is the height of a legend line.
	legendRow = 20
	// legendSwatch is the width of a legend swatch.
	legendSwatch = 18
	// legendSwatchGap separates a swatch from its label.
	legendSwatchGap = 6
	// legendItemGap separates legend entries.
	legendItemGap = 18
)

// Content bounds. Wire strings are hostile: every one is cleaned and cut
// before it reaches a Diagram.
const (
	// maxTipValue cuts an Info value in a tooltip.
	maxTipValue = 256
	// maxTipFields bounds the Info fields listed in a tooltip.
	maxTipFields = 32
	// maxNoteBytes cuts a centred note before it is fitted to the span.
	maxNoteBytes = 512
)
