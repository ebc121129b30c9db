package layouttest

import (
	"time"

	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/timeline"
)

// WireStrings are hostile strings as they come from the wire, aimed at
// the text formats (Mermaid, WebVTT, Markdown) as much as at markup:
// statement and cue separators, comments, directives, entities, line
// breaks and terminal escape sequences.
var WireStrings = []string{
	`<script>alert("x")</script>`,
	`"quoted" 'single' ;semi; #hash #59; &amp; &lt;b&gt;`,
	"00:00:01.000 --> 00:00:02.000 line\nbreak\r\n\r\nNOTE blank line above",
	"esc \x1b[31mred\x1b]0;title\x07 nul\x00 del\x7f",
	`%%{init: {"securityLevel":"loose"}}%%`,
	"end\nNote over C,S: injected\nclick C call alert()",
	"wrap:x $$\\sqrt{x}$$ `tick` {brace} <br/> <b>bold</b>",
	"bidi \u202egnp.exe\u202c \ufffe bad \xff\xfe",
}

// HostileWire is a connection whose wire strings are WireStrings: in a
// ClientHello's SNI and ALPN, HTTP/1.1 requests' paths and headers, a
// response's reason, HTTP/2 headers, a WebSocket close reason, a TLS
// alert, an HTTP exchange, a decode error and the summary. Every event
// type there is one a renderer shows, so every string reaches the output.
func HostileWire() Case {
	b := newBuilder(9, "192.0.2.66:40000", "198.51.100.66:443", false)
	t := b.handshake(0)
	for i, s := range WireStrings {
		t += 1000
		b.next()
		b.ev(t, decode.C2S, decode.LayerTLS, "ClientHello", 300,
			decode.String("sni", s), decode.Strings("alpn", []string{s, "h2"}))
		b.next()
		b.ev(t+100, decode.S2C, decode.LayerTLS, "Alert", 2,
			decode.String("level", "fatal"), decode.String("description", s))
		b.next()
		e := decode.NewEvent(b.frame, at(t+200), decode.C2S, decode.LayerHTTP1, "request")
		e.Stream, e.Len = int64(i+1), 80
		e.Info = decode.Info{decode.String("method", s), decode.String("path", "/"+s),
			decode.String("host", s), decode.Strings("headers", []string{"x-evil: " + s})}
		b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
		b.next()
		e = decode.NewEvent(b.frame, at(t+300), decode.S2C, decode.LayerHTTP1, "response")
		e.Stream, e.Len = int64(i+1), 60
		e.Info = decode.Info{decode.Int("status", 200), decode.String("reason", s)}
		b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
		e = decode.NewEvent(b.frame, at(t+300), decode.DirNone, decode.LayerHTTP1, "exchange")
		e.Stream = int64(i + 1)
		e.Info = decode.Info{decode.String("method", s), decode.String("authority", s), decode.String("path", "/"+s),
			decode.Int("status", 200), decode.String("start", at(t+200).Format(time.RFC3339Nano)),
			decode.Int("start_frame", b.frame-1), decode.Millis("first_byte_ms", 100*time.Microsecond),
			decode.Millis("duration_ms", 100*time.Microsecond), decode.Int("req_bytes", 0), decode.Int("resp_bytes", 5)}
		b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
		b.next()
		e = decode.NewEvent(b.frame, at(t+400), decode.S2C, decode.LayerHTTP2, "HEADERS")
		e.Stream, e.Len = 1, 40
		e.Info = decode.Info{decode.String("method", s), decode.String("path", s), decode.Int("status", 404)}
		b.evs = append(b.evs, timeline.Event{Event: e, Conn: b.conn})
		b.next()
		b.ev(t+500, decode.C2S, decode.LayerWS, "close", 20,
			decode.Bool("fin", true), decode.Int("code", 1000), decode.String("code_name", s), decode.String("reason", s))
		b.ev(t+500, decode.DirNone, decode.LayerConn, decode.TypeDecodeError, decode.NoValue,
			decode.String("decoder", s), decode.String("error", s))
	}
	c := b.summary(t+1000,
		decode.String("handshake", "TCP+TLS1.3"), decode.String("tls_version", WireStrings[4]),
		decode.String("sni", WireStrings[0]), decode.String("alpn", WireStrings[2]),
		decode.String("protocol", "tls/"+WireStrings[5]),
		decode.Uint("bytes_c2s", 100), decode.Uint("bytes_s2c", 100),
		decode.Millis("duration_ms", time.Duration(t+1000)*time.Microsecond),
		decode.String("close", WireStrings[3]), decode.String("ended", WireStrings[1]))
	c.Name = "hostile-wire"
	return c
}
