package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// EmailChange is a change of address of a contact who has a portal
// account: asked for through the API, applied by the ChangeEmail
// workflow, which then tells the old address.
type EmailChange struct {
	bun.BaseModel `bun:"table:email_changes"`

	ID        string `bun:"id,pk,type:uuid"`
	ContactID int64  `bun:"contact_id"`
	// OldEmail is the address the change was asked against.
	OldEmail *string `bun:"old_email"`
	// NewEmail is nil when the address is removed.
	NewEmail *string `bun:"new_email"`
	// Name and Verified, when set, change with the address.
	Name      *string    `bun:"name"`
	Verified  *bool      `bun:"verified"`
	APIKeyID  int64      `bun:"api_key_id"`
	Status    string     `bun:"status"`
	CreatedAt time.Time  `bun:"created_at,nullzero,default:now()"`
	AppliedAt *time.Time `bun:"applied_at"`
}

// Why an email change was refused when it came to be applied.
const (
	// ChangeRefusedTaken: another contact has the new address.
	ChangeRefusedTaken = "address_taken"
	// ChangeRefusedStale: the contact's address changed after the change
	// was asked for.
	ChangeRefusedStale = "address_changed"
)

// HasPortalAccount reports whether the contact has a portal account in
// any help center, whatever its state: an invitation, a sign-up waiting
// for approval and a deactivated account all count.
func (s *Store) HasPortalAccount(ctx context.Context, contactID int64) (bool, error) {
	n, err := s.DB.NewSelect().Table("portal_accounts").Where("contact_id = ?", contactID).Count(ctx)
	return n > 0, translate(err, "portal account of contact")
}

// RequestEmailChange records a change for the ChangeEmail workflow to
// apply.
func (s *Store) RequestEmailChange(ctx context.Context, ch *EmailChange) error {
	ch.Status = "requested"
	_, err := s.DB.NewInsert().Model(ch).Exec(ctx)
	return translate(err, "request email change")
}

// EmailChangeByID finds a change.
func (s *Store) EmailChangeByID(ctx context.Context, id string) (*EmailChange, error) {
	ch := new(EmailChange)
	err := s.DB.NewSelect().Model(ch).Where("id = ?", id).Scan(ctx)
	return ch, translate(err, "email change "+id)
}

// AppliedEmailChange is what applying an email change did.
type AppliedEmailChange struct {
	// Refused names why the change was not applied (ChangeRefused...);
	// empty when it was.
	Refused   string
	ContactID int64
	// HadEmail: the contact had an address, which is told of the change.
	HadEmail bool
	// SessionsEnded, SignupsClosed and ResetLinksClosed count what the
	// change ended.
	SessionsEnded    int64
	SignupsClosed    int64
	ResetLinksClosed int64
	// Invitations are the workflows of the contact's pending invitations
	// to accounts without a password, for the workflow to revoke.
	Invitations []string
}

// ApplyEmailChange applies a requested change in one transaction with all
// it means: the contact's address (and the name and verified flag asked
// for with it) changes, every session of the contact's accounts ends,
// sign-ups waiting for their link close (the link dies) with their staged
// passwords, open password reset links close, and the pending invitations of accounts without a password
// are listed for revocation, so nobody can carry someone else's
// invitation or account to another mailbox. A change that can no longer
// apply (the address is taken, or the contact's address changed since)
// is recorded as refused and reported in Refused. Repeating it returns
// what it did.
func (s *Store) ApplyEmailChange(ctx context.Context, id string) (AppliedEmailChange, error) {
	var out AppliedEmailChange
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ch := new(EmailChange)
		if err := tx.NewSelect().Model(ch).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return translate(err, "email change "+id)
		}
		out = AppliedEmailChange{ContactID: ch.ContactID, HadEmail: ch.OldEmail != nil}
		if ch.Status == "applied" {
			return pendingInvitationsToRevoke(ctx, tx, &out)
		}
		// Sign-up rows before the contact's: the order VerifySignup locks
		// in, so the two never deadlock.
		var waiting []string
		if err := tx.NewRaw(`SELECT id FROM signups WHERE contact_id = ? AND status = 'verifying' FOR UPDATE`, ch.ContactID).
			Scan(ctx, &waiting); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "lock sign-ups")
		}
		reason, err := emailChangeRefusal(ctx, tx, ch)
		if err != nil {
			return err
		}
		if ch.Status == "refused" && reason == "" {
			// Refused before, by a check that no longer fails: still refused.
			reason = ChangeRefusedStale
		}
		if reason != "" {
			out.Refused = reason
			_, err := tx.NewRaw(`UPDATE email_changes SET status = 'refused' WHERE id = ?`, id).Exec(ctx)
			return translate(err, "refuse email change")
		}
		if _, err := tx.NewRaw(`UPDATE contacts SET email = ?, name = coalesce(?, name), verified = coalesce(?, verified), updated_at = now()
			WHERE id = ?`, ch.NewEmail, ch.Name, ch.Verified, ch.ContactID).Exec(ctx); err != nil {
			return translate(err, "change address")
		}
		if out.SessionsEnded, err = endContactSessions(ctx, tx, ch.ContactID); err != nil {
			return err
		}
		var closed []string
		if err := tx.NewRaw(`UPDATE signups SET status = 'expired', decided_at = now()
			WHERE contact_id = ? AND status = 'verifying' RETURNING id`, ch.ContactID).Scan(ctx, &closed); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "close sign-ups")
		}
		if len(closed) > 0 {
			if _, err := tx.NewRaw(`DELETE FROM credential_stages WHERE signup_id = ANY(?::uuid[])`, pgArray(closed)).Exec(ctx); err != nil {
				return translate(err, "drop staged sign-up passwords")
			}
		}
		out.SignupsClosed = int64(len(closed))
		res, err := tx.NewRaw(`UPDATE password_resets SET closed_at = now(), closed_reason = ?
			WHERE closed_at IS NULL AND account_id IN (SELECT id FROM portal_accounts WHERE contact_id = ?)`,
			portal.ResetLinkEmailChanged, ch.ContactID).Exec(ctx)
		if err != nil {
			return translate(err, "close reset links")
		}
		out.ResetLinksClosed, _ = res.RowsAffected()
		if _, err := tx.NewRaw(`UPDATE email_changes SET status = 'applied', applied_at = now() WHERE id = ?`, id).Exec(ctx); err != nil {
			return translate(err, "mark email change applied")
		}
		return pendingInvitationsToRevoke(ctx, tx, &out)
	})
	return out, err
}

// emailChangeRefusal says why a change can't apply now, or "": the
// contact's address is no longer the one the change was asked against,
// or another contact has the new one. It locks the contact's row.
func emailChangeRefusal(ctx context.Context, tx bun.Tx, ch *EmailChange) (string, error) {
	var current []*string
	if err := tx.NewRaw(`SELECT email FROM contacts WHERE id = ? FOR UPDATE`, ch.ContactID).Scan(ctx, &current); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", translate(err, "contact of email change")
	}
	if len(current) == 0 {
		return "", fmt.Errorf("contact %d of email change: %w", ch.ContactID, ErrNotFound)
	}
	if emailKey(current[0]) != emailKey(ch.OldEmail) {
		return ChangeRefusedStale, nil
	}
	if ch.NewEmail == nil {
		return "", nil
	}
	var taken []int64
	if err := tx.NewRaw(`SELECT id FROM contacts WHERE lower(email) = lower(?) AND id <> ?`, *ch.NewEmail, ch.ContactID).
		Scan(ctx, &taken); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", translate(err, "address in use")
	}
	if len(taken) > 0 {
		return ChangeRefusedTaken, nil
	}
	return "", nil
}

// pendingInvitationsToRevoke lists the contact's pending invitations to
// accounts that have no password yet: their links went to the old
// address, and a reminder would send them to the new one.
func pendingInvitationsToRevoke(ctx context.Context, tx bun.Tx, out *AppliedEmailChange) error {
	err := tx.NewRaw(`SELECT i.workflow_id FROM invitations i
		JOIN help_centers h ON h.id = i.help_center_id
		LEFT JOIN portal_accounts a ON a.contact_id = i.contact_id
			AND a.scope = CASE WHEN h.user_base = 'common' THEN 'common' ELSE 'help_center:' || h.id END
		WHERE i.contact_id = ? AND i.status = 'pending' AND a.password_hash IS NULL
		ORDER BY i.workflow_id`, out.ContactID).Scan(ctx, &out.Invitations)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return translate(err, "pending invitations")
	}
	return nil
}

// emailKey compares stored addresses, normalised or not (rows the
// normalisation migration left as they were).
func emailKey(email *string) string {
	if email == nil {
		return ""
	}
	if n, ok := portal.NormalizeEmail(*email); ok {
		return portal.EmailKey(n)
	}
	return portal.EmailKey(*email)
}

// ContactHelpCenterNames lists, by name, the help centers where the
// contact has a portal account, whatever its state.
func (s *Store) ContactHelpCenterNames(ctx context.Context, contactID int64) ([]string, error) {
	var names []string
	err := s.DB.NewRaw(`SELECT DISTINCT h.name FROM portal_access pa
		JOIN portal_accounts a ON a.id = pa.account_id
		JOIN help_centers h ON h.id = pa.help_center_id
		WHERE a.contact_id = ? ORDER BY h.name`, contactID).Scan(ctx, &names)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return names, translate(err, "help centers of contact")
}
