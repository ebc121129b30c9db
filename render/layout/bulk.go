package layout

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Folding bulk transfer: a run of rows that carry only bulk events
// (IsBulk) becomes one thick arrow per direction on a shaded band,
// labelled with what the run carried: "http2 DATA ×120 on streams 1, 3 ·
// 1.9 MB · 12.3–45.6 ms".
const (
	// minBulkRows is the shortest run of bulk rows folded; shorter runs
	// read well as arrows.
	minBulkRows = 6
	// maxBulkKinds bounds the kinds of event named in a bulk label.
	maxBulkKinds = 3
	// maxBulkStreams bounds the streams a bulk run lists.
	maxBulkStreams = 8
	// bulkPadTop and bulkPadBottom extend the band beyond its arrows.
	bulkPadTop    = 6
	bulkPadBottom = 8
)

// ClassBulk marks a band of folded bulk transfer.
const ClassBulk = "bulk"

// bulkRun is one direction of a folded run.
type bulkRun struct {
	rows                  int
	firstFrame, lastFrame int64
	first, last           time.Time
	kinds                 []bulkKind // the events named, by layer and type
	carriers              []bulkKind // the records and packets that carried them
	streams               []int64
	moreStreams           int
	bytes                 int64
	rep                   *decode.Event // the first event named, for the colour
	firstCarrier          *decode.Event
	dashed                bool
	// end closes the whole run (both directions): the band's time.
	end time.Time
}

type bulkKind struct {
	name  string
	n     int
	bytes int64
}

// count adds one event to a kind list, bounded: past maxBulkKinds
// kinds, events count with the last.
func count(ks []bulkKind, name string, n int64) []bulkKind {
	k := -1
	for j := range ks {
		if ks[j].name == name {
			k = j
		}
	}
	if k < 0 && len(ks) < maxBulkKinds {
		ks = append(ks, bulkKind{name: name})
	}
	if k < 0 {
		k = len(ks) - 1
	}
	ks[k].n++
	if n > 0 {
		ks[k].bytes += n
	}
	return ks
}

// settle names the carrying records and packets themselves when they
// carried nothing decoded in this run (the TLS records of a connection
// without keys, QUIC packets of stream data not yet reassembled), and
// sums the bytes of what the label names.
func (b *bulkRun) settle() {
	if len(b.kinds) == 0 {
		b.kinds, b.carriers, b.rep = b.carriers, nil, b.firstCarrier
	}
	for _, k := range b.kinds {
		b.bytes += k.bytes
	}
}

// bulkRow reports whether r holds only bulk arrows.
func bulkRow(r *row) bool {
	if len(r.arrows) == 0 || len(r.marks) > 0 || r.stall != nil || r.center != nil {
		return false
	}
	for _, ev := range r.arrows {
		if !IsBulk(&ev.Event) {
			return false
		}
	}
	return true
}

// foldBulk replaces each run of at least minBulkRows bulk rows, with no
// idle break or omitted band inside, by one row per direction.
func (s *seq) foldBulk() {
	idle := s.opts.idleBreak()
	out := s.rows[:0:0]
	i := 0
	for i < len(s.rows) {
		j := i
		for j < len(s.rows) && bulkRow(s.rows[j]) &&
			(j == i || s.rows[j].gap == nil && s.rows[j].t.Sub(s.rows[j-1].tMono) < idle) {
			j++
		}
		if j-i < minBulkRows {
			if j == i {
				j++
			}
			out = append(out, s.rows[i:j]...)
			i = j
			continue
		}
		out = append(out, s.fold(s.rows[i:j])...)
		i = j
	}
	s.rows = out
}

// fold sums up a run of bulk rows as one row per direction, in the order
// the directions first appear.
func (s *seq) fold(run []*row) []*row {
	var byDir [2]*bulkRun
	var order []decode.Dir
	prevMono := run[0].tMono
	end := run[0].tMono
	for _, r := range run {
		end = r.tMono
		sd := side(r.dir)
		b := byDir[sd]
		if b == nil {
			b = &bulkRun{firstFrame: r.frame, first: r.t}
			byDir[sd] = b
			order = append(order, r.dir)
		}
		b.rows++
		b.lastFrame, b.last = r.frame, r.t
		for _, ev := range r.arrows {
			e := &ev.Event
			if f, ok := e.Info.Get("retransmission"); ok && f.Bool() {
				b.dashed = true
			}
			name := clean(e.Layer.String(), maxLabelBytes) + " " + clean(string(e.Type), maxLabelBytes)
			if carrier(e) != decode.LayerUnknown {
				b.carriers = count(b.carriers, name, e.Len)
				if b.firstCarrier == nil {
					b.firstCarrier = e
				}
				continue
			}
			if b.rep == nil {
				b.rep = e
			}
			b.kinds = count(b.kinds, name, e.Len)
			if id, ok := streamOf(e); ok && !slices.Contains(b.streams, id) {
				if len(b.streams) < maxBulkStreams {
					b.streams = append(b.streams, id)
				} else {
					b.moreStreams++
				}
			}
		}
	}
	for _, b := range byDir {
		if b != nil {
			b.settle()
		}
	}
	out := make([]*row, 0, len(order))
	for k, dir := range order {
		b := byDir[side(dir)]
		b.end = end
		r := &row{t: b.first, tMono: b.first, frame: b.firstFrame, dir: dir, bulk: b}
		if k == 0 {
			r.gap = run[0].gap
		}
		if r.tMono.Before(prevMono) {
			r.tMono = prevMono
		}
		if k == len(order)-1 && r.tMono.Before(end) {
			r.tMono = end
		}
		prevMono = r.tMono
		out = append(out, r)
	}
	return out
}

// bulkLabel is a folded direction's label: "http2 DATA ×120 on streams
// 1, 3 · 1.9 MB · 12.3–45.6 ms".
func (s *seq) bulkLabel(b *bulkRun) string {
	var parts []string
	for _, k := range b.kinds {
		parts = append(parts, k.name+" ×"+strconv.Itoa(k.n))
	}
	txt := strings.Join(parts, ", ")
	if len(b.streams) > 0 {
		txt += " on " + streamList(b.streams, b.moreStreams)
	}
	if b.bytes > 0 {
		txt += " · " + scaledBytes(b.bytes)
	}
	return txt + " · " + millis(b.first.Sub(s.conn.FirstTS)) + "–" + millis(b.last.Sub(s.conn.FirstTS)) + " ms"
}

// bulkTip describes a folded direction in full.
func (s *seq) bulkTip(b *bulkRun, dir decode.Dir) string {
	var sb strings.Builder
	sb.WriteString("bulk transfer, " + strconv.Itoa(b.rows) + " packets folded")
	if dir == decode.S2C {
		sb.WriteString(" · server → client")
	} else {
		sb.WriteString(" · client → server")
	}
	sb.WriteString("\nframes " + strconv.FormatInt(b.firstFrame, 10) + " – " + strconv.FormatInt(b.lastFrame, 10))
	sb.WriteString("\n+" + millis(b.first.Sub(s.conn.FirstTS)) + " ms – +" + millis(b.last.Sub(s.conn.FirstTS)) + " ms (" + human(b.last.Sub(b.first)) + ")")
	for _, k := range b.kinds {
		sb.WriteString("\n" + k.name + ": " + grouped(int64(k.n)) + ", " + bytesText(k.bytes))
	}
	for _, k := range b.carriers {
		sb.WriteString("\ncarried in " + k.name + ": " + grouped(int64(k.n)) + ", " + bytesText(k.bytes))
	}
	if len(b.streams) > 0 {
		sb.WriteString("\n" + streamList(b.streams, b.moreStreams))
	}
	if b.dashed {
		sb.WriteString("\nincludes retransmitted segments")
	}
	return sb.String()
}

// streamList is "stream 1" or "streams 1, 3, 5 +2".
func streamList(ids []int64, more int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	s := "stream "
	if len(ids) > 1 || more > 0 {
		s = "streams "
	}
	s += strings.Join(parts, ", ")
	if more > 0 {
		s += " +" + strconv.Itoa(more)
	}
	return s
}

// bulkArrow draws a folded direction: a thick arrow with its label, on a
// band that covers the run's rows (added once, with the run's first
// row).
func (s *seq) bulkArrow(i int, r *row, id string, from, to, room float64) Arrow {
	b := r.bulk
	a := s.arrowShape(r.y, id, from, to)
	a.Type = "bulk"
	a.Bulk = true
	a.Dashed = b.dashed
	a.Class = arrowClass(b.rep)
	if len(b.streams) == 1 && b.moreStreams == 0 {
		a.Class = s.evClass(b.rep)
	}
	a.Labels = []Text{{X: round((from + to) / 2), Y: r.y - labelRise, S: fit(s.labels[i][0].s, room, FontLabel, true), Anchor: Middle, Class: TextLabel}}
	a.Hit = Rect{X: math.Min(from, to), Y: r.y - hitAbove, W: math.Abs(to - from), H: hitAbove + hitBelow}
	a.Tip = s.bulkTip(b, r.dir)
	return a
}

// bulkBands shades each folded run: from above the label of its first
// row to below the arrow of its last.
func (s *seq) bulkBands() {
	for i := 0; i < len(s.rows); i++ {
		r := s.rows[i]
		if r.bulk == nil {
			continue
		}
		j := i
		for j+1 < len(s.rows) && s.rows[j+1].bulk != nil && s.rows[j+1].bulk.end.Equal(r.bulk.end) && s.rows[j+1].gap == nil {
			j++
		}
		top := r.y - hitAbove - bulkPadTop
		bottom := s.rows[j].y + bulkPadBottom
		var tips []string
		for k := i; k <= j; k++ {
			tips = append(tips, s.bulkTip(s.rows[k].bulk, s.rows[k].dir))
		}
		s.d.Bands = append(s.d.Bands, Band{
			Box:   Rect{X: s.clientX, Y: round(top), W: round(s.serverX - s.clientX), H: round(bottom - top)},
			Class: ClassBulk, Tip: strings.Join(tips, "\n\n"), At: s.at(r.t),
		})
		i = j
	}
}
