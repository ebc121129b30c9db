package decode

import "unicode/utf8"

// Cut returns s cut to at most max bytes, at a UTF-8 boundary (unless s is
// not UTF-8 there), with "…" appended when anything was cut. Decoders cut
// every wire string they put in an event with it, so hostile input cannot
// bloat the output.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return "…"
	}
	i := max
	for j := 0; j < utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]); j++ {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = max
	}
	return s[:i] + "…"
}

// CapLimit returns the conn/cap-limit event a decoder emits when one of
// its resource caps dropped data (docs/events.md): the decoder, the cap's
// name and limit, then fields saying what was dropped.
func CapLimit(at Position, dir Dir, decoder, cap string, limit int64, dropped ...Field) Event {
	e := NewEvent(at.Frame, at.TS, dir, LayerConn, TypeCapLimit)
	e.Info = append(Info{String("decoder", decoder), String("cap", cap), Int("limit", limit)}, dropped...)
	return e
}
