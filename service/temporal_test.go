package service_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/testenv"
)

// connect builds the service for env and asks Temporal for its health
// through the service's client.
func connect(t *testing.T, env map[string]string) error {
	t.Helper()
	env["TOKEN_SECRET"], env["MAIL_DRIVER"] = "0123456789abcdef0123456789abcdef", "outbox"
	cfg, err := config.Load(t.Context(), envconfig.MapLookuper(env))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = svc.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// The client speaks mutual TLS to a server that requires it (a dev server
// behind a TLS-terminating proxy, as a self-hosted cluster with mTLS):
// with the right CA and client certificate it connects; a CA that did not
// sign the server's certificate, or no client certificate, is refused
// with an error that says why.
func TestTemporalClientConnectsWithMutualTLSAndRefusesAWrongCA(t *testing.T) {
	if os.Getenv("TEMPORAL_CLI") == "" {
		t.Skip("TEMPORAL_CLI is not set: run with make test")
	}
	dev, err := testenv.Temporal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dev.Stop() }()
	certs, err := testenv.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	proxy, stop, err := testenv.TLSProxy(context.Background(), certs, dev.FrontendHostPort())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	if err := connect(t, map[string]string{"TEMPORAL_ADDRESS": proxy, "TEMPORAL_TLS_CA": certs.CA,
		"TEMPORAL_TLS_CERT": certs.ClientCert, "TEMPORAL_TLS_KEY": certs.ClientKey}); err != nil {
		t.Fatalf("mTLS with the right files: %v", err)
	}
	err = connect(t, map[string]string{"TEMPORAL_ADDRESS": proxy, "TEMPORAL_TLS_CA": certs.OtherCA,
		"TEMPORAL_TLS_CERT": certs.ClientCert, "TEMPORAL_TLS_KEY": certs.ClientKey})
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("a CA that did not sign the server's certificate: got %v, want unknown authority", err)
	}
	if err := connect(t, map[string]string{"TEMPORAL_ADDRESS": proxy, "TEMPORAL_TLS_CA": certs.CA}); err == nil {
		t.Fatal("a server that requires a client certificate accepted a client without one")
	}
	// Plain gRPC to a TLS server fails too, rather than hanging.
	if err := connect(t, map[string]string{"TEMPORAL_ADDRESS": proxy, "TEMPORAL_CALL_TIMEOUT": "1s"}); err == nil {
		t.Fatal("plain gRPC reached a TLS-only server")
	}
}
