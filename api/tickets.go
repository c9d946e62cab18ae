package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
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

type ticketView struct {
	store.Ticket
	HelpCenter       string                  `json:"help_center"`
	NewContact       bool                    `json:"new_contact"`
	AutoInvite       portal.AutoInviteStatus `json:"auto_invite,omitempty"`
	AutoInviteReason portal.Outcome          `json:"auto_invite_reason,omitempty"`
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
	if errors.Is(err, store.ErrNotFound) || !slugPattern.MatchString(req.HelpCenter) {
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
	view := ticketView{Ticket: in.Ticket, HelpCenter: hc.Slug, NewContact: res.NewContact, AutoInvite: res.AutoInvite}
	if res.AutoInvite == portal.AutoInvitePending {
		view.AutoInvite, view.AutoInviteReason = s.autoInvite(ctx, store.PendingAutoInvite{
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

// autoInvite starts a pending auto-invite and records the outcome. A
// contact that can't be invited is skipped with the reason; a failure to
// reach Temporal leaves it pending for the sweeper.
func (s *Server) autoInvite(ctx context.Context, p store.PendingAutoInvite) (portal.AutoInviteStatus, portal.Outcome) {
	hc, err := s.Store.HelpCenterByID(ctx, p.HelpCenterID)
	if err != nil {
		s.Logger.Warn("auto-invite: help center", "ticket_id", p.TicketID, "error", err)
		return portal.AutoInvitePending, ""
	}
	ct, err := s.Store.ContactByID(ctx, p.ContactID)
	if err != nil {
		s.Logger.Warn("auto-invite: contact", "ticket_id", p.TicketID, "error", err)
		return portal.AutoInvitePending, ""
	}
	reason, err := s.ineligible(ctx, ct, hc)
	if err != nil {
		return portal.AutoInvitePending, ""
	}
	status := portal.AutoInviteSkipped
	if reason == "" {
		st, err := s.startInvitation(ctx, hc, ct.ID)
		if err != nil {
			s.Logger.Warn("auto-invite: start invitation; the sweeper will retry", "ticket_id", p.TicketID, "error", err)
			return portal.AutoInvitePending, ""
		}
		status = portal.AutoInviteStarted
		if st.Blocked {
			status, reason = portal.AutoInviteSkipped, "access_blocked"
		}
	}
	if err := s.Store.FinishAutoInvite(ctx, p.TicketID, status, reason); err != nil {
		s.Logger.Warn("auto-invite: record outcome", "ticket_id", p.TicketID, "error", err)
	}
	return status, reason
}

// portalRequest lets a logged-in customer submit a request.
func (s *Server) portalRequest(c *gin.Context) {
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
