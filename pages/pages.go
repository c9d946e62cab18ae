// Package pages holds the customer's HTML pages of the portal, under
// /portal/{slug}: accepting an invitation, signing up and confirming the
// address, logging in and out, and the home page where a customer sees and
// submits their requests. Pages answer in HTML, never with the API's JSON
// error body; forms are protected against cross-site posts.
package pages

import (
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/starter"
	"github.com/portalaccess/portal/store"
)

// Site holds the pages' dependencies.
type Site struct {
	Store *store.Store
	// Temporal answers the accept and verify updates of running workflows.
	Temporal client.Client
	// Start starts sign-ups.
	Start *starter.Starter
	// PublicBaseURL is where customers reach the portal; its origin is the
	// only one allowed to post portal forms.
	PublicBaseURL string
	// SecureCookies is set when PUBLIC_BASE_URL is https: cookies are
	// Secure and __Host- prefixed, and pages ask for HSTS.
	SecureCookies bool
	Logger        *slog.Logger

	// Tokens keys the pseudonyms that attempt counters are stored under.
	Tokens *credentials.Tokens
	// Hasher runs every password hash of a request, in a bounded pool.
	Hasher *credentials.Hasher
	// PerIP and PerTarget bound the posts of one client address, and those
	// naming one email address or link, across every replica.
	PerIP, PerTarget portal.Rate
	// TrustedProxies may tell the client's address in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// SessionIdleTimeout ends a session unused for that long.
	SessionIdleTimeout time.Duration
	// AfterAcceptStep runs after each step of an accept (AcceptStaged,
	// AcceptAdmitted, AcceptApplied); the fault-injection suite uses it to
	// stop the process there.
	AfterAcceptStep func(step string)
}

// The steps of an accept, in order, for AfterAcceptStep: the password is
// staged in Postgres; the workflow admitted the accept update; the
// workflow applied it (the account is active) and the answer is not yet
// written.
const (
	AcceptStaged   = "accept-staged"
	AcceptAdmitted = "accept-admitted"
	AcceptApplied  = "accept-applied"
)

// acceptStep marks an accept's step done.
func (s *Site) acceptStep(step string) {
	if s.AfterAcceptStep != nil {
		s.AfterAcceptStep(step)
	}
}

// Register mounts the pages under /portal/:slug. Every answer there
// carries the security headers, and every POST is rate limited per client
// and per target before its handler runs, routes added later included.
func (s *Site) Register(r *gin.Engine) {
	// The engine's 404 and 405 answers belong to the API (JSON); under
	// /portal/ a person reads them, so they get an HTML page instead.
	r.Use(s.portalNotFound)
	p := r.Group("/portal/:slug", s.securityHeaders, s.recoverPages, s.readForm, s.limitPosts)
	p.GET("/invitations/accept", s.acceptPage)
	p.POST("/invitations/accept", s.acceptSubmit)
	p.GET("/invitations/decline", s.declinePage)
	p.POST("/invitations/decline", s.declineSubmit)
	p.GET("/login", s.loginPage)
	p.POST("/login", s.loginSubmit)
	p.POST("/logout", s.logout)
	p.POST("/logout/everywhere", s.logoutEverywhere)
	p.GET("/home", s.home)
	p.POST("/requests", s.portalRequest)
	p.GET("/requests", s.requestsPage)
	p.GET("/requests/:id", s.requestPage)
	p.GET("/signup", s.signupPage)
	p.POST("/signup", s.signupSubmit)
	p.GET("/signup/verify", s.verifyPage)
	p.POST("/signup/verify", s.verifySubmit)
	p.GET("/password/forgot", s.forgotPage)
	p.POST("/password/forgot", s.forgotSubmit)
	p.GET("/password/reset", s.resetPage)
	p.POST("/password/reset", s.resetSubmit)
	p.POST("/password/change", s.changePassword)
}

//go:embed templates/*.html
var templateFiles embed.FS

// stylesheet is the portal's CSS, inlined in every page; the
// Content-Security-Policy allows exactly this text by its hash.
//
//go:embed templates/portal.css
var stylesheet string

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"css": func() template.CSS { return template.CSS(stylesheet) }, //nolint:gosec // G203: our own embedded stylesheet, no input
}).ParseFS(templateFiles, "templates/*.html"))

// page is what every portal template can use.
type page struct {
	Title, HelpCenter string
	// Description is the page's meta description; a sentence made of the
	// title and the help center when empty.
	Description string
	// Notice is a one-time message about what the last form did (request
	// sent, password changed), shown once after its redirect.
	Notice string
	// Nav links a logged-in customer's pages; nil on the others.
	Nav *nav
	// message pages
	Message, Next, LinkURL, LinkText string
	// Reference identifies a failure in the log, for the customer to quote.
	Reference string
	// forms
	Action, CSRF, Token, Name, Email string
	MinLength                        int
	// Problems say why the form was refused, each tied to its field; the
	// summary at the top of the page lists them.
	Problems []problem
	// home
	Tickets                              []store.Ticket
	LogoutAction, LogoutEverywhereAction string
	// PasswordAction is where the change-password form posts.
	PasswordAction string
	// Subject and Body are a new request's, kept when it is refused.
	Subject, Body string
	// requests
	Ticket       *store.Ticket
	NextPageURL  string
	RequestsPath string
	// Older is set on a page of requests after the first.
	Older bool
}

// nav is the logged-in customer's links.
type nav struct {
	Home, Requests string
	// Current names the page shown: "home" or "requests".
	Current string
}

// MetaDescription is the page's meta description.
func (p page) MetaDescription() string {
	if p.Description != "" {
		return p.Description
	}
	return p.Title + ": " + p.HelpCenter + " help center, where you follow your requests to its support team."
}

// render writes a page; the security headers are already set by the
// portal's middleware.
func (s *Site) render(c *gin.Context, status int, name string, p page) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := templates.ExecuteTemplate(c.Writer, name, p); err != nil {
		s.Logger.Error("render page", "page", name, "error", err)
	}
}

func (s *Site) message(c *gin.Context, status int, hcName, title, msg, next string) {
	s.render(c, status, "message.html", page{Title: title, HelpCenter: hcName, Message: msg, Next: next})
}

// portalHelpCenter loads the help center of a portal page, or renders 404.
func (s *Site) portalHelpCenter(c *gin.Context) (*store.HelpCenter, bool) {
	slug := c.Param("slug")
	if portal.ValidSlug(slug) {
		hc, err := s.Store.HelpCenterBySlug(c.Request.Context(), slug)
		if err == nil {
			return hc, true
		}
		if !errors.Is(err, store.ErrNotFound) {
			s.failed(c, "Help center", "load help center", err, "")
			return nil, false
		}
	}
	s.message(c, http.StatusNotFound, "Help center", "Help center not found", "There is no help center at this address.", "")
	return nil, false
}

func (s *Site) portalPath(hc *store.HelpCenter, p string) string { return "/portal/" + hc.Slug + p }
