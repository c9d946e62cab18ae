package faults

import (
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// toxics is the suite's Toxiproxy, run in-process: no API server, the
// proxies and their toxics driven through the library.
var toxics = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())

// proxy is a TCP proxy to upstream on a port of its own, which the portal
// is pointed at instead of upstream.
type proxy struct {
	t *testing.T
	p *toxiproxy.Proxy
}

func newProxy(t *testing.T, name, upstream string) *proxy {
	t.Helper()
	p := toxiproxy.NewProxy(toxics, name+"-"+strings.ReplaceAll(t.Name(), "/", "-"), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return &proxy{t: t, p: p}
}

// address is where the proxy listens; it keeps it across cut and restore.
func (p *proxy) address() string { return p.p.Listen }

// cut closes the listener and every connection through it: the upstream
// refuses connections, as a stopped server does.
func (p *proxy) cut() { p.p.Stop() }

// restore listens again on the same address.
func (p *proxy) restore() {
	p.t.Helper()
	if err := p.p.Start(); err != nil {
		p.t.Fatalf("restore proxy: %v", err)
	}
}

// addToxic adds a toxic described as Toxiproxy's API takes it.
func (p *proxy) addToxic(json string) {
	p.t.Helper()
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(json)); err != nil {
		p.t.Fatalf("add toxic %s: %v", json, err)
	}
}

func (p *proxy) removeToxic(name string) {
	p.t.Helper()
	if err := p.p.Toxics.RemoveToxic(p.t.Context(), name); err != nil {
		p.t.Fatalf("remove toxic %s: %v", name, err)
	}
}
