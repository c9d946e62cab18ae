package store

import (
	"context"
	"time"

	"github.com/portalaccess/portal"
)

// AccessStatus returns the contact's access status in a help center, or ""
// when the contact has none.
func (s *Store) AccessStatus(ctx context.Context, contactID int64, hc *HelpCenter) (portal.AccessStatus, error) {
	var status []portal.AccessStatus
	err := s.DB.NewRaw(`SELECT pa.status FROM portal_access pa
		JOIN portal_accounts a ON a.id = pa.account_id
		WHERE a.contact_id = ? AND a.scope = ? AND pa.help_center_id = ?`,
		contactID, hc.AccountScope(), hc.ID).Scan(ctx, &status)
	if err != nil {
		return "", translate(err, "access status")
	}
	if len(status) == 0 {
		return "", nil
	}
	return status[0], nil
}

// PortalUser is a row of a help center's user list.
type PortalUser struct {
	AccountID  int64               `bun:"account_id" json:"id"`
	ContactID  int64               `bun:"contact_id" json:"contact_id"`
	Email      string              `bun:"email" json:"email"`
	Name       string              `bun:"name" json:"name"`
	Status     portal.AccessStatus `bun:"status" json:"status"`
	InvitedAt  *time.Time          `bun:"invited_at" json:"invited_at"`
	AcceptedAt *time.Time          `bun:"accepted_at" json:"accepted_at"`
	LastEmail  LastEmail           `bun:"embed:last_email_" json:"-"`
}

// accountJoins add to a page of portal_access rows (pa) each one's
// account (a) and contact (c), each by one probe of its key. The LIMIT
// keeps each subquery a probe: a plain join the planner may run as a
// merge join, which reads contacts (or accounts) from the first id up to
// the page's, whose cost grows with the table and the depth of the page
// (a users page from the middle of a million took 17 times its
// 10,000-row time, and a results export grew quadratically).
const accountJoins = `JOIN LATERAL (SELECT contact_id FROM portal_accounts WHERE id = pa.account_id LIMIT 1) AS a ON true
		JOIN LATERAL (SELECT id, email, name FROM contacts WHERE id = a.contact_id LIMIT 1) AS c ON true`

// ListUsers returns the portal users of a help center by account id.
func (s *Store) ListUsers(ctx context.Context, helpCenterID int64, status portal.AccessStatus, cursor string, limit int) (Page[PortalUser], error) {
	after, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[PortalUser]{}, err
	}
	limit = ClampLimit(limit)
	var items []PortalUser
	// The page is chosen from portal_access alone (an index led by the
	// help center, and the status when filtered), then each row's account
	// and contact are probed by key (accountJoins): never a join that
	// reads accounts or contacts from the first row.
	page := s.DB.NewSelect().TableExpr("portal_access").
		Column("account_id", "help_center_id", "status", "invited_at", "accepted_at").
		Where("help_center_id = ? AND account_id > ?", helpCenterID, after).
		OrderExpr("account_id").Limit(int64(limit + 1))
	if status != "" {
		page = page.Where("status = ?", status)
	}
	q := s.DB.NewSelect().TableExpr("(?) AS pa", page).
		ColumnExpr("pa.account_id, a.contact_id, coalesce(c.email, '') AS email, c.name, pa.status, pa.invited_at, pa.accepted_at").
		ColumnExpr(lastEmailColumns).
		Join(accountJoins).
		Join("JOIN help_centers AS hc ON hc.id = pa.help_center_id").
		Join(lastEmailJoin).
		OrderExpr("pa.account_id")
	if err := q.Scan(ctx, &items); err != nil {
		return Page[PortalUser]{}, translate(err, "list users")
	}
	return pageByID(items, limit, func(u PortalUser) int64 { return u.AccountID }), nil
}

// Login is what a login attempt needs to know about an account.
type Login struct {
	AccountID    int64               `bun:"account_id"`
	ContactID    int64               `bun:"contact_id"`
	Name         string              `bun:"name"`
	Email        string              `bun:"email"`
	PasswordHash *string             `bun:"password_hash"`
	Status       portal.AccessStatus `bun:"status"`
}

// LoginFor finds the account that may log in to hc with email, spelled
// any way that normalises to the contact's address.
func (s *Store) LoginFor(ctx context.Context, hc *HelpCenter, email string) (*Login, error) {
	if n, ok := portal.NormalizeEmail(email); ok {
		email = n
	}
	l := new(Login)
	err := s.DB.NewRaw(`SELECT a.id AS account_id, c.id AS contact_id, c.name, c.email, a.password_hash, pa.status
		FROM contacts c
		JOIN portal_accounts a ON a.contact_id = c.id AND a.scope = ?
		JOIN portal_access pa ON pa.account_id = a.id AND pa.help_center_id = ?
		WHERE lower(c.email) = lower(?)`, hc.AccountScope(), hc.ID, email).Scan(ctx, l)
	return l, translate(err, "login")
}

// AccountID finds the portal account of a contact in a scope.
func (s *Store) AccountID(ctx context.Context, contactID int64, scope string) (int64, error) {
	var id int64
	err := s.DB.NewRaw(`SELECT id FROM portal_accounts WHERE contact_id = ? AND scope = ?`, contactID, scope).Scan(ctx, &id)
	return id, translate(err, "portal account")
}
