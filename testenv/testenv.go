// Package testenv gives integration tests the real things: a Postgres
// database of their own and a Temporal dev server, with the portal running
// on top of them.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/migrations"
	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// PostgresURL is the server tests create their databases on; override with
// TEST_POSTGRES_URL.
func PostgresURL() string {
	if v := os.Getenv("TEST_POSTGRES_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Database creates and migrates a database named for the test run and
// returns its URL and a function that drops it.
func Database(ctx context.Context) (string, func(), error) {
	url := strings.Replace(PostgresURL(), "/postgres?", "/portal_test_"+randomSuffix()+"?", 1)
	if err := store.EnsureDatabase(ctx, url); err != nil {
		return "", nil, fmt.Errorf("create test database (is Postgres running on 127.0.0.1:5432?): %w", err)
	}
	st := store.Open(url)
	if _, err := migrations.Up(ctx, st.DB); err != nil {
		return "", nil, errors.Join(err, st.Close())
	}
	if err := st.Close(); err != nil {
		return "", nil, err
	}
	drop := func() { _ = store.DropDatabase(context.Background(), url) }
	return url, drop, nil
}

// Temporal starts a dev server from the CLI named by TEMPORAL_CLI (make
// test builds it), with the portal's search attributes registered.
func Temporal(ctx context.Context) (*testsuite.DevServer, error) {
	return TemporalAt(ctx, "")
}

// TemporalAt starts the dev server on hostPort (empty: a free port), for
// a test that brings Temporal up where a portal already looks for it.
func TemporalAt(ctx context.Context, hostPort string) (*testsuite.DevServer, error) {
	cli := os.Getenv("TEMPORAL_CLI")
	if cli == "" {
		return nil, errors.New("TEMPORAL_CLI is not set: run the tests with `make test`, which builds the pinned Temporal CLI")
	}
	attrs := make([]temporal.SearchAttributeUpdate, 0, 2)
	for _, k := range workflows.SearchAttributes() {
		attrs = append(attrs, temporal.NewSearchAttributeKeyKeyword(k.GetName()).ValueSet(""))
	}
	return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		LogLevel:         "error",
		SearchAttributes: temporal.NewSearchAttributes(attrs...),
		ClientOptions:    &client.Options{Logger: quiet{}, HostPort: hostPort},
		// The settings `make run` uses. The tests' server keeps its
		// database in memory, where nothing waits for a disk anyway; the
		// same flags keep a test that names a file as fast as make run.
		ExtraArgs: config.DevServerArgs(true),
		Stdout:    io.Discard,
		Stderr:    io.Discard,
	})
}

// Portal is the service running against a test database and dev server,
// served on a local port.
type Portal struct {
	URL      string
	AdminKey string
	Service  *service.Service
	// Env is the portal's environment, for starting a worker process.
	Env         map[string]string
	http        *httptest.Server
	stopWorkers func()
	stopSweep   func()
}

// Options adjust a test portal.
type Options struct {
	// Worker starts the worker in-process (the default when nil).
	Worker *bool
	// Env overrides the portal's environment: stricter limits for a test
	// of them, or a second portal sharing the first one's TOKEN_SECRET.
	Env map[string]string
	// Service adjusts the service, such as a test's span exporter.
	Service []service.Option
}

// adminKeys holds the bootstrap admin key of each test database, by
// name: a test may reach one database by two addresses (through a proxy).
var adminKeys sync.Map

func databaseName(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return databaseURL
	}
	return u.Path
}

// WebhookSigningKey signs the mail provider's webhooks in tests.
const WebhookSigningKey = "test-webhook-signing-key"

// StartPortal runs the portal on a fresh port with outbox mail.
func StartPortal(ctx context.Context, databaseURL, temporalAddress string, opts Options) (*Portal, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	// Portals on one database are replicas of one deployment and share
	// its PORTAL_ADMIN_API_KEY: a new value would revoke the key the
	// package's other tests use.
	key, _ := adminKeys.LoadOrStore(databaseName(databaseURL), "test_admin_"+credentials.Random())
	adminKey := key.(string)
	if k, ok := opts.Env["PORTAL_ADMIN_API_KEY"]; ok {
		adminKey = k
	}
	env := map[string]string{
		"DATABASE_URL": databaseURL, "TEMPORAL_ADDRESS": temporalAddress, "PUBLIC_BASE_URL": base,
		"MAIL_DRIVER": "outbox", "TOKEN_SECRET": credentials.Random(), "PORTAL_ADMIN_API_KEY": adminKey,
		"TEMPORAL_TASK_QUEUE": "test-" + randomSuffix(), "MAIL_TASK_QUEUE": "test-mail-" + randomSuffix(),
		"MAIL_RATE_PER_SECOND": "0", "SWEEP_INTERVAL": "500ms", "MAILGUN_WEBHOOK_SIGNING_KEY": WebhookSigningKey,
		// Every test of a package posts from 127.0.0.1 to one shared portal,
		// and hashes under the race detector on a busy machine: limits a
		// real client meets would fail tests of other things. Tests of the
		// limits start portals of their own with real ones.
		"RATE_LIMIT_PER_IP": "100000/1m", "RATE_LIMIT_PER_TARGET": "100000/1m", "PASSWORD_HASH_WAIT": "1m",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	cfg, err := config.Load(ctx, mapLookuper(env))
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	svc, err := service.New(ctx, cfg, logger, opts.Service...)
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	if err := svc.Bootstrap(ctx); err != nil {
		svc.Close()
		return nil, errors.Join(err, ln.Close())
	}
	p := &Portal{URL: base, AdminKey: adminKey, Service: svc, Env: env}
	if opts.Worker == nil || *opts.Worker {
		if p.stopWorkers, err = svc.StartWorkers(); err != nil {
			svc.Close()
			return nil, errors.Join(err, ln.Close())
		}
	}
	p.http = &httptest.Server{Listener: ln, Config: svc.HTTPServer(svc.Handler())}
	p.http.Start()
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	p.stopSweep = stopSweep
	go svc.RunSweeper(sweepCtx, cfg.SweepInterval, cfg.SweepInterval)
	return p, nil
}

// Stop shuts the portal down.
func (p *Portal) Stop() {
	p.stopSweep()
	p.http.Close()
	if p.stopWorkers != nil {
		p.stopWorkers()
	}
	p.Service.Close()
}

type mapLookuper map[string]string

func (m mapLookuper) Lookup(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
