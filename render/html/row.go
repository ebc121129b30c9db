package html

import (
	"net/netip"
	"strconv"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/render/layout"
	"github.com/wiretrace/wiretrace/timeline"
)

// column is one column of the connection table.
type column struct {
	name, tip string // our own text, written raw
	num       bool   // sorted by number; right-aligned
}

// columns of the connection table, in the order of row.cells.
var columns = [...]column{
	{"#", "connection number, in order of first packet", true},
	{"transport", "tcp or udp", false},
	{"client", "the side that opened the connection", false},
	{"server", "the side that accepted it", false},
	{"protocols", "transport and the decoders attached, outermost first; TLS version", false},
	{"SNI", "server name from the ClientHello", false},
	{"ALPN", "protocol the server chose", false},
	{"RTs", "round trips the client waited before its first application byte", true},
	{"RTT", "handshake round-trip time (QUIC: minimum RTT sample)", true},
	{"TTFB", "first packet to the server's first response byte", true},
	{"stalls", "head-of-line (HOL) and flow-control (FC) stalls; HOL stall time", true},
	{"bytes →", "bytes client to server", true},
	{"bytes ←", "bytes server to client", true},
	{"duration", "first to last packet", true},
	{"close", "how the connection closed, and why the summary came when not closed", false},
	{"proxy", "→ N: a proxy's front connection and its back connections; ← N: a back connection and its front", false},
}

// proxyColumn is the index of the proxy column, filled at Close from the
// links seen.
const proxyColumn = len(columns) - 1

// cell is one table cell: the text shown (clean, not yet escaped) and,
// for numeric columns, the sort key ("" when the value is absent).
type cell struct {
	text, key string
}

// row is what the report keeps of a connection after its section is
// written: its table row, every string cleaned and bounded.
type row struct {
	id    int
	cells [len(columns)]cell
}

// newRow builds a connection's row from its summary (nil when it never
// ended) and the counts kept while its events went by.
func newRow(c *timeline.Conn, sum *decode.Event, p *pending) row {
	r := row{id: c.ID}
	id := strconv.Itoa(c.ID)
	r.cells[0] = cell{id, id}
	r.cells[1] = cell{text: c.Transport.String()}
	r.cells[2] = cell{text: addr(c.Client)}
	r.cells[3] = cell{text: addr(c.Server)}
	stall := cell{text: "0", key: "0"}
	if n := p.hol + p.fc; n > 0 {
		stall.key = strconv.FormatInt(n, 10)
		stall.text = ""
	}
	if p.hol > 0 {
		stall.text = strconv.FormatInt(p.hol, 10) + " HOL"
	}
	if p.fc > 0 {
		if stall.text != "" {
			stall.text += " · "
		}
		stall.text += strconv.FormatInt(p.fc, 10) + " FC"
	}
	if sum == nil {
		r.cells[4] = cell{text: c.Transport.String()}
		r.cells[10] = stall
		r.cells[14] = cell{text: "no summary"}
		return r
	}
	in := sum.Info
	str := func(k string) string {
		f, ok := in.Get(k)
		if !ok || f.Kind != decode.KindString {
			return ""
		}
		return layout.Clean(f.Str, maxCell)
	}
	stack := c.Transport.String()
	if p := str("protocol"); p != "" {
		stack += "/" + p
	}
	if v := str("tls_version"); v != "" {
		stack += " (" + v + ")"
	}
	r.cells[4] = cell{text: stack}
	r.cells[5] = cell{text: str("sni")}
	r.cells[6] = cell{text: str("alpn")}
	if f, ok := in.Get("round_trips_before_data"); ok && isInt(f) {
		n := strconv.FormatInt(f.Int, 10)
		r.cells[7] = cell{n, n}
	}
	r.cells[8] = millis(in, "rtt_ms")
	r.cells[9] = millis(in, "ttfb_ms")
	if d, ok := in.Get("hol_stall_ms"); ok && d.Kind == decode.KindDuration && d.Int > 0 && p.hol > 0 {
		stall.text += " · " + layout.Human(d.Duration())
	}
	r.cells[10] = stall
	r.cells[11] = count(in, "bytes_c2s")
	r.cells[12] = count(in, "bytes_s2c")
	r.cells[13] = millis(in, "duration_ms")
	// TCP's close says how; ended says why the summary came, which is
	// news when the connection did not close (or is UDP).
	end := str("close")
	if e := str("ended"); e != "" && (e != "closed" || end == "") {
		if end != "" {
			end += " · "
		}
		end += e
	}
	r.cells[14] = cell{text: end}
	return r
}

func isInt(f decode.Field) bool { return f.Kind == decode.KindInt || f.Kind == decode.KindUint }

// millis is the cell of a duration field: shown for people, sorted by
// milliseconds.
func millis(in decode.Info, k string) cell {
	f, ok := in.Get(k)
	if !ok || f.Kind != decode.KindDuration {
		return cell{}
	}
	return cell{text: layout.Human(f.Duration()), key: string(decode.AppendMillis(nil, f.Duration()))}
}

// count is the cell of a byte or packet count.
func count(in decode.Info, k string) cell {
	f, ok := in.Get(k)
	if !ok || !isInt(f) {
		return cell{}
	}
	return cell{text: layout.Grouped(f.Int), key: strconv.FormatInt(f.Int, 10)}
}

// write writes the row, with the proxy links l (nil if none) in the
// proxy column. The first cell links to the connection (#conn-N), which
// the script opens; so does a click anywhere on the row.
func (r *row) write(x *writer, l *links) {
	x.raw(`<tr data-conn="`)
	x.num(int64(r.id))
	x.raw(`" tabindex="0">`)
	for i, c := range r.cells {
		col := columns[i]
		if i == proxyColumn {
			writeLinks(x, l)
			continue
		}
		x.raw("<td")
		switch {
		case col.num:
			x.raw(` class="wt-r" data-v="`)
			x.esc(c.key)
			x.raw(`"`)
		case c.text == "":
			x.raw(` data-v=""`)
		default:
			x.raw(` title="`)
			x.esc(c.text)
			x.raw(`"`)
		}
		x.raw(">")
		switch {
		case i == 0:
			x.raw(`<a href="#conn-`)
			x.num(int64(r.id))
			x.raw(`">`)
			x.esc(c.text)
			x.raw("</a>")
		case c.text == "":
			x.raw(`<span class="wt-none">–</span>`)
		default:
			x.esc(c.text)
		}
		x.raw("</td>")
	}
	x.raw("</tr>\n")
}

// writeLinks writes the proxy cell: "→ 5 6" to a front's back
// connections, "← 3" to a back's front, each a link that opens it.
func writeLinks(x *writer, l *links) {
	if l == nil {
		x.raw(`<td data-v=""><span class="wt-none">–</span></td>`)
		return
	}
	x.raw("<td>")
	list := func(arrow string, ids []int) {
		if len(ids) == 0 {
			return
		}
		x.raw(arrow)
		for _, id := range ids {
			x.raw(` <a href="#conn-`)
			x.num(int64(id))
			x.raw(`">`)
			x.num(int64(id))
			x.raw("</a>")
		}
	}
	list("→", l.backs)
	if len(l.backs) > 0 && len(l.fronts) > 0 {
		x.raw(" · ")
	}
	list("←", l.fronts)
	if l.more > 0 {
		x.raw(" +")
		x.num(int64(l.more))
	}
	x.raw("</td>")
}

// addr spells an endpoint as the event contract does: ip:port, IPv6 in
// brackets.
func addr(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}
