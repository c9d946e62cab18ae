package pages

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

const (
	// sessionCookie is followed by the help center's slug: a session is
	// for one help center, and its cookie's path is "/" (see cookie).
	sessionCookie   = "portal_session_"
	sessionLifetime = 14 * 24 * time.Hour
	// defaultIdleTimeout applies when the site was built without one.
	defaultIdleTimeout = 8 * time.Hour
)

// startSession logs in the contact who just accepted, so the customer
// lands on their portal home.
func (s *Site) startSession(c *gin.Context, hc *store.HelpCenter, contactID int64) {
	id, err := s.Store.AccountID(c.Request.Context(), contactID, hc.AccountScope())
	if err != nil {
		// The account is active; only the convenience of a session is lost.
		s.Logger.Warn("session after accept", "error", err)
		c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
		return
	}
	s.openSession(c, hc, id)
}

func (s *Site) loginPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	if _, err := s.sessionUser(c, hc); err == nil {
		c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/home"))
		return
	}
	s.loginForm(c, http.StatusOK, hc, "", nil)
}

// loginForm shows the login form, with the address typed (never the
// password) and the problems, if any.
func (s *Site) loginForm(c *gin.Context, status int, hc *store.HelpCenter, email string, problems []problem) {
	s.render(c, status, "login.html", page{Title: "Log in", HelpCenter: hc.Name, Action: s.portalPath(hc, "/login"),
		CSRF: s.csrfToken(c), Email: email, Problems: problems, LinkURL: s.portalPath(hc, "/password/forgot"),
		Description: "Log in to the " + hc.Name + " help center to send requests and follow them."})
}

// loginSubmit checks an email and password. Failures are counted per
// address (whether or not it has an account) and lock the address out
// for a growing time, whatever the password; a locked address gets the
// same answer with the right password as with a wrong one, and an address
// without an account locks the same way, so no answer tells which
// addresses have accounts. An unknown address costs a dummy hash, so
// timing doesn't tell either.
func (s *Site) loginSubmit(c *gin.Context) {
	hc, ok := s.portalForm(c, "Reload the login page and try again.")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	email := strings.TrimSpace(c.PostForm("email"))
	password := c.PostForm("password")
	form := func(status int, problems []problem) { s.loginForm(c, status, hc, email, problems) }
	locked := func(wait time.Duration) {
		metrics.Lockouts.Inc()
		c.Header("Retry-After", retrySeconds(wait))
		form(http.StatusTooManyRequests, formProblem("Too many failed attempts to log in with this email address. Please try again "+
			portal.RetryWords(wait)+"."))
	}
	unavailable := func(what string, err error) { s.failed(c, hc.Name, what, err, "You are not logged in.") }

	// Failures count per address, however it is spelled (the stored,
	// normal form when it has one), as a password reset clears them.
	keyed := email
	if n, ok := portal.NormalizeEmail(email); ok {
		keyed = n
	}
	key := s.Tokens.AddressKey(hc.AccountScope(), keyed)
	wait, err := s.Store.LoginLocked(ctx, key)
	if err != nil {
		unavailable("login lock", err)
		return
	}
	if wait > 0 {
		locked(wait)
		return
	}
	login, err := s.Store.LoginFor(ctx, hc, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		unavailable("login lookup", err)
		return
	}
	match := false
	if err != nil || login.PasswordHash == nil || login.Status != portal.AccessActive {
		err = s.Hasher.CheckUnknown(ctx, password)
	} else {
		match, err = s.Hasher.Check(ctx, *login.PasswordHash, password)
	}
	if errors.Is(err, credentials.ErrBusy) {
		busy(c)
		form(http.StatusServiceUnavailable, formProblem(busyMessage))
		return
	}
	if !match {
		lock, err := s.Store.RecordLoginFailure(ctx, key, portal.DefaultLoginLockout)
		if err != nil {
			s.Logger.Warn("record login failure", "error", err)
		} else if lock > 0 {
			// The address stays out of the log: the help center and the
			// lock say enough to spot a guessing run.
			s.Logger.Warn("login locked after repeated failures", "help_center", hc.Slug, "locked_for", lock.String())
		}
		form(http.StatusUnauthorized, []problem{{Field: fieldEmail, Message: "The email address or password is not correct.",
			Also: []string{fieldPassword}}})
		return
	}
	if err := s.Store.ClearLoginFailures(ctx, key); err != nil {
		s.Logger.Warn("clear login failures", "error", err)
	}
	s.openSession(c, hc, login.AccountID)
}

// openSession logs the account in to hc and sends the browser home. Every
// login makes a new session ID and ends the one the browser brought, so
// an ID planted in the browser before the login (session fixation) is
// worth nothing after it.
func (s *Site) openSession(c *gin.Context, hc *store.HelpCenter, accountID int64) {
	ctx := c.Request.Context()
	name := s.cookieName(sessionCookie + hc.Slug)
	if old, err := c.Cookie(name); err == nil && old != "" {
		if err := s.Store.DeleteSession(ctx, credentials.Hash(old)); err != nil {
			s.Logger.Warn("end the previous session", "error", err)
		}
	}
	token := credentials.Random()
	if err := s.Store.CreateSession(ctx, credentials.Hash(token), accountID, hc.ID, time.Now().Add(sessionLifetime)); err != nil {
		s.failed(c, hc.Name, "create session", err, "")
		return
	}
	http.SetCookie(c.Writer, s.cookie(sessionCookie+hc.Slug, token, int(sessionLifetime.Seconds()), http.SameSiteLaxMode))
	c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/home"))
}

// sessionUser is the customer logged in to hc, or store.ErrNotFound.
func (s *Site) sessionUser(c *gin.Context, hc *store.HelpCenter) (*store.SessionUser, error) {
	token, err := c.Cookie(s.cookieName(sessionCookie + hc.Slug))
	if err != nil || token == "" {
		return nil, store.ErrNotFound
	}
	idle := s.SessionIdleTimeout
	if idle <= 0 {
		idle = defaultIdleTimeout
	}
	return s.Store.SessionUser(c.Request.Context(), credentials.Hash(token), hc.ID, idle)
}

func (s *Site) logout(c *gin.Context) {
	hc, ok := s.portalForm(c, "")
	if !ok {
		return
	}
	if token, err := c.Cookie(s.cookieName(sessionCookie + hc.Slug)); err == nil {
		if err := s.Store.DeleteSession(c.Request.Context(), credentials.Hash(token)); err != nil {
			s.Logger.Warn("delete session", "error", err)
		}
	}
	http.SetCookie(c.Writer, s.cookie(sessionCookie+hc.Slug, "", -1, http.SameSiteLaxMode))
	c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
}

// logoutEverywhere ends every session of the customer's account, in every
// help center and on every device, then sends them to the login page.
func (s *Site) logoutEverywhere(c *gin.Context) {
	hc, ok := s.portalForm(c, "Reload the page and try again.")
	if !ok {
		return
	}
	u, err := s.sessionUser(c, hc)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.failed(c, hc.Name, "session lookup", err, "You are still logged in.")
		return
	}
	if err == nil {
		n, err := s.Store.EndSessions(c.Request.Context(), u.AccountID)
		if err != nil {
			s.failed(c, hc.Name, "end sessions", err, "You are still logged in.", "account_id", u.AccountID)
			return
		}
		s.Logger.Info("logged out everywhere", "account_id", u.AccountID, "sessions", n)
	}
	http.SetCookie(c.Writer, s.cookie(sessionCookie+hc.Slug, "", -1, http.SameSiteLaxMode))
	c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
}
