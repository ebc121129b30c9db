package h3

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/quicvarint"
	"golang.org/x/net/http2/hpack"

	"github.com/wiretrace/wiretrace/decode"
)

func frame(t uint64, p []byte) []byte {
	b := quicvarint.Append(nil, t)
	b = quicvarint.Append(b, uint64(len(p)))
	return append(b, p...)
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rec drives a Decoder and records its events.
type rec struct {
	d      *Decoder
	events []decode.Event
	frame  int64
}

func newRec(opts Options) *rec { return &rec{d: NewDecoder(opts)} }

func (r *rec) pos() decode.Position {
	r.frame++
	return decode.Position{Frame: r.frame, TS: time.Unix(1000, 0).Add(time.Duration(r.frame) * time.Millisecond)}
}

func (r *rec) emit(e decode.Event) { r.events = append(r.events, e) }

func (r *rec) data(id int64, dir decode.Dir, b []byte, fin bool) {
	if err := r.d.StreamData(id, dir, b, fin, r.pos(), r.emit); err != nil {
		panic(err)
	}
}

func (r *rec) find(typ decode.Type, stream int64) []decode.Event {
	var out []decode.Event
	for _, e := range r.events {
		if e.Type == typ && (stream < 0 || e.Stream == stream) {
			out = append(out, e)
		}
	}
	return out
}

func headers(e decode.Event) []string {
	f, _ := e.Info.Get("headers")
	return f.Strs
}

func str(e decode.Event, k string) string {
	f, _ := e.Info.Get(k)
	return f.Str
}

func num(e decode.Event, k string) int64 {
	f, _ := e.Info.Get(k)
	return f.Int
}

// serverSettings opens the server's control stream with a SETTINGS frame
// advertising a 220-byte table, as RFC 9204 Appendix B assumes.
func serverSettings(r *rec) {
	p := quicvarint.Append(nil, 0x01)
	p = quicvarint.Append(p, 220)
	p = quicvarint.Append(p, 0x07)
	p = quicvarint.Append(p, 2)
	r.data(3, decode.S2C, append([]byte{uniControl}, frame(frameSettings, p)...), false)
}

// TestRFC9204Examples runs the examples of RFC 9204 Appendix B: field
// sections and encoder/decoder stream instructions.
func TestRFC9204Examples(t *testing.T) {
	r := newRec(Options{})
	serverSettings(r)
	// B.1: a literal with a static name reference.
	r.data(0, decode.C2S, frame(frameHeaders, unhex(t, "0000 510b 2f69 6e64 6578 2e68 746d 6c")), true)
	// B.2: dynamic table inserts, then a section using post-base indexes.
	r.data(2, decode.C2S, []byte{uniEncoder}, false) // client encoder stream: id 2 here
	r.data(2, decode.C2S, unhex(t, "3fbd01 c00f7777772e6578616d706c652e636f6d c10c2f73616d706c652f70617468"), false)
	r.data(4, decode.C2S, frame(frameHeaders, unhex(t, "0381 10 11")), true)
	r.data(11, decode.S2C, append([]byte{uniDecoder}, unhex(t, "84")...), false)
	// B.3: an insert with a literal name.
	r.data(2, decode.C2S, unhex(t, "4a637573746f6d2d6b65790c637573746f6d2d76616c7565"), false)
	r.data(11, decode.S2C, unhex(t, "01"), false)
	// B.4: a duplicate and a section using it.
	r.data(2, decode.C2S, unhex(t, "02"), false)
	r.data(8, decode.C2S, frame(frameHeaders, unhex(t, "0500 80 c1 81")), true)
	r.data(11, decode.S2C, unhex(t, "48"), false)
	// B.5: an insert with a dynamic name reference, evicting.
	r.data(2, decode.C2S, unhex(t, "810d637573746f6d2d76616c756532"), false)

	for _, ev := range r.events {
		if e := str(ev, "error"); e != "" || ev.Layer == decode.LayerConn {
			t.Errorf("unexpected error event %s/%s: %v", ev.Layer, ev.Type, ev.Info)
		}
	}
	hs := r.find("HEADERS", -1)
	want := [][]string{
		{":path: /index.html"},
		{":authority: www.example.com", ":path: /sample/path"},
		{":authority: www.example.com", ":path: /", "custom-key: custom-value"},
	}
	if len(hs) != len(want) {
		t.Fatalf("got %d HEADERS, want %d", len(hs), len(want))
	}
	for i, e := range hs {
		if got := headers(e); !slices.Equal(got, want[i]) {
			t.Errorf("HEADERS %d: got %q, want %q", i, got, want[i])
		}
	}
	if got := num(hs[1], "required_insert_count"); got != 2 {
		t.Errorf("B.2 Required Insert Count = %d, want 2", got)
	}
	if got := num(hs[2], "required_insert_count"); got != 4 {
		t.Errorf("B.4 Required Insert Count = %d, want 4", got)
	}
	ins := r.find(insLiteral, 2)
	if len(ins) != 1 || str(ins[0], "name") != "custom-key" {
		t.Errorf("insert with literal name: %v", ins)
	}
	last := r.find(insNameRef, 2)
	if n := len(last); n != 3 || str(last[2], "value") != "custom-value2" || str(last[2], "name") != "custom-key" {
		t.Fatalf("inserts with name reference: %v", last)
	}
	// B.5 evicts the first entry (57 bytes of 217) to add 55: 215 of 220.
	if got := num(last[2], "table_size"); got != 215 {
		t.Errorf("table size after B.5 = %d, want 215", got)
	}
	if got := r.find(insSectionAck, 11); len(got) != 1 || num(got[0], "stream") != 4 {
		t.Errorf("section acknowledgment: %v", got)
	}
	if got := r.find(insCancel, 11); len(got) != 1 || num(got[0], "stream") != 8 {
		t.Errorf("stream cancellation: %v", got)
	}
	if got := r.find(insIncrement, 11); len(got) != 1 || num(got[0], "increment") != 1 {
		t.Errorf("insert count increment: %v", got)
	}
}

// TestBlocked holds a field section until the encoder stream inserts it
// needs arrive, and the DATA after it waits too.
func TestBlocked(t *testing.T) {
	r := newRec(Options{})
	req := append(frame(frameHeaders, unhex(t, "0381 10 11")), frame(frameData, []byte("body"))...)
	r.data(4, decode.C2S, req, true) // before the server's SETTINGS and the inserts
	if n := len(r.events); n != 0 {
		t.Fatalf("events before the inserts: %v", r.events)
	}
	serverSettings(r)
	r.data(2, decode.C2S, []byte{uniEncoder}, false)
	enc := unhex(t, "3fbd01 c00f7777772e6578616d706c652e636f6d c10c2f73616d706c652f70617468")
	r.data(2, decode.C2S, enc[:20], false)
	if got := r.find("HEADERS", 4); len(got) != 0 {
		t.Fatalf("HEADERS before the second insert: %v", got)
	}
	r.data(2, decode.C2S, enc[20:], false)
	var types []string
	for _, e := range r.events {
		types = append(types, string(e.Type))
	}
	want := []string{"stream", "SETTINGS", "stream", insSetCapacity, insNameRef, insNameRef, "HEADERS", "DATA"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %q, want %q", types, want)
	}
	h := r.find("HEADERS", 4)[0]
	if !slices.Equal(headers(h), []string{":authority: www.example.com", ":path: /sample/path"}) || !h.Info.Has("was_blocked") {
		t.Errorf("HEADERS %v", h.Info)
	}
	if h.Flags != decode.FlagRequest|decode.FlagAppData {
		t.Errorf("HEADERS flags %v", h.Flags)
	}
}

// TestExchange decodes a request and response encoded with the static
// table and Huffman literals, and checks the exchange event and flags.
func TestExchange(t *testing.T) {
	r := newRec(Options{})
	// Client control stream with SETTINGS (grease included), then a request.
	cs := quicvarint.Append(nil, 0x01)
	cs = quicvarint.Append(cs, 0)
	cs = quicvarint.Append(cs, 0x21+0x1f*3)
	cs = quicvarint.Append(cs, 7)
	r.data(2, decode.C2S, append([]byte{uniControl}, frame(frameSettings, cs)...), false)
	serverSettings(r)

	lit := func(b []byte, idx byte, v string) []byte { // literal, static name ref, Huffman value
		b = append(b, 0x50|idx)
		hv := hpack.AppendHuffmanString(nil, v)
		b = append(b, 0x80|byte(len(hv)))
		return append(b, hv...)
	}
	reqFS := []byte{0, 0, 0xc0 | 17, 0xc0 | 23} // GET, https
	reqFS = lit(reqFS, 0, "example.org")
	reqFS = lit(reqFS, 1, "/hello")
	reqFS = append(reqFS, 0x23, 'f', 'o', 'o', 0x03, 'b', 'a', 'r') // literal name "foo: bar"
	resFS := []byte{0, 0, 0xc0 | 25, 0xc0 | 53}                     // 200, text/plain
	resFS = lit(resFS, 4, "5")

	req := frame(frameHeaders, reqFS)
	r.data(0, decode.C2S, req[:3], false)
	r.data(0, decode.C2S, req[3:], true)
	res := append(frame(frameHeaders, resFS), frame(frameData, []byte("hel"))...)
	r.data(0, decode.S2C, res, false)
	r.data(0, decode.S2C, frame(frameData, []byte("lo")), true)
	r.d.End(r.pos(), r.emit)

	for _, ev := range r.events {
		if e := str(ev, "error"); e != "" || ev.Layer == decode.LayerConn {
			t.Errorf("unexpected error event %s/%s: %v", ev.Layer, ev.Type, ev.Info)
		}
	}
	hs := r.find("HEADERS", 0)
	if len(hs) != 2 {
		t.Fatalf("HEADERS: %v", hs)
	}
	q, s := hs[0], hs[1]
	if str(q, "method") != "GET" || str(q, "scheme") != "https" || str(q, "authority") != "example.org" || str(q, "path") != "/hello" {
		t.Errorf("request %v", q.Info)
	}
	if got := headers(q); !slices.Equal(got, []string{":method: GET", ":scheme: https", ":authority: example.org", ":path: /hello", "foo: bar"}) {
		t.Errorf("request headers %q", got)
	}
	if q.Flags != decode.FlagRequest|decode.FlagAppData || s.Flags != decode.FlagReply|decode.FlagAppData {
		t.Errorf("flags %v %v", q.Flags, s.Flags)
	}
	if num(s, "status") != 200 || str(s, "content_type") != "text/plain" || num(s, "content_length") != 5 {
		t.Errorf("response %v", s.Info)
	}
	set := r.find("SETTINGS", 3)
	if len(set) != 1 || num(set[0], "qpack_max_table_capacity") != 220 || set[0].Flags != decode.FlagReply {
		t.Errorf("server SETTINGS %v", set)
	}
	if cset := r.find("SETTINGS", 2); len(cset) != 1 || num(cset[0], "grease_settings") != 1 || cset[0].Flags != decode.FlagAppData {
		t.Errorf("client SETTINGS %v", cset)
	}
	ex := r.find(TypeExchange, 0)
	if len(ex) != 1 {
		t.Fatalf("exchanges %v", ex)
	}
	e := ex[0]
	if str(e, "method") != "GET" || str(e, "path") != "/hello" || num(e, "status") != 200 ||
		num(e, "resp_bytes") != 5 || num(e, "req_bytes") != 0 || e.Info.Has("incomplete") {
		t.Errorf("exchange %v", e.Info)
	}
	if f, _ := e.Info.Get("first_byte_ms"); f.Duration() != 2*time.Millisecond {
		t.Errorf("first_byte_ms %v", f.Duration())
	}
	if got := r.d.Summary(); num(decode.Event{Info: got}, "requests") != 1 {
		t.Errorf("summary %v", got)
	}
	if d := r.find("DATA", 0); len(d) != 2 || d[0].Len != 3 || d[1].Len != 2 {
		t.Errorf("DATA %v", d)
	}
}
