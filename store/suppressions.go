package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

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

	// ID names the suppression in the API and the audit trail, which
	// never carry the address.
	ID        int64                      `bun:"id,autoincrement"`
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

// ListSuppressions pages through the suppressions in force, by address;
// a non-empty email selects that address's alone.
func (s *Store) ListSuppressions(ctx context.Context, email, cursor string, limit int) (Page[Suppression], error) {
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
	q := s.DB.NewSelect().Model(&items).Where("lifted_at IS NULL AND email_key > ?", after)
	if email != "" {
		q = q.Where("email_key = ?", portal.EmailKey(email))
	}
	err := q.Order("email_key").Limit(int64(limit + 1)).Scan(ctx)
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

// LiftSuppressionByID lifts the suppression in force with this id and
// records ev (its target set to the suppression) in the same
// transaction. ErrNotFound when none is in force.
func (s *Store) LiftSuppressionByID(ctx context.Context, id int64, ev AuditEvent) (*Suppression, error) {
	sup := new(Suppression)
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewUpdate().Model(sup).Set("lifted_at = now()").Set("lifted_by = ?", ev.Actor).
			Where("id = ? AND lifted_at IS NULL", id).Returning("*").Scan(ctx)
		if err != nil {
			return translate(err, "lift suppression")
		}
		ev.Target = portal.Target("suppression", sup.ID)
		ev.Details = map[string]any{"reason": sup.Reason, "source": sup.Source}
		return RecordAudit(ctx, tx, ev)
	})
	return sup, err
}

// ImportedSuppression is an address from the mail provider's own lists.
type ImportedSuppression struct {
	Email  string
	Reason portal.UndeliverableReason
	Detail string
}

// ImportResult counts what an import of suppressions did.
type ImportResult struct {
	// Added: addresses suppressed by this import.
	Added int `json:"added"`
	// Already: addresses already suppressed here.
	Already int `json:"already"`
	// Lifted: addresses an admin lifted here, which the import leaves
	// lifted: the admin's decision stands.
	Lifted int `json:"lifted"`
	// Added by reason, for the metric.
	AddedBy map[portal.UndeliverableReason]int `json:"-"`
}

// ImportSuppressions suppresses every address of list that has no
// suppression here yet (an address on both lists counts once, as its
// first entry says), and records ev, with the counts, in the same
// transaction.
func (s *Store) ImportSuppressions(ctx context.Context, list []ImportedSuppression, ev AuditEvent) (ImportResult, error) {
	res := ImportResult{AddedBy: map[portal.UndeliverableReason]int{}}
	seen := map[string]bool{}
	var keys, emails, reasons, details []string
	for _, in := range list {
		k := portal.EmailKey(in.Email)
		if in.Email == "" || seen[k] {
			continue
		}
		seen[k] = true
		keys, emails, reasons, details = append(keys, k), append(emails, in.Email), append(reasons, string(in.Reason)), append(details, in.Detail)
	}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		const batch = 1000
		for start := 0; start < len(keys); start += batch {
			end := min(start+batch, len(keys))
			var added []portal.UndeliverableReason
			err := tx.NewRaw(`INSERT INTO suppressions (email_key, email, reason, source, detail)
				SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS u (email_key, email, reason, source, detail)
				ON CONFLICT (email_key) DO NOTHING RETURNING reason`,
				pgdialect.Array(keys[start:end]), pgdialect.Array(emails[start:end]), pgdialect.Array(reasons[start:end]),
				pgdialect.Array(slices.Repeat([]string{SuppressedByImport}, end-start)), pgdialect.Array(details[start:end])).Scan(ctx, &added)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return translate(err, "import suppressions")
			}
			for _, r := range added {
				res.AddedBy[r]++
			}
			res.Added += len(added)
		}
		var lifted int
		if err := tx.NewRaw(`SELECT count(*) FROM suppressions WHERE email_key = ANY(?::text[]) AND lifted_at IS NOT NULL`,
			pgdialect.Array(keys)).Scan(ctx, &lifted); err != nil {
			return translate(err, "count lifted suppressions")
		}
		res.Lifted = lifted
		res.Already = len(keys) - res.Added - lifted
		ev.Details = map[string]any{"listed": len(keys), "added": res.Added, "already": res.Already, "lifted": res.Lifted}
		return RecordAudit(ctx, tx, ev)
	})
	return res, err
}

// SuppressedAmong reports which of the addresses have a suppression in
// force, by their key (portal.EmailKey).
func (s *Store) SuppressedAmong(ctx context.Context, emails []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(emails) == 0 {
		return out, nil
	}
	keys := make([]string, len(emails))
	for i, e := range emails {
		keys[i] = portal.EmailKey(e)
	}
	var found []string
	err := s.DB.NewRaw(`SELECT email_key FROM suppressions WHERE email_key = ANY(?::text[]) AND lifted_at IS NULL`,
		pgdialect.Array(keys)).Scan(ctx, &found)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, translate(err, "suppressed addresses")
	}
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}
