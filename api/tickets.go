package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// Channels a request can arrive from.
var channels = map[string]bool{"email": true, "phone": true, "chat": true, "web": true, "social": true, "api": true, "forum": true}

type ticketRequest struct {
	HelpCenter string          `json:"help_center"`
	Department json.RawMessage `json:"department"`
	Email      string          `json:"email"`
	Name       string          `json:"name"`
	Subject    string          `json:"subject"`
	Body       string          `json:"body"`
	Channel    string          `json:"channel"`
}

// ticketView is a request taken from a channel, with what became of its
// contact.
type ticketView struct {
	ID               int64                   `json:"id"`
	ContactID        int64                   `json:"contact_id"`
	DepartmentID     *int64                  `json:"department_id"`
	Subject          string                  `json:"subject"`
	Body             string                  `json:"body"`
	Channel          string                  `json:"channel"`
	Status           string                  `json:"status"`
	CreatedAt        time.Time               `json:"created_at"`
	HelpCenter       string                  `json:"help_center"`
	NewContact       bool                    `json:"new_contact"`
	AutoInvite       portal.AutoInviteStatus `json:"auto_invite,omitempty"`
	AutoInviteReason portal.Outcome          `json:"auto_invite_reason,omitempty"`
}

func viewTicket(t *store.Ticket, slug string, res store.IntakeResult) ticketView {
	return ticketView{ID: t.ID, ContactID: t.ContactID, DepartmentID: t.DepartmentID, Subject: t.Subject, Body: t.Body,
		Channel: t.Channel, Status: t.Status, CreatedAt: t.CreatedAt,
		HelpCenter: slug, NewContact: res.NewContact, AutoInvite: res.AutoInvite}
}

// createTicket takes a request from a channel. An unknown email becomes a
// verified contact; a new contact's first request where the help center
// auto-invites records the invitation to start in the same transaction,
// then starts it. Should the process die in between, the sweeper starts it.
func (s *Server) createTicket(c *gin.Context) {
	var req ticketRequest
	if !decodeJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	hc, err := s.Store.HelpCenterBySlug(ctx, req.HelpCenter)
	if errors.Is(err, store.ErrNotFound) || !portal.ValidSlug(req.HelpCenter) || (err == nil && !requestKey(c).CanSee(hc.ID)) {
		invalidField(c, "help_center", "no help center has this slug")
		return
	}
	if err != nil {
		s.internal(c, err)
		return
	}
	deptID, ok := s.ticketDepartment(c, req.Department)
	if !ok {
		return
	}
	email, ok := normalizeEmail(req.Email)
	if !ok {
		invalidField(c, "email", "email is not a valid address")
		return
	}
	req.Subject, req.Name = strings.TrimSpace(req.Subject), strings.TrimSpace(req.Name)
	switch {
	case req.Subject == "" || utf8.RuneCountInString(req.Subject) > 300:
		invalidField(c, "subject", "subject is required (at most 300 characters)")
		return
	case utf8.RuneCountInString(req.Name) > 200:
		invalidField(c, "name", "name must be at most 200 characters")
		return
	case len(req.Body) > 100_000:
		invalidField(c, "body", "body must be at most 100000 bytes")
		return
	case req.Channel == "":
		req.Channel = "api"
	case !channels[req.Channel]:
		invalidField(c, "channel", "channel must be one of email, phone, chat, web, social, api, forum")
		return
	}
	in := &store.Intake{HelpCenter: hc, DepartmentID: deptID, Email: email, Name: req.Name,
		Ticket: store.Ticket{Subject: req.Subject, Body: req.Body, Channel: req.Channel}}
	res, err := s.Store.IntakeTicket(ctx, in)
	if err != nil {
		s.internal(c, err)
		return
	}
	if s.AfterTicketStored != nil {
		s.AfterTicketStored()
	}
	view := viewTicket(&in.Ticket, hc.Slug, res)
	if res.AutoInvite == portal.AutoInvitePending {
		view.AutoInvite, view.AutoInviteReason = s.Start.AutoInvite(ctx, store.PendingAutoInvite{
			TicketID: in.Ticket.ID, HelpCenterID: hc.ID, ContactID: in.Ticket.ContactID})
	}
	c.JSON(http.StatusCreated, view)
}

// ticketDepartment reads a department given by id or by name; none is
// allowed.
func (s *Server) ticketDepartment(c *gin.Context, raw json.RawMessage) (*int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var d *store.Department
	var err error
	var id int64
	var name string
	switch {
	case json.Unmarshal(raw, &id) == nil:
		d, err = s.Store.DepartmentByID(c.Request.Context(), id)
	case json.Unmarshal(raw, &name) == nil:
		d, err = s.Store.DepartmentByName(c.Request.Context(), strings.TrimSpace(name))
	default:
		invalidField(c, "department", "department must be a department id or name")
		return nil, false
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && !d.Active) {
		invalidField(c, "department", "no active department has this id or name")
		return nil, false
	}
	if err != nil {
		s.internal(c, err)
		return nil, false
	}
	return &d.ID, true
}
