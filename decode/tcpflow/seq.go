package tcpflow

// Sequence-number comparisons modulo 2^32 (RFC 9293 section 3.4).

// seqDiff returns a-b as a signed distance, correct while the two are
// within 2^31 of each other.
func seqDiff(a, b uint32) int64 { return int64(int32(a - b)) }

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
