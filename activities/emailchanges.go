package activities

import (
	"context"
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
)

// ErrTypeEmailChangeRefused: an email change can no longer apply; the
// message is the reason (store.ChangeRefused...).
const ErrTypeEmailChangeRefused = "EmailChangeRefused"

// EmailChangeApplied is what applying an email change did.
type EmailChangeApplied struct {
	ContactID int64
	// HadEmail: the contact had an address, which is told of the change.
	HadEmail         bool
	SessionsEnded    int64
	SignupsClosed    int64
	ResetLinksClosed int64
	// Invitations are the workflows of pending invitations to revoke.
	Invitations []string
}

// ApplyEmailChange applies a recorded email change in one transaction
// (see store.ApplyEmailChange). A change that can no longer apply fails
// for good with ErrTypeEmailChangeRefused.
func (a *Activities) ApplyEmailChange(ctx context.Context, changeID string) (EmailChangeApplied, error) {
	out, err := a.Store.ApplyEmailChange(ctx, changeID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return EmailChangeApplied{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	case err != nil:
		return EmailChangeApplied{}, err
	case out.Refused != "":
		return EmailChangeApplied{}, temporal.NewNonRetryableApplicationError(out.Refused, ErrTypeEmailChangeRefused, nil)
	}
	return EmailChangeApplied{ContactID: out.ContactID, HadEmail: out.HadEmail, SessionsEnded: out.SessionsEnded,
		SignupsClosed: out.SignupsClosed, ResetLinksClosed: out.ResetLinksClosed, Invitations: out.Invitations}, nil
}

// SendEmailChangedNotice tells the address a contact had before a change
// that it was changed (to a partly masked new address) or removed.
func (a *Activities) SendEmailChangedNotice(ctx context.Context, changeID string) error {
	ch, err := a.Store.EmailChangeByID(ctx, changeID)
	if err != nil {
		return err
	}
	if ch.OldEmail == nil {
		return nil
	}
	contact, err := a.Store.ContactByID(ctx, ch.ContactID)
	if err != nil {
		return err
	}
	names, err := a.Store.ContactHelpCenterNames(ctx, ch.ContactID)
	if err != nil {
		return err
	}
	d := mail.Data{HelpCenter: joinAnd(names), Name: contact.Name, Email: *ch.OldEmail}
	if ch.NewEmail != nil {
		d.NewEmail = portal.MaskEmail(*ch.NewEmail)
	}
	msg, err := mail.Notice(portal.EmailAddressChanged, d)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "Template", nil)
	}
	return a.deliver(ctx, "email-change/"+ch.ID+"/notice", "", msg, false)
}

// joinAnd lists names as "a, b and c".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
