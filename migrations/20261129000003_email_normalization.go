package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/portalaccess/portal"
)

// This migration is Go rather than SQL: normalising addresses needs IDNA,
// which Postgres can't compute, and the portal's own rule
// (portal.NormalizeEmail) is the one every door applies. bun registers it
// under this file's name, in order with the SQL files. It runs in one
// transaction: the tables, the rewrite and the report land together or
// not at all.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := execAll(ctx, tx, emailNormalizationUp); err != nil {
				return err
			}
			return normalizeEmails(ctx, tx)
		})
	}, func(ctx context.Context, db *bun.DB) error {
		// Normalised addresses stay normalised: they are the same addresses.
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return execAll(ctx, tx, emailNormalizationDown)
		})
	})
}

var emailNormalizationUp = []string{
	// Contacts whose addresses would collide once normalised, or that are
	// no longer valid addresses. They keep their address, so nothing is
	// merged or lost, until a person resolves them (README, "Email
	// addresses"); `portal migrate` logs how many are left each time.
	`CREATE TABLE email_normalization_conflicts (
		contact_id    bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
		-- The address as stored, unchanged.
		email         text NOT NULL,
		-- Its normal form; NULL when it is not a valid address.
		normalized    text,
		-- Contacts listed with the same key would share one address.
		conflict_key  text NOT NULL,
		reason        text NOT NULL CHECK (reason IN ('duplicate', 'invalid')),
		detected_at   timestamptz NOT NULL DEFAULT now()
	)`,
	`CREATE INDEX email_normalization_conflicts_by_key ON email_normalization_conflicts (conflict_key)`,
	// A change of address of a contact who has a portal account, made by
	// an admin through the API. The request is written first; the
	// ChangeEmail workflow applies it in one transaction (address,
	// sessions, pending links), then tells the old address, which lives
	// here rather than in workflow history.
	`CREATE TABLE email_changes (
		id          uuid PRIMARY KEY,
		contact_id  bigint NOT NULL REFERENCES contacts (id),
		-- The address the change was asked against: if the contact's
		-- address is no longer this when the change applies, it is refused.
		old_email   text,
		-- NULL removes the address.
		new_email   text,
		-- Other fields the same request changes, applied with the address.
		name        text,
		verified    boolean,
		-- Who asked: the API key.
		api_key_id  bigint NOT NULL REFERENCES api_keys (id),
		status      text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'applied', 'refused')),
		created_at  timestamptz NOT NULL DEFAULT now(),
		applied_at  timestamptz
	)`,
	`CREATE INDEX email_changes_by_contact ON email_changes (contact_id, created_at)`,
}

var emailNormalizationDown = []string{
	`DROP TABLE email_changes`,
	`DROP TABLE email_normalization_conflicts`,
}

func execAll(ctx context.Context, tx bun.Tx, queries []string) error {
	for _, q := range queries {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// normalizePage is how many contacts the migration reads at a time.
const normalizePage = 1000

// normalizeEmails rewrites every contact's address into its normal form,
// except where two contacts would end up sharing one address (the unique
// index on lower(email) would refuse it, and merging them would lose a
// person's history): those keep the address they have and are listed in
// email_normalization_conflicts, with any address that no longer passes
// the rule.
func normalizeEmails(ctx context.Context, tx bun.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TEMPORARY TABLE email_renames (
		id bigint PRIMARY KEY, email text NOT NULL, key text NOT NULL) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("email renames table: %w", err)
	}
	// 1. Compute the normal forms, a page at a time.
	for after := int64(0); ; {
		var rows []struct {
			ID    int64  `bun:"id"`
			Email string `bun:"email"`
		}
		if err := tx.NewRaw(`SELECT id, email FROM contacts WHERE email IS NOT NULL AND id > ? ORDER BY id LIMIT ?`,
			after, normalizePage).Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read contacts: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		after = rows[len(rows)-1].ID
		var ids, invalid []int64
		var emails, keys []string
		for _, r := range rows {
			n, ok := portal.NormalizeEmail(r.Email)
			switch {
			case !ok:
				invalid = append(invalid, r.ID)
			case n != r.Email:
				ids, emails, keys = append(ids, r.ID), append(emails, n), append(keys, portal.EmailKey(n))
			}
		}
		if len(ids) > 0 {
			if _, err := tx.NewRaw(`INSERT INTO email_renames (id, email, key) SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[])`,
				pgdialect.Array(ids), pgdialect.Array(emails), pgdialect.Array(keys)).Exec(ctx); err != nil {
				return fmt.Errorf("record renames: %w", err)
			}
		}
		if len(invalid) > 0 {
			if _, err := tx.NewRaw(`INSERT INTO email_normalization_conflicts (contact_id, email, conflict_key, reason)
				SELECT id, email, lower(email), 'invalid' FROM contacts WHERE id = ANY(?::bigint[])`, pgdialect.Array(invalid)).Exec(ctx); err != nil {
				return fmt.Errorf("report invalid addresses: %w", err)
			}
		}
	}
	// 2. Report collisions: contacts whose addresses would be one after
	// the rewrite, and a new spelling equal to another contact's present
	// one (renaming it would break the unique index midway).
	if _, err := tx.ExecContext(ctx, `
		WITH final AS (
			SELECT c.id, c.email, coalesce(r.email, c.email) AS normalized, coalesce(r.key, lower(c.email)) AS key
			FROM contacts c LEFT JOIN email_renames r ON r.id = c.id
			WHERE c.email IS NOT NULL AND c.id NOT IN (SELECT contact_id FROM email_normalization_conflicts)),
		clashing AS (
			SELECT id FROM final WHERE key IN (SELECT key FROM final GROUP BY key HAVING count(*) > 1)
			UNION
			SELECT unnest(ARRAY[r.id, c.id]) FROM email_renames r JOIN contacts c ON lower(c.email) = r.key AND c.id <> r.id)
		INSERT INTO email_normalization_conflicts (contact_id, email, normalized, conflict_key, reason)
		SELECT f.id, f.email, f.normalized, f.key, 'duplicate' FROM final f JOIN clashing USING (id)
		ON CONFLICT (contact_id) DO NOTHING`); err != nil {
		return fmt.Errorf("report colliding addresses: %w", err)
	}
	// 3. Rewrite the rest.
	if _, err := tx.ExecContext(ctx, `UPDATE contacts c SET email = r.email, updated_at = now()
		FROM email_renames r
		WHERE c.id = r.id AND NOT EXISTS (SELECT 1 FROM email_normalization_conflicts x WHERE x.contact_id = c.id)`); err != nil {
		return fmt.Errorf("normalise addresses: %w", err)
	}
	// 4. The unique index and every query compare lower(email); that must
	// fold the stored forms as Go's EmailKey does (it does in any
	// non-Turkish locale). A database that disagrees stops here, before
	// anything is committed.
	var disagree []string
	if err := tx.NewRaw(`SELECT c.email FROM contacts c JOIN email_renames r ON r.id = c.id
		WHERE c.email = r.email AND lower(c.email) <> r.key LIMIT 5`).Scan(ctx, &disagree); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check case folding: %w", err)
	}
	if len(disagree) > 0 {
		return fmt.Errorf("the database's lower() folds addresses differently from the portal (check its LC_CTYPE), e.g. %q", disagree)
	}
	return nil
}
