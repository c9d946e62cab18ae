package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
)

// AccessInput changes one account's access to a help center.
type AccessInput struct {
	HelpCenterID int64
	AccountID    int64
	Action       portal.AccessAction
	// RequestKey names the request, so a retry is known as one.
	RequestKey string
	// Actor and RequestID name who asked, for the audit trail (empty in
	// changes started before they were recorded).
	Actor     string
	RequestID string
}

// AccessChange is what SetAccess did.
type AccessChange struct {
	// Changed is false when the access already was as asked.
	Changed bool
	// Status is the access now; empty when the record was removed (a
	// reactivated account that never set a password).
	Status portal.AccessStatus
	// Previous is the status before the change.
	Previous portal.AccessStatus
	// Seq numbers the change, to key the email announcing it.
	Seq       int
	ContactID int64
	// PendingInvitation is the workflow of an invitation still pending,
	// for a deactivation to revoke.
	PendingInvitation string
}

// SetAccess deactivates or reactivates; the result says whether anything
// changed, so a repeat sends no second email.
func (a *Activities) SetAccess(ctx context.Context, in AccessInput) (AccessChange, error) {
	by := store.AuditEvent{Actor: in.Actor, RequestID: in.RequestID}
	if by.Actor == "" {
		by.Actor = "unknown"
	}
	ch, err := a.Store.SetAccess(ctx, in.HelpCenterID, in.AccountID, in.Action, in.RequestKey, by)
	if errors.Is(err, store.ErrNotFound) {
		// A concurrent reactivation removed a never-accepted record: there
		// is nothing left to change, and retrying cannot bring it back.
		return AccessChange{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	}
	return AccessChange(ch), err
}

// AccessEmailInput names the email announcing an access change.
type AccessEmailInput struct {
	HelpCenterID int64
	ContactID    int64
	Kind         portal.EmailKind
	// Key makes the email's idempotency key unique to one change.
	Key string
}

// SendAccessEmail tells a customer their access changed.
func (a *Activities) SendAccessEmail(ctx context.Context, in AccessEmailInput) error {
	hc, err := a.Store.HelpCenterByID(ctx, in.HelpCenterID)
	if err != nil {
		return err
	}
	contact, err := a.Store.ContactByID(ctx, in.ContactID)
	if err != nil {
		return err
	}
	if contact.Email == nil {
		return nil
	}
	msg, err := mail.Notice(in.Kind, mail.Data{HelpCenter: hc.Name, Name: contact.Name, Email: *contact.Email, PortalURL: a.portalURL(hc.Slug, "/home")})
	if err != nil {
		return err
	}
	msg.Sender = senderOf(hc)
	return a.deliver(ctx, fmt.Sprintf("access/%d/%d/%s/%s", in.HelpCenterID, in.ContactID, in.Kind, in.Key), "", msg, false)
}
