// Package api holds the admin JSON API under /api, health checks and, in
// development, the mail outbox, one file per resource. Handlers validate
// input, read Postgres and talk to Temporal; they never send email
// themselves. Every response is a view type of this package, never a
// database row. The customer's pages (package pages) mount on the same
// engine and share its middleware.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/starter"
	"github.com/portalaccess/portal/store"
)

// Server holds the handlers' dependencies.
type Server struct {
	Store *store.Store
	// Temporal signals running workflows and answers the readiness check.
	Temporal client.Client
	// Start starts invitations, bulk jobs, auto-invites and access changes.
	Start *starter.Starter
	// PublicBaseURL is where customers reach the portal; help centers'
	// portal_url starts with it.
	PublicBaseURL string
	// ResendInterval is the least time between two resends of one
	// invitation (0: no limit).
	ResendInterval time.Duration
	// TemplateTestRate is how many template test sends one API key may
	// make (TEMPLATE_TEST_RATE; zero: DefaultTemplateTestRate).
	TemplateTestRate portal.Rate
	// SenderAllowList holds the from addresses a help center may set.
	SenderAllowList portal.SenderAllowList
	// Outbox enables GET /dev/outbox (development mail driver only).
	Outbox bool
	// ReadTimeout and WriteTimeout are the HTTP server's; a stream (an
	// export, an import's upload) moves its connection's deadline on by
	// as much each time it makes progress, so it may take as long as it
	// needs while a stalled one is still cut.
	ReadTimeout, WriteTimeout time.Duration
	// Suppressions reads the mail provider's bounce and complaint lists
	// for an import (nil: the driver has none).
	Suppressions SuppressionSource
	// Webhooks verifies the mail provider's webhooks.
	Webhooks *mail.WebhookVerifier
	// WebhookSigningKey signs the outbox's simulated webhooks
	// (development only).
	WebhookSigningKey string
	// AfterTicketStored runs between storing a ticket and starting its
	// auto-invite; the crash test uses it to stop the process there.
	AfterTicketStored func()
	Logger            *slog.Logger
	// Tracing starts a span for each request, the root of the trace that
	// follows it into Temporal (nil: no spans).
	Tracing trace.TracerProvider
}

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Handler returns the HTTP handler with the middleware every route shares
// (pages included) and the API's routes registered.
func (s *Server) Handler() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if s.Tracing != nil {
		r.Use(otelgin.Middleware("portal", otelgin.WithTracerProvider(s.Tracing),
			otelgin.WithPropagators(propagation.TraceContext{})))
	}
	r.Use(requestIDs, s.logRequests, s.recoverJSON, limitBody, rejectNUL)
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, "not_found", "no such route") })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/api/openapi.yaml", serveOpenAPI)

	doc, err := LoadContract()
	if err != nil {
		// The document is compiled in and checked by the tests.
		panic(err)
	}
	// Who may call comes first (401, 403); then the request is held to
	// the document before its handler runs.
	v1 := r.Group("/api/v1", s.authenticate)
	for _, rt := range s.routes() {
		v1.Handle(rt.Method, rt.Path, authorize(rt.Role, rt.Unscoped), checkRequests(doc), rt.handle)
	}

	r.POST("/webhooks/mailgun", s.mailgunWebhook)

	if s.Outbox {
		r.GET("/dev/outbox", s.listOutbox)
		r.POST("/dev/outbox/:id/webhook", s.outboxWebhook)
	}
	return r
}

// logRequests logs each request by route, never by raw URL: query strings
// carry invitation tokens.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(unmatched)"
	}
	elapsed := time.Since(start)
	attrs := []any{"method", c.Request.Method, "route", route, "status", c.Writer.Status(),
		"duration_ms", elapsed.Milliseconds(), "request_id", requestID(c)}
	// The key's ID, never the key: enough to find and revoke it.
	if id, ok := c.Value(keyIDKey).(int64); ok {
		attrs = append(attrs, "api_key_id", id)
	}
	s.Logger.Info("http", attrs...)
	metrics.HTTPRequests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	metrics.HTTPDuration.WithLabelValues(route, c.Request.Method).Observe(elapsed.Seconds())
	// The portal's forms count their 429s by limit; the API's (resends)
	// are counted here.
	if c.Writer.Status() == http.StatusTooManyRequests && strings.HasPrefix(route, "/api/") {
		metrics.RateLimited.WithLabelValues("api").Inc()
	}
}

// recoverJSON turns a panic into a 500 with the standard error body; the
// stack goes to the log, never to the client.
func (s *Server) recoverJSON(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(r) // a stream cut short on purpose: drop the connection
			}
			s.Logger.Error("panic in handler", "route", c.FullPath(), "panic", r)
			abort(c, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	c.Next()
}

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		limit := int64(MaxBodyBytes)
		if c.FullPath() == "/api/v1/contacts/import" {
			limit = MaxImportBytes
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	c.Next()
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz checks the connections and answers only whether the replica is
// ready: the endpoint is open to anyone who reaches the port, so why a
// dependency is unreachable (addresses, certificate errors) and which
// build answers go to the log, not to the caller.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	ready := true
	if err := s.Store.Ping(ctx); err != nil {
		ready = false
		s.Logger.Warn("not ready: postgres unreachable", "error", err)
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		ready = false
		s.Logger.Warn("not ready: temporal unreachable", "error", err)
	}
	if !ready {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
