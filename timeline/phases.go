package timeline

import (
	"time"

	"github.com/wiretrace/wiretrace/decode"
)

// Phase names of analysis/phase events (docs/events.md).
const (
	PhaseTCP       = "tcp"        // first SYN → the ACK that completes the handshake
	PhaseRequest   = "request"    // connection ready → the first request leaves the client
	PhaseFirstByte = "first-byte" // first request → first response byte
	// The secure handshake phase is named by its layer: "tls" or "quic".
)

// TypePhase is the analysis event that reports one phase of a
// connection's start.
const TypePhase decode.Type = "phase"

// level groups layers for counting round trips and choosing where
// requests are counted: the transport, the secure layer, the application.
type level uint8

const (
	levelTransport level = iota // tcp, udp
	levelSecure                 // tls, quic
	levelApp                    // http1, http2, http3, ws
	numLevels
)

func levelOf(l decode.Layer) (level, bool) {
	switch l {
	case decode.LayerTCP, decode.LayerUDP:
		return levelTransport, true
	case decode.LayerTLS, decode.LayerQUIC:
		return levelSecure, true
	case decode.LayerHTTP1, decode.LayerHTTP2, decode.LayerHTTP3, decode.LayerWS:
		return levelApp, true
	}
	return 0, false
}

// mark is a moment a phase starts or ends: the event's frame and time
// (Unix nanoseconds), and how many round trips its level had completed by
// then. It is small because every connection keeps a few.
type mark struct {
	frame  int64
	ts     int64
	rounds int32
	set    bool
}

func (m mark) time() time.Time { return time.Unix(0, m.ts).UTC() }

// numLayers sizes the per-layer arrays of phaseTracker.
const numLayers = int(decode.LayerWS) + 1

// layerMarks are a layer's first request and first response byte after
// it: req is the client's first application bytes, reqStrict its first
// request proper (flagged FlagRequest too, e.g. HTTP/2's first HEADERS
// after the preface).
type layerMarks struct {
	req, reqStrict   mark
	resp, respStrict mark
}

// phaseTracker follows a connection's events to say where the time before
// its first response byte went: TCP handshake, secure handshake, first
// request, first response byte. Each phase is measured between two events,
// and its round trips are the client's waits for a reply in between,
// counted within one level (TLS records around HTTP/2 frames do not count
// again for HTTP/2).
//
// Requests and responses are taken from the highest level that saw them
// (HTTP above TLS above TCP), so that with decrypted HTTP/2 the first
// response byte is the response's HEADERS rather than the server's
// SETTINGS. That choice needs the whole connection, which is why phases are
// reported when it ends.
type phaseTracker struct {
	rounds [numLevels]int32 // the client's waits for a reply so far
	spoke  [numLevels]bool  // the client sent a request and waits

	syn, ack mark // TCP handshake (transport level)

	// more is allocated at the first event above the transport level,
	// so connections that never see one (a scan's SYNs) stay small.
	more *phaseMarks
}

// phaseMarks are the marks of the levels above the transport.
type phaseMarks struct {
	hsStart, hsDone mark // TLS or QUIC handshake (secure level)
	hsLayer         decode.Layer
	layers          [numLayers]layerMarks
}

// observe notes one event of the connection.
func (p *phaseTracker) observe(e *decode.Event) {
	lv, ok := levelOf(e.Layer)
	if !ok {
		return
	}
	switch e.Dir {
	case decode.C2S:
		// Only requests wait for replies: HTTP/2's preface or a SETTINGS
		// ACK is application data the server answers without the client
		// waiting for it.
		if e.Flags&decode.FlagRequest != 0 {
			p.spoke[lv] = true
		}
	case decode.S2C:
		if e.Flags&decode.FlagReply != 0 && p.spoke[lv] {
			p.rounds[lv]++
			p.spoke[lv] = false
		}
	}
	at := mark{frame: e.Frame, ts: e.TS.UnixNano(), rounds: p.rounds[lv], set: true}
	switch lv {
	case levelTransport:
		switch {
		case e.Type == decode.TypeSYN && e.Dir == decode.C2S && !p.syn.set:
			p.syn = at
		case e.Type == decode.TypeACK && !p.ack.set:
			p.ack = at
		}
	case levelSecure:
		pm := p.marks()
		if !pm.hsStart.set {
			pm.hsStart, pm.hsLayer = at, e.Layer
			pm.hsStart.rounds = 0
		}
		if e.Flags&decode.FlagHandshakeDone != 0 && !pm.hsDone.set {
			pm.hsDone = at
		}
	}
	if e.Flags&decode.FlagAppData == 0 {
		return
	}
	m := &p.marks().layers[e.Layer]
	switch e.Dir {
	case decode.C2S:
		if !m.req.set {
			m.req = at
		}
		if e.Flags&decode.FlagRequest != 0 && !m.reqStrict.set {
			m.reqStrict = at
		}
	case decode.S2C:
		if m.req.set && !m.resp.set {
			m.resp = at
		}
		if m.reqStrict.set && !m.respStrict.set {
			m.respStrict = at
		}
	}
}

// marks returns p.more, allocating it the first time.
func (p *phaseTracker) marks() *phaseMarks {
	if p.more == nil {
		p.more = new(phaseMarks)
	}
	return p.more
}

// request returns layer l's first request and the first response byte
// after it: the first request proper when the layer marks one, else its
// first application bytes.
func (p *phaseTracker) request(l decode.Layer) (req, resp mark) {
	m := &p.more.layers[l]
	if m.reqStrict.set {
		return m.reqStrict, m.respStrict
	}
	return m.req, m.resp
}

// requestLayer picks the layer whose first request and response the
// request and first-byte phases use: the highest level that saw a request,
// the earliest request within it (so an HTTP/1.1 request that upgrades to
// h2c or WebSocket is the first request).
func (p *phaseTracker) requestLayer() (decode.Layer, bool) {
	if p.more == nil {
		return 0, false
	}
	var best decode.Layer
	var bestLv level
	found := false
	layers := &p.more.layers
	for i := range layers {
		l := decode.Layer(i)
		lv, ok := levelOf(l)
		m := layers[i].req
		if !ok || !m.set {
			continue
		}
		if !found || lv > bestLv || lv == bestLv && m.ts < layers[best].req.ts {
			best, bestLv, found = l, lv, true
		}
	}
	return best, found
}

// phase is one measured phase.
type phase struct {
	name     string
	from, to mark
	rounds   int32
	layer    decode.Layer // request and first-byte: the layer counted
	early    bool         // request: sent before the handshake completed
}

// phases returns the connection's phases in order. midstream connections
// have none: their start was not seen.
func (p *phaseTracker) phases(midstream bool) []phase {
	if midstream {
		return nil
	}
	var out []phase
	var ready mark
	if p.syn.set && p.ack.set && p.ack.ts >= p.syn.ts {
		out = append(out, phase{name: PhaseTCP, from: p.syn, to: p.ack, rounds: p.ack.rounds - p.syn.rounds})
		ready = p.ack
	}
	var hsStart, hsDone mark // none without p.more
	var hsLayer decode.Layer
	if p.more != nil {
		hsStart, hsDone, hsLayer = p.more.hsStart, p.more.hsDone, p.more.hsLayer
	}
	if hsStart.set && hsDone.set {
		// The handshake phase starts where the TCP one ended, so the
		// phases add up to the time to the first byte; the client's
		// delay before its ClientHello belongs to it.
		from := hsStart
		if ready.set && ready.frame < from.frame {
			from = ready
		}
		out = append(out, phase{name: hsLayer.String(), from: from, to: hsDone, rounds: hsDone.rounds - hsStart.rounds})
		ready = hsDone
	} else if hsStart.set {
		return out // the handshake never completed: no request phase
	}
	l, ok := p.requestLayer()
	if !ok {
		return out
	}
	req, resp := p.request(l)
	if ready.set {
		// The client's own time: no round trips by definition.
		ph := phase{name: PhaseRequest, from: ready, to: req, layer: l}
		if req.ts < ready.ts || req.frame < ready.frame {
			// 0-RTT, TCP Fast Open, TLS False Start: the request did not
			// wait for the handshake.
			ph.from, ph.early = req, true
		}
		out = append(out, ph)
	}
	if resp.set {
		out = append(out, phase{name: PhaseFirstByte, from: req, to: resp, layer: l, rounds: resp.rounds - req.rounds})
	}
	return out
}

// firstByte is the server's first response byte, for ttfb_ms: the end of
// the first-byte phase.
func (p *phaseTracker) firstByte(midstream bool) (mark, bool) {
	phs := p.phases(midstream)
	if n := len(phs); n > 0 && phs[n-1].name == PhaseFirstByte {
		return phs[n-1].to, true
	}
	return mark{}, false
}

// event builds the analysis/phase event of ph (docs/events.md).
func (ph *phase) event() decode.Event {
	e := decode.NewEvent(ph.to.frame, ph.to.time(), decode.DirNone, decode.LayerAnalysis, TypePhase)
	e.Info = decode.Info{
		decode.String("phase", ph.name),
		decode.String("start", ph.from.time().UTC().Format(time.RFC3339Nano)),
		decode.Int("start_frame", ph.from.frame),
		decode.Millis("duration_ms", time.Duration(ph.to.ts-ph.from.ts)),
		decode.Int("round_trips", int64(max(0, ph.rounds))),
	}
	if ph.name == PhaseRequest || ph.name == PhaseFirstByte {
		e.Info = append(e.Info, decode.String("layer", ph.layer.String()))
	}
	if ph.early {
		e.Info = append(e.Info, decode.Bool("early", true))
	}
	return e
}
