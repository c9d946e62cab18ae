// Package service assembles the portal from its parts: configuration,
// Postgres, Temporal, mail, the HTTP server (API and pages), the worker
// and the sweeper. The commands and the integration tests both start it
// from here.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
	"github.com/portalaccess/portal/api"
	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/migrations"
	"github.com/portalaccess/portal/pages"
	"github.com/portalaccess/portal/starter"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// Service is a configured portal with its connections open.
type Service struct {
	Config   *config.Config
	Store    *store.Store
	Temporal client.Client
	Mail     mail.Sender
	Tokens   *credentials.Tokens
	// Hasher bounds the password hashes the pages run at once.
	Hasher *credentials.Hasher
	Logger *slog.Logger

	telemetry *telemetry
	tracing   interceptor.Interceptor
}

// New opens Postgres, builds the Temporal client (connected on first
// use, so the pages serve while Temporal is down), the mail sender, and
// the metrics and traces.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts ...Option) (*Service, error) {
	tokens, err := credentials.NewTokens(cfg.TokenSecretBytes())
	if err != nil {
		return nil, fmt.Errorf("TOKEN_SECRET: %w", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tel, err := newTelemetry(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	tracing, err := tel.temporalTracing()
	if err != nil {
		return nil, fmt.Errorf("temporal tracing: %w", err)
	}
	workflows.WriteDurationsAsNanoseconds(cfg.DurationsAsNanoseconds())
	st := store.OpenPool(cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err := tel.watch(st, logger); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	tc, err := newTemporalClient(cfg, logger, tel.temporalMetrics(), []interceptor.ClientInterceptor{tracing})
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	s := &Service{Config: cfg, Store: st, Temporal: tc, Tokens: tokens, Logger: logger,
		Hasher:    credentials.NewHasher(cfg.PasswordHashConcurrency, cfg.PasswordHashWait),
		telemetry: tel, tracing: tracing}
	switch cfg.MailDriver {
	case "mailgun":
		s.Mail = mail.NewMailgun(mail.MailgunConfig{Domain: cfg.MailgunDomain, APIKey: cfg.MailgunAPIKey, APIBase: cfg.MailgunAPIBase,
			From: cfg.MailFrom, Timeout: cfg.MailgunTimeout, EventsDelay: cfg.MailgunEventsDelay, WebhookSigningKey: cfg.MailgunWebhookSigningKey})
	default:
		s.Mail = &mail.Outbox{Store: st, From: cfg.MailFrom}
	}
	return s, nil
}

// Close releases the connections.
func (s *Service) Close() {
	s.Temporal.Close()
	if err := s.Store.Close(); err != nil {
		s.Logger.Warn("close database", "error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.telemetry.shutdown(ctx); err != nil {
		s.Logger.Warn("flush metrics and traces", "error", err)
	}
}

// MetricsHandler serves the product's and the Temporal SDK's metrics in
// Prometheus's format.
func (s *Service) MetricsHandler() http.Handler { return s.telemetry.handler() }

// Migrate applies pending migrations.
func (s *Service) Migrate(ctx context.Context) error {
	applied, err := migrations.Up(ctx, s.Store.DB)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		s.Logger.Info("migrations applied", "names", applied)
	}
	// Addresses the normalisation migration could not rewrite wait for a
	// person; say so at every migration until none is left.
	n, err := s.Store.EmailNormalizationConflicts(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		s.Logger.Warn("contacts keep addresses that collide once normalised, or are invalid, until resolved",
			"count", n, "table", "email_normalization_conflicts", "help", "README, Email addresses")
	}
	return nil
}

// Bootstrap stores the configured admin API key (hashed), so a new
// installation has a way in. It is one key among others, marked as the
// bootstrap key: a new PORTAL_ADMIN_API_KEY revokes the one before it, and
// a key revoked through the API stays revoked.
func (s *Service) Bootstrap(ctx context.Context) error {
	if s.Config.AdminAPIKey == "" {
		return nil
	}
	k := &store.APIKey{Name: "bootstrap admin (PORTAL_ADMIN_API_KEY)", KeyHash: credentials.Hash(s.Config.AdminAPIKey),
		Prefix: bootstrapPrefix(s.Config.AdminAPIKey)}
	res, err := s.Store.EnsureBootstrapKey(ctx, k)
	if err != nil {
		return err
	}
	if res.Created != 0 {
		s.Logger.Info("bootstrap admin key stored", "api_key_id", res.Created)
	}
	for _, id := range res.Revoked {
		s.Logger.Warn("PORTAL_ADMIN_API_KEY changed: the previous bootstrap key is revoked", "api_key_id", id)
	}
	if res.StillRevoked {
		s.Logger.Error("PORTAL_ADMIN_API_KEY names a key revoked through the API; it stays revoked: set a new value", "api_key_id", k.ID)
	}
	return nil
}

// bootstrapPrefix shows a few characters of a configured key, as much as
// the API shows of any key, and never enough to guess it.
func bootstrapPrefix(key string) string {
	if len(key) < 32 {
		return key[:min(len(key), 4)]
	}
	return key[:10]
}

// RegisterSearchAttributes adds the workflows' search attributes to the
// namespace; those already there are left alone.
func (s *Service) RegisterSearchAttributes(ctx context.Context) error {
	have, err := s.Temporal.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Config.TemporalNamespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, k := range workflows.SearchAttributes() {
		if _, ok := have.CustomAttributes[k.GetName()]; !ok {
			missing[k.GetName()] = k.GetValueType()
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = s.Temporal.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: s.Config.TemporalNamespace, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	// The server caches the definitions (a production server, and the
	// dev servers the project starts): until it has read the new ones, a
	// workflow that uses one fails to start. Wait for them.
	deadline := time.Now().Add(time.Minute)
	for {
		err := s.searchAttributesUsable(ctx, missing)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("search attributes added but not usable after a minute: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// searchAttributesUsable asks the server to count workflows by each
// attribute: it refuses a query on an attribute it doesn't know yet.
func (s *Service) searchAttributesUsable(ctx context.Context, names map[string]enumspb.IndexedValueType) error {
	for name := range names {
		if _, err := s.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: s.Config.TemporalNamespace, Query: name + " = ''",
		}); err != nil {
			return err
		}
	}
	return nil
}

// Starter returns what starts the portal's workflows, for the API, the
// pages and the sweeper.
func (s *Service) Starter() *starter.Starter {
	return &starter.Starter{Store: s.Store, Temporal: s.Temporal, TaskQueue: s.Config.TemporalTaskQueue,
		MailTaskQueue: s.Config.MailTaskQueue, Logger: s.Logger, Tokens: s.Tokens,
		ResetLinkLifetime: s.Config.PasswordResetLinkLifetime, ResetEmailInterval: s.Config.PasswordResetEmailInterval,
		BulkSettings: starter.BulkSettings{PageSize: s.Config.BulkPageSize, Window: s.Config.BulkWindow, ChildrenPerRun: s.Config.BulkChildrenPerRun}}
}

// API returns the JSON API's handlers.
func (s *Service) API() *api.Server {
	srv := &api.Server{Store: s.Store, Temporal: s.Temporal, Start: s.Starter(),
		PublicBaseURL: s.Config.PublicBaseURL, ResendInterval: s.Config.ResendMinInterval,
		TemplateTestRate: s.Config.TemplateTestRatePerKey(),
		Outbox:           s.Config.DevOutboxServed(), Logger: s.Logger, ReadTimeout: s.Config.HTTPReadTimeout, WriteTimeout: s.Config.HTTPWriteTimeout, SenderAllowList: s.Config.SenderAllowList(), Tracing: s.telemetry.TracerProvider(),
		Webhooks: mail.NewWebhookVerifier(s.Config.MailgunWebhookSigningKey), WebhookSigningKey: s.Config.MailgunWebhookSigningKey}
	if src, ok := s.Mail.(api.SuppressionSource); ok {
		srv.Suppressions = src
	}
	if s.Config.CrashPoint == "after-ticket-stored" {
		// Simulates the process dying between storing a ticket and starting
		// its auto-invite, for the recovery test.
		srv.AfterTicketStored = func() {
			s.Logger.Warn("PORTAL_CRASH_POINT reached: exiting")
			os.Exit(75)
		}
	}
	return srv
}

// Pages returns the customer's pages.
func (s *Service) Pages() *pages.Site {
	site := &pages.Site{Store: s.Store, Temporal: s.Temporal, Start: s.Starter(),
		PublicBaseURL: s.Config.PublicBaseURL, SecureCookies: s.Config.SecureCookies(), Logger: s.Logger,
		Tokens: s.Tokens, Hasher: s.Hasher, PerIP: s.Config.PerIP(), PerTarget: s.Config.PerTarget(),
		TrustedProxies: s.Config.TrustedProxyPrefixes(), SessionIdleTimeout: s.Config.SessionIdleTimeout}
	if s.Config.CrashPoint != "" {
		// Simulates the process dying after a step of an accept, for the
		// fault-injection suite.
		site.AfterAcceptStep = func(step string) {
			if step == s.Config.CrashPoint {
				s.Logger.Warn("PORTAL_CRASH_POINT reached: exiting", "point", step)
				os.Exit(75)
			}
		}
	}
	return site
}

// Handler returns the HTTP handler: the JSON API and the customer's pages
// on one engine, behind the same middleware.
func (s *Service) Handler() http.Handler {
	r := s.API().Handler()
	s.Pages().Register(r)
	return r
}

// Workers returns the workers: one for the workflows and their database
// activities, and one for email activities on the mail task queue, whose
// rate the server limits across every worker polling it.
func (s *Service) Workers() []worker.Worker {
	acts := &activities.Activities{Store: s.Store, Mail: s.Mail, Tokens: s.Tokens, BaseURL: s.Config.PublicBaseURL, MailFrom: s.Config.MailFrom,
		MailRate: portal.PerSecond(s.Config.MailRatePerSecond)}
	if s.Config.CrashPoint != "" {
		// Simulates the worker dying right after a change committed, for
		// the tests that prove its audit event is kept with it, once.
		acts.AfterCommit = func(point string) {
			if point == s.Config.CrashPoint {
				s.Logger.Warn("PORTAL_CRASH_POINT reached: exiting", "point", point)
				os.Exit(75)
			}
		}
	}
	main := worker.New(s.Temporal, s.Config.TemporalTaskQueue, worker.Options{
		// A bulk job makes thousands of short invitation tasks at once;
		// more pollers keep the worker fed.
		MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityTaskPollers: 8,
		WorkerStopTimeout:                s.Config.WorkerStopTimeout,
	})
	workflows.Register(main)
	main.RegisterActivity(acts)
	mailer := worker.New(s.Temporal, s.Config.MailTaskQueue, worker.Options{
		DisableWorkflowWorker:            true,
		MaxConcurrentActivityTaskPollers: 8,
		TaskQueueActivitiesPerSecond:     s.Config.MailRatePerSecond,
		WorkerStopTimeout:                s.Config.WorkerStopTimeout,
	})
	mailer.RegisterActivity(acts)
	ws := []worker.Worker{main, mailer}
	// The emails of workflows started before MAIL_TASK_QUEUE was renamed
	// wait on the former name: keep polling it, with the same rate limit,
	// until the operator drops it from MAIL_TASK_QUEUE_FORMER.
	for _, q := range s.Config.MailTaskQueueFormer {
		former := worker.New(s.Temporal, q, worker.Options{
			DisableWorkflowWorker:        true,
			TaskQueueActivitiesPerSecond: s.Config.MailRatePerSecond,
			WorkerStopTimeout:            s.Config.WorkerStopTimeout,
		})
		former.RegisterActivity(acts)
		ws = append(ws, former)
	}
	return ws
}

// StartWorkers starts the workers; stop them with the returned function.
// While Temporal can't be reached they are started again in the
// background until it can, so a worker process outlives an outage of
// Temporal instead of exiting (and a supervisor's restart loop).
func (s *Service) StartWorkers() (func(), error) {
	ws, err := s.startWorkers()
	if err == nil {
		return stopAll(ws), nil
	}
	s.Logger.Warn("workers can't start yet; retrying until Temporal answers", "address", s.Config.TemporalAddress, "error", err)
	var mu sync.Mutex
	stopped := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait := time.Second
		for {
			select {
			case <-stopped:
				return
			case <-time.After(wait):
			}
			started, err := s.startWorkers()
			if err == nil {
				mu.Lock()
				ws = started
				mu.Unlock()
				s.Logger.Info("workers started after Temporal became reachable", "address", s.Config.TemporalAddress)
				return
			}
			s.Logger.Warn("workers still can't start", "address", s.Config.TemporalAddress, "retry_in", wait, "error", err)
			wait = min(2*wait, 30*time.Second)
		}
	}()
	return func() {
		close(stopped)
		<-done
		mu.Lock()
		defer mu.Unlock()
		stopAll(ws)()
	}, nil
}

// startWorkers starts a fresh set of workers, or none.
func (s *Service) startWorkers() ([]worker.Worker, error) {
	ws := s.Workers()
	for i, w := range ws {
		if err := w.Start(); err != nil {
			stopAll(ws[:i])()
			return nil, fmt.Errorf("start worker: %w", err)
		}
	}
	return ws, nil
}

// stopAll stops the workers at once, each draining its activities in
// flight for up to WORKER_STOP_TIMEOUT.
func stopAll(ws []worker.Worker) func() {
	return func() {
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Go(w.Stop)
		}
		wg.Wait()
	}
}

// Run serves HTTP and/or runs the worker until ctx ends (SIGTERM), then
// stops in order: the HTTP server first (no new work is started; requests
// in flight finish), then the workers, which stop polling and give
// activities in flight WORKER_STOP_TIMEOUT to finish; one cut short is
// retried by another worker, its email key stopping a second send.
func (s *Service) Run(ctx context.Context, serveHTTP, runWorker bool) error {
	errc := make(chan error, 3)
	if runWorker {
		// Start returns at once and the workers keep trying to reach
		// Temporal while it is down.
		stop, err := s.StartWorkers()
		if err != nil {
			return err
		}
		defer func() {
			s.Logger.Info("workers stopping", "stop_timeout", s.Config.WorkerStopTimeout)
			stop()
			s.Logger.Info("workers stopped")
		}()
		s.Logger.Info("workers started", "task_queue", s.Config.TemporalTaskQueue, "mail_task_queue", s.Config.MailTaskQueue)
	}
	var servers []*http.Server
	serve := func(addr, what string, h http.Handler) error {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		srv := s.HTTPServer(h)
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
		s.Logger.Info(what+" listening", "addr", ln.Addr().String())
		return nil
	}
	if s.Config.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.MetricsHandler())
		if err := serve(s.Config.MetricsAddr, "metrics", mux); err != nil {
			return fmt.Errorf("METRICS_ADDR %s: %w", s.Config.MetricsAddr, err)
		}
	}
	if serveHTTP {
		if err := serve(s.Config.HTTPAddr, "http", s.Handler()); err != nil {
			return fmt.Errorf("HTTP_ADDR %s: %w", s.Config.HTTPAddr, err)
		}
		go s.RunSweeper(ctx, s.Config.SweepInterval, s.Config.SweepInterval)
	}
	var runErr error
	select {
	case <-ctx.Done():
		s.Logger.Info("stopping", "reason", context.Cause(ctx))
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := len(servers) - 1; i >= 0; i-- {
		if err := servers[i].Shutdown(shutdownCtx); err != nil {
			s.Logger.Warn("http shutdown", "error", err)
		}
	}
	return runErr
}
