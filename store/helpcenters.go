package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// HelpCenter is a customer portal (a brand).
type HelpCenter struct {
	bun.BaseModel `bun:"table:help_centers"`

	ID            int64                 `bun:"id,pk,autoincrement"`
	Slug          string                `bun:"slug"`
	Name          string                `bun:"name"`
	UserBase      portal.UserBase       `bun:"user_base"`
	InvitePolicy  portal.InvitePolicy   `bun:"invite_policy,type:jsonb"`
	EmailTemplate *portal.EmailTemplate `bun:"email_template,type:jsonb"`
	SelfSignup    bool                  `bun:"self_signup"`
	// SignupRequiresApproval holds verified sign-ups for an admin.
	SignupRequiresApproval bool              `bun:"signup_requires_approval"`
	AutoInvite             portal.AutoInvite `bun:"auto_invite,type:jsonb"`
	// Sender is who the help center's emails come from.
	Sender    portal.Sender `bun:"sender,type:jsonb"`
	CreatedAt time.Time     `bun:"created_at,nullzero,default:now()"`
	UpdatedAt time.Time     `bun:"updated_at,nullzero,default:now()"`
}

// AccountScope is the scope of the portal accounts that log in here.
func (h *HelpCenter) AccountScope() string {
	if h.UserBase == portal.UserBaseCommon {
		return "common"
	}
	return "help_center:" + itoa(h.ID)
}

// CreateHelpCenter inserts h, with events in the same transaction; a
// taken slug is ErrConflict.
func (s *Store) CreateHelpCenter(ctx context.Context, h *HelpCenter, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewInsert().Model(h).Returning("*").Exec(ctx)
		for i := range events {
			events[i].HelpCenterID = &h.ID
		}
		return portal.Target("help_center", h.ID), translate(err, "create help center")
	})
}

// HelpCenterBySlug finds a help center.
func (s *Store) HelpCenterBySlug(ctx context.Context, slug string) (*HelpCenter, error) {
	h := new(HelpCenter)
	err := s.DB.NewSelect().Model(h).Where("slug = ?", slug).Scan(ctx)
	return h, translate(err, "help center "+slug)
}

// ListHelpCenters returns help centers by id.
func (s *Store) ListHelpCenters(ctx context.Context, cursor string, limit int) (Page[HelpCenter], error) {
	after, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[HelpCenter]{}, err
	}
	limit = ClampLimit(limit)
	var items []HelpCenter
	err = s.DB.NewSelect().Model(&items).Where("id > ?", after).Order("id").Limit(int64(limit + 1)).Scan(ctx)
	if err != nil {
		return Page[HelpCenter]{}, translate(err, "list help centers")
	}
	return pageByID(items, limit, func(h HelpCenter) int64 { return h.ID }), nil
}

// UpdateHelpCenter writes the settable fields of h, with events in the
// same transaction.
func (s *Store) UpdateHelpCenter(ctx context.Context, h *HelpCenter, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewUpdate().Model(h).
			Column("name", "invite_policy", "email_template", "self_signup", "signup_requires_approval", "auto_invite", "sender").
			Set("updated_at = now()").
			WherePK().Returning("*").Exec(ctx)
		return portal.Target("help_center", h.ID), translate(err, "update help center")
	})
}

func pageByID[T any](items []T, limit int, id func(T) int64) Page[T] {
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = encodeIDCursor(id(items[limit-1]))
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}

// HelpCenterByID finds a help center.
func (s *Store) HelpCenterByID(ctx context.Context, id int64) (*HelpCenter, error) {
	h := new(HelpCenter)
	err := s.DB.NewSelect().Model(h).Where("id = ?", id).Scan(ctx)
	return h, translate(err, "help center "+itoa(id))
}
