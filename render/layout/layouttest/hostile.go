package layouttest

import (
	"strings"

	"github.com/wiretrace/wiretrace/decode"
)

// HostileStrings are wire strings a renderer must keep inert: markup,
// quotes, ampersands, control characters, invalid UTF-8, a bidirectional
// override, a character XML forbids, and a megabyte of text.
var HostileStrings = []string{
	`<script>alert("x")</script>`,
	`"'><svg onload=alert(1)>`,
	`&amp; &lt; & &#x3c; ]]> <![CDATA[x]]>`,
	"nul\x00 bell\x07 esc\x1b[31m del\x7f c1\u0085 tab\t nl\n cr\r",
	"bad utf-8 \xff\xfe\xc0\x80 end",
	"bidi \u202egnp.exe\u202c and \u2066isolate\u2069",
	"xml-forbidden \ufffe \uffff",
	strings.Repeat("A<&>", 1<<18),
}

// Hostile returns a connection whose events carry HostileStrings in
// their types, Info keys and values.
func Hostile() Case {
	b := newBuilder(7, "192.0.2.66:6666", "198.51.100.66:80", false)
	t := b.handshake(0)
	var info decode.Info
	for i, s := range HostileStrings {
		info = append(info, decode.String(s[:min(len(s), 40)], s))
		info = append(info, decode.Strings("list"+string(rune('0'+i)), []string{s, s}))
	}
	for i, s := range HostileStrings {
		b.next()
		dir := decode.C2S
		if i%2 == 1 {
			dir = decode.S2C
		}
		b.ev(t+float64(i)*100, dir, decode.LayerHTTP1, decode.Type(s), int64(len(s)), info...)
		b.seg(t+float64(i)*100, dir, decode.TypeSegment, 1, 1, 10, s, info...)
		b.seg(t+float64(i)*100, dir, decode.TypeDupAck, 1, 1, 0, s, decode.String("dup_ack_num", s))
		b.ev(t+float64(i)*100, dir, decode.LayerAnalysis, decode.Type(s), decode.NoValue, info...)
		b.ev(t+float64(i)*100+50, decode.DirNone, decode.LayerConn, decode.Type(s), decode.NoValue, info...)
	}
	c := b.summary(t+1000, append(decode.Info{decode.String("sni", HostileStrings[0]), decode.String("protocol", HostileStrings[3])}, info...)...)
	c.Name = "hostile"
	return c
}
