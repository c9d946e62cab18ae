package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun/dialect/pgdialect"
)

// ExportUser is a row of a portal-user export.
type ExportUser struct {
	AccountID  int64      `bun:"account_id"`
	Email      string     `bun:"email"`
	Name       string     `bun:"name"`
	Status     string     `bun:"status"`
	InvitedAt  *time.Time `bun:"invited_at"`
	AcceptedAt *time.Time `bun:"accepted_at"`
	LastSentAt *time.Time `bun:"last_sent_at"`
	SendCount  int        `bun:"send_count"`
}

// EachExportUser calls fn for every portal user of a help center (or only
// those whose account IDs are in ids), with their latest invitation's
// sending record, in pages so the export streams.
func (s *Store) EachExportUser(ctx context.Context, helpCenterID int64, ids []int64, fn func(ExportUser) error) error {
	const pageSize = 1000
	var after int64
	for {
		// A client that went away cancels ctx: stop before the next query.
		if err := ctx.Err(); err != nil {
			return err
		}
		var page []ExportUser
		// As the user list: the page from portal_access, then its joins,
		// bounded by the cursor, and each user's latest invitation by one
		// probe of invitations_by_contact. Every page costs the same
		// however deep into the help center it is, and however many
		// invitations other help centers hold.
		keys := s.DB.NewSelect().TableExpr("portal_access").
			Column("account_id", "help_center_id", "status", "invited_at", "accepted_at").
			Where("help_center_id = ? AND account_id > ?", helpCenterID, after).
			OrderExpr("account_id").Limit(pageSize)
		if ids != nil {
			keys = keys.Where("account_id = ANY(?)", pgdialect.Array(ids))
		}
		q := s.DB.NewSelect().TableExpr("(?) AS pa", keys).
			ColumnExpr("pa.account_id, coalesce(c.email, '') AS email, c.name, pa.status, pa.invited_at, pa.accepted_at").
			ColumnExpr("i.last_sent_at, coalesce(i.send_count, 0) AS send_count").
			Join("JOIN portal_accounts AS a ON a.id = pa.account_id AND a.id > ?", after).
			Join("JOIN contacts AS c ON c.id = a.contact_id").
			Join(`LEFT JOIN LATERAL (SELECT last_sent_at, send_count FROM invitations
				WHERE contact_id = c.id AND help_center_id = pa.help_center_id ORDER BY created_at DESC LIMIT 1) AS i ON true`).
			OrderExpr("pa.account_id")
		if err := q.Scan(ctx, &page); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "export users")
		}
		for _, u := range page {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].AccountID
	}
}
