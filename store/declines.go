package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// InvitationDecline records that a contact declined a help center's
// invitations, through the link of one of them.
type InvitationDecline struct {
	bun.BaseModel `bun:"table:invitation_declines"`

	HelpCenterID int64     `bun:"help_center_id,pk"`
	ContactID    int64     `bun:"contact_id,pk"`
	InvitationID string    `bun:"invitation_id,type:uuid"`
	DeclinedAt   time.Time `bun:"declined_at,nullzero,default:now()"`
}

// Decline records that the contact of inv declined; a second decline
// keeps the first one's time.
func (s *Store) Decline(ctx context.Context, inv *Invitation) error {
	_, err := s.DB.NewInsert().Model(&InvitationDecline{HelpCenterID: inv.HelpCenterID, ContactID: inv.ContactID, InvitationID: inv.ID}).
		On("CONFLICT (help_center_id, contact_id) DO NOTHING").Exec(ctx)
	return translate(err, "record decline")
}

// DeclinedAmong returns which of the contacts declined the help center.
func (s *Store) DeclinedAmong(ctx context.Context, helpCenterID int64, contactIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(contactIDs) == 0 {
		return out, nil
	}
	var ids []int64
	err := s.DB.NewSelect().Model((*InvitationDecline)(nil)).Column("contact_id").
		Where("help_center_id = ? AND contact_id IN (?)", helpCenterID, bun.List(contactIDs)).Scan(ctx, &ids)
	for _, id := range ids {
		out[id] = true
	}
	return out, translate(err, "read declines")
}

// OverrideDecline lifts a contact's decline for an admin who invites
// them anyway, with the audit events in the same transaction.
func (s *Store) OverrideDecline(ctx context.Context, helpCenterID, contactID int64, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewDelete().Model((*InvitationDecline)(nil)).
			Where("help_center_id = ? AND contact_id = ?", helpCenterID, contactID).Exec(ctx)
		return "", translate(err, "override decline")
	})
}
