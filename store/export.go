package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// ExportDeclined is an export row's status for a contact who declined
// the help center's invitations and holds no access to it.
const ExportDeclined = "declined"

// ExportUser is a row of a portal-user export.
type ExportUser struct {
	// AccountID is 0 on a declined contact's row.
	AccountID  int64      `bun:"account_id"`
	ContactID  int64      `bun:"contact_id"`
	Email      string     `bun:"email"`
	Name       string     `bun:"name"`
	Status     string     `bun:"status"`
	InvitedAt  *time.Time `bun:"invited_at"`
	AcceptedAt *time.Time `bun:"accepted_at"`
	LastSentAt *time.Time `bun:"last_sent_at"`
	SendCount  int        `bun:"send_count"`
	// DeclinedAt: when the contact declined the help center's
	// invitations (through the link in one of them).
	DeclinedAt *time.Time `bun:"declined_at"`
	LastEmail  LastEmail  `bun:"embed:last_email_"`
}

// exportPageSize is how many rows one export query reads: enough that
// planning each page's query (a few milliseconds) is a small part of it,
// few enough that a page is a fraction of a second and a few MiB.
const exportPageSize = 5000

// EachExportUser calls fn for every portal user of a help center (or only
// those whose account IDs are in ids), with their latest invitation's
// sending record and their latest email's state, then for every contact
// who declined the help center's invitations and holds no access to it
// (status "declined"), in pages so the export streams.
func (s *Store) EachExportUser(ctx context.Context, helpCenterID int64, ids []int64, fn func(ExportUser) error) error {
	if err := s.eachExportPage(ctx, func(after int64) *bun.SelectQuery { return s.exportUsersPage(helpCenterID, ids, after) },
		func(u ExportUser) int64 { return u.AccountID }, fn); err != nil {
		return err
	}
	return s.eachExportPage(ctx, func(after int64) *bun.SelectQuery { return s.exportDeclinedPage(helpCenterID, ids, after) },
		func(u ExportUser) int64 { return u.ContactID }, fn)
}

// eachExportPage runs page after page of one export query, each after
// the previous page's last key.
func (s *Store) eachExportPage(ctx context.Context, page func(after int64) *bun.SelectQuery, key func(ExportUser) int64, fn func(ExportUser) error) error {
	var after int64
	for {
		// A client that went away cancels ctx: stop before the next query.
		if err := ctx.Err(); err != nil {
			return err
		}
		var rows []ExportUser
		if err := page(after).Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "export users")
		}
		for _, u := range rows {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(rows) < exportPageSize {
			return nil
		}
		after = key(rows[len(rows)-1])
	}
}

// exportUsersPage: as the user list, the page from portal_access, then
// each row's account and contact by key (accountJoins), each user's
// latest invitation by one probe of invitations_by_contact, their
// decline by its key (a probe too, for the reason accountJoins gives) and their
// latest email by one probe of email_log_by_workflow. Every page costs
// the same however deep into the help center it is, and however many
// invitations and emails other help centers hold.
func (s *Store) exportUsersPage(helpCenterID int64, ids []int64, after int64) *bun.SelectQuery {
	keys := s.DB.NewSelect().TableExpr("portal_access").
		Column("account_id", "help_center_id", "status", "invited_at", "accepted_at").
		Where("help_center_id = ? AND account_id > ?", helpCenterID, after).
		OrderExpr("account_id").Limit(exportPageSize)
	if ids != nil {
		keys = keys.Where("account_id = ANY(?)", pgdialect.Array(ids))
	}
	return s.DB.NewSelect().TableExpr("(?) AS pa", keys).
		ColumnExpr("pa.account_id, c.id AS contact_id, coalesce(c.email, '') AS email, c.name, pa.status, pa.invited_at, pa.accepted_at").
		ColumnExpr("i.last_sent_at, coalesce(i.send_count, 0) AS send_count, d.declined_at").
		ColumnExpr(lastEmailColumns).
		Join(accountJoins).
		Join("JOIN help_centers AS hc ON hc.id = pa.help_center_id").
		Join(`LEFT JOIN LATERAL (SELECT last_sent_at, send_count FROM invitations
				WHERE contact_id = c.id AND help_center_id = pa.help_center_id ORDER BY created_at DESC LIMIT 1) AS i ON true`).
		Join(`LEFT JOIN LATERAL (SELECT declined_at FROM invitation_declines
				WHERE help_center_id = pa.help_center_id AND contact_id = c.id LIMIT 1) AS d ON true`).
		Join(lastEmailJoin).
		OrderExpr("pa.account_id")
}

// exportDeclinedPage: the contacts who declined and hold no access to
// the help center (closing the invitation withdrew their invited
// status), by contact from the declines' own key, with their latest
// invitation and email. ids names accounts: a declined contact is chosen
// by the account the invitation created.
func (s *Store) exportDeclinedPage(helpCenterID int64, ids []int64, after int64) *bun.SelectQuery {
	keys := s.DB.NewSelect().TableExpr("invitation_declines AS d").
		Column("d.help_center_id", "d.contact_id", "d.declined_at").
		Where("d.help_center_id = ? AND d.contact_id > ?", helpCenterID, after).
		Where(`NOT EXISTS (SELECT 1 FROM portal_accounts AS a JOIN portal_access AS pa ON pa.account_id = a.id AND pa.help_center_id = d.help_center_id
			WHERE a.contact_id = d.contact_id)`).
		OrderExpr("d.contact_id").Limit(exportPageSize)
	if ids != nil {
		keys = keys.Where("EXISTS (SELECT 1 FROM portal_accounts AS a WHERE a.contact_id = d.contact_id AND a.id = ANY(?))", pgdialect.Array(ids))
	}
	return s.DB.NewSelect().TableExpr("(?) AS d", keys).
		ColumnExpr("c.id AS contact_id, coalesce(c.email, '') AS email, c.name, ? AS status", ExportDeclined).
		ColumnExpr("i.created_at AS invited_at, i.last_sent_at, coalesce(i.send_count, 0) AS send_count, d.declined_at").
		ColumnExpr(lastEmailColumns).
		// A probe by key, for the reason accountJoins gives.
		Join("JOIN LATERAL (SELECT id, email, name FROM contacts WHERE id = d.contact_id LIMIT 1) AS c ON true").
		Join("JOIN help_centers AS hc ON hc.id = d.help_center_id").
		Join(`LEFT JOIN LATERAL (SELECT created_at, last_sent_at, send_count FROM invitations
				WHERE contact_id = c.id AND help_center_id = d.help_center_id ORDER BY created_at DESC LIMIT 1) AS i ON true`).
		Join(lastEmailJoin).
		OrderExpr("d.contact_id")
}
