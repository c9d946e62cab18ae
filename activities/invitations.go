package activities

import (
	"context"
	"errors"
	"net/url"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

// RecordInput identifies a new invitation.
type RecordInput struct {
	InvitationID string
	WorkflowID   string
	HelpCenterID int64
	ContactID    int64
	// CreatedAt is when the workflow started, so the record and the
	// workflow agree on it.
	CreatedAt time.Time
	// Actor and RequestID name who invited, for the invitation.created
	// event written with the record (system when empty: an auto-invite,
	// or an invitation started before they were passed); BulkJobID names
	// the bulk job that did.
	Actor     string `json:",omitempty"`
	RequestID string `json:",omitempty"`
	BulkJobID string `json:",omitempty"`
	// FirstLink, when set, is issued once the invitation is recorded,
	// unless the account needs no link (it has a password, or an admin
	// blocked it): one step instead of two.
	FirstLink *IssueInput `json:",omitempty"`
}

// RecordResult tells the workflow about the account being invited.
type RecordResult struct {
	// HasPassword: the account already logs in elsewhere (a common user
	// base), so accepting needs no new password.
	HasPassword bool
	// Blocked: an admin's decision (deactivated, rejected, awaiting
	// approval) came in first; the invitation is recorded as revoked.
	Blocked bool `json:",omitempty"`
}

// RecordInvitation stores the invitation and marks the contact invited.
func (a *Activities) RecordInvitation(ctx context.Context, in RecordInput) (RecordResult, error) {
	ev := store.AuditEvent{Actor: in.Actor, RequestID: in.RequestID}
	if in.BulkJobID != "" {
		ev.Details = map[string]any{"bulk_job": in.BulkJobID}
	}
	inv := &store.Invitation{
		ID: in.InvitationID, WorkflowID: in.WorkflowID, HelpCenterID: in.HelpCenterID, ContactID: in.ContactID,
		CreatedAt: in.CreatedAt,
	}
	if l := in.FirstLink; l != nil {
		// Written with the record; a record that already exists (a retry
		// of this activity) gets it from IssueToken below instead.
		inv.TokenHash = credentials.Hash(a.Tokens.Invitation(l.InvitationID, l.Generation))
		inv.TokenGeneration, inv.ExpiresAt = l.Generation, &l.ExpiresAt
	}
	rec, err := a.Store.CreateInvitation(ctx, inv, ev)
	a.crashAfter(CrashInvitationRecorded, err)
	if errors.Is(err, store.ErrNotFound) {
		// The contact or help center was deleted: retrying can't help.
		return RecordResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	}
	if err != nil {
		return RecordResult{}, err
	}
	metrics.Invitations.WithLabelValues("started").Inc()
	if in.FirstLink != nil && !rec.HasPassword && !rec.Blocked && !rec.Linked {
		if err := a.IssueToken(ctx, *in.FirstLink); err != nil {
			return RecordResult{}, err
		}
	}
	return RecordResult{HasPassword: rec.HasPassword, Blocked: rec.Blocked}, nil
}

// GrantAccess accepts an invitation for an account that already has a
// password: access becomes active with no new password.
func (a *Activities) GrantAccess(ctx context.Context, invitationID string) error {
	err := a.Store.GrantInvitation(ctx, invitationID)
	if errors.Is(err, store.ErrNotPending) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotPending, nil)
	}
	if err == nil {
		metrics.Invitations.WithLabelValues("accepted").Inc()
	}
	return err
}

// SendAccessGranted tells the customer they can use their existing login
// in one more help center.
func (a *Activities) SendAccessGranted(ctx context.Context, invitationID string) error {
	m, err := a.Store.InvitationMailByID(ctx, invitationID)
	if err != nil {
		return err
	}
	inv, hc, contact := m, m.HelpCenter, m.Contact
	if contact.Email == nil {
		return nil
	}
	msg, err := mail.Notice(portal.EmailAccessGranted, mail.Data{HelpCenter: hc.Name, Name: contact.Name, Email: *contact.Email, PortalURL: a.portalURL(hc.Slug, "/home")})
	if err != nil {
		return err
	}
	msg.Sender = senderOf(hc)
	return a.deliverChecked(ctx, "invitation/"+inv.ID+"/access-granted", inv.ID, msg, false, m.SuppressionReason())
}

// IssueInput names a token generation and when its link stops working.
type IssueInput struct {
	InvitationID string
	Generation   int
	ExpiresAt    time.Time
	// Resend: a person asked for this link (a resend), named by Actor
	// and RequestID (an unknown actor when empty: a resend by the older
	// signal); the invitation.resent event is written with it.
	Resend    bool   `json:",omitempty"`
	Actor     string `json:",omitempty"`
	RequestID string `json:",omitempty"`
}

// IssueToken makes a new generation of the invitation's link current. The
// token is derived, never stored; only its hash is written.
func (a *Activities) IssueToken(ctx context.Context, in IssueInput) error {
	token := a.Tokens.Invitation(in.InvitationID, in.Generation)
	var resent []store.AuditEvent
	if in.Resend {
		resent = append(resent, store.AuditEvent{Actor: in.Actor, RequestID: in.RequestID})
	}
	return a.Store.IssueToken(ctx, in.InvitationID, in.Generation, credentials.Hash(token), in.ExpiresAt, resent...)
}

// SendInput says which email of an invitation to send.
type SendInput struct {
	InvitationID string
	Generation   int
	// Reminder is 0 for the invitation itself, n for its n-th reminder.
	Reminder int
}

// SendInvitation emails the link of the given generation. The idempotency
// key names the invitation, the generation and the reminder, so a retry
// never sends twice. A send for a closed invitation or a replaced link is
// skipped: the customer would get a dead link.
func (a *Activities) SendInvitation(ctx context.Context, in SendInput) error {
	m, err := a.Store.InvitationMailByID(ctx, in.InvitationID)
	if err != nil {
		return err
	}
	inv, hc, contact := m, m.HelpCenter, m.Contact
	if inv.Status != portal.InvitationPending || inv.TokenGeneration != in.Generation {
		return nil
	}
	if contact.Email == nil {
		return temporal.NewNonRetryableApplicationError("contact has no email", ErrTypeUndeliverable, nil)
	}
	if m.ContactDeclined {
		// Declined: the workflow's signal may not have arrived yet, but
		// nothing more may be sent.
		return nil
	}
	token := a.Tokens.Invitation(inv.ID, in.Generation)
	data := mail.Data{
		HelpCenter: hc.Name, Name: contact.Name, Email: *contact.Email,
		Link:        a.portalURL(hc.Slug, "/invitations/accept?token="+url.QueryEscape(token)),
		PortalURL:   a.portalURL(hc.Slug, "/home"),
		DeclineLink: a.declineLink(hc.Slug, inv.ID),
	}
	if inv.ExpiresAt != nil {
		data.ExpiresAt = mail.FormatExpiry(*inv.ExpiresAt)
	}
	key := "invitation/" + inv.ID + "/invite/" + itoa(in.Generation)
	if in.Reminder > 0 {
		key += "/reminder/" + itoa(in.Reminder)
	}
	msg, err := a.renderInvitation(ctx, hc, inv.ID, key, data, in.Reminder > 0)
	if err != nil {
		return err
	}
	msg.Sender = senderOf(hc)
	msg.Headers = a.unsubscribeHeaders(data.DeclineLink, msg.Sender, inv.ID)
	return a.deliverChecked(ctx, key, inv.ID, msg, in.Reminder == 0, m.SuppressionReason())
}

// AcceptInput names the staged password that accepts an invitation.
type AcceptInput struct {
	InvitationID string
	StageID      string
	// RequestID names the customer's request, for the invitation.accepted
	// event (whose actor is their account).
	RequestID string `json:",omitempty"`
}

// AcceptInvitation activates the portal account with the staged password.
func (a *Activities) AcceptInvitation(ctx context.Context, in AcceptInput) error {
	err := a.Store.AcceptInvitation(ctx, in.InvitationID, in.StageID, store.AuditEvent{RequestID: in.RequestID})
	switch {
	case errors.Is(err, store.ErrNotPending):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotPending, nil)
	case errors.Is(err, store.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	case err == nil:
		metrics.Invitations.WithLabelValues("accepted").Inc()
	}
	return err
}

// SendWelcome tells the customer their account is active.
func (a *Activities) SendWelcome(ctx context.Context, invitationID string) error {
	m, err := a.Store.InvitationMailByID(ctx, invitationID)
	if err != nil {
		return err
	}
	inv, hc, contact := m, m.HelpCenter, m.Contact
	if contact.Email == nil {
		return nil
	}
	msg, err := mail.Welcome(mail.Data{HelpCenter: hc.Name, Name: contact.Name, Email: *contact.Email, PortalURL: a.portalURL(hc.Slug, "/home")})
	if err != nil {
		return err
	}
	msg.Sender = senderOf(hc)
	return a.deliverChecked(ctx, "invitation/"+inv.ID+"/welcome", inv.ID, msg, false, m.SuppressionReason())
}

// CloseInput closes an invitation with a final status.
type CloseInput struct {
	InvitationID string
	Status       portal.InvitationStatus
	// Reason says why an undeliverable invitation is one; empty from
	// workflows that closed before reasons were kept.
	Reason portal.UndeliverableReason `json:",omitempty"`
	// Actor and RequestID name who revoked it, for the audit event
	// written with the close (empty: an unknown actor for a revoke, system
	// for an expiry).
	Actor     string `json:",omitempty"`
	RequestID string `json:",omitempty"`
}

// CloseInvitation records that an invitation expired, was revoked or could
// not be delivered.
func (a *Activities) CloseInvitation(ctx context.Context, in CloseInput) error {
	var err error
	if in.Status == portal.InvitationUndeliverable && in.Reason != "" {
		err = a.Store.CloseUndeliverable(ctx, in.InvitationID, in.Reason)
	} else {
		err = a.Store.CloseInvitation(ctx, in.InvitationID, in.Status, store.AuditEvent{Actor: in.Actor, RequestID: in.RequestID})
	}
	a.crashAfter(CrashInvitationClosed, err)
	if err == nil {
		metrics.Invitations.WithLabelValues(string(in.Status)).Inc()
	}
	return err
}
