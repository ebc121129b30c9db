package capture

// Progress reports how far a source has read, for a progress bar. FileSource
// and the source returned by Merge implement it; callers type-assert.
//
// Both methods may be called from another goroutine while Next runs.
type Progress interface {
	// Size returns the total input size in bytes, or -1 when unknown
	// (standard input, pipes).
	Size() int64
	// Offset returns the number of bytes consumed so far.
	Offset() int64
}
