package main

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/wiretrace/wiretrace/timeline"
	"github.com/wiretrace/wiretrace/timeline/proxylink"
)

// proxyOptions are the --proxy flag: the proxy's addresses, for linking
// its front and back connections (timeline/proxylink).
type proxyOptions struct {
	Proxy     []string
	ProxySkew time.Duration
	proxies   []netip.AddrPort
}

func addProxyFlags(fs *pflag.FlagSet, o *proxyOptions) {
	fs.StringArrayVar(&o.Proxy, "proxy", nil, "a proxy's listening address HOST:PORT, or its address HOST, to link its front and back connections when the heuristics cannot tell; repeatable (give a proxy's back-side address too). With it, only these proxies are linked")
	fs.DurationVar(&o.ProxySkew, "proxy-skew", 0, "how far apart the clocks of merged captures may be when linking proxy legs, e.g. 5ms")
}

// validate parses the --proxy values: HOST:PORT, [V6]:PORT, or an address
// alone (any port).
func (o *proxyOptions) validate() error {
	if o.ProxySkew < 0 {
		return flagErrorf("--proxy-skew must not be negative")
	}
	o.proxies = o.proxies[:0]
	for _, s := range o.Proxy {
		ap, err := parseProxyAddr(s)
		if err != nil {
			return flagErrorf("--proxy %q: want HOST:PORT or HOST (an IP address)", s)
		}
		o.proxies = append(o.proxies, ap)
	}
	return nil
}

func parseProxyAddr(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 0), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, err
	}
	if ap.Port() == 0 {
		return ap, strconv.ErrRange
	}
	return ap, nil
}

// proxyLinker puts the proxy-link analysis between the timeline and the
// renderers; its Close goes after the Builder's.
func (o *proxyOptions) proxyLinker(next timeline.Sink) *proxylink.Linker {
	return proxylink.New(next, proxylink.Options{Proxies: o.proxies, Skew: o.ProxySkew})
}
