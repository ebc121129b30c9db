package main

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/internal/iostreams"
)

func TestProxyFlags(t *testing.T) {
	tests := []struct {
		args    string
		want    []netip.AddrPort
		skew    time.Duration
		wantErr string
	}{
		{args: "a.pcap", want: nil},
		{args: "a.pcap --proxy 198.18.2.2:8080 --proxy 2001:db8::1 --proxy-skew 5ms",
			want: []netip.AddrPort{netip.MustParseAddrPort("198.18.2.2:8080"), netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), 0)}, skew: 5 * time.Millisecond},
		{args: "a.pcap --proxy [2001:db8::1]:443", want: []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::1]:443")}},
		{args: "a.pcap --proxy proxy.example:80", wantErr: `--proxy "proxy.example:80"`},
		{args: "a.pcap --proxy 10.0.0.1:0", wantErr: `--proxy "10.0.0.1:0"`},
		{args: "a.pcap --proxy-skew -1s", wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		var got *PcapOptions
		ios, _, _, _ := iostreams.Test()
		cmd := newPcapCmd(ios, func(_ context.Context, o *PcapOptions) error { got = o; return nil })
		err := execute(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v; want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.args, err)
			continue
		}
		if !slices.Equal(got.Output.proxies, tt.want) || got.Output.ProxySkew != tt.skew {
			t.Errorf("%s: proxies %v skew %v; want %v %v", tt.args, got.Output.proxies, got.Output.ProxySkew, tt.want, tt.skew)
		}
	}
}
