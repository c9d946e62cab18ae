package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"time"
)

// Operations holds how the process reaches Temporal (TLS, API key,
// deadlines), how it stops, and where it sends its metrics and traces.
// Settings left unset keep the local defaults: plain gRPC to a dev server,
// no metrics listener, no trace export.
type Operations struct {
	// TemporalTLSCA is a PEM file of the CA that signed the server's
	// certificate (unset: the system's roots). TemporalTLSCert and
	// TemporalTLSKey are the client's certificate and key for mTLS, set
	// together. TemporalTLSServerName overrides the name checked in the
	// server's certificate (a proxy or an address that isn't the name).
	TemporalTLSCA         string `env:"TEMPORAL_TLS_CA"`
	TemporalTLSCert       string `env:"TEMPORAL_TLS_CERT"`
	TemporalTLSKey        string `env:"TEMPORAL_TLS_KEY"`
	TemporalTLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"`
	// TemporalAPIKey authenticates to Temporal Cloud (or a server that
	// takes API keys); it turns TLS on with the system's roots.
	TemporalAPIKey string `env:"TEMPORAL_API_KEY"`
	// TemporalCallTimeout bounds every call an HTTP handler makes to
	// Temporal, so a slow or unreachable server answers 503 instead of
	// holding the request.
	TemporalCallTimeout time.Duration `env:"TEMPORAL_CALL_TIMEOUT, default=10s"`
	// WorkerStopTimeout is how long a stopping worker lets activities in
	// flight finish before it cancels them (they are then retried
	// elsewhere).
	WorkerStopTimeout time.Duration `env:"WORKER_STOP_TIMEOUT, default=30s"`
	// HTTPReadTimeout and HTTPWriteTimeout bound reading a request and
	// writing its answer, HTTPIdleTimeout a kept-alive connection waiting
	// for the next request (headers have 10s), so slow or idle clients
	// can't hold connections. Streams extend their own deadline while
	// they move: an export as it writes, an import as it reads its
	// upload, so only a stalled one is cut.
	HTTPReadTimeout  time.Duration `env:"HTTP_READ_TIMEOUT, default=1m"`
	HTTPWriteTimeout time.Duration `env:"HTTP_WRITE_TIMEOUT, default=1m"`
	HTTPIdleTimeout  time.Duration `env:"HTTP_IDLE_TIMEOUT, default=2m"`
	// MetricsAddr is where Prometheus scrapes /metrics; unset, no listener.
	MetricsAddr string `env:"METRICS_ADDR"`
	// OTLPEndpoint is the OpenTelemetry collector traces are exported to
	// (OTLP over gRPC, e.g. http://otel-collector:4317); unset, spans are
	// not exported.
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`

	temporalTLS *tls.Config
}

// validateOperations checks the operations settings and reads the TLS
// files once, so a missing or wrong file stops start-up with its variable.
func (c *Config) validateOperations() error {
	o := &c.Operations
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"HTTP_READ_TIMEOUT", o.HTTPReadTimeout}, {"HTTP_WRITE_TIMEOUT", o.HTTPWriteTimeout}, {"HTTP_IDLE_TIMEOUT", o.HTTPIdleTimeout}} {
		if t.d < time.Second {
			return fmt.Errorf("%s: must be at least 1s, such as 1m", t.name)
		}
	}
	if o.TemporalCallTimeout < 100*time.Millisecond {
		return fmt.Errorf("TEMPORAL_CALL_TIMEOUT: must be at least 100ms, such as 10s")
	}
	if o.WorkerStopTimeout < 0 {
		return fmt.Errorf("WORKER_STOP_TIMEOUT: must be 0 or a positive duration such as 30s")
	}
	if o.OTLPEndpoint != "" {
		u, err := url.Parse(o.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL such as http://otel-collector:4317, got %q", o.OTLPEndpoint)
		}
	}
	t, err := o.buildTemporalTLS()
	if err != nil {
		return err
	}
	o.temporalTLS = t
	return nil
}

// buildTemporalTLS returns the TLS configuration for the Temporal client,
// or nil for plain gRPC (the dev server).
func (o *Operations) buildTemporalTLS() (*tls.Config, error) {
	if (o.TemporalTLSCert == "") != (o.TemporalTLSKey == "") {
		return nil, fmt.Errorf("TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: set both (the client certificate and its key) or neither")
	}
	if o.TemporalTLSCA == "" && o.TemporalTLSCert == "" && o.TemporalTLSServerName == "" && o.TemporalAPIKey == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TemporalTLSServerName}
	if o.TemporalTLSCA != "" {
		pem, err := os.ReadFile(o.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %s holds no PEM certificate", o.TemporalTLSCA)
		}
		t.RootCAs = pool
	}
	if o.TemporalTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TemporalTLSCert, o.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// TemporalTLS is the TLS configuration for the Temporal client (nil: plain
// gRPC). A fresh copy each time, so a caller can't change the shared one.
func (o *Operations) TemporalTLS() *tls.Config {
	if o.temporalTLS == nil {
		return nil
	}
	return o.temporalTLS.Clone()
}
