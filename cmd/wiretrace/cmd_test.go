package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/wiretrace/wiretrace/internal/iostreams"
)

func execute(t *testing.T, cmd *cobra.Command, args string) error {
	t.Helper()
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	return cmd.ExecuteContext(context.Background())
}

func TestPcapFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    PcapOptions
		wantErr string
	}{
		{name: "one file", args: "x.pcap", want: PcapOptions{Files: []string{"x.pcap"}, Output: OutputOptions{Format: "text", OutDir: "."}}},
		{name: "json and merge", args: "a.pcap b.pcapng --format json", want: PcapOptions{Files: []string{"a.pcap", "b.pcapng"}, Output: OutputOptions{Format: "json", OutDir: "."}}},
		{name: "svg dir", args: "a.pcap --svg -o out", want: PcapOptions{Files: []string{"a.pcap"}, Output: OutputOptions{Format: "text", SVG: true, OutDir: "out"}}},
		{name: "stdin segments", args: "- --segments", want: PcapOptions{Files: []string{"-"}, Output: OutputOptions{Format: "text", OutDir: ".", Segments: true}}},
		{name: "key logs", args: "a.pcap --keylog k1 --keylog k2", want: PcapOptions{Files: []string{"a.pcap"}, Output: OutputOptions{Format: "text", OutDir: ".", KeyLogs: []string{"k1", "k2"}}}},
		{name: "no file", args: "", wantErr: "give at least one capture file"},
		{name: "bad format", args: "a.pcap --format xml", wantErr: `--format "xml"`},
		{name: "dir without svg", args: "a.pcap -o out", wantErr: "add --svg"},
		{name: "stdin twice", args: "- -", wantErr: "only once"},
		{name: "bad cap", args: "a.pcap --max-conns 0", wantErr: "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *PcapOptions
			cmd := newPcapCmd(ios, func(_ context.Context, o *PcapOptions) error { got = o; return nil })
			err := execute(t, cmd, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tt.wantErr)
				}
				if _, ok := err.(*flagError); !ok {
					t.Errorf("err is %T; want *flagError (exit 2)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if strings.Join(got.Files, ",") != strings.Join(tt.want.Files, ",") {
				t.Errorf("Files = %q; want %q", got.Files, tt.want.Files)
			}
			o, w := got.Output, tt.want.Output
			if o.Format != w.Format || o.SVG != w.SVG || o.OutDir != w.OutDir || o.Segments != w.Segments || strings.Join(o.KeyLogs, ",") != strings.Join(w.KeyLogs, ",") {
				t.Errorf("Output = %+v; want %+v", o, w)
			}
		})
	}
}

func TestLiveFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		check   func(*LiveOptions) bool
		wantErr string
	}{
		{name: "iface and filter", args: "-i lo --filter tcp", check: func(o *LiveOptions) bool { return o.Iface == "lo" && o.Filter == "tcp" }},
		{name: "key logs", args: "-i lo --keylog a.keys --keylog b.keys", check: func(o *LiveOptions) bool {
			return strings.Join(o.Output.KeyLogs, ",") == "a.keys,b.keys"
		}},
		{name: "tcpdump style filter", args: "-i lo tcp port 443", check: func(o *LiveOptions) bool { return o.Filter == "tcp port 443" }},
		{name: "count duration write", args: "-i eth0 -c 5 --duration 2s -w x.pcapng", check: func(o *LiveOptions) bool {
			return o.Count == 5 && o.Duration == 2*time.Second && o.Write == "x.pcapng"
		}},
		{name: "no iface", args: "--filter tcp", wantErr: "-i IFACE is required"},
		{name: "two filters", args: "-i lo --filter tcp udp", wantErr: "not both"},
		{name: "negative count", args: "-i lo -c -1", wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *LiveOptions
			cmd := newLiveCmd(ios, func(_ context.Context, o *LiveOptions) error { got = o; return nil })
			err := execute(t, cmd, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !tt.check(got) {
				t.Errorf("options %+v do not match", got)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     string
		wantCode int
		wantErr  string
	}{
		{name: "help", args: "--help", wantCode: 0},
		{name: "missing file", args: "pcap /nonexistent/x.pcap", wantCode: 1, wantErr: "wiretrace: open /nonexistent/x.pcap: no such file or directory\n"},
		{name: "no args", args: "pcap", wantCode: 2, wantErr: "Run 'wiretrace --help' for usage."},
		{name: "unknown flag", args: "pcap --bogus x", wantCode: 2, wantErr: "unknown flag"},
		{name: "unknown command", args: "frobnicate", wantCode: 2, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			code := run(strings.Fields(tt.args), ios)
			if code != tt.wantCode {
				t.Errorf("exit code = %d; want %d (stderr %q)", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr = %q; want it to contain %q", errOut.String(), tt.wantErr)
			}
		})
	}
}
