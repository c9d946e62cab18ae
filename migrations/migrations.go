// Package migrations holds the database schema as bun migrations, SQL
// files and, where SQL can't say it, Go files named the same way, and
// applies them.
package migrations

import (
	"context"
	"embed"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var files embed.FS

// Migrations is the ordered set of schema changes.
var Migrations = migrate.NewMigrations()

func init() {
	if err := Migrations.Discover(files); err != nil {
		panic(err)
	}
}

// Up applies every pending migration under a lock, so several processes
// starting together migrate once. A migration is recorded as applied
// only once it succeeded, so one that failed runs again at the next
// start instead of being skipped half done.
func Up(ctx context.Context, db *bun.DB) (applied []string, err error) {
	m := migrate.NewMigrator(db, Migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	if err := m.Lock(ctx); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	defer func() {
		if uerr := m.Unlock(ctx); uerr != nil && err == nil {
			err = fmt.Errorf("unlock migrations: %w", uerr)
		}
	}()
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for _, mig := range group.Migrations {
		applied = append(applied, mig.Name)
	}
	return applied, nil
}
