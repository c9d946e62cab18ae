package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// PortalUserByID finds one portal user of a help center by account ID.
func (s *Store) PortalUserByID(ctx context.Context, helpCenterID, accountID int64) (*PortalUser, error) {
	u := new(PortalUser)
	err := s.DB.NewRaw(`SELECT pa.account_id, a.contact_id, coalesce(c.email, '') AS email, c.name, pa.status, pa.invited_at, pa.accepted_at,
		`+lastEmailColumns+`
		FROM portal_access pa JOIN portal_accounts a ON a.id = pa.account_id JOIN contacts c ON c.id = a.contact_id
		JOIN help_centers hc ON hc.id = pa.help_center_id `+lastEmailJoin+`
		WHERE pa.help_center_id = ? AND pa.account_id = ?`, helpCenterID, accountID).Scan(ctx, u)
	return u, translate(err, "portal user")
}

// AccessChange is what SetAccess did.
type AccessChange struct {
	// Changed is false when the access already was as asked.
	Changed bool
	Status  portal.AccessStatus
	// Previous is the status before the change.
	Previous portal.AccessStatus
	// Seq numbers the change, to key the email announcing it.
	Seq       int
	ContactID int64
	// PendingInvitation is the workflow of an invitation still pending,
	// for a deactivation to revoke.
	PendingInvitation string
}

// SetAccess deactivates or reactivates an account's access to a help
// center. Deactivation ends the account's sessions there in the same
// transaction, so it takes effect at once. Reactivation restores access
// for an account with a password; one that never set a password loses its
// record and can be invited again. requestKey names the request: a retry
// of the request that made the last change gets that change back, not
// "nothing changed", so its email and revocation still happen. A change
// is recorded in the audit trail in the same transaction, by the actor
// and request that by names (the action, target and help center are
// filled in here).
func (s *Store) SetAccess(ctx context.Context, helpCenterID, accountID int64, action portal.AccessAction, requestKey string, by ...AuditEvent) (AccessChange, error) {
	var ch AccessChange
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row struct {
			Status       portal.AccessStatus `bun:"status"`
			Changes      int                 `bun:"changes"`
			ContactID    int64               `bun:"contact_id"`
			PasswordHash *string             `bun:"password_hash"`
			LastChange   *string             `bun:"last_change"`
		}
		err := tx.NewRaw(`SELECT pa.status, pa.changes, a.contact_id, a.password_hash, pa.last_change
			FROM portal_access pa JOIN portal_accounts a ON a.id = pa.account_id
			WHERE pa.help_center_id = ? AND pa.account_id = ? FOR UPDATE OF pa`, helpCenterID, accountID).Scan(ctx, &row)
		if err != nil {
			return translate(err, "portal access")
		}
		ch.ContactID, ch.Status, ch.Seq, ch.Previous = row.ContactID, row.Status, row.Changes, row.Status
		if key, previous, ok := strings.Cut(deref(row.LastChange), "|"); ok && key == requestKey && requestKey != "" {
			ch.Changed, ch.Previous = true, portal.AccessStatus(previous)
			return pendingInvitation(ctx, tx, helpCenterID, &ch)
		}
		var next portal.AccessStatus
		switch {
		case action == portal.ActionDeactivate && row.Status != portal.AccessDeactivated:
			next = portal.AccessDeactivated
		case action == portal.ActionReactivate && row.Status == portal.AccessDeactivated && row.PasswordHash != nil:
			next = portal.AccessActive
		case action == portal.ActionReactivate && row.Status == portal.AccessDeactivated:
			if _, err := tx.NewRaw(`DELETE FROM portal_access WHERE help_center_id = ? AND account_id = ?`, helpCenterID, accountID).Exec(ctx); err != nil {
				return translate(err, "remove access")
			}
			ch.Changed, ch.Status = true, ""
			return recordAccessChange(ctx, tx, helpCenterID, accountID, action, ch, by)
		default:
			return nil
		}
		if err := tx.NewRaw(`UPDATE portal_access SET status = ?, changes = changes + 1, signup_id = NULL, last_change = ?, updated_at = now()
			WHERE help_center_id = ? AND account_id = ? RETURNING changes`, next, requestKey+"|"+string(row.Status), helpCenterID, accountID).Scan(ctx, &ch.Seq); err != nil {
			return translate(err, "set access")
		}
		ch.Changed, ch.Status = true, next
		if err := recordAccessChange(ctx, tx, helpCenterID, accountID, action, ch, by); err != nil {
			return err
		}
		if next != portal.AccessDeactivated {
			return nil
		}
		if _, err := tx.NewRaw(`DELETE FROM portal_sessions WHERE account_id = ? AND help_center_id = ?`, accountID, helpCenterID).Exec(ctx); err != nil {
			return translate(err, "end sessions")
		}
		return pendingInvitation(ctx, tx, helpCenterID, &ch)
	})
	return ch, err
}

// recordAccessChange writes the audit event of an access change.
func recordAccessChange(ctx context.Context, tx bun.Tx, helpCenterID, accountID int64, action portal.AccessAction, ch AccessChange, by []AuditEvent) error {
	ev := AuditEvent{Actor: "unknown"}
	if len(by) > 0 {
		ev = by[0]
	}
	ev.Action = portal.AuditUserDeactivated
	if action == portal.ActionReactivate {
		ev.Action = portal.AuditUserReactivated
	}
	ev.Target, ev.HelpCenterID = portal.Target("user", accountID), &helpCenterID
	ev.Details = map[string]any{"from": ch.Previous, "to": ch.Status}
	return RecordAudit(ctx, tx, ev)
}

// pendingInvitation notes, for a deactivation, the workflow of a pending
// invitation to revoke.
func pendingInvitation(ctx context.Context, tx bun.Tx, helpCenterID int64, ch *AccessChange) error {
	if ch.Status != portal.AccessDeactivated {
		return nil
	}
	var wf []string
	err := tx.NewRaw(`SELECT workflow_id FROM invitations WHERE help_center_id = ? AND contact_id = ? AND status = 'pending'`,
		helpCenterID, ch.ContactID).Scan(ctx, &wf)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return translate(err, "pending invitation")
	}
	if len(wf) > 0 {
		ch.PendingInvitation = wf[0]
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// RenameContact sets a contact's name and records events with it.
func (s *Store) RenameContact(ctx context.Context, contactID int64, name string, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewRaw(`UPDATE contacts SET name = ?, updated_at = now() WHERE id = ?`, name, contactID).Exec(ctx)
		return portal.Target("contact", contactID), translate(err, "rename contact")
	})
}
