package store

import (
	"context"
	"database/sql"

	"github.com/portalaccess/portal"
)

// InvitationMail is what an email about an invitation is made from: the
// invitation with its help center and contact, whether the contact
// declined the help center, and whether their address is suppressed.
// It is read in one statement because every email of every invitation
// needs all of it, and a bulk job sends thousands a minute.
type InvitationMail struct {
	Invitation `bun:",extend"`

	HelpCenter *HelpCenter `bun:"rel:belongs-to,join:help_center_id=id"`
	Contact    *Contact    `bun:"rel:belongs-to,join:contact_id=id"`
	// ContactDeclined: the contact declined the help center, through
	// this invitation's link or an earlier one's.
	ContactDeclined bool `bun:"contact_declined,scanonly"`
	// Suppressed is why the contact's address is suppressed (the
	// suppression in force, as SuppressionFor reads it), or empty.
	Suppressed *portal.UndeliverableReason `bun:"suppressed,scanonly"`
}

// SuppressionReason is why the contact's address is suppressed, or "".
func (m *InvitationMail) SuppressionReason() portal.UndeliverableReason {
	if m.Suppressed == nil {
		return ""
	}
	return *m.Suppressed
}

// InvitationMailByID reads what an email about the invitation is made
// from. A missing invitation, help center or contact is ErrNotFound.
func (s *Store) InvitationMailByID(ctx context.Context, id string) (*InvitationMail, error) {
	m := new(InvitationMail)
	err := s.DB.NewSelect().Model(m).
		ColumnExpr("invitation.*").
		ColumnExpr("help_center.slug AS help_center_slug").
		// DeclinedAt as selectInvitations reads it: through this
		// invitation's own link.
		ColumnExpr(`coalesce(CASE WHEN d.invitation_id = invitation.id THEN d.declined_at END,
			CASE WHEN invitation.status = ? THEN invitation.closed_at END) AS declined_at`, portal.InvitationDeclined).
		ColumnExpr("d.help_center_id IS NOT NULL AS contact_declined").
		// EmailKey is lower() of the normalised address the contact holds.
		ColumnExpr(`(SELECT sup.reason FROM suppressions AS sup
			WHERE sup.email_key = lower(contact.email) AND sup.lifted_at IS NULL) AS suppressed`).
		Relation("HelpCenter").Relation("Contact").
		// At most one decline a contact and help center (its key),
		// through this invitation or an earlier one.
		Join(`LEFT JOIN invitation_declines AS d ON d.help_center_id = invitation.help_center_id
			AND d.contact_id = invitation.contact_id`).
		Where("invitation.id = ?", id).
		Scan(ctx)
	if err != nil {
		return nil, translate(err, "invitation "+id)
	}
	if m.HelpCenter == nil || m.HelpCenter.ID == 0 || m.Contact == nil || m.Contact.ID == 0 {
		// Foreign keys keep both; a join that found neither is a row
		// this query can't make an email from.
		return nil, translate(sql.ErrNoRows, "help center or contact of invitation "+id)
	}
	return m, nil
}
