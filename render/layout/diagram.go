package layout

// Diagram is the geometry of one connection's sequence diagram: every
// position, every string, every class, ready to serialize. It holds plain
// data only, so it encodes to JSON deterministically (the goldens do so).
//
// Strings in a Diagram are cleaned (valid UTF-8, control characters
// written as escapes, bounded length) but not escaped for any output
// format: each renderer escapes them.
//
// Classes are semantic names, not colours: a layer name ("tcp", "tls", or
// the layer's String for unknown layers) or one of the Class constants.
// Renderers choose the colours.
type Diagram struct {
	// Width and Height are the canvas size.
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	// Title names the connection; Subtitle gives its endpoints and start.
	Title    Text `json:"title"`
	Subtitle Text `json:"subtitle"`
	// Desc is a one-paragraph plain-text description for accessibility.
	Desc string `json:"desc"`
	// Heads are the client (0) and server (1) boxes atop the lifelines.
	Heads [2]Head `json:"heads"`
	// Lifelines are the vertical line segments under the heads, broken
	// where an idle or omitted band cuts the time axis.
	Lifelines []Line `json:"lifelines"`
	// Axis is the time axis left of the client.
	Axis Axis `json:"axis"`
	// Bands are shaded areas behind the events: stalls, idle breaks and
	// omitted runs.
	Bands []Band `json:"bands"`
	// Guides are faint lines from the axis to the client lifeline, one per
	// row, to help the eye follow a row.
	Guides []Line `json:"guides"`
	// Brackets are vertical brackets: the phases of the connection's start.
	Brackets []Bracket `json:"brackets"`
	// Arrows are directional events.
	Arrows []Arrow `json:"arrows"`
	// Markers are shapes on a lifeline for analysis events.
	Markers []Marker `json:"markers"`
	// Notes are texts beside a lifeline or across the lifelines.
	Notes []Note `json:"notes"`
	// Footer is the connection summary.
	Footer Footer `json:"footer"`
	// Legend explains the classes used in this diagram.
	Legend []LegendItem `json:"legend"`
	// Stats counts what was drawn.
	Stats Stats `json:"stats"`
}

// Anchor is a text anchor, named as in SVG.
type Anchor string

// Anchors.
const (
	Start  Anchor = "start"
	Middle Anchor = "middle"
	End    Anchor = "end"
)

// Text classes. Each class has a fixed font (see the Font constants).
const (
	TextTitle    = "title"
	TextSubtitle = "subtitle"
	TextRole     = "role"
	TextAddr     = "addr"
	TextLabel    = "label"
	TextNote     = "note"
	TextTick     = "tick"
	TextFrame    = "frame"
	TextAxisHead = "axis-head"
	TextBand     = "band"
	TextHeading  = "heading"
	TextKey      = "key"
	TextValue    = "value"
	TextLegend   = "legend"
)

// Semantic classes besides layer names.
const (
	// ClassWarning marks analysis findings: retransmissions, lost
	// segments, duplicate ACKs, zero windows, keep-alives, cap limits.
	ClassWarning = "warning"
	// ClassError marks resets and decode errors.
	ClassError = "error"
	// ClassStall marks head-of-line stall bands.
	ClassStall = "stall"
	// ClassIdle marks idle breaks in the time axis.
	ClassIdle = "idle"
	// ClassOmitted marks runs of events left out to bound the size.
	ClassOmitted = "omitted"
	// ClassPhase marks a phase bracket (TCP, TLS, first request, first
	// byte).
	ClassPhase = "phase"
	// ClassConn marks connection-wide notes.
	ClassConn = "conn"
)

// Text is one line of text. Y is the baseline.
type Text struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	S      string  `json:"s"`
	Anchor Anchor  `json:"anchor"`
	Class  string  `json:"class"`
	// Tone, when set, is the colour class of the text (a layer, stream
	// or semantic class, as Arrow.Class): the lines of a stacked label
	// take the colour of the event each names.
	Tone string `json:"tone,omitempty"`
}

// Point is a position.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Rect is an axis-aligned rectangle.
type Rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Line is a straight line segment.
type Line struct {
	X1 float64 `json:"x1"`
	Y1 float64 `json:"y1"`
	X2 float64 `json:"x2"`
	Y2 float64 `json:"y2"`
}

// Head is the box naming one endpoint.
type Head struct {
	Box  Rect `json:"box"`
	Role Text `json:"role"`
	Addr Text `json:"addr"`
}

// Axis is the time axis: a vertical line, a tick and a time label per
// distinct time, and a frame label per packet.
type Axis struct {
	Line Line `json:"line"`
	// Heads label the frame and time columns.
	Heads  []Text `json:"heads"`
	Ticks  []Line `json:"ticks"`
	Times  []Text `json:"times"`
	Frames []Text `json:"frames"`
}

// Band is a shaded rectangle with an optional centred label.
type Band struct {
	Box   Rect   `json:"box"`
	Class string `json:"class"`
	// Label is empty for stall bands, whose note sits beside a lifeline.
	Label Text   `json:"label"`
	Tip   string `json:"tip"`
	// At is when the element appears in an animated diagram: milliseconds
	// since the connection's first packet (0 for elements always shown).
	At float64 `json:"at,omitempty"`
}

// Bracket is a vertical bracket from Y1 to Y2 at X, with end ticks
// pointing right, and its label.
type Bracket struct {
	Spine Line    `json:"spine"`
	Tick  float64 `json:"tick"`
	Label Text    `json:"label"`
	Class string  `json:"class"`
	Tip   string  `json:"tip"`
}

// Arrow is one directional event, or the events of one packet in one
// direction (a flight: a TLS record and the HTTP/2 frames inside it,
// ServerHello and the records after it) drawn as one arrow.
type Arrow struct {
	// ID is unique within the diagram; it is built from numbers only.
	ID string `json:"id"`
	// Type is the event type, for renderers that tag elements with it;
	// renderers must encode it before using it as a name.
	Type string `json:"type"`
	// Line runs from the sender's lifeline to the arrowhead's base.
	Line Line `json:"line"`
	// Head is the arrowhead triangle; its tip touches the receiver's
	// lifeline.
	Head [3]Point `json:"head"`
	// Dashed marks a retransmitted segment.
	Dashed bool `json:"dashed,omitempty"`
	// Bulk marks a folded run of bulk transfer, drawn thick on a
	// ClassBulk band.
	Bulk bool `json:"bulk,omitempty"`
	// Labels are stacked above the line, one per event in packet order,
	// top to bottom, the last just above the line; a long stack ends in
	// "+N more".
	Labels []Text `json:"labels"`
	Class  string `json:"class"`
	// Hit is the area that shows the tooltip.
	Hit Rect   `json:"hit"`
	Tip string `json:"tip"`
	// At is when the element appears in an animated diagram: milliseconds
	// since the connection's first packet (0 for elements always shown).
	At float64 `json:"at,omitempty"`
}

// Shape is a marker's shape. Shapes repeat what the colour says, for
// readers who cannot tell the colours apart.
type Shape string

// Shapes.
const (
	Circle   Shape = "circle"
	Diamond  Shape = "diamond"
	Square   Shape = "square"
	Triangle Shape = "triangle"
	Cross    Shape = "cross"
)

// Marker is a shape centred at (X, Y) with half-size R.
type Marker struct {
	ID    string  `json:"id"`
	Type  string  `json:"type"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	R     float64 `json:"r"`
	Shape Shape   `json:"shape"`
	Class string  `json:"class"`
	Tip   string  `json:"tip"`
	// At is when the element appears in an animated diagram: milliseconds
	// since the connection's first packet (0 for elements always shown).
	At float64 `json:"at,omitempty"`
}

// Note is a text beside a lifeline, or across the lifelines when Box is
// set.
type Note struct {
	Text  Text   `json:"text"`
	Box   *Rect  `json:"box,omitempty"`
	Class string `json:"class"`
	Tip   string `json:"tip"`
	// At is when the element appears in an animated diagram: milliseconds
	// since the connection's first packet (0 for elements always shown).
	At float64 `json:"at,omitempty"`
}

// Footer is the summary grid under the lifelines.
type Footer struct {
	Rule    Line   `json:"rule"`
	Heading Text   `json:"heading"`
	Cells   []Cell `json:"cells"`
}

// Cell is one summary entry: a key above its value.
type Cell struct {
	Key   Text `json:"key"`
	Value Text `json:"value"`
}

// LegendItem is a swatch and its label. Kind says how to draw the swatch:
// "arrow" (a short arrow in the class colour), "marker" (Shape), or "band".
type LegendItem struct {
	Kind   string `json:"kind"`
	Class  string `json:"class"`
	Shape  Shape  `json:"shape,omitempty"`
	Swatch Rect   `json:"swatch"`
	Label  Text   `json:"label"`
}

// Stats counts a diagram's content.
type Stats struct {
	// Events is the number of events given, plus those the caller
	// omitted (Options.Omitted), summary excluded.
	Events int64 `json:"events"`
	// Drawn is the number of events drawn.
	Drawn int `json:"drawn"`
	// Omitted is Events - Drawn.
	Omitted int64 `json:"omitted"`
	// Rows is the number of rows.
	Rows int `json:"rows"`
}
