package pages

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

// home shows a logged-in customer their requests and a form for a new one.
func (s *Site) home(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	u, err := s.sessionUser(c, hc)
	if errors.Is(err, store.ErrNotFound) {
		c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
		return
	}
	if err != nil {
		s.Logger.Error("session lookup", "error", err)
		s.message(c, http.StatusServiceUnavailable, hc.Name, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	s.renderHome(c, hc, u, http.StatusOK, "", "")
}

// renderHome renders the home page; problem and field describe a refused
// password change, whose form is on this page.
func (s *Site) renderHome(c *gin.Context, hc *store.HelpCenter, u *store.SessionUser, status int, problem, field string) {
	tickets, err := s.Store.TicketsOf(c.Request.Context(), u.ContactID, hc.ID)
	if err != nil {
		s.Logger.Error("list tickets", "error", err)
		s.message(c, http.StatusServiceUnavailable, hc.Name, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	s.render(c, status, "home.html", page{Title: "Home", HelpCenter: hc.Name, Name: u.Name, Email: u.Email,
		Tickets: tickets, CSRF: s.csrfToken(c), LogoutAction: s.portalPath(hc, "/logout"),
		LogoutEverywhereAction: s.portalPath(hc, "/logout/everywhere"), Action: s.portalPath(hc, "/requests"),
		PasswordAction: s.portalPath(hc, "/password/change"), MinLength: credentials.MinPasswordLength,
		Error: problem, Invalid: field})
}

// portalRequest lets a logged-in customer submit a request.
func (s *Site) portalRequest(c *gin.Context) {
	hc, ok := s.portalForm(c, "Reload the page and try again.")
	if !ok {
		return
	}
	u, err := s.sessionUser(c, hc)
	if err != nil {
		c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
		return
	}
	subject := strings.TrimSpace(c.PostForm("subject"))
	body := c.PostForm("body")
	if subject == "" || utf8.RuneCountInString(subject) > 300 || len(body) > 100_000 {
		s.message(c, http.StatusUnprocessableEntity, hc.Name, "Request not sent", "A request needs a subject of at most 300 characters.", "Go back and try again.")
		return
	}
	t := &store.Ticket{HelpCenterID: hc.ID, ContactID: u.ContactID, Subject: subject, Body: body, Channel: "web"}
	if err := s.Store.CreateTicket(c.Request.Context(), t); err != nil {
		s.Logger.Error("portal request", "error", err)
		s.message(c, http.StatusServiceUnavailable, hc.Name, "Something went wrong", "Your request was not sent. Please try again in a moment.", "")
		return
	}
	c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/home")+"?submitted="+strconv.FormatInt(t.ID, 10))
}
