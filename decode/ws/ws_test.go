package ws

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// wsFrame builds a frame: fin, rsv bits (RSV1 = 4), opcode, and the payload
// masked with key when key is not nil.
func wsFrame(fin bool, rsv uint8, op Opcode, key []byte, payload []byte) []byte {
	b0 := rsv<<4 | uint8(op)
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	var m byte
	if key != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n <= 0xffff:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if key == nil {
		return append(b, payload...)
	}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

var key = []byte{1, 2, 3, 4}

// client and server frames.
func cf(op Opcode, p string) []byte { return wsFrame(true, 0, op, key, []byte(p)) }
func sf(op Opcode, p string) []byte { return wsFrame(true, 0, op, nil, []byte(p)) }

type step struct {
	dir  decode.Dir
	data []byte
	skip uint64
}

func c2s(b ...[]byte) step { return step{dir: decode.C2S, data: bytes.Join(b, nil)} }
func s2c(b ...[]byte) step { return step{dir: decode.S2C, data: bytes.Join(b, nil)} }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(i int) decode.Position {
	return decode.Position{Frame: int64(i + 1), TS: t0.Add(time.Duration(i) * time.Millisecond)}
}

// sampleKey and sampleAccept are RFC 6455 §1.3's example.
const (
	sampleKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// run decodes steps, each cut into pieces of at most chunk bytes (0:
// whole), and renders the events.
func run(h Handshake, opts Options, steps []step, chunk int) []string {
	var out []string
	emit := func(e decode.Event) { out = append(out, render(e)) }
	d := New(h, opts, emit)
	for i, st := range steps {
		if st.skip > 0 {
			d.Skip(st.dir, st.skip, at(i), emit)
			continue
		}
		b := st.data
		for len(b) > 0 {
			n := len(b)
			if chunk > 0 {
				n = min(n, chunk)
			}
			if err := d.Data(st.dir, b[:n], at(i), emit); err != nil {
				out = append(out, "error "+err.Error())
			}
			b = b[n:]
		}
	}
	d.End(at(len(steps)), emit)
	return out
}

func render(e decode.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s", e.Dir, e.Layer, e.Type)
	if e.Len != decode.NoValue {
		fmt.Fprintf(&b, " len=%d", e.Len)
	}
	for _, f := range e.Info {
		fmt.Fprintf(&b, " %s=%s", f.Key, f.AppendValue(nil))
	}
	return strings.TrimSpace(b.String())
}

// deflateMsgs compresses each message with one DEFLATE stream (context
// takeover) or a new one each (no takeover), flushed and without the
// trailing 00 00 ff ff, as RFC 7692 §7.2.1 says.
func deflateMsgs(t testing.TB, takeover bool, msgs ...[]byte) [][]byte {
	var out [][]byte
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	for _, m := range msgs {
		if !takeover {
			w.Reset(&buf)
		}
		w.Write(m)
		w.Flush()
		b := bytes.Clone(buf.Bytes())
		if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
			t.Fatalf("flush did not end in 00 00 ff ff")
		}
		out = append(out, b[:len(b)-4])
		buf.Reset()
	}
	return out
}

func TestDecoder(t *testing.T) {
	hs := Handshake{Key: sampleKey, Accept: sampleAccept, At: at(0)}
	pmd := hs
	pmd.Extensions = "permessage-deflate; client_no_context_takeover; server_max_window_bits=10"
	long := strings.Repeat("x", 300)
	huge := strings.Repeat("y", 70000)
	nt := deflateMsgs(t, false, []byte("hello hello hello hello"), []byte("hello again"))
	tk := deflateMsgs(t, true, []byte(strings.Repeat("abcdefgh", 20)), []byte(strings.Repeat("abcdefgh", 20)))
	bomb := deflateMsgs(t, false, make([]byte, 1<<20))
	tests := []struct {
		name  string
		h     Handshake
		opts  Options
		steps []step
		want  []string
	}{
		{
			name: "text, binary, ping, pong, close",
			h:    Handshake{Key: sampleKey, Accept: sampleAccept, Protocol: "chat", At: at(0)},
			steps: []step{
				c2s(cf(OpText, "hi"), cf(OpPing, "p")),
				s2c(sf(OpPong, "p"), sf(OpBinary, long), sf(OpBinary, huge)),
				c2s(cf(OpClose, "\x03\xe8bye")),
				s2c(sf(OpClose, "\x03\xe8")),
			},
			want: []string{
				"ws/handshake accept=ok protocol=chat extensions=",
				"c2s ws/text len=2 fin=true masked=true",
				"c2s ws/ping len=1 fin=true masked=true",
				"s2c ws/pong len=1 fin=true masked=false",
				"s2c ws/binary len=300 fin=true masked=false",
				"s2c ws/binary len=70000 fin=true masked=false",
				"c2s ws/close len=5 fin=true masked=true code=1000 code_name=normal_closure reason=bye",
				"s2c ws/close len=2 fin=true masked=false code=1000 code_name=normal_closure reason=",
			},
		},
		{
			name: "wrong accept, fragments with a ping between",
			h:    Handshake{Key: sampleKey, Accept: "AAAA", At: at(0)},
			steps: []step{
				c2s(wsFrame(false, 0, OpText, key, []byte("ab")), cf(OpPing, ""),
					wsFrame(false, 0, OpContinuation, key, []byte("cd")), wsFrame(true, 0, OpContinuation, key, []byte("e"))),
			},
			want: []string{
				"ws/handshake accept=wrong protocol= extensions=",
				"c2s ws/text len=2 fin=false masked=true",
				"c2s ws/ping len=0 fin=true masked=true",
				"c2s ws/continuation len=2 fin=false masked=true",
				"c2s ws/continuation len=1 fin=true masked=true",
				"c2s ws/message len=5 opcode=text size=5 fragments=3",
			},
		},
		{
			name: "violations",
			h:    hs,
			steps: []step{
				c2s(sf(OpText, "unmasked"), wsFrame(false, 0, OpPing, key, nil), cf(OpContinuation, "x"), cf(3, "?")),
				s2c(wsFrame(true, 0, OpText, key, nil), sf(OpPing, long), wsFrame(true, 2, OpText, nil, nil)),
				s2c(sf(OpClose, "\x03\xed"), sf(OpClose, "\x01"), sf(OpClose, "\x03\xe8\xff")),
				c2s(wsFrame(false, 0, OpText, key, nil), cf(OpBinary, "")),
				s2c([]byte{0x81, 126, 0, 5}, []byte("short")),
			},
			want: []string{
				"ws/handshake accept=ok protocol= extensions=",
				"c2s ws/text len=8 fin=true masked=false protocol_error=unmasked client frame",
				"c2s ws/ping len=0 fin=false masked=true protocol_error=fragmented control frame",
				"c2s ws/continuation len=1 fin=true masked=true protocol_error=continuation without a message",
				"c2s ws/unknown len=1 fin=true masked=true opcode=3 protocol_error=reserved opcode 3",
				"s2c ws/text len=0 fin=true masked=true protocol_error=masked server frame",
				"s2c ws/ping len=300 fin=true masked=false protocol_error=control frame longer than 125 bytes",
				"s2c ws/text len=0 fin=true rsv2=true masked=false protocol_error=reserved bits set without an extension for them",
				"s2c ws/close len=2 fin=true masked=false code=1005 code_name=no_status_received reason= protocol_error=close code 1005 must not be sent",
				"s2c ws/close len=1 fin=true masked=false protocol_error=close payload of 1 byte",
				"s2c ws/close len=3 fin=true masked=false code=1000 code_name=normal_closure reason=\xff protocol_error=close reason is not UTF-8",
				"c2s ws/text len=0 fin=false masked=true",
				"c2s ws/binary len=0 fin=true masked=true protocol_error=new message before the last one's final frame",
				"s2c ws/text len=5 fin=true masked=false protocol_error=length not in its shortest form",
			},
		},
		{
			name: "permessage-deflate without context takeover",
			h:    pmd,
			steps: []step{
				c2s(wsFrame(true, 4, OpText, key, nt[0])),
				c2s(wsFrame(false, 4, OpText, key, nt[1][:3]), wsFrame(true, 0, OpContinuation, key, nt[1][3:])),
				s2c(sf(OpText, "plain")),
			},
			want: []string{
				"ws/handshake accept=ok protocol= extensions=permessage-deflate; client_no_context_takeover; server_max_window_bits=10 permessage_deflate=true client_no_context_takeover=true server_max_window_bits=10",
				fmt.Sprintf("c2s ws/text len=%d fin=true rsv1=true masked=true compressed=true", len(nt[0])),
				fmt.Sprintf("c2s ws/message len=%d opcode=text size=%d fragments=1 compressed=true inflated=23", len(nt[0]), len(nt[0])),
				"c2s ws/text len=3 fin=false rsv1=true masked=true compressed=true",
				fmt.Sprintf("c2s ws/continuation len=%d fin=true masked=true", len(nt[1])-3),
				fmt.Sprintf("c2s ws/message len=%d opcode=text size=%d fragments=2 compressed=true inflated=11", len(nt[1]), len(nt[1])),
				"s2c ws/text len=5 fin=true masked=false",
			},
		},
		{
			name: "context takeover: the second message refers to the first",
			h:    Handshake{Key: sampleKey, Accept: sampleAccept, Extensions: "permessage-deflate", At: at(0)},
			steps: []step{
				s2c(wsFrame(true, 4, OpBinary, nil, tk[0]), wsFrame(true, 4, OpBinary, nil, tk[1])),
			},
			want: []string{
				"ws/handshake accept=ok protocol= extensions=permessage-deflate permessage_deflate=true",
				fmt.Sprintf("s2c ws/binary len=%d fin=true rsv1=true masked=false compressed=true", len(tk[0])),
				fmt.Sprintf("s2c ws/message len=%d opcode=binary size=%d fragments=1 compressed=true inflated=160", len(tk[0]), len(tk[0])),
				fmt.Sprintf("s2c ws/binary len=%d fin=true rsv1=true masked=false compressed=true", len(tk[1])),
				fmt.Sprintf("s2c ws/message len=%d opcode=binary size=%d fragments=1 compressed=true inflated=160", len(tk[1]), len(tk[1])),
			},
		},
		{
			name: "decompression bomb: ratio cap",
			h:    pmd,
			steps: []step{
				c2s(wsFrame(true, 4, OpBinary, key, bomb[0])),
				c2s(wsFrame(true, 4, OpBinary, key, bomb[0])),
			},
			want: []string{
				"ws/handshake accept=ok protocol= extensions=permessage-deflate; client_no_context_takeover; server_max_window_bits=10 permessage_deflate=true client_no_context_takeover=true server_max_window_bits=10",
				fmt.Sprintf("c2s ws/binary len=%d fin=true rsv1=true masked=true compressed=true", len(bomb[0])),
				fmt.Sprintf("c2s ws/message len=%d opcode=binary size=%d fragments=1 compressed=true not_inflated=true", len(bomb[0]), len(bomb[0])),
				"c2s conn/cap-limit decoder=ws cap=ws_inflate_ratio limit=100 dropped=inflation of this direction",
				fmt.Sprintf("c2s ws/binary len=%d fin=true rsv1=true masked=true compressed=true", len(bomb[0])),
				fmt.Sprintf("c2s ws/message len=%d opcode=binary size=%d fragments=1 compressed=true not_inflated=true", len(bomb[0]), len(bomb[0])),
			},
			opts: Options{MaxRatio: 100},
		},
		{
			name: "output cap",
			h:    pmd,
			opts: Options{MaxMessage: 5000},
			steps: []step{
				c2s(wsFrame(true, 4, OpBinary, key, nt[0])),
				c2s(wsFrame(true, 4, OpBinary, key, bomb[0])),
			},
			want: []string{
				"ws/handshake accept=ok protocol= extensions=permessage-deflate; client_no_context_takeover; server_max_window_bits=10 permessage_deflate=true client_no_context_takeover=true server_max_window_bits=10",
				fmt.Sprintf("c2s ws/binary len=%d fin=true rsv1=true masked=true compressed=true", len(nt[0])),
				fmt.Sprintf("c2s ws/message len=%d opcode=binary size=%d fragments=1 compressed=true inflated=23", len(nt[0]), len(nt[0])),
				fmt.Sprintf("c2s ws/binary len=%d fin=true rsv1=true masked=true compressed=true", len(bomb[0])),
				fmt.Sprintf("c2s ws/message len=%d opcode=binary size=%d fragments=1 compressed=true not_inflated=true", len(bomb[0]), len(bomb[0])),
				"c2s conn/cap-limit decoder=ws cap=ws_message limit=5000 dropped=inflation of this direction",
			},
		},
		{
			name: "holes and an unfinished frame",
			h:    hs,
			steps: []step{
				s2c(sf(OpBinary, long)[:100]),
				{dir: decode.S2C, skip: 50},
				s2c(sf(OpBinary, long)[150:]),
				c2s(cf(OpText, "abc")[:3]),
				{dir: decode.C2S, skip: 2},
				s2c(sf(OpBinary, "0123456789")[:5]),
			},
			want: []string{
				"ws/handshake accept=ok protocol= extensions=",
				"s2c ws/binary len=300 fin=true masked=false missing_bytes=50",
				"conn/decode-error decoder=ws error=c2s: ws: 2 bytes missing outside a frame's payload (offset 0); stopped decoding this direction",
				"s2c ws/binary len=10 fin=true masked=false received=3 incomplete=true",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(tc.h, tc.opts, tc.steps, 0)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, chunk := range []int{1, 3, 1000} {
				if g := run(tc.h, tc.opts, tc.steps, chunk); !slices.Equal(g, got) {
					t.Errorf("chunks of %d:\n%s\nwhole:\n%s", chunk, strings.Join(g, "\n"), strings.Join(got, "\n"))
				}
			}
		})
	}
}

func TestAcceptKey(t *testing.T) {
	if got := AcceptKey(sampleKey); got != sampleAccept {
		t.Errorf("AcceptKey(%q) = %q; want %q", sampleKey, got, sampleAccept)
	}
}

func TestCloseCodeNames(t *testing.T) {
	for c, want := range map[CloseCode]string{1000: "normal_closure", 1011: "internal_error", 3001: "registered", 4999: "private", 999: "CloseCode(999)", 2000: "CloseCode(2000)"} {
		if got := c.String(); got != want {
			t.Errorf("CloseCode(%d) = %q; want %q", c, got, want)
		}
	}
}
