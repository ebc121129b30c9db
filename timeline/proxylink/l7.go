package proxylink

import (
	"net/netip"
	"slices"
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// exchKey groups exchanges that may match: same method and path.
type exchKey struct{ method, path string }

// exchange is one HTTP exchange event, as the matching needs it.
type exchange struct {
	rec       *connRec
	layer     decode.Layer
	stream    int64
	method    string
	authority string
	path      string
	status    int64
	// start is the request's first byte, first the response's (zero when
	// none), end the response's end (or the exchange's).
	start, first, end time.Time
	// seen is the exchange event's time, at or after end; it grows along
	// a key's list.
	seen time.Time
	dead bool // claimed as a back exchange, or forgotten
}

// exList is the kept exchanges of one key, oldest first; dead ones stay
// until they are half of it.
type exList struct {
	items []*exchange
	dead  int
}

// parseExchange reads an exchange event; ok is false for one that is not
// a request this side sent (a pushed stream, an unmatched response) or
// lacks its timing.
func parseExchange(r *connRec, ev *timeline.Event) (x *exchange, ok bool) {
	x = &exchange{rec: r, layer: ev.Layer, stream: ev.Stream, seen: ev.TS}
	var first, dur time.Duration
	hasFirst, hasDur := false, false
	for _, f := range ev.Info {
		switch f.Key {
		case "method":
			x.method = f.Str
		case "authority":
			x.authority = f.Str
		case "path":
			x.path = f.Str
		case "status":
			x.status = f.Int
		case "start":
			t, err := time.Parse(time.RFC3339Nano, f.Str)
			if err != nil {
				return nil, false
			}
			x.start = t
		case "first_byte_ms":
			first, hasFirst = f.Duration(), true
		case "duration_ms":
			dur, hasDur = f.Duration(), true
		case "pushed", "unmatched":
			if f.Kind == decode.KindBool && f.Bool() {
				return nil, false
			}
		}
	}
	if x.method == "" || x.start.IsZero() || !hasDur {
		return nil, false
	}
	if hasFirst {
		x.first = x.start.Add(first)
	}
	x.end = x.start.Add(dur)
	return x, true
}

// exchange matches an exchange as a front request against the kept back
// exchanges, then keeps it as a possible back exchange of another proxy
// in front of this one.
func (l *Linker) exchange(r *connRec, ev *timeline.Event) {
	x, ok := parseExchange(r, ev)
	if !ok {
		return
	}
	l.expire()
	if r.relayTo == nil {
		if y := l.bestBack(x); y != nil && looksRelayed(x, y) {
			r.relayTo = y.rec
		} else if y != nil {
			l.claim(y)
			l.emitL7(x, y, decode.Position{Frame: ev.Frame, TS: ev.TS})
		}
	}
	l.keep(x)
}

// looksRelayed reports whether front exchange x and its back exchange y
// look like one request relayed byte for byte (an L4 proxy of plain HTTP)
// rather than re-issued: the first request on both connections, in the
// same protocol, with the same authority, and request and response heads
// of the same length on both. Such a front connection gets no L7 links;
// the L4 rules decide at its end.
func looksRelayed(x, y *exchange) bool {
	f, b := x.rec, y.rec
	return x.layer == y.layer && isFirst(x) && isFirst(y) && x.authority == y.authority &&
		f.headLen[0] > 0 && f.headLen == b.headLen
}

// bestBack returns the back exchange for front exchange x, or nil (the
// rules in the package doc).
func (l *Linker) bestBack(x *exchange) *exchange {
	fc := x.rec.conn
	var best *exchange
	var bestSame bool
	var bestSlack time.Duration
	list := l.exch[exchKey{x.method, x.path}]
	if list == nil {
		return nil
	}
	for i := len(list.items) - 1; i >= 0; i-- {
		y := list.items[i]
		if l.early(y.seen, x.start) {
			// Ended before x started, and so did every older one.
			break
		}
		bc := y.rec.conn
		if y.dead || y.rec == x.rec || bc.Server == fc.Server || l.addrRule(fc, bc) == "" ||
			l.edges[[2]netip.AddrPort{bc.Server, fc.Server}] {
			continue
		}
		if l.early(y.start, x.start) || l.early(x.end, y.end) ||
			!y.first.IsZero() && !x.first.IsZero() && l.early(x.first, y.first) {
			continue
		}
		same := x.authority != "" && y.authority == x.authority
		slack := y.start.Sub(x.start) + x.end.Sub(y.end)
		if best == nil || better(same, slack, y, bestSame, bestSlack, best) {
			best, bestSame, bestSlack = y, same, slack
		}
	}
	return best
}

// better orders candidates: same authority, least slack, earliest start,
// lowest connection, lowest stream.
func better(same bool, slack time.Duration, y *exchange, bSame bool, bSlack time.Duration, b *exchange) bool {
	switch {
	case same != bSame:
		return same
	case slack != bSlack:
		return slack < bSlack
	case !y.start.Equal(b.start):
		return y.start.Before(b.start)
	case y.rec.conn.ID != b.rec.conn.ID:
		return y.rec.conn.ID < b.rec.conn.ID
	}
	return y.stream < b.stream
}

// isFirst reports whether y was the first request on its connection:
// HTTP/1.1 exchange 1, HTTP/2 stream 1, HTTP/3 stream 0.
func isFirst(y *exchange) bool {
	if y.rec.conn.Midstream {
		return false
	}
	if y.layer == decode.LayerHTTP3 {
		return y.stream == 0
	}
	return y.stream == 1
}

// emitL7 emits the proxy-link event of a matched request, right after the
// front exchange.
func (l *Linker) emitL7(x, y *exchange, at decode.Position) {
	f, b := x.rec, y.rec
	f.l7Front, b.l7Back = true, true
	l.stats.L7++
	if len(l.edges) < l.opts.MaxConns {
		l.edges[[2]netip.AddrPort{f.conn.Server, b.conn.Server}] = true
	}
	newConn := isFirst(y)
	reuse := "reused"
	if newConn {
		reuse = "new"
	}
	info := make(decode.Info, 0, 16)
	info = append(info,
		decode.Int("front", int64(f.conn.ID)),
		decode.Int("back", int64(b.conn.ID)),
		decode.String("mode", "l7"),
		decode.String("back_conn", reuse),
		decode.Int("back_stream", y.stream),
		decode.String("method", x.method),
		decode.String("authority", x.authority))
	if y.authority != x.authority {
		info = append(info, decode.String("back_authority", y.authority))
	}
	info = append(info, decode.String("path", x.path), decode.Int("status", x.status))
	if y.status != x.status {
		info = append(info, decode.Int("back_status", y.status))
	}
	info = append(info, decode.Millis("to_back_ms", y.start.Sub(x.start)))
	if !x.first.IsZero() && !y.first.IsZero() {
		info = append(info, decode.Millis("from_back_ms", x.first.Sub(y.first)))
	}
	info = append(info, decode.Millis("added_ms", x.end.Sub(x.start)-y.end.Sub(y.start)))
	if newConn {
		info = append(info, decode.Millis("back_connect_ms", y.start.Sub(b.conn.FirstTS)))
	}
	l.emit(f, at, x.stream, info)
}

// keep adds x to the possible back exchanges, forgetting the oldest past
// MaxExchanges.
func (l *Linker) keep(x *exchange) {
	k := exchKey{x.method, x.path}
	list := l.exch[k]
	if list == nil {
		list = &exList{}
		l.exch[k] = list
	}
	list.items = append(list.items, x)
	l.exq = append(l.exq, x)
	l.nexch++
	l.expire()
	if len(l.exq) > 2*l.opts.MaxExchanges {
		l.exq = slices.DeleteFunc(l.exq, func(e *exchange) bool { return e.dead })
	}
}

// expire forgets kept exchanges past MaxAge or over MaxExchanges, oldest
// first.
func (l *Linker) expire() {
	for len(l.exq) > 0 {
		e := l.exq[0]
		if !e.dead && l.nexch <= l.opts.MaxExchanges && l.now.Sub(e.end) <= l.opts.MaxAge {
			return
		}
		l.exq[0] = nil
		l.exq = l.exq[1:]
		if !e.dead {
			l.claim(e)
		}
	}
}

// claim takes e out of the possible back exchanges.
func (l *Linker) claim(e *exchange) {
	e.dead = true
	l.nexch--
	k := exchKey{e.method, e.path}
	list := l.exch[k]
	if list == nil {
		return
	}
	if list.dead++; list.dead == len(list.items) {
		delete(l.exch, k)
	} else if list.dead > len(list.items)/2 {
		list.items = slices.DeleteFunc(list.items, func(x *exchange) bool { return x.dead })
		list.dead = 0
	}
}
