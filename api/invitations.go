package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

type invitationView struct {
	ID         string                  `json:"id"`
	Status     portal.InvitationStatus `json:"status"`
	ContactID  int64                   `json:"contact_id"`
	HelpCenter string                  `json:"help_center"`
	ExpiresAt  *time.Time              `json:"expires_at"`
	SendCount  int                     `json:"send_count"`
	LastSentAt *time.Time              `json:"last_sent_at"`
	WorkflowID string                  `json:"workflow_id"`
	CreatedAt  time.Time               `json:"created_at"`
	AcceptedAt *time.Time              `json:"accepted_at"`
	// UndeliverableReason: rejected, bounced or complained.
	UndeliverableReason *portal.UndeliverableReason `json:"undeliverable_reason,omitempty"`
	// DeclinedAt: when the contact declined through this invitation.
	DeclinedAt *time.Time `json:"declined_at,omitempty"`
	// Emails is the delivery history, on GET of one invitation.
	Emails []emailView `json:"emails,omitempty"`
}

func viewInvitation(inv *store.Invitation) invitationView {
	return invitationView{ID: inv.ID, Status: inv.Status, ContactID: inv.ContactID, HelpCenter: inv.HelpCenterSlug,
		ExpiresAt: inv.ExpiresAt, SendCount: inv.SendCount, LastSentAt: inv.LastSentAt, WorkflowID: inv.WorkflowID,
		CreatedAt: inv.CreatedAt, AcceptedAt: inv.AcceptedAt, UndeliverableReason: inv.UndeliverableReason, DeclinedAt: inv.DeclinedAt}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func viewState(st workflows.InvitationState) invitationView {
	return invitationView{ID: st.InvitationID, Status: st.Status, ContactID: st.ContactID, HelpCenter: st.HelpCenter,
		ExpiresAt: timePtr(st.ExpiresAt), SendCount: st.SendCount, LastSentAt: timePtr(st.LastSentAt),
		WorkflowID: st.WorkflowID, CreatedAt: st.CreatedAt.UTC(), AcceptedAt: timePtr(st.AcceptedAt)}
}

var reasonMessages = map[portal.Outcome]string{
	portal.ReasonNoEmail:         "the contact has no email address",
	portal.ReasonUnverified:      "the contact is not verified",
	portal.ReasonAlreadyActive:   "the contact already has active access to this help center",
	portal.ReasonDeactivated:     "the contact's portal access is deactivated; reactivate it instead",
	portal.ReasonPendingApproval: "the contact's sign-up is waiting for an admin's approval",
	portal.ReasonRejected:        "an admin rejected the contact's sign-up",
}

type createInvitationRequest struct {
	ContactID int64 `json:"contact_id"`
	// OverrideDecline invites a contact who declined this help center's
	// invitations; the audit trail records the admin who did.
	OverrideDecline bool `json:"override_decline"`
}

func (s *Server) createInvitation(c *gin.Context) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return
	}
	var req createInvitationRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.ContactID <= 0 {
		invalidField(c, "contact_id", "contact_id is required")
		return
	}
	ct, err := s.Store.ContactByID(c.Request.Context(), req.ContactID)
	if errors.Is(err, store.ErrNotFound) {
		invalidField(c, "contact_id", "no contact has this id")
		return
	}
	if err != nil {
		s.internal(c, err)
		return
	}
	s.invite(c, hc, ct, req.OverrideDecline)
}

// invite starts (or finds) the contact's invitation and answers 202 with
// it, or 422 with the reason the contact can't be invited.
func (s *Server) invite(c *gin.Context, hc *store.HelpCenter, ct *store.Contact, overrideDecline bool) {
	reason, err := s.Start.Ineligible(c.Request.Context(), ct, hc)
	if err != nil {
		s.internal(c, err)
		return
	}
	if reason == portal.ReasonSuppressed {
		abort(c, http.StatusConflict, "contact_suppressed",
			"the contact's address is suppressed (it bounced for good or its owner complained); an admin can lift the suppression (GET /api/v1/suppressions?email=...)")
		return
	}
	if reason == portal.ReasonDeclined {
		if !overrideDecline {
			abort(c, http.StatusConflict, "contact_declined",
				"the contact declined this help center's invitations; pass override_decline: true to invite them anyway (the audit trail records it)")
			return
		}
		ev := event(c, portal.AuditDeclineOverridden, portal.Target("contact", ct.ID), &hc.ID, nil)
		if err := s.Store.OverrideDecline(c.Request.Context(), hc.ID, ct.ID, ev); err != nil {
			s.internal(c, err)
			return
		}
		reason = ""
	}
	if reason != "" {
		abort(c, http.StatusUnprocessableEntity, string(reason), reasonMessages[reason])
		return
	}
	st, err := s.Start.Invitation(c.Request.Context(), hc, ct.ID, actor(c))
	if err != nil {
		s.temporalError(c, err)
		return
	}
	if st.Blocked {
		// An admin's decision landed between the check above and the start.
		abort(c, http.StatusUnprocessableEntity, "access_blocked", "an admin's decision (deactivation, rejection or pending approval) blocks inviting this contact")
		return
	}
	c.JSON(http.StatusAccepted, viewState(st))
}

func (s *Server) listInvitations(c *gin.Context) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return
	}
	status, ok := parseStatus(c, portal.ParseInvitationStatus)
	if !ok {
		return
	}
	page, err := s.Store.ListInvitations(c.Request.Context(), store.InvitationFilter{HelpCenterID: hc.ID, Status: status},
		c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "invitation")
		return
	}
	out := list[invitationView]{Items: []invitationView{}, NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items = append(out.Items, viewInvitation(&page.Items[i]))
	}
	c.JSON(http.StatusOK, out)
}

// invitation loads the invitation named by :id, or answers 404.
func (s *Server) invitation(c *gin.Context) (*store.Invitation, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		abort(c, http.StatusNotFound, "invitation_not_found", "invitation not found")
		return nil, false
	}
	inv, err := s.Store.InvitationByID(c.Request.Context(), id.String())
	if err != nil {
		s.storeError(c, err, "invitation")
		return nil, false
	}
	return inv, canSee(c, inv.HelpCenterID, "invitation")
}

func (s *Server) getInvitation(c *gin.Context) {
	inv, ok := s.invitation(c)
	if !ok {
		return
	}
	emails, err := s.Store.EmailsFor(c.Request.Context(), inv.ID)
	if err != nil {
		s.internal(c, err)
		return
	}
	v := viewInvitation(inv)
	v.Emails = make([]emailView, 0, len(emails))
	for i := range emails {
		v.Emails = append(v.Emails, viewEmail(&emails[i]))
	}
	c.JSON(http.StatusOK, v)
}

// resendInvitation re-invites: a pending invitation gets a new link (the
// old one dies) and a later deadline, and the answer is its new state; a
// closed one that was never accepted is replaced by a new invitation.
func (s *Server) resendInvitation(c *gin.Context) {
	inv, ok := s.invitation(c)
	if !ok {
		return
	}
	// Without an Idempotency-Key, the same command is a resend of the
	// same link: two admins who both saw generation N and clicked at
	// once send one new link, while a resend of the link that one made
	// is a new command.
	id, ok := updateID(c, "resend/"+inv.ID+"/"+strconv.Itoa(inv.TokenGeneration))
	if !ok || s.answeredBefore(c, inv, id) {
		return
	}
	if inv.Status == portal.InvitationAccepted {
		abort(c, http.StatusConflict, "already_accepted", "the invitation was accepted; the contact is a portal user")
		return
	}
	if !s.takeResend(c, inv) {
		return
	}
	if inv.Status == portal.InvitationPending {
		var st workflows.InvitationState
		err := s.command(c.Request.Context(), client.UpdateWorkflowOptions{
			WorkflowID: inv.WorkflowID, FirstExecutionRunID: inv.ID, UpdateID: id, UpdateName: workflows.ResendUpdate,
			Args: []any{commandBy(c)},
		}, &st)
		var notFound *serviceerror.NotFound
		switch code := refusalCode(err); {
		case err == nil:
			c.JSON(http.StatusOK, viewState(st))
			return
		case code == "revoked" || code == "expired" || code == "undeliverable" || errors.As(err, &notFound):
			// It closed before the resend reached it, or its run chain is
			// gone (an operator terminated it): invite afresh, as for any
			// closed invitation; the new run closes a stale record.
		default:
			s.giveBackResend(c, inv)
			s.temporalError(c, err)
			return
		}
	}
	hc, err := s.Store.HelpCenterBySlug(c.Request.Context(), inv.HelpCenterSlug)
	if err != nil {
		s.giveBackResend(c, inv)
		s.internal(c, err)
		return
	}
	ct, err := s.Store.ContactByID(c.Request.Context(), inv.ContactID)
	if err != nil {
		s.giveBackResend(c, inv)
		s.internal(c, err)
		return
	}
	s.invite(c, hc, ct, false)
	if c.Writer.Status() >= http.StatusMultipleChoices {
		s.giveBackResend(c, inv)
	}
}

// answeredBefore answers a call that repeats an Idempotency-Key with the
// outcome its update already had, and reports whether it did; a command
// named without a key is deduplicated by the workflow alone.
func (s *Server) answeredBefore(c *gin.Context, inv *store.Invitation, id string) bool {
	if c.GetHeader("Idempotency-Key") == "" {
		return false
	}
	var st workflows.InvitationState
	found, err := s.earlierOutcome(c.Request.Context(), inv.WorkflowID, id, &st)
	switch {
	case !found:
		return false
	case err != nil:
		s.temporalError(c, err)
	default:
		c.JSON(http.StatusOK, viewState(st))
	}
	return true
}

// resendScope counts resends per invitation in the rate_limits table.
const resendScope = "invitation-resend"

// takeResend allows one resend of an invitation per ResendInterval,
// across every replica, and answers 429 resend_too_soon otherwise: each
// resend emails the customer a new link and kills the last one.
func (s *Server) takeResend(c *gin.Context, inv *store.Invitation) bool {
	if s.ResendInterval <= 0 {
		return true
	}
	ok, wait, err := s.Store.TakeRate(c.Request.Context(), resendScope, []byte(inv.ID), portal.Rate{Count: 1, Per: s.ResendInterval})
	if err != nil {
		s.internal(c, err)
		return false
	}
	if !ok {
		secs := int64((wait + time.Second - 1) / time.Second)
		c.Header("Retry-After", strconv.FormatInt(secs, 10))
		abort(c, http.StatusTooManyRequests, "resend_too_soon",
			fmt.Sprintf("an invitation can be resent once every %s; try again in %d seconds", s.ResendInterval, secs))
		return false
	}
	return true
}

// giveBackResend returns the resend a refused or failed one used up, so
// the admin's retry is answered on its merits, not refused for a resend
// that never happened.
func (s *Server) giveBackResend(c *gin.Context, inv *store.Invitation) {
	if s.ResendInterval <= 0 {
		return
	}
	if err := s.Store.ReturnRate(c.Request.Context(), resendScope, []byte(inv.ID), portal.Rate{Count: 1, Per: s.ResendInterval}); err != nil {
		s.Logger.Warn("give back a failed resend", "invitation_id", inv.ID, "error", err)
	}
}

// closedCodes names, for a closed invitation, the 409 code a command on
// it gets.
var closedCodes = map[portal.InvitationStatus]string{
	portal.InvitationAccepted:      "already_accepted",
	portal.InvitationRevoked:       "revoked",
	portal.InvitationExpired:       "expired",
	portal.InvitationUndeliverable: "undeliverable",
}

// revokeInvitation withdraws a pending invitation and answers its new
// state.
func (s *Server) revokeInvitation(c *gin.Context) {
	inv, ok := s.invitation(c)
	if !ok {
		return
	}
	// An invitation is revoked at most once, so every revoke of it is the
	// same command.
	id, ok := updateID(c, "revoke/"+inv.ID)
	if !ok || s.answeredBefore(c, inv, id) {
		return
	}
	if inv.Status != portal.InvitationPending {
		abort(c, http.StatusConflict, closedCodes[inv.Status], "only a pending invitation can be revoked; this one is "+string(inv.Status))
		return
	}
	var st workflows.InvitationState
	err := s.command(c.Request.Context(), client.UpdateWorkflowOptions{
		WorkflowID: inv.WorkflowID, FirstExecutionRunID: inv.ID, UpdateID: id, UpdateName: workflows.RevokeUpdate,
		Args: []any{commandBy(c)},
	}, &st)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// Nothing runs to revoke it; close the stale record directly.
		if err := s.Store.CloseInvitation(c.Request.Context(), inv.ID, portal.InvitationRevoked, event(c, portal.AuditInvitationRevoked, "", nil, nil)); err != nil {
			s.internal(c, err)
			return
		}
		fresh, err := s.Store.InvitationByID(c.Request.Context(), inv.ID)
		if err != nil {
			s.internal(c, err)
			return
		}
		if fresh.Status != portal.InvitationRevoked {
			abort(c, http.StatusConflict, closedCodes[fresh.Status], "the invitation closed as "+string(fresh.Status)+" before the revoke")
			return
		}
		c.JSON(http.StatusOK, viewInvitation(fresh))
		return
	}
	if err != nil {
		s.temporalError(c, err)
		return
	}
	c.JSON(http.StatusOK, viewState(st))
}
