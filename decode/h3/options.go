package h3

// Options bounds what a Decoder keeps. A zero field takes its default;
// every cap that drops data emits a conn/cap-limit event.
type Options struct {
	// MaxFrameSize is the largest frame payload buffered (every frame but
	// DATA, whose payload is counted, never kept). A longer frame is
	// skipped and shown with an error. Default 1 MiB.
	MaxFrameSize int
	// MaxFieldSectionSize bounds one field section's decoded fields,
	// counted as RFC 9114 §4.2.2 does (name + value + 32 per field), and
	// the length of any one string. Fields past it are not shown.
	// Default 256 KiB.
	MaxFieldSectionSize int
	// MaxTableCapacity caps the QPACK dynamic table of each direction
	// (RFC 9204 §3.2.3); a larger Set Dynamic Table Capacity stops header
	// decoding for that direction. Default 64 KiB.
	MaxTableCapacity uint64
	// MaxBlockedStreams caps the field sections held per direction while
	// they wait for encoder stream inserts (RFC 9204 §2.1.2); the peer's
	// SETTINGS_QPACK_BLOCKED_STREAMS is honoured up to this. Default 100.
	MaxBlockedStreams int
	// MaxBlockedBytes caps the bytes held for blocked streams per
	// direction (the field section and what follows it on its stream).
	// Default 1 MiB.
	MaxBlockedBytes int
	// MaxStreams caps the streams tracked at once; finished streams are
	// forgotten. Default 10,000.
	MaxStreams int
	// MaxHeaders is how many header fields a HEADERS or PUSH_PROMISE
	// event lists in headers. Default 64.
	MaxHeaders int
	// MaxString is the longest string shown in an event, cut with "…".
	// Default 512 bytes.
	MaxString int
}

// Defaults.
const (
	DefaultMaxFrameSize        = 1 << 20
	DefaultMaxFieldSectionSize = 256 << 10
	DefaultMaxTableCapacity    = 64 << 10
	DefaultMaxBlockedStreams   = 100
	DefaultMaxBlockedBytes     = 1 << 20
	DefaultMaxStreams          = 10000
	DefaultMaxHeaders          = 64
	DefaultMaxString           = 512
)

func (o Options) withDefaults() Options {
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.MaxFieldSectionSize <= 0 {
		o.MaxFieldSectionSize = DefaultMaxFieldSectionSize
	}
	if o.MaxTableCapacity == 0 {
		o.MaxTableCapacity = DefaultMaxTableCapacity
	}
	if o.MaxBlockedStreams <= 0 {
		o.MaxBlockedStreams = DefaultMaxBlockedStreams
	}
	if o.MaxBlockedBytes <= 0 {
		o.MaxBlockedBytes = DefaultMaxBlockedBytes
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.MaxHeaders <= 0 {
		o.MaxHeaders = DefaultMaxHeaders
	}
	if o.MaxString <= 0 {
		o.MaxString = DefaultMaxString
	}
	return o
}
