package config_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/testenv"
)

func loadOps(env map[string]string) (*config.Config, error) {
	env["TOKEN_SECRET"], env["MAIL_DRIVER"] = "0123456789abcdef0123456789abcdef", "outbox"
	return config.Load(context.Background(), envconfig.MapLookuper(env))
}

func TestOperationsDefaultToPlainTemporalAndNoExport(t *testing.T) {
	c, err := loadOps(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalTLS() != nil || c.TemporalCallTimeout != 10*time.Second || c.WorkerStopTimeout != 30*time.Second ||
		c.MetricsAddr != "" || c.OTLPEndpoint != "" {
		t.Fatalf("operations defaults %+v", c.Operations)
	}
}

func TestTemporalTLSFilesBuildTheClientsTLS(t *testing.T) {
	certs, err := testenv.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadOps(map[string]string{"TEMPORAL_TLS_CA": certs.CA, "TEMPORAL_TLS_CERT": certs.ClientCert,
		"TEMPORAL_TLS_KEY": certs.ClientKey, "TEMPORAL_TLS_SERVER_NAME": "temporal.test"})
	if err != nil {
		t.Fatal(err)
	}
	tc := c.TemporalTLS()
	if tc == nil || tc.ServerName != "temporal.test" || len(tc.Certificates) != 1 || tc.RootCAs == nil {
		t.Fatalf("tls config %+v", tc)
	}
	// The pool trusts the server's certificate, signed by the CA given.
	pemBytes, _ := os.ReadFile(certs.ServerCert)
	server := parsePEM(t, pemBytes)
	if _, err := server.Verify(x509.VerifyOptions{Roots: tc.RootCAs, DNSName: "temporal.test"}); err != nil {
		t.Fatalf("server certificate not trusted by TEMPORAL_TLS_CA: %v", err)
	}
	// An API key alone turns TLS on with the system's roots (Temporal Cloud).
	c, err = loadOps(map[string]string{"TEMPORAL_API_KEY": "key"})
	if err != nil {
		t.Fatal(err)
	}
	if tc := c.TemporalTLS(); tc == nil || tc.RootCAs != nil || len(tc.Certificates) != 0 {
		t.Fatalf("api key tls %+v", tc)
	}
}

func TestBadOperationsSettingsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for want, env := range map[string]map[string]string{
		"TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: set both": {"TEMPORAL_TLS_CERT": notPEM},
		"TEMPORAL_TLS_CA: open":                         {"TEMPORAL_TLS_CA": filepath.Join(dir, "missing.pem")},
		"TEMPORAL_TLS_CA: " + notPEM + " holds no PEM":  {"TEMPORAL_TLS_CA": notPEM},
		"TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: tls":      {"TEMPORAL_TLS_CERT": notPEM, "TEMPORAL_TLS_KEY": notPEM},
		"TEMPORAL_CALL_TIMEOUT":                         {"TEMPORAL_CALL_TIMEOUT": "0s"},
		"WORKER_STOP_TIMEOUT":                           {"WORKER_STOP_TIMEOUT": "-1s"},
		"OTEL_EXPORTER_OTLP_ENDPOINT":                   {"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
	} {
		_, err := loadOps(env)
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func parsePEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, _ := pemDecode(b)
	cert, err := x509.ParseCertificate(block)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func pemDecode(b []byte) ([]byte, []byte) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, rest
	}
	return block.Bytes, rest
}
