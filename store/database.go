package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/uptrace/bun/driver/pgdriver"
)

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// adminURL points databaseURL at the server's maintenance database and
// returns the database name it named.
func adminURL(databaseURL string) (string, string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !dbName.MatchString(name) {
		return "", "", fmt.Errorf("DATABASE_URL: database name %q must be letters, digits and underscores", name)
	}
	u.Path = "/postgres"
	return u.String(), name, nil
}

// EnsureDatabase creates the database named by databaseURL if it does not
// exist yet.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	return onServer(databaseURL, func(db *sql.DB, name string) error {
		var exists bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			return fmt.Errorf("check database %s: %w", name, err)
		}
		if exists {
			return nil
		}
		if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
			// Another process may have created it meanwhile.
			var pgErr pgdriver.Error
			if errors.As(err, &pgErr) && pgErr.Field('C') == "42P04" {
				return nil
			}
			return fmt.Errorf("create database %s: %w", name, err)
		}
		return nil
	})
}

// DropDatabase removes the database named by databaseURL; tests use it to
// clean up after themselves.
func DropDatabase(ctx context.Context, databaseURL string) error {
	return onServer(databaseURL, func(db *sql.DB, name string) error {
		_, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
		return err
	})
}

// onServer runs fn on the server's maintenance database, with the name of
// the database databaseURL names.
func onServer(databaseURL string, fn func(db *sql.DB, name string) error) (err error) {
	admin, name, err := adminURL(databaseURL)
	if err != nil {
		return err
	}
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin)))
	defer func() { err = errors.Join(err, db.Close()) }()
	return fn(db, name)
}
