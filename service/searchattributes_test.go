package service_test

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/workflows"
)

// A dev server whose database predates a search attribute gets it from
// RegisterSearchAttributes, and a workflow may use it the moment that
// returns: the servers the project starts cache the definitions, so the
// registration waits until the server answers with them.
func TestRegisteredSearchAttributesAreUsableAtOnce(t *testing.T) {
	if os.Getenv("TEMPORAL_CLI") == "" {
		t.Skip("TEMPORAL_CLI is not set: run with make test")
	}
	ctx := t.Context()
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: os.Getenv("TEMPORAL_CLI"), LogLevel: "error",
		ClientOptions: &client.Options{Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		ExtraArgs:     config.DevServerArgs(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dev.Stop() }()
	svc := &service.Service{Config: &config.Config{TemporalNamespace: "default"}, Temporal: dev.Client()}
	if err := svc.RegisterSearchAttributes(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = dev.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "uses-search-attributes", TaskQueue: "no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.HelpCenterKey.ValueSet("acme")),
	}, "Nothing")
	if err != nil {
		t.Fatalf("a start right after the registration: %v", err)
	}
	t.Logf("started %v after the registration", time.Since(start))
}
