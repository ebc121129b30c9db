package layout

import (
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/decode"
)

// StreamColours is the number of stream colour classes, StreamClass(0)
// to StreamClass(StreamColours-1), a renderer must colour. Streams take
// them in order of first appearance, cycling.
const StreamColours = 8

// maxLegendStreams bounds the stream numbers a legend entry lists.
const maxLegendStreams = 4

// StreamClass is the colour class of the k-th stream colour:
// "stream-0" … "stream-7".
func StreamClass(k int) string { return "stream-" + strconv.Itoa(k%StreamColours) }

// streamOf returns the HTTP/2 or HTTP/3 stream e belongs to, or false for
// events of no stream (HTTP/2's stream 0 is the connection's).
func streamOf(e *decode.Event) (int64, bool) {
	switch e.Layer {
	case decode.LayerHTTP2:
		return e.Stream, e.Stream > 0
	case decode.LayerHTTP3:
		return e.Stream, e.Stream >= 0
	}
	return 0, false
}

// numberStreams gives each stream its colour index in order of first
// appearance among the arrows.
func (s *seq) numberStreams() {
	add := func(id int64) {
		if _, seen := s.streamIdx[id]; !seen {
			s.streamIdx[id] = len(s.streamOrder)
			s.streamOrder = append(s.streamOrder, id)
		}
	}
	for _, r := range s.rows {
		for _, ev := range r.arrows {
			if id, ok := streamOf(&ev.Event); ok {
				add(id)
			}
		}
		if r.bulk != nil {
			for _, id := range r.bulk.streams {
				add(id)
			}
		}
	}
}

// evClass is an arrow event's colour class: its stream's, a layer name,
// or ClassError for resets.
func (s *seq) evClass(e *decode.Event) string {
	if id, ok := streamOf(e); ok {
		if k, ok := s.streamIdx[id]; ok {
			return StreamClass(k)
		}
	}
	return arrowClass(e)
}

// streamLegend is one legend label per stream colour used, listing the
// streams that share it: "stream 1", "streams 3, 19, 35, 51, …".
func (s *seq) streamLegend() (classes, labels []string) {
	n := min(len(s.streamOrder), StreamColours)
	for k := 0; k < n; k++ {
		var ids []string
		more := 0
		for j := k; j < len(s.streamOrder); j += StreamColours {
			if len(ids) == maxLegendStreams {
				more++
				continue
			}
			ids = append(ids, strconv.FormatInt(s.streamOrder[j], 10))
		}
		label := "stream " + ids[0]
		if len(ids) > 1 {
			label = "streams " + strings.Join(ids, ", ")
		}
		if more > 0 {
			label += " +" + strconv.Itoa(more)
		}
		classes = append(classes, StreamClass(k))
		labels = append(labels, label)
	}
	return classes, labels
}
