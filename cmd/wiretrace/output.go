package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wiretrace/wiretrace/decode/h2"
	"github.com/wiretrace/wiretrace/decode/h3"
	"github.com/wiretrace/wiretrace/decode/http1"
	"github.com/wiretrace/wiretrace/decode/keylog"
	"github.com/wiretrace/wiretrace/decode/stack"
	"github.com/wiretrace/wiretrace/decode/tcpflow"
	"github.com/wiretrace/wiretrace/decode/tlsmsg"
	"github.com/wiretrace/wiretrace/decode/ws"
	"github.com/wiretrace/wiretrace/internal/iostreams"
	htmlreport "github.com/wiretrace/wiretrace/render/html"
	"github.com/wiretrace/wiretrace/render/jsonl"
	"github.com/wiretrace/wiretrace/render/ladder"
	"github.com/wiretrace/wiretrace/render/mermaid"
	"github.com/wiretrace/wiretrace/render/overview"
	"github.com/wiretrace/wiretrace/render/qlog"
	"github.com/wiretrace/wiretrace/render/svg"
	"github.com/wiretrace/wiretrace/render/text"
	"github.com/wiretrace/wiretrace/render/vtt"
	"github.com/wiretrace/wiretrace/timeline"
)

// OutputOptions are the output and decoding flags shared by pcap and live.
type OutputOptions struct {
	Format       string
	QlogDir      string
	HTML         string
	Overview     string
	ASCII        bool
	Animate      bool
	AnimateSpeed float64
	Slope        bool
	// TimeOrigin and VTTChapters are for --format vtt.
	TimeOrigin  string
	VTTChapters string
	timeOrigin  time.Time
	timeOffset  time.Duration
	SVG         bool
	OutDir      string
	Segments    bool
	All         bool
	formatSet   bool

	IdleTimeout        time.Duration
	MaxConns           int
	MaxReassembly      int
	MaxReassemblyTotal int
	MaxOOOSegments     int
	// Decoder caps (issue 10): each hit is a conn/cap-limit event.
	MaxTLSHandshake int
	MaxHeaderList   int
	MaxHeaderTable  int
	MaxHTTP1Head    int
	MaxWSMessage    int
	MaxWSRatio      int

	// KeyLogs are the --keylog files; keyLogEnv is $SSLKEYLOGFILE. Their
	// secrets, and the capture's pcapng Decryption Secrets Blocks, go into
	// keys.
	KeyLogs   []string
	keyLogEnv string
	keys      *keylog.Store

	proxyOptions
}

var formats = []string{"text", "json", "ladder", "qlog", "mermaid", "vtt"}

func addOutputFlags(fs *pflag.FlagSet, o *OutputOptions) {
	fs.StringVar(&o.Format, "format", "text", "output format: text, json (JSON Lines, see docs/events.md), ladder (a sequence diagram per connection drawn for the terminal), qlog (QUIC connections as one JSON-SEQ qlog trace, for qvis), mermaid (Markdown with one Mermaid sequenceDiagram per connection) or vtt (WebVTT captions for a screen recording)")
	fs.StringVar(&o.TimeOrigin, "time-origin", "", "vtt: when the recording started, as an RFC 3339 time, or as an offset from the first packet such as -3s (the recording started 3 s earlier); default: the first packet")
	fs.StringVar(&o.VTTChapters, "vtt-chapters", "", "vtt: also write a WebVTT chapters track (a chapter per connection and its phases) to this file")
	fs.StringVar(&o.QlogDir, "qlog-dir", "", "write each QUIC connection's qlog trace (JSON-SEQ) to DIR/conn-N.sqlog")
	fs.StringVar(&o.Overview, "overview", "", "write a graph of the capture (hosts, connections per protocol, proxies) to this file: SVG, or DOT when it ends in .dot")
	fs.BoolVar(&o.ASCII, "ascii", false, "ladder: draw with ASCII characters only")
	fs.BoolVar(&o.Animate, "animate", false, "svg: make each arrow appear at its time (CSS animation, for recordings and slides)")
	fs.Float64Var(&o.AnimateSpeed, "animate-speed", 1, "svg: with --animate, play this many times faster than real time")
	fs.BoolVar(&o.Slope, "slope", false, "svg: slope each arrow by its one-way time as seen from the capture point (TCP connections)")
	fs.StringVar(&o.HTML, "html", "", "write a self-contained HTML report (connection table, diagrams, event tables) to this file")
	fs.BoolVar(&o.SVG, "svg", false, "write one SVG sequence diagram per connection into the -o directory")
	fs.StringVarP(&o.OutDir, "output-dir", "o", ".", "directory for --svg files")
	fs.BoolVar(&o.Segments, "segments", false, "also show plain TCP data/ACK segments and UDP datagrams")
	fs.BoolVar(&o.All, "all", false, "text: print every event of a run instead of folding five or more alike (dup-acks, segments ...)")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 5*time.Minute, "end a TCP connection after this much capture time without packets")
	fs.IntVar(&o.MaxConns, "max-conns", 262144, "most connections tracked at once; the least recently active is ended first")
	fs.IntVar(&o.MaxReassembly, "max-reassembly", tcpflow.DefaultLimits().MaxBufferedBytes, "most out-of-order bytes buffered per connection direction")
	fs.StringArrayVar(&o.KeyLogs, "keylog", nil, "TLS key log file (NSS format, as SSLKEYLOGFILE writes) for decryption; repeatable. $SSLKEYLOGFILE and pcapng secrets blocks are used too")
	fs.IntVar(&o.MaxReassemblyTotal, "max-reassembly-total", 256<<20, "most out-of-order bytes buffered by all connections together")
	fs.IntVar(&o.MaxOOOSegments, "max-ooo-segments", tcpflow.DefaultLimits().MaxBufferedSegments, "most out-of-order segments buffered per connection direction")
	fs.IntVar(&o.MaxTLSHandshake, "max-tls-handshake", tlsmsg.MaxHandshakeLen, "largest TLS handshake message kept (certificate chains); bigger ones are skipped")
	fs.IntVar(&o.MaxHeaderList, "max-header-list", h2.DefaultMaxHeaderListSize, "largest HTTP/2 or HTTP/3 header list decoded, in bytes")
	fs.IntVar(&o.MaxHeaderTable, "max-header-table", h2.DefaultMaxHeaderTableSize, "largest HPACK or QPACK dynamic table kept, in bytes")
	fs.IntVar(&o.MaxHTTP1Head, "max-http1-head", http1.DefaultMaxHeaderBytes, "largest HTTP/1.x request or response head, in bytes")
	fs.IntVar(&o.MaxWSMessage, "max-ws-message", ws.DefaultMaxMessage, "largest WebSocket message reassembled or inflated, in bytes")
	fs.IntVar(&o.MaxWSRatio, "max-ws-ratio", ws.DefaultMaxRatio, "largest permessage-deflate inflation ratio (inflated:compressed) before a message is cut")
	addProxyFlags(fs, &o.proxyOptions)
}

func (o *OutputOptions) validate(fs *pflag.FlagSet) error {
	o.formatSet = fs.Changed("format")
	ok := false
	for _, f := range formats {
		ok = ok || o.Format == f
	}
	if !ok {
		return flagErrorf("--format %q: want one of %s", o.Format, strings.Join(formats, ", "))
	}
	if (o.TimeOrigin != "" || o.VTTChapters != "") && o.Format != "vtt" {
		return flagErrorf("--time-origin and --vtt-chapters are for --format vtt")
	}
	if o.TimeOrigin != "" {
		if t, err := time.Parse(time.RFC3339Nano, o.TimeOrigin); err == nil {
			o.timeOrigin = t
		} else if d, err := time.ParseDuration(o.TimeOrigin); err == nil {
			o.timeOffset = d
		} else {
			return flagErrorf("--time-origin %q: want an RFC 3339 time (2026-11-23T10:00:00Z) or an offset from the first packet (-3s)", o.TimeOrigin)
		}
	}
	if fs.Changed("output-dir") && !o.SVG {
		return flagErrorf("-o/--output-dir is for --svg output; add --svg")
	}
	o.keyLogEnv = os.Getenv("SSLKEYLOGFILE")
	if o.MaxConns < 1 || o.MaxReassembly < 1 || o.MaxOOOSegments < 1 || o.MaxReassemblyTotal < 1 {
		return flagErrorf("--max-conns, --max-reassembly, --max-reassembly-total and --max-ooo-segments must be positive")
	}
	if (o.Animate || o.Slope || fs.Changed("animate-speed")) && !o.SVG {
		return flagErrorf("--animate, --animate-speed and --slope are for --svg; add --svg")
	}
	if o.AnimateSpeed <= 0 {
		return flagErrorf("--animate-speed must be positive")
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"--max-tls-handshake", o.MaxTLSHandshake}, {"--max-header-list", o.MaxHeaderList}, {"--max-header-table", o.MaxHeaderTable},
		{"--max-http1-head", o.MaxHTTP1Head}, {"--max-ws-message", o.MaxWSMessage}, {"--max-ws-ratio", o.MaxWSRatio}} {
		if c.v < 1 {
			return flagErrorf("%s must be positive", c.name)
		}
	}
	return o.proxyOptions.validate()
}

func (o *OutputOptions) timelineOptions() timeline.Options {
	return timeline.Options{
		Registry:           stack.Registry(o.stackOptions()),
		Datagrams:          stack.Datagrams(o.stackOptions()),
		Segments:           o.Segments,
		IdleTimeout:        o.IdleTimeout,
		MaxConns:           o.MaxConns,
		TCPLimits:          tcpflow.Limits{MaxBufferedBytes: o.MaxReassembly, MaxBufferedSegments: o.MaxOOOSegments},
		MaxReassemblyTotal: o.MaxReassemblyTotal,
	}
}

// stackOptions are the decoders' options: the keys and the caps.
func (o *OutputOptions) stackOptions() stack.Options {
	return stack.Options{
		Keys:            o.keys,
		MaxTLSHandshake: o.MaxTLSHandshake,
		HTTP1:           http1.Options{MaxHeaderBytes: o.MaxHTTP1Head},
		H2:              h2.Options{MaxHeaderListSize: o.MaxHeaderList, MaxHeaderTableSize: uint32(o.MaxHeaderTable)},
		H3:              h3.Options{MaxFieldSectionSize: o.MaxHeaderList, MaxTableCapacity: uint64(o.MaxHeaderTable)},
		WS:              ws.Options{MaxMessage: o.MaxWSMessage, MaxRatio: o.MaxWSRatio},
	}
}

// loadKeys reads $SSLKEYLOGFILE and the --keylog files into one store.
// A file that cannot be read is an error; a bad line is a warning on
// errw, naming file and line. With follow (live capture) the files are
// followed instead: read now, and again whenever a decoder misses a
// connection's secrets, a file that does not exist yet included; the
// caller closes the returned follower.
func (o *OutputOptions) loadKeys(errw io.Writer, follow bool) (*keyFollower, error) {
	o.keys = &keylog.Store{}
	files := o.KeyLogs
	if o.keyLogEnv != "" {
		files = append([]string{o.keyLogEnv}, files...)
	}
	if follow && len(files) > 0 {
		k := newKeyFollower(o.keys, errw, files)
		for _, ff := range k.files {
			if err := ff.read(o.keys, errw); err != nil {
				k.close()
				return nil, fmt.Errorf("key log: %w", err)
			}
		}
		o.keys.Refresh = k.refresh
		return k, nil
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("key log: %w", err)
		}
		rep, err := o.keys.Add(f, name)
		f.Close()
		warnKeys(errw, rep)
		if err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// addSecrets is capture.FileOptions.OnSecrets for capture name.
func (o *OutputOptions) addSecrets(errw io.Writer, name string) func(uint32, []byte) {
	return func(typ uint32, data []byte) {
		rep, err := o.keys.AddDSB(typ, data, name+" (decryption secrets block)")
		if err != nil {
			fmt.Fprintf(errw, "wiretrace: warning: %s: %v\n", name, err)
			return
		}
		warnKeys(errw, rep)
	}
}

func warnKeys(errw io.Writer, rep keylog.Report) {
	for _, w := range rep.Warnings {
		fmt.Fprintf(errw, "wiretrace: warning: %s\n", w)
	}
	if rep.Omitted > 0 {
		fmt.Fprintf(errw, "wiretrace: warning: %s: %d more bad lines\n", rep.Source, rep.Omitted)
	}
}

// svgWriter writes one diagram per connection into a directory.
type svgWriter interface {
	timeline.Sink
	Close() error
	Paths() []string
}

// renderer is one output: a timeline sink that buffers and can be flushed
// (live captures) and closed.
type renderer interface {
	timeline.Sink
	Flush() error
	Close() error
}

// fileRenderer is a renderer writing to a file of its own, closed after
// the renderer.
type fileRenderer struct {
	renderer
	f *os.File
}

func (r fileRenderer) Close() error {
	err := r.renderer.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// dotRenderer writes the overview graph as DOT instead of SVG.
type dotRenderer struct {
	*overview.Writer
	w io.Writer
}

func (d dotRenderer) Close() error {
	_, err := d.w.Write(d.DOT())
	return err
}

// holdAll adapts a renderer that writes everything at Close (WebVTT cues
// must come in start order): Flush has nothing to do.
type holdAll struct{ *vtt.Writer }

func (holdAll) Flush() error { return nil }

// flushCloser adapts a writer whose Close is its Flush.
type flushCloser struct{ *jsonl.Writer }

func (f flushCloser) Close() error { return f.Flush() }

// outputs fans events out to the chosen renderers.
type outputs struct {
	ios       *iostreams.Streams
	renderers []renderer
	svg       svgWriter
	qlogPaths []string // files written for --qlog-dir
	written   []string // other files written (--html)
	count     int64
}

// newOutputs opens the renderers. stream selects the line-per-event text
// layout of live captures; title names the input (qlog's trace title).
func newOutputs(ios *iostreams.Streams, o *OutputOptions, stream bool, title string) (*outputs, error) {
	out := &outputs{ios: ios}
	if o.SVG {
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("--svg: %w", err)
		}
		dw := svg.NewDirWriter(o.OutDir)
		dw.SVG = svg.Options{Animate: o.Animate, Speed: o.AnimateSpeed}
		dw.Layout.Slope = o.Slope
		out.svg = dw
	}
	if o.QlogDir != "" {
		if err := os.MkdirAll(o.QlogDir, 0o755); err != nil {
			return nil, fmt.Errorf("--qlog-dir: %w", err)
		}
		out.renderers = append(out.renderers, qlog.NewPerConnection(func(c *timeline.Conn) (io.WriteCloser, error) {
			path := filepath.Join(o.QlogDir, fmt.Sprintf("conn-%d.sqlog", c.ID))
			out.qlogPaths = append(out.qlogPaths, path)
			return os.Create(path)
		}, title))
	}
	if o.HTML != "" {
		f, err := os.Create(o.HTML)
		if err != nil {
			return nil, fmt.Errorf("--html: %w", err)
		}
		out.renderers = append(out.renderers, fileRenderer{htmlreport.New(f, htmlreport.Options{Title: title}), f})
		out.written = append(out.written, o.HTML)
	}
	if o.Overview != "" {
		f, err := os.Create(o.Overview)
		if err != nil {
			return nil, fmt.Errorf("--overview: %w", err)
		}
		ov := overview.New(f, overview.Options{Title: strings.TrimPrefix(title, "wiretrace ")})
		var r renderer = ov
		if strings.HasSuffix(o.Overview, ".dot") {
			r = dotRenderer{ov, f}
		}
		out.renderers = append(out.renderers, fileRenderer{r, f})
		out.written = append(out.written, o.Overview)
	}
	// With --svg, --qlog-dir, --html or --overview, stdout lists the
	// files written unless a format was asked for explicitly.
	if (!o.SVG && o.QlogDir == "" && o.HTML == "" && o.Overview == "") || o.formatSet {
		switch o.Format {
		case "json":
			out.renderers = append(out.renderers, flushCloser{jsonl.New(ios.Out)})
		case "qlog":
			out.renderers = append(out.renderers, qlog.New(ios.Out, title))
		case "ladder":
			out.renderers = append(out.renderers, ladder.New(ios.Out, ladder.Options{Width: ios.Width, Color: ios.Color(), Stream: stream, ASCII: o.ASCII}))
		case "mermaid":
			out.renderers = append(out.renderers, mermaid.New(ios.Out, mermaid.Options{}))
		case "vtt":
			opts := vtt.Options{TimeOrigin: o.timeOrigin, TimeOffset: o.timeOffset}
			var chapters *os.File
			if o.VTTChapters != "" {
				f, err := os.Create(o.VTTChapters)
				if err != nil {
					return nil, fmt.Errorf("--vtt-chapters: %w", err)
				}
				chapters = f
				opts.Chapters, opts.PhaseChapters = f, true
			}
			var r renderer = holdAll{vtt.New(ios.Out, opts)}
			if chapters != nil {
				r = fileRenderer{r, chapters}
			}
			out.renderers = append(out.renderers, r)
		default:
			out.renderers = append(out.renderers, text.New(ios.Out, text.Options{Color: ios.Color(), Stream: stream, NoCollapse: o.All}))
		}
	}
	return out, nil
}

// Event implements timeline.Sink.
func (o *outputs) Event(ev *timeline.Event) error {
	o.count++
	for _, r := range o.renderers {
		if err := r.Event(ev); err != nil {
			return err
		}
	}
	if o.svg != nil {
		if err := o.svg.Event(ev); err != nil {
			return err
		}
	}
	return nil
}

// flush pushes buffered output to the terminal or pipe (live capture).
func (o *outputs) flush() error {
	for _, r := range o.renderers {
		if err := r.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// close finishes every renderer and lists SVG files written.
func (o *outputs) close() error {
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, r := range o.renderers {
		keep(r.Close())
	}
	var paths []string
	if o.svg != nil {
		keep(o.svg.Close())
		paths = o.svg.Paths()
	}
	for _, p := range append(append(paths, o.qlogPaths...), o.written...) {
		if _, err := fmt.Fprintln(o.ios.Out, p); err != nil {
			keep(err)
			break
		}
	}
	return first
}
