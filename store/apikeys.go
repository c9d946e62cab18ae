package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// APIKey is a bearer key for the admin API, stored by its hash.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID        int64       `bun:"id,pk,autoincrement"`
	Name      string      `bun:"name"`
	KeyHash   []byte      `bun:"key_hash"`
	Role      portal.Role `bun:"role"`
	CreatedAt time.Time   `bun:"created_at,nullzero,default:now()"`
	RevokedAt *time.Time  `bun:"revoked_at"`
}

// EnsureAPIKey stores a key unless a key with the same hash exists.
func (s *Store) EnsureAPIKey(ctx context.Context, k *APIKey) error {
	_, err := s.DB.NewInsert().Model(k).On("CONFLICT (key_hash) DO NOTHING").Exec(ctx)
	return translate(err, "ensure api key")
}

// APIKeyByHash finds an unrevoked key.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error) {
	k := new(APIKey)
	err := s.DB.NewSelect().Model(k).Where("key_hash = ? AND revoked_at IS NULL", hash).Scan(ctx)
	return k, translate(err, "api key")
}
