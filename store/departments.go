package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// Department is where tickets arrive.
type Department struct {
	bun.BaseModel `bun:"table:departments"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	Name      string    `bun:"name" json:"name"`
	Active    bool      `bun:"active" json:"active"`
	CreatedAt time.Time `bun:"created_at,nullzero,default:now()" json:"created_at"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,default:now()" json:"updated_at"`
}

// CreateDepartment inserts d, with events in the same transaction; a
// taken name is ErrConflict.
func (s *Store) CreateDepartment(ctx context.Context, d *Department, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewInsert().Model(d).Returning("*").Exec(ctx)
		return portal.Target("department", d.ID), translate(err, "create department")
	})
}

// DepartmentByID finds a department.
func (s *Store) DepartmentByID(ctx context.Context, id int64) (*Department, error) {
	d := new(Department)
	err := s.DB.NewSelect().Model(d).Where("id = ?", id).Scan(ctx)
	return d, translate(err, "department "+itoa(id))
}

// DepartmentByName finds a department by name, ignoring case.
func (s *Store) DepartmentByName(ctx context.Context, name string) (*Department, error) {
	d := new(Department)
	err := s.DB.NewSelect().Model(d).Where("lower(name) = lower(?)", name).Scan(ctx)
	return d, translate(err, "department "+name)
}

// UpdateDepartment writes name and active, with events in the same
// transaction.
func (s *Store) UpdateDepartment(ctx context.Context, d *Department, events ...AuditEvent) error {
	return s.audited(ctx, events, func(ctx context.Context, db bun.IDB) (string, error) {
		_, err := db.NewUpdate().Model(d).Column("name", "active").Set("updated_at = now()").WherePK().Returning("*").Exec(ctx)
		return portal.Target("department", d.ID), translate(err, "update department")
	})
}

// ListDepartments returns departments by id.
func (s *Store) ListDepartments(ctx context.Context, cursor string, limit int) (Page[Department], error) {
	after, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[Department]{}, err
	}
	limit = ClampLimit(limit)
	var items []Department
	if err := s.DB.NewSelect().Model(&items).Where("id > ?", after).Order("id").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return Page[Department]{}, translate(err, "list departments")
	}
	return pageByID(items, limit, func(d Department) int64 { return d.ID }), nil
}

// CountActiveDepartments returns how many of ids exist and are active.
func (s *Store) CountActiveDepartments(ctx context.Context, ids []int64) (int, error) {
	var n int
	err := s.DB.NewRaw(`SELECT count(*) FROM departments WHERE active AND id = ANY(?)`, pgArray(ids)).Scan(ctx, &n)
	return n, translate(err, "count departments")
}
