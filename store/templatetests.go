package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// TemplateTest is an admin's request to receive an invitation template as
// a customer would: the template as it was asked for (the saved one or a
// draft) and the address of the key's holder. The workflow that sends it
// carries only the row's ID.
type TemplateTest struct {
	bun.BaseModel `bun:"table:email_template_tests"`

	ID           string               `bun:"id,pk"`
	HelpCenterID int64                `bun:"help_center_id"`
	APIKeyID     int64                `bun:"api_key_id"`
	Recipient    string               `bun:"recipient"`
	Template     portal.EmailTemplate `bun:"template,type:jsonb"`
	CreatedAt    time.Time            `bun:"created_at,nullzero,default:now()"`
}

// CreateTemplateTest records a test send.
func (s *Store) CreateTemplateTest(ctx context.Context, t *TemplateTest) error {
	_, err := s.DB.NewInsert().Model(t).Returning("created_at").Exec(ctx)
	return translate(err, "create template test")
}

// TemplateTestByID reads a recorded test send.
func (s *Store) TemplateTestByID(ctx context.Context, id string) (*TemplateTest, error) {
	t := new(TemplateTest)
	err := s.DB.NewSelect().Model(t).Where("id = ?", id).Scan(ctx)
	return t, translate(err, "template test")
}
