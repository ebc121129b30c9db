package tcpflow

import (
	"unsafe"

	"github.com/wiretrace/wiretrace/decode"
)

// Pool caps the out-of-order data that all the Conns sharing it buffer
// together, so that many connections with holes cannot add up to more
// than one cap. Each buffered segment counts its bytes and its
// bookkeeping (PendingCost). When a segment takes the total past the cap,
// its connection gives up its oldest gaps, this direction's first, until
// the total is within the cap again or it holds nothing, and a
// conn/cap-limit event (cap "reassembly_total") says so for each. A Pool
// is not safe for concurrent use; the Conns sharing it must run on one
// goroutine.
type Pool struct {
	max, used int
}

// NewPool returns a Pool that lets its Conns hold maxBytes together.
func NewPool(maxBytes int) *Pool { return &Pool{max: maxBytes} }

// Max returns the cap.
func (p *Pool) Max() int { return p.max }

// Buffered returns what the Conns hold now, bookkeeping included.
func (p *Pool) Buffered() int { return p.used }

// PendingCost is what a buffered segment counts against a Pool besides
// its bytes: its record in the connection's list of held segments and the
// allocation of its copy.
const PendingCost = int(unsafe.Sizeof(pending{})) + 16

func pendingCost(p *pending) int { return len(p.data) + PendingCost }

func (p *Pool) add(n int) {
	if p != nil {
		p.used += n
	}
}

func (p *Pool) over() bool { return p != nil && p.used > p.max }

// fitPool gives up this connection's gaps while the Pool is over its cap:
// first those of dir (whose segment s took it there), then the other
// direction's.
func (c *Conn) fitPool(dir decode.Dir, s *Segment, emit decode.Emit) {
	pool := c.opts.Pool
	for _, d := range [2]decode.Dir{dir, dir.Reverse()} {
		h := &c.half[d.Index()]
		for pool.over() && len(h.pending) > 0 {
			n := h.pending[0].off - h.delivered
			emit(decode.CapLimit(decode.Position{Frame: s.Frame, TS: s.TS}, d, "tcp", "reassembly_total",
				int64(pool.max), decode.Uint("skipped", n)))
			c.skip(d, h, n, SkipCap, s.Frame, s.TS)
			c.drain(d, h, s, false)
		}
	}
}
