package quic

// span is a received byte range [lo, hi) of a CRYPTO stream.
type span struct{ lo, hi uint64 }

// maxCryptoRanges bounds the holes a CRYPTO stream tracks: each received
// range that is not adjacent to another is one entry.
const maxCryptoRanges = 64

// cryptoStream reassembles the CRYPTO frames of one packet number space
// and direction (RFC 9000 §19.6) into whole TLS handshake messages
// (RFC 8446 §4: a type byte and a 24-bit length). It holds only the bytes
// of the message being assembled and those after it: what has been
// handed on is dropped.
type cryptoStream struct {
	base   uint64 // stream offset of buf[0]: the next message's start
	buf    []byte // bytes from base to the highest end received
	ranges []span // received ranges at or after base, sorted, disjoint, not adjacent
	dead   bool   // a cap was hit: the stream is ignored from there on
}

// capHit says which cap a CRYPTO frame hit, if any.
type capHit struct {
	cap     string // "crypto_buffer" or "crypto_ranges"
	limit   int
	dropped int
}

// add stores a CRYPTO frame's data at stream offset off and calls msg
// with each handshake message it completes, in order; msg's argument is
// valid only during the call. Data already handed on is ignored (a
// retransmission). A message, or data reaching, more than maxBuf bytes
// past the next message's start, or more than maxCryptoRanges holes, stop
// the stream and are reported.
func (c *cryptoStream) add(off uint64, data []byte, maxBuf int, msg func([]byte)) (hit capHit) {
	if c.dead || len(data) == 0 {
		return capHit{}
	}
	end := off + uint64(len(data))
	if end <= c.base {
		return capHit{}
	}
	if off < c.base {
		data = data[c.base-off:]
		off = c.base
	}
	if end-c.base > uint64(maxBuf) {
		c.stop()
		return capHit{cap: "crypto_buffer", limit: maxBuf, dropped: len(data)}
	}
	if need := int(end - c.base); need > len(c.buf) {
		if need <= cap(c.buf) {
			c.buf = c.buf[:need]
		} else {
			c.buf = append(c.buf, make([]byte, need-len(c.buf))...)
		}
	}
	copy(c.buf[off-c.base:], data)
	c.insert(span{off, end})
	if len(c.ranges) > maxCryptoRanges {
		c.stop()
		return capHit{cap: "crypto_ranges", limit: maxCryptoRanges, dropped: len(data)}
	}
	for len(c.ranges) > 0 && c.ranges[0].lo <= c.base {
		avail := c.ranges[0].hi - c.base
		if avail < 4 {
			break
		}
		n := uint64(c.buf[1])<<16 | uint64(c.buf[2])<<8 | uint64(c.buf[3])
		if 4+n > uint64(maxBuf) {
			c.stop()
			return capHit{cap: "crypto_buffer", limit: maxBuf, dropped: int(avail)}
		}
		if avail < 4+n {
			break
		}
		msg(c.buf[:4+n])
		c.consume(4 + n)
	}
	return capHit{}
}

func (c *cryptoStream) stop() { *c = cryptoStream{dead: true} }

// reset forgets the stream, as when a Retry or Version Negotiation makes
// the client start its handshake again at offset 0.
func (c *cryptoStream) reset() { *c = cryptoStream{buf: c.buf[:0], ranges: c.ranges[:0]} }

// insert adds s to the received ranges, merging it with those it overlaps
// or touches.
func (c *cryptoStream) insert(s span) { c.ranges = insertSpan(c.ranges, s) }

// insertSpan adds s to sorted, disjoint, non-adjacent ranges, merging it
// with those it overlaps or touches.
func insertSpan(ranges []span, s span) []span {
	i := 0
	for i < len(ranges) && ranges[i].hi < s.lo {
		i++
	}
	j := i
	for j < len(ranges) && ranges[j].lo <= s.hi {
		s.lo = min(s.lo, ranges[j].lo)
		s.hi = max(s.hi, ranges[j].hi)
		j++
	}
	if i == j {
		ranges = append(ranges, span{})
		copy(ranges[i+1:], ranges[i:])
		ranges[i] = s
		return ranges
	}
	ranges[i] = s
	return append(ranges[:i+1], ranges[j:]...)
}

// consume drops the first n buffered bytes, which have been handed on.
func (c *cryptoStream) consume(n uint64) {
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
	c.base += n
	k := 0
	for k < len(c.ranges) && c.ranges[k].hi <= c.base {
		k++
	}
	c.ranges = c.ranges[:copy(c.ranges, c.ranges[k:])]
	if len(c.ranges) > 0 && c.ranges[0].lo < c.base {
		c.ranges[0].lo = c.base
	}
}
