package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// User base types.
const (
	UserBaseCommon = "common"
	UserBaseUnique = "unique"
)

// InvitePolicy is a help center's schedule for invitations.
type InvitePolicy struct {
	// ReminderDays are days after each send on which a reminder repeats
	// the same link.
	ReminderDays []int `json:"reminder_days"`
	// LinkLifetimeHours is how long a link stays valid after it is sent.
	LinkLifetimeHours int `json:"link_lifetime_hours"`
	// AutoReinvites is how many times an expired link is replaced by a
	// fresh one before the invitation expires for good.
	AutoReinvites int `json:"auto_reinvites"`
}

// DefaultInvitePolicy: reminders on days 3 and 6, a 7-day link, one
// automatic re-invite.
func DefaultInvitePolicy() InvitePolicy {
	return InvitePolicy{ReminderDays: []int{3, 6}, LinkLifetimeHours: 7 * 24, AutoReinvites: 1}
}

// EmailTemplate is a help center's invitation email; Subject and Body are
// Go text templates.
type EmailTemplate struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// AutoInvite says which departments' first requests from new contacts
// invite them to the help center.
type AutoInvite struct {
	Enabled bool `json:"enabled"`
	// All covers every active department.
	All           bool    `json:"all"`
	DepartmentIDs []int64 `json:"department_ids"`
}

// Covers reports whether a request into the department triggers an
// auto-invite; a request with no department counts only under All.
func (a AutoInvite) Covers(departmentID *int64) bool {
	if !a.Enabled {
		return false
	}
	if a.All {
		return true
	}
	if departmentID == nil {
		return false
	}
	for _, id := range a.DepartmentIDs {
		if id == *departmentID {
			return true
		}
	}
	return false
}

// HelpCenter is a customer portal (a brand).
type HelpCenter struct {
	bun.BaseModel `bun:"table:help_centers"`

	ID            int64          `bun:"id,pk,autoincrement"`
	Slug          string         `bun:"slug"`
	Name          string         `bun:"name"`
	UserBase      string         `bun:"user_base"`
	InvitePolicy  InvitePolicy   `bun:"invite_policy,type:jsonb"`
	EmailTemplate *EmailTemplate `bun:"email_template,type:jsonb"`
	SelfSignup    bool           `bun:"self_signup"`
	// SignupRequiresApproval holds verified sign-ups for an admin.
	SignupRequiresApproval bool       `bun:"signup_requires_approval"`
	AutoInvite             AutoInvite `bun:"auto_invite,type:jsonb"`
	CreatedAt              time.Time  `bun:"created_at,nullzero,default:now()"`
	UpdatedAt              time.Time  `bun:"updated_at,nullzero,default:now()"`
}

// AccountScope is the scope of the portal accounts that log in here.
func (h *HelpCenter) AccountScope() string {
	if h.UserBase == UserBaseCommon {
		return "common"
	}
	return "help_center:" + itoa(h.ID)
}

// CreateHelpCenter inserts h; a taken slug is ErrConflict.
func (s *Store) CreateHelpCenter(ctx context.Context, h *HelpCenter) error {
	_, err := s.DB.NewInsert().Model(h).Returning("*").Exec(ctx)
	return translate(err, "create help center")
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

// UpdateHelpCenter writes the settable fields of h.
func (s *Store) UpdateHelpCenter(ctx context.Context, h *HelpCenter) error {
	_, err := s.DB.NewUpdate().Model(h).
		Column("name", "invite_policy", "email_template", "self_signup", "signup_requires_approval", "auto_invite").
		Set("updated_at = now()").
		WherePK().Returning("*").Exec(ctx)
	return translate(err, "update help center")
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
