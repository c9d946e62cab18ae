// Package store holds the bun models and every query the service runs
// against Postgres.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

var (
	// ErrNotFound is returned when a row the caller named does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a write breaks a uniqueness rule.
	ErrConflict = errors.New("conflict")
)

// Store runs the service's queries.
type Store struct {
	DB *bun.DB
}

// DefaultMaxConns is the pool size of Open, and DATABASE_MAX_CONNS's
// default.
const DefaultMaxConns = 20

// poolIdleTime is how long a connection may stay idle before the pool
// closes it, so a quiet replica gives its backends back.
const poolIdleTime = 5 * time.Minute

// Open connects to the database at url with a pool of DefaultMaxConns.
func Open(url string) *Store { return OpenPool(url, DefaultMaxConns) }

// OpenPool connects to the database at url with at most maxConns
// connections. Every one of them may stay open while idle: database/sql
// keeps only two idle by default, so under any concurrency each query
// past the second opened a new connection, and Postgres forked and warmed
// a new backend for it, which cost more CPU than the query itself.
func OpenPool(url string, maxConns int) *Store {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(url)))
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(poolIdleTime)
	return &Store{DB: bun.NewDB(sqldb, pgdialect.New())}
}

// Close releases the connection pool.
func (s *Store) Close() error { return s.DB.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.DB.PingContext(ctx) }

// translate maps driver errors onto the store's sentinel errors.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) && pgErr.Field('C') == "23505" {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}
