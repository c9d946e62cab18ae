package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/portalaccess/portal"
)

// APIKey is a bearer key for the admin API, stored by its hash.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID      int64       `bun:"id,pk,autoincrement"`
	Name    string      `bun:"name"`
	KeyHash []byte      `bun:"key_hash"`
	Role    portal.Role `bun:"role"`
	// Prefix is the key's first characters, shown so a person can tell
	// keys apart; the rest is never stored.
	Prefix string `bun:"prefix"`
	// HelpCenterIDs scopes the key to these help centers; empty: all.
	HelpCenterIDs []int64    `bun:"help_center_ids,array"`
	CreatedBy     *int64     `bun:"created_by"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,default:now()"`
	LastUsedAt    *time.Time `bun:"last_used_at"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	RevokedAt     *time.Time `bun:"revoked_at"`
	// Bootstrap marks the key configured by PORTAL_ADMIN_API_KEY.
	Bootstrap bool `bun:"bootstrap"`
	// Email is the address of the person who holds the key, where a
	// template's test send goes; nil when none was recorded.
	Email *string `bun:"email"`
}

// Scoped reports whether the key is limited to some help centers.
func (k *APIKey) Scoped() bool { return len(k.HelpCenterIDs) > 0 }

// CanSee reports whether the key may see the help center.
func (k *APIKey) CanSee(helpCenterID int64) bool {
	if !k.Scoped() {
		return true
	}
	for _, id := range k.HelpCenterIDs {
		if id == helpCenterID {
			return true
		}
	}
	return false
}

// CreateAPIKey stores a new key and the events recording it in one
// transaction.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey, events ...AuditEvent) error {
	if k.HelpCenterIDs == nil {
		k.HelpCenterIDs = []int64{}
	}
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewInsert().Model(k).Returning("*").Exec(ctx)
		return portal.Target("api_key", k.ID), translate(err, "create api key")
	})
}

// APIKeyByHash finds a key that is neither revoked nor expired.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error) {
	k := new(APIKey)
	err := s.DB.NewSelect().Model(k).
		Where("key_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())", hash).Scan(ctx)
	return k, translate(err, "api key")
}

// TouchAPIKey notes that the key was used. It writes at most once a
// minute per key, so a busy key costs no write per request.
func (s *Store) TouchAPIKey(ctx context.Context, id int64) error {
	_, err := s.DB.NewRaw(`UPDATE api_keys SET last_used_at = now()
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, id).Exec(ctx)
	return translate(err, "touch api key")
}

// ListAPIKeys pages through every key, revoked and expired ones included.
func (s *Store) ListAPIKeys(ctx context.Context, cursor string, limit int) (Page[APIKey], error) {
	after, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[APIKey]{}, err
	}
	limit = ClampLimit(limit)
	var items []APIKey
	err = s.DB.NewSelect().Model(&items).Where("id > ?", after).Order("id").Limit(int64(limit + 1)).Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Page[APIKey]{}, translate(err, "list api keys")
	}
	return pageByID(items, limit, func(k APIKey) int64 { return k.ID }), nil
}

// APIKeyByID finds a key, revoked or not.
func (s *Store) APIKeyByID(ctx context.Context, id int64) (*APIKey, error) {
	k := new(APIKey)
	err := s.DB.NewSelect().Model(k).Where("id = ?", id).Scan(ctx)
	return k, translate(err, "api key")
}

// RevokeAPIKey revokes a key at once; revoking a revoked key changes
// nothing and records nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64, events ...AuditEvent) (*APIKey, error) {
	k := new(APIKey)
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(k).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return translate(err, "api key")
		}
		if k.RevokedAt != nil {
			return nil
		}
		if _, err := tx.NewUpdate().Model(k).Set("revoked_at = now()").WherePK().Returning("revoked_at").Exec(ctx); err != nil {
			return translate(err, "revoke api key")
		}
		return RecordAudit(ctx, tx, events...)
	})
	return k, err
}

// BootstrapResult is what EnsureBootstrapKey did.
type BootstrapResult struct {
	// Created is the new key's ID, 0 when it existed.
	Created int64
	// Revoked lists the former bootstrap keys it revoked.
	Revoked []int64
	// StillRevoked is true when the configured key was revoked through
	// the API: it stays revoked.
	StillRevoked bool
}

// EnsureBootstrapKey makes the configured key the one bootstrap key: it
// stores it unless it exists and revokes every other bootstrap key, so a
// new PORTAL_ADMIN_API_KEY retires the old one. A key revoked through the
// API is never brought back by a restart.
func (s *Store) EnsureBootstrapKey(ctx context.Context, k *APIKey) (BootstrapResult, error) {
	var res BootstrapResult
	k.Bootstrap, k.Role = true, portal.RoleAdmin
	if k.HelpCenterIDs == nil {
		k.HelpCenterIDs = []int64{}
	}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// One start-up at a time decides which key is the bootstrap key.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('api_keys.bootstrap'))`); err != nil {
			return translate(err, "lock bootstrap key")
		}
		existing := new(APIKey)
		err := tx.NewSelect().Model(existing).Where("key_hash = ?", k.KeyHash).Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.NewInsert().Model(k).Returning("*").Exec(ctx); err != nil {
				return translate(err, "store bootstrap key")
			}
			res.Created = k.ID
			if err := RecordAudit(ctx, tx, AuditEvent{Actor: portal.ActorSystem, Action: portal.AuditAPIKeyCreated,
				Target: portal.Target("api_key", k.ID), Details: map[string]any{"bootstrap": true, "role": k.Role}}); err != nil {
				return err
			}
		case err != nil:
			return translate(err, "bootstrap key")
		default:
			*k = *existing
			res.StillRevoked = existing.RevokedAt != nil
			if !existing.Bootstrap {
				if _, err := tx.NewRaw(`UPDATE api_keys SET bootstrap = true WHERE id = ?`, existing.ID).Exec(ctx); err != nil {
					return translate(err, "mark bootstrap key")
				}
			}
		}
		if err := tx.NewRaw(`UPDATE api_keys SET revoked_at = now()
			WHERE bootstrap AND revoked_at IS NULL AND id <> ? RETURNING id`, k.ID).Scan(ctx, &res.Revoked); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "revoke former bootstrap keys")
		}
		for _, id := range res.Revoked {
			if err := RecordAudit(ctx, tx, AuditEvent{Actor: portal.ActorSystem, Action: portal.AuditAPIKeyRevoked,
				Target: portal.Target("api_key", id), Details: map[string]any{"reason": "PORTAL_ADMIN_API_KEY changed"}}); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// HelpCenterIDsBySlug resolves slugs to IDs, in the order given; a slug
// that names no help center is ErrNotFound.
func (s *Store) HelpCenterIDsBySlug(ctx context.Context, slugs []string) ([]int64, error) {
	ids := make([]int64, 0, len(slugs))
	for _, slug := range slugs {
		var id int64
		if err := s.DB.NewRaw(`SELECT id FROM help_centers WHERE slug = ?`, slug).Scan(ctx, &id); err != nil {
			return nil, translate(err, "help center "+slug)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// HelpCenterSlugs maps help center IDs to slugs.
func (s *Store) HelpCenterSlugs(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   int64  `bun:"id"`
		Slug string `bun:"slug"`
	}
	err := s.DB.NewRaw(`SELECT id, slug FROM help_centers WHERE id = ANY(?)`, pgdialect.Array(ids)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, translate(err, "help center slugs")
	}
	for _, r := range rows {
		out[r.ID] = r.Slug
	}
	return out, nil
}
