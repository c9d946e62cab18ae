package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
)

// IssueResetInput asks for a password reset link: someone typed an address
// on the forgot-password form of the help center HelpCenterID. RequestID
// names the stored request holding it; Email is the address itself, only
// in requests made before requests were stored.
type IssueResetInput struct {
	ResetID    string
	WorkflowID string
	// Scope is the account scope of the help center (common, or its own).
	Scope        string
	HelpCenterID int64
	RequestID    string `json:",omitempty"`
	Email        string `json:",omitempty"`
	Generation   int
	ExpiresAt    time.Time
}

// ResetIssued says whether a link went out, and to which account.
type ResetIssued struct {
	Issued    bool
	AccountID int64
}

// IssuePasswordReset makes generation in.Generation the account's one
// working reset link, if the address belongs to an account with a
// password whose access to the help center is active. Anyone else (an
// unknown address, an account never activated, one deactivated, rejected
// or awaiting approval there) gets no link, and the page they saw said
// the same as it says to everyone. The token is derived, never stored;
// only its hash is written.
func (a *Activities) IssuePasswordReset(ctx context.Context, in IssueResetInput) (ResetIssued, error) {
	token := a.Tokens.PasswordReset(in.ResetID, in.Generation)
	accountID, issued, err := a.Store.IssuePasswordReset(ctx, in.Scope, &store.PasswordReset{
		TokenHash: credentials.Hash(token), ResetID: in.ResetID, Generation: in.Generation, WorkflowID: in.WorkflowID,
		HelpCenterID: in.HelpCenterID, Email: in.Email, RequestID: in.RequestID, ExpiresAt: in.ExpiresAt,
	})
	if err != nil {
		return ResetIssued{}, err
	}
	if !issued {
		activity.GetLogger(ctx).Info("no reset link: no active account with a password for this address here",
			"reset_id", in.ResetID, "help_center_id", in.HelpCenterID)
	}
	return ResetIssued{Issued: issued, AccountID: accountID}, nil
}

// ResetEmailInput names the link to email.
type ResetEmailInput struct {
	ResetID    string
	Generation int
	// LinkLifetime is stated in the email.
	LinkLifetime time.Duration
}

// SendPasswordReset emails a reset link, naming the help center the
// person asked from. A link that closed before the send (a newer one, or
// the password changed) is not sent: it would be dead on arrival.
func (a *Activities) SendPasswordReset(ctx context.Context, in ResetEmailInput) error {
	link, err := a.Store.PasswordResetLink(ctx, in.ResetID, in.Generation)
	if err != nil {
		return err
	}
	if link.ClosedAt != nil {
		activity.GetLogger(ctx).Info("reset link closed before its email went out; not sending", "reset_id", in.ResetID, "generation", in.Generation)
		return nil
	}
	hc, contact, err := a.resetParties(ctx, link.HelpCenterID, link.AccountID)
	if err != nil {
		return err
	}
	token := a.Tokens.PasswordReset(in.ResetID, in.Generation)
	msg, err := mail.Notice(portal.EmailPasswordReset, mail.Data{
		HelpCenter: hc.Name, Name: contact.Name, Email: contact.EmailAddress(),
		Link:      a.portalURL(hc.Slug, "/password/reset?token="+url.QueryEscape(token)),
		PortalURL: a.portalURL(hc.Slug, "/home"),
		ExpiresAt: mail.FormatExpiry(link.ExpiresAt), ValidFor: mail.FormatLifetime(in.LinkLifetime),
	})
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("render reset email: %v", err), "Template", nil)
	}
	msg.Sender = senderOf(hc)
	return a.deliver(ctx, "password-reset/"+in.ResetID+"/link/"+itoa(in.Generation), "", msg, false)
}

// ApplyResetInput sets the password staged as StageID through one
// generation of a reset link. It carries neither the token nor the
// password.
type ApplyResetInput struct {
	ResetID    string
	Generation int
	StageID    string
}

// ApplyPasswordReset sets the new password, ends every session of the
// account, closes its other reset links and forgets its failed logins,
// in one transaction. A link
// that closed meanwhile, an account no longer active, or a changed
// address fail for good with ErrTypeNotPending.
func (a *Activities) ApplyPasswordReset(ctx context.Context, in ApplyResetInput) error {
	return passwordError(a.Store.ApplyPasswordReset(ctx, in.ResetID, in.Generation, in.StageID, a.Tokens.AddressKey))
}

// ChangePasswordInput changes an account's password from its home page to
// the one staged as StageID.
type ChangePasswordInput struct {
	AccountID int64
	StageID   string
}

// ChangePassword sets the new password, ends every session of the
// account (the page opens a new one for the person who changed it),
// closes any open reset link and forgets failed logins, in one
// transaction.
func (a *Activities) ChangePassword(ctx context.Context, in ChangePasswordInput) error {
	return passwordError(a.Store.ChangePassword(ctx, in.AccountID, in.StageID, a.Tokens.AddressKey))
}

func passwordError(err error) error {
	switch {
	case errors.Is(err, store.ErrResetClosed):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotPending, nil)
	case errors.Is(err, store.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	}
	return err
}

// PasswordChangedInput names the notice that a password changed.
type PasswordChangedInput struct {
	ResetID string
	// Seq numbers the changes within one reset, to key the notice.
	Seq          int
	AccountID    int64
	HelpCenterID int64
}

// SendPasswordChanged tells the person their password changed, naming
// the help center where it happened, with a way to reset it if it wasn't
// them. It is a notice: sent at most once.
func (a *Activities) SendPasswordChanged(ctx context.Context, in PasswordChangedInput) error {
	hc, contact, err := a.resetParties(ctx, in.HelpCenterID, in.AccountID)
	if err != nil {
		return err
	}
	msg, err := mail.Notice(portal.EmailPasswordChanged, mail.Data{
		HelpCenter: hc.Name, Name: contact.Name, Email: *contact.Email,
		Link: a.portalURL(hc.Slug, "/password/forgot"), PortalURL: a.portalURL(hc.Slug, "/home"),
	})
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("render password notice: %v", err), "Template", nil)
	}
	msg.Sender = senderOf(hc)
	return a.deliver(ctx, "password-reset/"+in.ResetID+"/changed/"+itoa(in.Seq), "", msg, false)
}

// resetParties loads the help center an email names and the account's
// contact.
func (a *Activities) resetParties(ctx context.Context, helpCenterID, accountID int64) (*store.HelpCenter, *store.Contact, error) {
	hc, err := a.Store.HelpCenterByID(ctx, helpCenterID)
	if err != nil {
		return nil, nil, err
	}
	contact, err := a.Store.AccountContact(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	if contact.Email == nil {
		return hc, contact, temporal.NewNonRetryableApplicationError("contact has no email", ErrTypeUndeliverable, nil)
	}
	return hc, contact, nil
}
