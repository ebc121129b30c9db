package layout

import (
	"strings"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// typeFlowStall is the analysis event of an HTTP/2 flow-control stall.
const typeFlowStall decode.Type = "flow-control-stall"

// ClassFlowStall marks flow-control stall bands.
const ClassFlowStall = "flow-stall"

// maxNamedStreams bounds the streams a stall note names.
const maxNamedStreams = 6

// isFlowStall reports an HTTP/2 flow-control stall.
func isFlowStall(e *decode.Event) bool {
	return e.Layer == decode.LayerAnalysis && e.Type == typeFlowStall
}

// drawKind is how the sequence diagram draws e: as Classify says, except
// that flow-control stalls get a band like head-of-line stalls (the
// other renderers name them on their own).
func drawKind(e *decode.Event) kind {
	k := classify(e)
	if k == kindMarker && isFlowStall(e) && (e.Dir == decode.C2S || e.Dir == decode.S2C) {
		return kindStall
	}
	return k
}

// stallSide is the side of a stall's note: a head-of-line stall's on the
// receiver's side (where the bytes waited), a flow-control stall's on
// the blocked sender's.
func stallSide(st *timeline.Event) int {
	if isFlowStall(&st.Event) {
		return side(st.Dir)
	}
	return 1 - side(st.Dir)
}

// stallDetail is the lines under a head-of-line stall's note, those the
// event gives of: the lost bytes ("lost seq=1429 len=1428"), the victims
// ("victims: streams 1, 3") and the culprits ("culprits: stream 5").
func stallDetail(e *decode.Event) []string {
	var parts []string
	switch {
	case field(e, "gap_seq") != "":
		parts = append(parts, "lost seq="+field(e, "gap_seq")+lenPart(e))
	case field(e, "gap_offset") != "":
		lost := "lost"
		if e.Stream != decode.NoValue {
			lost += " on stream " + field(e, "stream")
		}
		parts = append(parts, lost+" offset="+field(e, "gap_offset")+lenPart(e))
	case field(e, "blocked_by") != "":
		parts = append(parts, "behind exchange "+field(e, "blocked_by"))
	}
	if v := streamsField(e, "streams"); v != "" {
		parts = append(parts, "victims: "+v)
	}
	if v := streamsField(e, "culprit_streams"); v != "" {
		parts = append(parts, "culprits: "+v)
	}
	return parts
}

func lenPart(e *decode.Event) string {
	if v := field(e, "gap_len"); v != "" {
		return " len=" + v
	}
	return ""
}

// streamsField names a stream list field: "stream 5", "streams 1, 3, 5
// +4"; "" when absent or empty.
func streamsField(e *decode.Event, key string) string {
	f, ok := e.Info.Get(key)
	if !ok || f.Kind != decode.KindStrings || len(f.Strs) == 0 {
		return ""
	}
	n := min(len(f.Strs), maxNamedStreams)
	ids := make([]string, n)
	for i := range n {
		ids[i] = clean(f.Strs[i], maxLabelBytes)
	}
	s := "stream "
	if len(f.Strs) > 1 {
		s = "streams "
	}
	s += strings.Join(ids, ", ")
	if len(f.Strs) > n {
		s += " +" + grouped(int64(len(f.Strs)-n))
	}
	return s
}

// flowStallNote is the note beside a flow-control stall: "flow-control
// stall 12.5 ms, stream 3"; the window when it was not simply 0.
func flowStallNote(e *decode.Event) string {
	s := "flow-control stall"
	if f, ok := e.Info.Get("duration_ms"); ok && f.Kind == decode.KindDuration {
		s += " " + human(f.Duration())
	}
	if field(e, "scope") == "connection" || field(e, "stream") == "0" {
		s += ", connection"
	} else if v := field(e, "stream"); v != "" {
		s += ", stream " + v
	}
	if v := field(e, "window"); v != "" && v != "0" {
		s += " (window " + v + ")"
	}
	return s
}
