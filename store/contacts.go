package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// Contact is a helpdesk customer.
type Contact struct {
	bun.BaseModel `bun:"table:contacts"`

	ID       int64   `bun:"id,pk,autoincrement"`
	Email    *string `bun:"email"`
	Name     string  `bun:"name"`
	Verified bool    `bun:"verified"`
	// ImportID is the import that last wrote the contact.
	ImportID  *string   `bun:"import_id,type:uuid"`
	CreatedAt time.Time `bun:"created_at,nullzero,default:now()"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,default:now()"`
}

// EmailAddress returns the contact's email, or "".
func (c *Contact) EmailAddress() string {
	if c.Email == nil {
		return ""
	}
	return *c.Email
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// CreateContact inserts c, with events in the same transaction; an email
// already in use is ErrConflict.
func (s *Store) CreateContact(ctx context.Context, c *Contact, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewInsert().Model(c).Returning("*").Exec(ctx)
		return portal.Target("contact", c.ID), translate(err, "create contact")
	})
}

// ContactByID finds a contact.
func (s *Store) ContactByID(ctx context.Context, id int64) (*Contact, error) {
	c := new(Contact)
	err := s.DB.NewSelect().Model(c).Where("id = ?", id).Scan(ctx)
	return c, translate(err, "contact "+itoa(id))
}

// ContactByEmail finds a contact by email, spelled any way that
// normalises to the contact's address.
func (s *Store) ContactByEmail(ctx context.Context, email string) (*Contact, error) {
	if n, ok := portal.NormalizeEmail(email); ok {
		email = n
	}
	c := new(Contact)
	err := s.DB.NewSelect().Model(c).Where("lower(email) = lower(?)", email).Scan(ctx)
	return c, translate(err, "contact by email")
}

// UpdateContact writes name, email and verified, with events in the same
// transaction.
func (s *Store) UpdateContact(ctx context.Context, c *Contact, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewUpdate().Model(c).Column("email", "name", "verified").
			Set("updated_at = now()").WherePK().Returning("*").Exec(ctx)
		return portal.Target("contact", c.ID), translate(err, "update contact")
	})
}

// ContactFilter narrows the contact list.
type ContactFilter struct {
	// Query matches a substring of the email or name, ignoring case.
	Query    string `json:"q,omitempty"`
	Verified *bool  `json:"verified,omitempty"`
	HasEmail *bool  `json:"has_email,omitempty"`
}

func (f ContactFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if f.Query != "" {
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		q = q.Where("(lower(email) LIKE ? OR lower(name) LIKE ?)", like, like)
	}
	if f.Verified != nil {
		q = q.Where("verified = ?", *f.Verified)
	}
	if f.HasEmail != nil {
		if *f.HasEmail {
			q = q.Where("email IS NOT NULL")
		} else {
			q = q.Where("email IS NULL")
		}
	}
	return q
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListContacts returns contacts by id, keyset-paginated.
func (s *Store) ListContacts(ctx context.Context, f ContactFilter, cursor string, limit int) (Page[Contact], error) {
	after, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[Contact]{}, err
	}
	limit = ClampLimit(limit)
	var items []Contact
	q := s.DB.NewSelect().Model(&items).Where("id > ?", after).Order("id").Limit(int64(limit + 1))
	if err := f.apply(q).Scan(ctx); err != nil {
		return Page[Contact]{}, translate(err, "list contacts")
	}
	return pageByID(items, limit, func(c Contact) int64 { return c.ID }), nil
}

// EmailNormalizationConflicts counts the contacts whose addresses the
// normalisation migration left as they were (colliding with another
// contact's, or invalid) and a person has yet to resolve.
func (s *Store) EmailNormalizationConflicts(ctx context.Context) (int, error) {
	n, err := s.DB.NewSelect().Table("email_normalization_conflicts").Count(ctx)
	return int(n), translate(err, "email normalisation conflicts")
}
