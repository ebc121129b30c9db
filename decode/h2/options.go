package h2

// Options bounds what a Decoder keeps. A zero field takes its default;
// every cap that drops data emits a conn/cap-limit event.
type Options struct {
	// MaxFrameSize is the largest frame payload buffered (every frame but
	// DATA, whose payload is counted, not kept). A longer frame is skipped
	// and shown with an error. Default and maximum: 2^24-1, the largest
	// length the frame header can carry (RFC 9113 §4.1).
	MaxFrameSize int
	// MaxHeaderListSize bounds one header block's decoded fields, counted
	// as RFC 9113 §6.5.2 does (name + value + 32 per field), and the
	// length of any one header string. Fields past it are decoded to
	// keep the HPACK table in step but not shown. Default 256 KiB.
	MaxHeaderListSize int
	// MaxHeaderTableSize caps the HPACK dynamic table of each direction
	// (RFC 7541 §4.2): the receiver's SETTINGS_HEADER_TABLE_SIZE is
	// honoured up to this. Default 64 KiB.
	MaxHeaderTableSize uint32
	// MaxStreams caps the streams tracked at once; closed streams are
	// forgotten. Default 10,000.
	MaxStreams int
	// MaxHeaders is how many header fields a HEADERS or PUSH_PROMISE
	// event lists in headers. Default 64.
	MaxHeaders int
	// MaxString is the longest string shown in an event (a header, the
	// GOAWAY debug data), cut with "…". Default 512 bytes.
	MaxString int
}

// Defaults.
const (
	maxFramePayload           = 1<<24 - 1
	DefaultMaxHeaderListSize  = 256 << 10
	DefaultMaxHeaderTableSize = 64 << 10
	DefaultMaxStreams         = 10000
	DefaultMaxHeaders         = 64
	DefaultMaxString          = 512
)

func (o Options) withDefaults() Options {
	if o.MaxFrameSize <= 0 || o.MaxFrameSize > maxFramePayload {
		o.MaxFrameSize = maxFramePayload
	}
	if o.MaxHeaderListSize <= 0 {
		o.MaxHeaderListSize = DefaultMaxHeaderListSize
	}
	if o.MaxHeaderTableSize == 0 {
		o.MaxHeaderTableSize = DefaultMaxHeaderTableSize
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
