package activities

import (
	"context"
	"errors"
	"net/url"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

// SignupTokenInput sets a sign-up's verification deadline.
type SignupTokenInput struct {
	SignupID  string
	ExpiresAt time.Time
}

// IssueSignupToken stores the hash of the sign-up's verification token.
func (a *Activities) IssueSignupToken(ctx context.Context, in SignupTokenInput) error {
	return a.Store.IssueSignupToken(ctx, in.SignupID, credentials.Hash(a.Tokens.Signup(in.SignupID)), in.ExpiresAt)
}

// SignupEmailInput names a sign-up email to send.
type SignupEmailInput struct {
	SignupID string
	Kind     portal.EmailKind
	// Resend numbers a repeated sending of the verification link (0: the
	// first), so each has its own idempotency key.
	Resend int
}

// SendSignupEmail sends one of a sign-up's emails: the verification link,
// the rejection, or, for an address that already has an account, a
// notice instead of a second account.
func (a *Activities) SendSignupEmail(ctx context.Context, in SignupEmailInput) error {
	su, err := a.Store.SignupByID(ctx, in.SignupID)
	if err != nil {
		return err
	}
	hc, err := a.Store.HelpCenterByID(ctx, su.HelpCenterID)
	if err != nil {
		return err
	}
	contact, err := a.Store.ContactByID(ctx, su.ContactID)
	if err != nil {
		return err
	}
	if contact.Email == nil {
		return temporal.NewNonRetryableApplicationError("contact has no email", ErrTypeUndeliverable, nil)
	}
	d := mail.Data{HelpCenter: hc.Name, Name: contact.Name, Email: *contact.Email, PortalURL: a.portalURL(hc.Slug, "/home")}
	key := "signup/" + su.ID + "/" + string(in.Kind)
	if in.Kind == portal.EmailSignupVerify {
		if su.Status != portal.SignupVerifying || su.TokenHash == nil {
			// The sign-up ended meanwhile (the contact's address changed,
			// or it expired): its link no longer works.
			activity.GetLogger(ctx).Info("verification link not sent: the sign-up is closed", "signup_id", su.ID, "status", su.Status)
			return nil
		}
		if in.Resend > 0 {
			key += "/resend/" + itoa(in.Resend)
		}
		d.Link = a.portalURL(hc.Slug, "/signup/verify?token="+url.QueryEscape(a.Tokens.Signup(su.ID)))
		if su.ExpiresAt != nil {
			d.ExpiresAt = mail.FormatExpiry(*su.ExpiresAt)
		}
	}
	msg, err := mail.Notice(in.Kind, d)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Template", nil)
	}
	msg.Sender = senderOf(hc)
	return a.deliver(ctx, key, "", msg, false)
}

// VerifySignupInput records a verified address.
type VerifySignupInput struct {
	SignupID      string
	NeedsApproval bool
}

// VerifySignup marks the address verified and, with approval, holds the
// account for an admin.
func (a *Activities) VerifySignup(ctx context.Context, in VerifySignupInput) error {
	err := a.Store.VerifySignup(ctx, in.SignupID, in.NeedsApproval)
	if err == nil {
		metrics.Signups.WithLabelValues("verified").Inc()
	}
	return err
}

// ActivateSignup gives the new account access.
func (a *Activities) ActivateSignup(ctx context.Context, signupID string) error {
	_, err := a.Store.ActivateSignup(ctx, signupID)
	if errors.Is(err, store.ErrNotPending) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotPending, nil)
	}
	if err == nil {
		metrics.Signups.WithLabelValues("activated").Inc()
	}
	return err
}

// DecisionInput approves a sign-up on an admin's behalf.
type DecisionInput struct {
	SignupID string
	// Actor and RequestID name who decided, for the audit trail.
	Actor     string
	RequestID string
}

// decisionEvent is the audit event of an admin's decision; a decision
// that reached the workflow by the old signal has no known actor.
func decisionEvent(actor, requestID string) store.AuditEvent {
	if actor == "" {
		actor = "unknown"
	}
	return store.AuditEvent{Actor: actor, RequestID: requestID}
}

// ApproveSignup gives the new account access and records who approved it,
// in one transaction.
func (a *Activities) ApproveSignup(ctx context.Context, in DecisionInput) error {
	_, err := a.Store.ActivateSignup(ctx, in.SignupID, decisionEvent(in.Actor, in.RequestID))
	if errors.Is(err, store.ErrNotPending) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotPending, nil)
	}
	if err == nil {
		metrics.Signups.WithLabelValues("activated").Inc()
	}
	return err
}

// CloseSignupInput ends a sign-up.
type CloseSignupInput struct {
	SignupID string
	Status   portal.SignupStatus
	// Actor and RequestID name who rejected it (empty for an expiry).
	Actor     string
	RequestID string
}

// CloseSignup records a rejected or expired sign-up; a rejection is
// recorded in the audit trail with it.
func (a *Activities) CloseSignup(ctx context.Context, in CloseSignupInput) error {
	by := store.AuditEvent{Actor: portal.ActorSystem}
	if in.Status == portal.SignupRejected {
		by = decisionEvent(in.Actor, in.RequestID)
	}
	err := a.Store.CloseSignup(ctx, in.SignupID, in.Status, by)
	if err == nil {
		metrics.Signups.WithLabelValues(string(in.Status)).Inc()
	}
	return err
}
