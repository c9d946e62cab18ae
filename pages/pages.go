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

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
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
	SecureCookies bool
	Logger        *slog.Logger
}

// Register mounts the pages under /portal/:slug.
func (s *Site) Register(r *gin.Engine) {
	p := r.Group("/portal/:slug")
	p.GET("/invitations/accept", s.acceptPage)
	p.POST("/invitations/accept", s.acceptSubmit)
	p.GET("/login", s.loginPage)
	p.POST("/login", s.loginSubmit)
	p.POST("/logout", s.logout)
	p.GET("/home", s.home)
	p.POST("/requests", s.portalRequest)
	p.GET("/signup", s.signupPage)
	p.POST("/signup", s.signupSubmit)
	p.GET("/signup/verify", s.verifyPage)
	p.POST("/signup/verify", s.verifySubmit)
}

//go:embed templates/*.html
var templateFiles embed.FS

var templates = template.Must(template.ParseFS(templateFiles, "templates/*.html"))

// page is what every portal template can use.
type page struct {
	Title, HelpCenter string
	// message pages
	Message, Next, LinkURL, LinkText string
	// forms
	Action, CSRF, Error, Token, Name, Email string
	MinLength                               int
	// home
	Tickets      []store.Ticket
	LogoutAction string
}

func (s *Site) render(c *gin.Context, status int, name string, p page) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Frame-Options", "DENY")
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
			s.Logger.Error("load help center", "error", err)
			s.message(c, http.StatusServiceUnavailable, "Help center", "Something went wrong", "Please try again in a moment.", "")
			return nil, false
		}
	}
	s.message(c, http.StatusNotFound, "Help center", "Help center not found", "There is no help center at this address.", "")
	return nil, false
}

func (s *Site) portalPath(hc *store.HelpCenter, p string) string { return "/portal/" + hc.Slug + p }
