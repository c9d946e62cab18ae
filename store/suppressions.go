package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// Where a suppression came from.
const (
	SuppressedBySend    = "send"
	SuppressedByWebhook = "webhook"
	SuppressedByImport  = "import"
)

// Suppression is an address the whole installation sends nothing to: it
// bounced for good or its owner complained. Lifting keeps the row (with
// lifted_at) so a later re-invite can tell a lifted suppression.
type Suppression struct {
	bun.BaseModel `bun:"table:suppressions"`

	EmailKey  string                     `bun:"email_key,pk"`
	Email     string                     `bun:"email"`
	Reason    portal.UndeliverableReason `bun:"reason"`
	Source    string                     `bun:"source"`
	Detail    string                     `bun:"detail"`
	CreatedAt time.Time                  `bun:"created_at,nullzero,default:now()"`
	LiftedAt  *time.Time                 `bun:"lifted_at"`
	LiftedBy  *string                    `bun:"lifted_by"`
}

// Suppress adds (or renews, after a lift) the suppression of an address.
// It answers whether the address was not suppressed before.
func (s *Store) Suppress(ctx context.Context, email string, reason portal.UndeliverableReason, source, detail string) (bool, error) {
	res, err := s.DB.NewRaw(`INSERT INTO suppressions (email_key, email, reason, source, detail) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (email_key) DO UPDATE SET reason = EXCLUDED.reason, source = EXCLUDED.source, detail = EXCLUDED.detail,
			created_at = now(), lifted_at = NULL, lifted_by = NULL
		WHERE suppressions.lifted_at IS NOT NULL`,
		portal.EmailKey(email), email, reason, source, detail).Exec(ctx)
	if err != nil {
		return false, translate(err, "suppress address")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SuppressionFor returns the address's suppression in force, or nil.
func (s *Store) SuppressionFor(ctx context.Context, email string) (*Suppression, error) {
	sup := new(Suppression)
	err := s.DB.NewSelect().Model(sup).Where("email_key = ? AND lifted_at IS NULL", portal.EmailKey(email)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return sup, translate(err, "suppression of address")
}

// ListSuppressions pages through the suppressions in force, by address.
func (s *Store) ListSuppressions(ctx context.Context, cursor string, limit int) (Page[Suppression], error) {
	after := ""
	if cursor != "" {
		k, err := decodeStringCursor(cursor)
		if err != nil {
			return Page[Suppression]{}, err
		}
		after = k
	}
	limit = ClampLimit(limit)
	items := []Suppression{}
	err := s.DB.NewSelect().Model(&items).Where("lifted_at IS NULL AND email_key > ?", after).
		Order("email_key").Limit(int64(limit + 1)).Scan(ctx)
	if err != nil {
		return Page[Suppression]{}, translate(err, "list suppressions")
	}
	page := Page[Suppression]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = encodeStringCursor(items[limit-1].EmailKey)
	}
	return page, nil
}

// LiftSuppression lets the address receive email again; by names who
// lifted it. ErrNotFound when the address is not suppressed.
func (s *Store) LiftSuppression(ctx context.Context, email, by string) (*Suppression, error) {
	sup := new(Suppression)
	err := s.DB.NewUpdate().Model(sup).Set("lifted_at = now()").Set("lifted_by = ?", by).
		Where("email_key = ? AND lifted_at IS NULL", portal.EmailKey(email)).Returning("*").Scan(ctx)
	return sup, translate(err, "lift suppression")
}

// SuppressionLifted reports whether the address was suppressed once and
// lifted since.
func (s *Store) SuppressionLifted(ctx context.Context, email string) (bool, error) {
	n, err := s.DB.NewSelect().Table("suppressions").
		Where("email_key = ? AND lifted_at IS NOT NULL", portal.EmailKey(email)).Count(ctx)
	return n > 0, translate(err, "lifted suppression")
}
