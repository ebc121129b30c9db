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

// mark is a moment a phase starts or ends: the event's frame and time, and
// how many round trips had completed by then.
type mark struct {
	frame  int64
	ts     time.Time
	rounds int
	set    bool
}

// numLayers sizes the per-layer arrays of phaseTracker.
const numLayers = int(decode.LayerCapture) + 1

// phaseTracker follows a connection's events to say where the time before
// its first response byte went: TCP handshake, secure handshake, first
// request, first response byte. Each phase is measured between two events,
// and its round trips are the client's waits for a reply in between.
//
// Requests and responses are taken from the highest protocol layer that
// saw them (HTTP above TLS above TCP), so that with decrypted HTTP/2 the
// first response byte is the response's HEADERS rather than the server's
// SETTINGS. That choice needs the whole connection, which is why phases are
// reported when it ends.
type phaseTracker struct {
	rounds int  // the client's waits for a reply so far
	spoke  bool // the client sent something it expects an answer to

	syn, ack        mark // TCP handshake
	hsStart, hsDone mark // TLS or QUIC handshake
	hsLayer         decode.Layer

	// Per layer: the client's first application bytes (req) and its first
	// request proper (reqStrict: flagged FlagRequest too, e.g. HTTP/2's
	// first HEADERS after the preface), and the server's first application
	// bytes after each.
	req, reqStrict   [numLayers]mark
	resp, respStrict [numLayers]mark
}

// observe notes one event of the connection.
func (p *phaseTracker) observe(e *decode.Event) {
	switch e.Dir {
	case decode.C2S:
		// Only requests wait for replies: HTTP/2's preface or a SETTINGS
		// ACK is application data the server answers without the client
		// waiting for it.
		if e.Flags&decode.FlagRequest != 0 {
			p.spoke = true
		}
	case decode.S2C:
		if e.Flags&decode.FlagReply != 0 && p.spoke {
			p.rounds++
			p.spoke = false
		}
	}
	at := mark{frame: e.Frame, ts: e.TS, rounds: p.rounds, set: true}
	switch e.Layer {
	case decode.LayerTCP:
		switch {
		case e.Type == decode.TypeSYN && e.Dir == decode.C2S && !p.syn.set:
			p.syn = at
		case e.Type == decode.TypeACK && !p.ack.set:
			p.ack = at
		}
	case decode.LayerTLS, decode.LayerQUIC:
		if !p.hsStart.set {
			p.hsStart, p.hsLayer = at, e.Layer
		}
		if e.Flags&decode.FlagHandshakeDone != 0 && !p.hsDone.set {
			p.hsDone = at
		}
	}
	if e.Flags&decode.FlagAppData == 0 || int(e.Layer) >= numLayers {
		return
	}
	l := e.Layer
	switch e.Dir {
	case decode.C2S:
		if !p.req[l].set {
			p.req[l] = at
		}
		if e.Flags&decode.FlagRequest != 0 && !p.reqStrict[l].set {
			p.reqStrict[l] = at
		}
	case decode.S2C:
		if p.req[l].set && !p.resp[l].set {
			p.resp[l] = at
		}
		if p.reqStrict[l].set && !p.respStrict[l].set {
			p.respStrict[l] = at
		}
	}
}

// request returns layer l's first request and the first response byte
// after it: the first request proper when the layer marks one, else its
// first application bytes.
func (p *phaseTracker) request(l decode.Layer) (req, resp mark) {
	if p.reqStrict[l].set {
		return p.reqStrict[l], p.respStrict[l]
	}
	return p.req[l], p.resp[l]
}

// rank orders layers for choosing where requests are counted: the
// application protocol over the secure layer over the transport.
func rank(l decode.Layer) int {
	switch l {
	case decode.LayerHTTP1, decode.LayerHTTP2, decode.LayerHTTP3, decode.LayerWS:
		return 2
	case decode.LayerTLS, decode.LayerQUIC:
		return 1
	}
	return 0
}

// requestLayer picks the layer whose first request and response the
// request and first-byte phases use: the highest-ranked layer that saw a
// request, the earliest request among equals (so an HTTP/1.1 request that
// upgrades to h2c or WebSocket is the first request).
func (p *phaseTracker) requestLayer() (decode.Layer, bool) {
	best, found := decode.Layer(0), false
	for l := range numLayers {
		m := p.req[l]
		if !m.set {
			continue
		}
		if !found || rank(decode.Layer(l)) > rank(best) ||
			rank(decode.Layer(l)) == rank(best) && m.ts.Before(p.req[best].ts) {
			best, found = decode.Layer(l), true
		}
	}
	return best, found
}

// phase is one measured phase.
type phase struct {
	name       string
	from, to   mark
	layer      decode.Layer // request and first-byte: the layer counted
	early      bool         // request: sent before the handshake completed
	incomplete bool
}

// phases returns the connection's phases in order. midstream connections
// have none: their start was not seen.
func (p *phaseTracker) phases(midstream bool) []phase {
	if midstream {
		return nil
	}
	var out []phase
	var ready mark
	if p.syn.set && p.ack.set && !p.ack.ts.Before(p.syn.ts) {
		out = append(out, phase{name: PhaseTCP, from: p.syn, to: p.ack})
		ready = p.ack
	}
	if p.hsStart.set && p.hsDone.set {
		// The handshake phase starts where the TCP one ended, so the
		// phases add up to the time to the first byte; the client's
		// delay before its ClientHello belongs to it.
		from := p.hsStart
		if ready.set && ready.frame < from.frame {
			from = ready
		}
		out = append(out, phase{name: p.hsLayer.String(), from: from, to: p.hsDone})
		ready = p.hsDone
	} else if p.hsStart.set {
		return out // the handshake never completed: no request phase
	}
	l, ok := p.requestLayer()
	if !ok {
		return out
	}
	req, resp := p.request(l)
	if ready.set {
		ph := phase{name: PhaseRequest, from: ready, to: req, layer: l}
		if req.ts.Before(ready.ts) || req.frame < ready.frame {
			// 0-RTT, TCP Fast Open, TLS False Start: the request did not
			// wait for the handshake.
			ph.from, ph.early = req, true
		}
		out = append(out, ph)
	}
	if resp.set {
		out = append(out, phase{name: PhaseFirstByte, from: req, to: resp, layer: l})
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
	e := decode.NewEvent(ph.to.frame, ph.to.ts, decode.DirNone, decode.LayerAnalysis, TypePhase)
	e.Info = decode.Info{
		decode.String("phase", ph.name),
		decode.String("start", ph.from.ts.UTC().Format(time.RFC3339Nano)),
		decode.Int("start_frame", ph.from.frame),
		decode.Millis("duration_ms", ph.to.ts.Sub(ph.from.ts)),
		decode.Int("round_trips", int64(max(0, ph.to.rounds-ph.from.rounds))),
	}
	if ph.name == PhaseRequest || ph.name == PhaseFirstByte {
		e.Info = append(e.Info, decode.String("layer", ph.layer.String()))
	}
	if ph.early {
		e.Info = append(e.Info, decode.Bool("early", true))
	}
	return e
}

// TypePhase is the analysis event that reports one phase of a
// connection's start.
const TypePhase decode.Type = "phase"
