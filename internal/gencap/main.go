//go:build linux

// Command gencap regenerates the captures in testdata/pcaps: real TCP, UDP,
// TLS, HTTP/1.1, HTTP/2 and WebSocket traffic between Go peers (net.Dial,
// net.Listen, crypto/tls, net/http, golang.org/x/net/http2,
// github.com/coder/websocket) in network namespaces joined by a router
// namespace (internal/netns), captured on the hosts' veths with the
// project's own live capture (capture.OpenLive) and written with
// capture.PcapngWriter. It must run as root:
//
//	sudo go run ./internal/gencap -out testdata/pcaps
//
// Each scenario builds its own client ⟷ router ⟷ server namespaces and
// removes them afterwards. Payloads, ports, MAC and IP addresses are fixed;
// what still differs between runs is what the kernel chooses (initial
// sequence numbers, timestamp offsets), the TLS randoms and keys, the
// WebSocket masking keys, and the timing. The TLS scenarios and h2-tls
// save the client's NSS key log beside their capture (NAME.keys) or
// inside it (a pcapng Decryption Secrets Block).
// The README.md written beside the captures describes each one;
// -readme-only rewrites it from the scenario table and the files present,
// without running anything.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wiretrace/wiretrace/internal/netns"
)

func main() {
	out := flag.String("out", "testdata/pcaps", "directory for the captures and README.md")
	only := flag.String("only", "", "comma-separated scenario names to regenerate (default: all; README.md is then not rewritten)")
	readmeOnly := flag.Bool("readme-only", false, "run nothing: rewrite README.md from the scenario table and the files present in -out")
	peer := flag.String("tls-client", "", "internal: run one TLS client (a JSON tlsClient) and print its key log")
	bench := flag.Int("bench", 0, "write only the benchmark capture "+benchName+".pcapng (and its key log) at this scale, about 200,000 packets per unit, into -out")
	flag.Parse()
	if *peer != "" {
		if err := runTLSClientPeer(*peer); err != nil {
			fmt.Fprintln(os.Stderr, "gencap: tls client:", err)
			os.Exit(1)
		}
		return
	}
	if *readmeOnly {
		files, err := filesPresent(*out)
		if err == nil {
			err = writeReadme(filepath.Join(*out, "README.md"), files, readmeDelayHow(filepath.Join(*out, "README.md")))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gencap:", err)
			os.Exit(1)
		}
		return
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "gencap: must run as root (network namespaces, veth, iptables, packet capture): sudo go run ./internal/gencap -out testdata/pcaps")
		os.Exit(1)
	}
	if *bench > 0 {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gencap:", err)
			os.Exit(1)
		}
		start := time.Now()
		fs, _, err := runScenario(benchScenario(*bench), *out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gencap: %s: %v\n", benchName, err)
			os.Exit(1)
		}
		for _, f := range fs {
			fmt.Printf("%-24s %8d bytes %6d packets  (%s)\n", f.name, f.size, f.packets, time.Since(start).Round(time.Millisecond))
		}
		return
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
		for _, n := range names {
			if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == n }) {
				fmt.Fprintf(os.Stderr, "gencap: -only: no scenario %q\n", n)
				os.Exit(2)
			}
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
	var files []fileInfo
	var delayHow string
	for _, s := range scenarios {
		if names != nil && !slices.Contains(names, s.name) {
			continue
		}
		start := time.Now()
		fs, how, err := runScenario(s, *out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gencap: %s: %v\n", s.name, err)
			os.Exit(1)
		}
		if how != "" {
			delayHow = how
		}
		for _, f := range fs {
			fmt.Printf("%-24s %8d bytes %6d packets  (%s)\n", f.name, f.size, f.packets, time.Since(start).Round(time.Millisecond))
		}
		files = append(files, fs...)
	}
	if names == nil {
		if err := writeReadme(filepath.Join(*out, "README.md"), files, delayHow); err != nil {
			fmt.Fprintln(os.Stderr, "gencap:", err)
			os.Exit(1)
		}
	}
}

// fileInfo describes one written capture for the README.
type fileInfo struct {
	name     string
	size     int64
	packets  int
	linkType string
	snaplen  int
	at       side
	keys     string // the TLS key log: a file name, "DSB" (in the capture), or ""
}

// runScenario builds a topology, starts the captures, runs the peers and
// writes the files. how is the router's delay mechanism.
func runScenario(s scenario, dir string) (files []fileInfo, how string, err error) {
	topo, err := netns.NewTopology(fmt.Sprintf("wtgen%d", os.Getpid()))
	if err != nil {
		return nil, "", err
	}
	// Remove the namespaces on Ctrl-C too.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	stopSig := make(chan struct{})
	go func() {
		select {
		case <-sig:
			topo.Close()
			fmt.Fprintln(os.Stderr, "gencap: interrupted")
			os.Exit(1)
		case <-stopSig:
		}
	}()
	defer func() {
		signal.Stop(sig)
		close(stopSig)
		if cerr := topo.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()

	if s.delay > 0 {
		if how, err = topo.Router.Delay(netns.ToClient, s.delay); err != nil {
			return nil, "", err
		}
	}
	if s.router != nil {
		if err := s.router(&topo.Router); err != nil {
			return nil, "", err
		}
	}
	var recs []*recorder
	for _, o := range s.outs {
		h := topo.Client
		if o.at == atServer {
			h = topo.Server
		}
		r, err := record(h.NS, h.Iface, s.filter, s.snaplen, s.ring)
		if err != nil {
			for _, r := range recs {
				r.finish()
			}
			return nil, "", err
		}
		recs = append(recs, r)
	}
	e := &env{topo: topo}
	runErr := s.run(e)
	for _, r := range recs {
		if err := r.finish(); err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr != nil {
		return nil, "", runErr
	}
	if s.keys != noKeys && e.keylog.Len() == 0 {
		return nil, "", errors.New("the TLS client wrote no key log")
	}
	for i, o := range s.outs {
		r := recs[i]
		name := o.name + ".pcapng"
		var secrets []byte
		if s.keys == keysDSB {
			secrets = e.keylog.Bytes()
		}
		size, err := r.writePcapng(filepath.Join(dir, name), secrets)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		keys := s.keys.fileName(o.name)
		if s.keys == keysFile {
			if err := os.WriteFile(filepath.Join(dir, keys), e.keylog.Bytes(), 0o644); err != nil {
				return nil, "", err
			}
		}
		files = append(files, fileInfo{name, size, len(r.frames), "Ethernet", r.snaplen, o.at, keys})
		if !s.variants {
			continue
		}
		for _, v := range linkVariants {
			name := o.name + "-" + v.suffix + ".pcap"
			size, err := r.writePcap(filepath.Join(dir, name), v)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", name, err)
			}
			files = append(files, fileInfo{name, size, len(r.frames), v.linkType.String(), r.snaplen, o.at, keys})
		}
	}
	return files, how, nil
}
