package pages

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/store"
)

// requestsPerPage is how many requests the requests page lists at once.
const requestsPerPage = 20

// requestsPage lists the logged-in customer's own requests in this help
// center, newest first, a page at a time: ?after= carries the cursor of
// the page before.
func (s *Site) requestsPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	u, ok := s.loggedIn(c, hc)
	if !ok {
		return
	}
	after := c.Query("after")
	list, err := s.Store.TicketsPage(c.Request.Context(), u.ContactID, hc.ID, after, requestsPerPage)
	if errors.Is(err, store.ErrBadCursor) {
		s.render(c, http.StatusBadRequest, "message.html", page{Title: "Page not found", HelpCenter: hc.Name,
			Message: "This link to a page of your requests is not valid.", Nav: s.customerPage(hc, "requests").Nav,
			LinkURL: s.portalPath(hc, "/requests"), LinkText: "See your latest requests"})
		return
	}
	if err != nil {
		s.failed(c, hc.Name, "list tickets", err, "")
		return
	}
	p := s.customerPage(hc, "requests")
	p.Title, p.Tickets, p.Older = "Your requests", list.Items, after != ""
	p.Description = "The requests you sent to the " + hc.Name + " help center, newest first."
	p.Action = s.portalPath(hc, "/home") + "#new-request"
	if list.NextCursor != "" {
		p.NextPageURL = s.portalPath(hc, "/requests") + "?after=" + url.QueryEscape(list.NextCursor)
	}
	s.render(c, http.StatusOK, "requests.html", p)
}

// requestPage shows one of the customer's requests. Anyone else's, like
// one that does not exist, is not found: the page never tells which.
func (s *Site) requestPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	u, ok := s.loggedIn(c, hc)
	if !ok {
		return
	}
	notFound := func() {
		s.render(c, http.StatusNotFound, "message.html", page{Title: "Request not found", HelpCenter: hc.Name,
			Message: "You have no request with this number.", Nav: s.customerPage(hc, "requests").Nav,
			LinkURL: s.portalPath(hc, "/requests"), LinkText: "See your requests"})
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		notFound()
		return
	}
	t, err := s.Store.TicketOf(c.Request.Context(), u.ContactID, hc.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		s.failed(c, hc.Name, "ticket", err, "")
		return
	}
	p := s.customerPage(hc, "requests")
	p.Title, p.Ticket = "Request #"+strconv.FormatInt(t.ID, 10), t
	p.Description = "Your request #" + strconv.FormatInt(t.ID, 10) + " to the " + hc.Name + " help center and where it stands."
	s.render(c, http.StatusOK, "request.html", p)
}
