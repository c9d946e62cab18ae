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
	"github.com/portalaccess/portal/buildinfo"
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
	// Outbox enables GET /dev/outbox (development mail driver only).
	Outbox bool
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
	r.Use(s.logRequests, s.recoverJSON, limitBody, rejectNUL)
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, "not_found", "no such route") })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/api/openapi.yaml", serveOpenAPI)

	v1 := r.Group("/api/v1", s.authenticate)
	admin := requireRole(portal.RoleAdmin)
	v1.POST("/help-centers", admin, s.createHelpCenter)
	v1.GET("/help-centers", s.listHelpCenters)
	v1.GET("/help-centers/:slug", s.getHelpCenter)
	v1.PATCH("/help-centers/:slug", admin, s.updateHelpCenter)
	v1.POST("/help-centers/:slug/invitations", s.createInvitation)
	v1.GET("/help-centers/:slug/invitations", s.listInvitations)
	v1.GET("/help-centers/:slug/users", s.listUsers)
	v1.GET("/help-centers/:slug/users/export.csv", s.exportUsers)
	v1.POST("/help-centers/:slug/invitations/bulk", s.createBulkInvitation)
	v1.GET("/bulk-invitations/:id", s.getBulkInvitation)
	v1.GET("/bulk-invitations/:id/results.csv", s.bulkResultsCSV)
	v1.POST("/bulk-invitations/:id/cancel", s.cancelBulkInvitation)
	v1.POST("/contacts/import", s.importContacts)
	v1.POST("/contacts", s.createContact)
	v1.GET("/contacts", s.listContacts)
	v1.GET("/contacts/:id", s.getContact)
	v1.PATCH("/contacts/:id", s.updateContact)
	v1.GET("/invitations/:id", s.getInvitation)
	v1.POST("/invitations/:id/resend", s.resendInvitation)
	v1.POST("/invitations/:id/revoke", s.revokeInvitation)
	v1.POST("/api-keys", admin, s.createAPIKey)
	v1.POST("/departments", admin, s.createDepartment)
	v1.GET("/departments", s.listDepartments)
	v1.GET("/departments/:id", s.getDepartment)
	v1.PATCH("/departments/:id", admin, s.updateDepartment)
	v1.POST("/tickets", s.createTicket)
	v1.PATCH("/help-centers/:slug/users/:id", s.updateUser)
	v1.POST("/help-centers/:slug/users/:id/approve", admin, s.approveUser)
	v1.POST("/help-centers/:slug/users/:id/reject", admin, s.rejectUser)
	v1.POST("/help-centers/:slug/users/:id/deactivate", s.deactivateUser)
	v1.POST("/help-centers/:slug/users/:id/reactivate", s.reactivateUser)
	v1.POST("/help-centers/:slug/users/deactivate", s.deactivateUsers)
	v1.POST("/help-centers/:slug/users/reactivate", s.reactivateUsers)

	if s.Outbox {
		r.GET("/dev/outbox", s.listOutbox)
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
	s.Logger.Info("http", "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
		"duration_ms", elapsed.Milliseconds())
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

// readyz checks the connections and names the build that answers, so a
// deployment can be checked for what it runs.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := s.Store.Ping(ctx); err != nil {
		checks["postgres"], ready = err.Error(), false
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ready = err.Error(), false
	}
	if !ready {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks, "build": buildinfo.Read()})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": checks, "build": buildinfo.Read()})
}
