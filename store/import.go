package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/portalaccess/portal"
)

// Import outcomes of a row.
const (
	ImportCreated   = "created"
	ImportUpdated   = "updated"
	ImportDuplicate = "duplicate"
)

// ImportRow is one contact of an import file.
type ImportRow struct {
	Email    string
	Name     string
	Verified bool
}

// Importer upserts contacts inside one transaction: a file is imported
// whole or not at all.
type Importer struct {
	tx bun.Tx
	id string
	// HasName and HasVerified say which columns the file has; a column
	// the file lacks leaves existing contacts' values alone.
	HasName, HasVerified bool
}

// Import runs fn in a transaction with an Importer; an error from fn
// rolls everything back.
func (s *Store) Import(ctx context.Context, fn func(*Importer) error) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(&Importer{tx: tx, id: uuid.NewString()})
	})
}

// Upsert writes a batch of rows with distinct emails and returns each
// row's outcome. A contact this import already wrote is a duplicate in
// the file; the database remembers that (contacts.import_id), so the file
// never has to.
func (im *Importer) Upsert(ctx context.Context, rows []ImportRow) ([]string, error) {
	emails := make([]string, len(rows))
	names := make([]string, len(rows))
	verified := make([]bool, len(rows))
	for i, r := range rows {
		emails[i], names[i], verified[i] = r.Email, r.Name, r.Verified
	}
	var res []struct {
		Email    string `bun:"email"`
		Inserted bool   `bun:"inserted"`
	}
	err := im.tx.NewRaw(`INSERT INTO contacts (email, name, verified, import_id)
		SELECT u.email, u.name, u.verified, ? FROM unnest(?::text[], ?::text[], ?::bool[]) AS u (email, name, verified)
		ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO UPDATE SET
			name = CASE WHEN ? AND EXCLUDED.name <> '' THEN EXCLUDED.name ELSE contacts.name END,
			verified = CASE WHEN ? THEN EXCLUDED.verified ELSE contacts.verified END,
			import_id = EXCLUDED.import_id, updated_at = now()
		WHERE contacts.import_id IS DISTINCT FROM EXCLUDED.import_id
		RETURNING lower(email) AS email, (xmax = 0) AS inserted`,
		im.id, pgdialect.Array(emails), pgdialect.Array(names), pgdialect.Array(verified), im.HasName, im.HasVerified).
		Scan(ctx, &res)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, translate(err, "import contacts")
	}
	byEmail := make(map[string]string, len(res))
	for _, r := range res {
		if r.Inserted {
			byEmail[r.Email] = ImportCreated
		} else {
			byEmail[r.Email] = ImportUpdated
		}
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		// Rows come normalised, so Go's key and SQL's lower() agree.
		if o, ok := byEmail[portal.EmailKey(r.Email)]; ok {
			out[i] = o
		} else {
			out[i] = ImportDuplicate
		}
	}
	return out, nil
}

// Record appends events in the import's transaction: they are kept if
// and only if the import is.
func (im *Importer) Record(ctx context.Context, events ...AuditEvent) error {
	return RecordAudit(ctx, im.tx, events...)
}
