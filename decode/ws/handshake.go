package ws

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/wiretrace/wiretrace/decode"
)

// Handshake is what the HTTP/1.1 upgrade (RFC 6455 §4) said about the
// WebSocket connection that follows it.
type Handshake struct {
	// Key is the request's Sec-WebSocket-Key, Accept the response's
	// Sec-WebSocket-Accept.
	Key, Accept string
	// Protocol is the subprotocol the server chose
	// (Sec-WebSocket-Protocol of the response).
	Protocol string
	// Extensions is the response's Sec-WebSocket-Extensions: the
	// negotiated extensions and their parameters.
	Extensions string
	// At is where the switching response ended.
	At decode.Position
}

// FromHeaders builds a Handshake from the upgrade request's and the 101
// response's header fields.
func FromHeaders(req, resp http.Header, at decode.Position) Handshake {
	return Handshake{
		Key:        req.Get("Sec-WebSocket-Key"),
		Accept:     resp.Get("Sec-WebSocket-Accept"),
		Protocol:   strings.Join(resp.Values("Sec-WebSocket-Protocol"), ", "),
		Extensions: strings.Join(resp.Values("Sec-WebSocket-Extensions"), ", "),
		At:         at,
	}
}

// websocketGUID is appended to the key to compute the accept value (RFC
// 6455 §1.3).
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value that answers key: the
// base64 of the SHA-1 of the key (trimmed) and the GUID (RFC 6455 §4.2.2
// step 5.4).
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(strings.TrimSpace(key) + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// deflateParams are the negotiated permessage-deflate parameters (RFC 7692
// §7.1).
type deflateParams struct {
	on                       bool
	clientNoTakeover         bool
	serverNoTakeover         bool
	clientBits, serverBits   int // 0: not given (15)
	clientBitsSet, serverSet bool
}

// parseExtensions finds permessage-deflate among the negotiated
// extensions (RFC 6455 §9.1 syntax: comma-separated extensions, each with
// ";"-separated parameters), and reports whether any other extension was
// negotiated (which may claim RSV bits wiretrace does not know).
func parseExtensions(v string) (p deflateParams, others bool) {
	for ext := range strings.SplitSeq(v, ",") {
		params := strings.Split(ext, ";")
		name := strings.ToLower(strings.TrimSpace(params[0]))
		if name == "" {
			continue
		}
		if name != "permessage-deflate" || p.on {
			others = true
			continue
		}
		p.on = true
		for _, kv := range params[1:] {
			k, val, _ := strings.Cut(kv, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch k {
			case "client_no_context_takeover":
				p.clientNoTakeover = true
			case "server_no_context_takeover":
				p.serverNoTakeover = true
			case "client_max_window_bits":
				p.clientBitsSet = true
				p.clientBits, _ = strconv.Atoi(val)
			case "server_max_window_bits":
				p.serverSet = true
				p.serverBits, _ = strconv.Atoi(val)
			}
		}
	}
	return p, others
}

// handshakeEvent builds the ws handshake event.
func (d *Decoder) handshakeEvent(h Handshake) decode.Event {
	e := decode.NewEvent(h.At.Frame, h.At.TS, decode.DirNone, decode.LayerWS, TypeHandshake)
	max := d.opts.MaxString
	// "accept" is a word rather than a bool so that a wrong one shows in
	// every view (the text view leaves false flags out).
	accept := "ok"
	switch {
	case h.Key == "" || strings.TrimSpace(h.Accept) == "":
		accept = "missing"
	case strings.TrimSpace(h.Accept) != AcceptKey(h.Key):
		accept = "wrong"
	}
	info := decode.Info{
		decode.String("accept", accept),
		decode.String("protocol", decode.Cut(h.Protocol, max)),
		decode.String("extensions", decode.Cut(h.Extensions, max)),
	}
	p := d.deflate
	if p.on {
		info = append(info, decode.Bool("permessage_deflate", true))
		if p.clientNoTakeover {
			info = append(info, decode.Bool("client_no_context_takeover", true))
		}
		if p.serverNoTakeover {
			info = append(info, decode.Bool("server_no_context_takeover", true))
		}
		if p.clientBitsSet {
			info = append(info, decode.Int("client_max_window_bits", int64(p.clientBits)))
		}
		if p.serverSet {
			info = append(info, decode.Int("server_max_window_bits", int64(p.serverBits)))
		}
	}
	e.Info = info
	return e
}
