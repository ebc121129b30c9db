package timeline

import (
	"github.com/wiretrace/wiretrace/decode"
	"github.com/wiretrace/wiretrace/decode/netpkt"
	"github.com/wiretrace/wiretrace/decode/tcpflow"
)

// Embryo connections.
//
// A port scan or a SYN flood fills the connection table with connections
// that see one SYN and nothing else. Such a connection keeps no tcpflow
// state: its first segment is decoded by the Builder's spare tcpflow.Conn,
// and when it carried no payload the connection keeps only the segment's
// header (firstSeg) and close kind and hands the spare back. When a second
// segment comes, the segment is replayed into a tcpflow.Conn (hatch),
// which then holds exactly the state it would have had; the replay's
// events were emitted the first time and are dropped. An embryo that ends
// as one needs no replay: its summary is known (tcpSummary), and tcpflow
// has nothing buffered to flush.

// firstSeg is what tcpflow reads of a connection's first segment when it
// carries no payload (tcpflow.Conn.Segment: the flags, sequence and
// acknowledgment numbers, window and SYN options; SACK blocks are only
// read once the other side has sent).
type firstSeg struct {
	seq, ack      uint32
	flags, window uint16
	mss           uint16
	wscale        int8
	sackPerm      bool
	timestamps    bool
}

func makeFirstSeg(t *netpkt.TCP) firstSeg {
	return firstSeg{seq: t.Seq, ack: t.Ack, flags: t.Flags, window: t.Window, mss: t.MSS,
		wscale: t.WScale, sackPerm: t.SACKPermitted, timestamps: t.HasTimestamps}
}

func (f *firstSeg) tcp() netpkt.TCP {
	return netpkt.TCP{Seq: f.seq, Ack: f.ack, Flags: f.flags, Window: f.window, MSS: f.mss,
		WScale: f.wscale, SACKPermitted: f.sackPerm, HasTimestamps: f.timestamps}
}

// spareTCP returns the Builder's spare tcpflow.Conn, reset for c.
func (b *Builder) spareTCP(c *conn) *tcpflow.Conn {
	if b.spare == nil {
		return tcpflow.New(tcpflow.Options{Limits: b.opts.TCPLimits, Segments: b.opts.Segments, Pool: b.pool}, c)
	}
	t := b.spare
	b.spare = nil
	t.Reset(c)
	return t
}

// tcpStats is what a connection's summary says of TCP.
type tcpStats struct {
	ok             bool // a TCP connection
	packets, bytes [2]uint64
	hs             tcpflow.Handshake
	close          tcpflow.Close
	halfClosed     bool
}

// tcpSummary returns what the summary says of TCP. An embryo's is known
// without hatching it: one segment without payload sent, no handshake
// completed, nothing delivered, and the close kind tcpflow gave it.
func (c *conn) tcpSummary() tcpStats {
	switch {
	case c.embryo:
		s := tcpStats{ok: true, close: c.firstClose}
		s.packets[c.firstDir.Index()] = 1
		return s
	case c.tcp == nil:
		return tcpStats{}
	}
	s := tcpStats{ok: true, hs: c.tcp.Handshake(), close: c.tcp.CloseKind(), halfClosed: c.tcp.HalfClosed()}
	for i := range s.packets {
		st := c.tcp.Stats(decode.Dir(i + 1))
		s.packets[i], s.bytes[i] = st.Segments, st.StreamBytes
	}
	return s
}

// hatch gives an embryo connection its tcpflow state by replaying its
// first segment.
func (c *conn) hatch() {
	if !c.embryo {
		return
	}
	c.embryo = false
	c.tcp = c.b.spareTCP(c)
	t := c.first.tcp()
	seg := tcpflow.Segment{Frame: c.info.FirstFrame, TS: c.info.FirstTS, TCP: &t}
	c.tcp.Segment(c.firstDir, &seg, func(decode.Event) {})
}

// firstSegment decodes the first segment of a TCP connection (c.tcp is
// nil). Without payload the connection becomes an embryo (ok), and done
// says whether that segment ended it (a reset). A segment without
// payload is the first tcpflow sees of the connection: it makes no
// Handler calls (they need payload, or acknowledgments of the other
// side's bytes).
func (c *conn) firstSegment(dir decode.Dir, seg *tcpflow.Segment) (done, ok bool) {
	c.tcp = c.b.spareTCP(c)
	c.tcp.Segment(dir, seg, c.emit)
	if seg.PayloadLen > 0 {
		return false, false
	}
	done = c.tcp.Done()
	c.embryo, c.first, c.firstDir, c.firstClose = true, makeFirstSeg(seg.TCP), dir, c.tcp.CloseKind()
	c.b.spare, c.tcp = c.tcp, nil
	return done, true
}
