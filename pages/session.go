package pages

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

const (
	sessionCookie   = "portal_session"
	sessionLifetime = 14 * 24 * time.Hour
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
	s.render(c, http.StatusOK, "login.html", page{Title: "Log in", HelpCenter: hc.Name, Action: s.portalPath(hc, "/login"), CSRF: s.csrfToken(c)})
}

// dummyHash makes a login for an unknown email cost as much as one for a
// known email, so response times don't reveal which addresses have accounts.
var dummyHash, _ = credentials.HashPassword("not a real password, only for timing")

func (s *Site) loginSubmit(c *gin.Context) {
	hc, ok := s.portalForm(c, "Reload the login page and try again.")
	if !ok {
		return
	}
	email := strings.TrimSpace(c.PostForm("email"))
	password := c.PostForm("password")
	fail := func() {
		s.render(c, http.StatusUnauthorized, "login.html", page{Title: "Log in", HelpCenter: hc.Name, Action: s.portalPath(hc, "/login"),
			CSRF: s.csrfToken(c), Email: email, Error: "The email address or password is not correct."})
	}
	login, err := s.Store.LoginFor(c.Request.Context(), hc, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.Logger.Error("login lookup", "error", err)
		s.message(c, http.StatusServiceUnavailable, hc.Name, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	if err != nil || login.PasswordHash == nil || login.Status != portal.AccessActive {
		_, _ = credentials.CheckPassword(dummyHash, password)
		fail()
		return
	}
	if ok, err := credentials.CheckPassword(*login.PasswordHash, password); err != nil || !ok {
		fail()
		return
	}
	s.openSession(c, hc, login.AccountID)
}

// openSession logs the account in to hc and sends the browser home.
func (s *Site) openSession(c *gin.Context, hc *store.HelpCenter, accountID int64) {
	token := credentials.Random()
	if err := s.Store.CreateSession(c.Request.Context(), credentials.Hash(token), accountID, hc.ID, time.Now().Add(sessionLifetime)); err != nil {
		s.Logger.Error("create session", "error", err)
		s.message(c, http.StatusServiceUnavailable, hc.Name, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	http.SetCookie(c.Writer, s.cookie(sessionCookie, token, s.portalPath(hc, "/"), int(sessionLifetime.Seconds()), http.SameSiteLaxMode))
	c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/home"))
}

func (s *Site) sessionUser(c *gin.Context, hc *store.HelpCenter) (*store.SessionUser, error) {
	token, err := c.Cookie(sessionCookie)
	if err != nil || token == "" {
		return nil, store.ErrNotFound
	}
	return s.Store.SessionUser(c.Request.Context(), credentials.Hash(token), hc.ID)
}

func (s *Site) logout(c *gin.Context) {
	hc, ok := s.portalForm(c, "")
	if !ok {
		return
	}
	if token, err := c.Cookie(sessionCookie); err == nil {
		if err := s.Store.DeleteSession(c.Request.Context(), credentials.Hash(token)); err != nil {
			s.Logger.Warn("delete session", "error", err)
		}
	}
	http.SetCookie(c.Writer, s.cookie(sessionCookie, "", s.portalPath(hc, "/"), -1, http.SameSiteLaxMode))
	c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
}
