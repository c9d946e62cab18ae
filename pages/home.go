package pages

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

// Limits of a new request's fields, stated on the form.
const (
	maxSubjectRunes = 300
	maxBodyBytes    = 100_000
	// homeTickets is how many of the latest requests the home page shows;
	// the requests page has them all.
	homeTickets = 5
)

// homeForm is what the home page's forms show again after a refusal:
// the problems and the new request as typed (never a password).
type homeForm struct {
	Problems      []problem
	Subject, Body string
}

// loggedIn is the customer logged in to hc. Without a session it sends
// the browser to the login page; when the session can't be read it
// renders why; either way ok is false and the handler stops.
func (s *Site) loggedIn(c *gin.Context, hc *store.HelpCenter) (*store.SessionUser, bool) {
	u, err := s.sessionUser(c, hc)
	if errors.Is(err, store.ErrNotFound) {
		c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
		return nil, false
	}
	if err != nil {
		s.failed(c, hc.Name, "session lookup", err, "")
		return nil, false
	}
	return u, true
}

// home shows a logged-in customer their latest requests, a form for a new
// one and their account's settings.
func (s *Site) home(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	u, ok := s.loggedIn(c, hc)
	if !ok {
		return
	}
	s.renderHome(c, hc, u, http.StatusOK, homeForm{})
}

// renderHome renders the home page, with a refused form's problems and
// what was typed in it.
func (s *Site) renderHome(c *gin.Context, hc *store.HelpCenter, u *store.SessionUser, status int, form homeForm) {
	latest, err := s.Store.TicketsPage(c.Request.Context(), u.ContactID, hc.ID, "", homeTickets)
	if err != nil {
		s.failed(c, hc.Name, "list tickets", err, "")
		return
	}
	p := s.customerPage(hc, "home")
	p.Title, p.Name, p.Email = "Home", u.Name, u.Email
	p.Description = "Your requests and account in the " + hc.Name + " help center."
	p.Tickets, p.CSRF = latest.Items, s.csrfToken(c)
	p.LogoutAction, p.LogoutEverywhereAction = s.portalPath(hc, "/logout"), s.portalPath(hc, "/logout/everywhere")
	p.Action, p.PasswordAction = s.portalPath(hc, "/requests"), s.portalPath(hc, "/password/change")
	p.MinLength, p.Problems, p.Subject, p.Body = credentials.MinPasswordLength, form.Problems, form.Subject, form.Body
	if status == http.StatusOK {
		p.Notice = s.takeNotice(c, hc)
	}
	s.render(c, status, "home.html", p)
}

// customerPage is a logged-in page's frame: the help center and the
// account's navigation, current naming the page shown.
func (s *Site) customerPage(hc *store.HelpCenter, current string) page {
	return page{HelpCenter: hc.Name, RequestsPath: s.portalPath(hc, "/requests"),
		Nav: &nav{Home: s.portalPath(hc, "/home"), Requests: s.portalPath(hc, "/requests"), Current: current}}
}

// portalRequest lets a logged-in customer submit a request. A refused one
// comes back on the home page as typed, the problem next to its field;
// a sent one redirects home, which says it was sent.
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
	subject := strings.TrimSpace(c.PostForm(fieldSubject))
	body := c.PostForm(fieldBody)
	var problems []problem
	switch {
	case subject == "":
		problems = fieldProblem(fieldSubject, "Enter a subject: a few words saying what the request is about.")
	case utf8.RuneCountInString(subject) > maxSubjectRunes:
		problems = fieldProblem(fieldSubject, "Enter a subject of at most 300 characters.")
	}
	if len(body) > maxBodyBytes {
		problems = append(problems, problem{Field: fieldBody, Message: "Enter details of at most 100,000 characters."})
	}
	if problems != nil {
		s.renderHome(c, hc, u, http.StatusUnprocessableEntity, homeForm{Problems: problems, Subject: c.PostForm(fieldSubject), Body: body})
		return
	}
	t := &store.Ticket{HelpCenterID: hc.ID, ContactID: u.ContactID, Subject: subject, Body: body, Channel: "web"}
	if err := s.Store.CreateTicket(c.Request.Context(), t); err != nil {
		s.failed(c, hc.Name, "portal request", err, "Your request was not sent.")
		return
	}
	s.setNotice(c, hc, noticeRequestSent, t.ID)
	c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/home"))
}
