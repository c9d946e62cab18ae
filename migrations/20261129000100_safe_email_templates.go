package migrations

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// Admin-edited invitation templates stop being Go template code (which
// could put the acceptance link in any attribute, or loop without end)
// and become plain text in four parts with a closed set of placeholders
// (portal.EmailTemplate). Each stored template written the old way is
// converted when it only used fields, the usual "{{if .Name}}{{.Name}}
// {{else}}there{{end}}" and the link (which the layout now places), and
// reset to the default otherwise. Either way an email_template.migrated
// audit event records the outcome, why, and the old text, so an admin
// can write it again (README, "Invitation email template"). A template
// with HTML markup is reset too: its markup would show as text. Go, not SQL:
// the conversion is the portal's own template rule. The same file gives
// API keys the address a template's test send goes to, and the table of
// test sends.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := execAll(ctx, tx, safeTemplatesUp); err != nil {
				return err
			}
			return convertTemplates(ctx, tx)
		})
	}, func(ctx context.Context, db *bun.DB) error {
		// The old code reads only subject and body: converted templates
		// can't go back, so every help center returns to the default.
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return execAll(ctx, tx, safeTemplatesDown)
		})
	})
}

var safeTemplatesUp = []string{
	`ALTER TABLE api_keys ADD COLUMN email text`,
	// A template's test send: the workflow that sends it carries this
	// row's ID, never the address.
	`CREATE TABLE email_template_tests (
		id              uuid PRIMARY KEY,
		help_center_id  bigint NOT NULL REFERENCES help_centers (id) ON DELETE CASCADE,
		api_key_id      bigint NOT NULL REFERENCES api_keys (id),
		recipient       text NOT NULL,
		template        jsonb NOT NULL,
		created_at      timestamptz NOT NULL DEFAULT now()
	)`,
}

var safeTemplatesDown = []string{
	`DROP TABLE email_template_tests`,
	`ALTER TABLE api_keys DROP COLUMN email`,
	`UPDATE help_centers SET email_template = NULL WHERE email_template ? 'paragraphs'`,
}

// legacyTemplate is a template as stored before this migration.
type legacyTemplate struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

func convertTemplates(ctx context.Context, tx bun.Tx) error {
	var rows []struct {
		ID       int64           `bun:"id"`
		Template json.RawMessage `bun:"email_template"`
	}
	if err := tx.NewRaw(`SELECT id, email_template FROM help_centers
		WHERE email_template IS NOT NULL AND NOT email_template ? 'paragraphs' ORDER BY id FOR UPDATE`).Scan(ctx, &rows); err != nil {
		return fmt.Errorf("read templates: %w", err)
	}
	for _, r := range rows {
		var old legacyTemplate
		details := map[string]any{"legacy": json.RawMessage(r.Template)}
		var converted *portal.EmailTemplate
		if err := json.Unmarshal(r.Template, &old); err != nil {
			details["outcome"], details["reason"] = "reset", "the stored template is not {subject, body}"
		} else if t, reason := convertLegacy(old); reason != "" {
			details["outcome"], details["reason"] = "reset", reason
		} else {
			details["outcome"], converted = "converted", &t
		}
		var value any // NULL: the default template
		if converted != nil {
			b, err := json.Marshal(converted)
			if err != nil {
				return err
			}
			value = string(b)
		}
		if _, err := tx.NewRaw(`UPDATE help_centers SET email_template = ?::jsonb WHERE id = ?`, value, r.ID).Exec(ctx); err != nil {
			return fmt.Errorf("store converted template of help center %d: %w", r.ID, err)
		}
		d, err := json.Marshal(details)
		if err != nil {
			return err
		}
		if _, err := tx.NewRaw(`INSERT INTO audit_events (actor, action, target, help_center_id, details) VALUES (?, ?, ?, ?, ?::jsonb)`,
			portal.ActorSystem, portal.AuditTemplateMigrated, portal.Target("help_center", r.ID), r.ID, string(d)).Exec(ctx); err != nil {
			return fmt.Errorf("record migration of help center %d: %w", r.ID, err)
		}
	}
	return nil
}

var (
	// nameOrThere is the old default's greeting, which {{name}} now is.
	nameOrThere = regexp.MustCompile(`\{\{-?\s*if\s+\.Name\s*-?\}\}\s*\{\{-?\s*\.Name\s*-?\}\}\s*\{\{-?\s*else\s*-?\}\}\s*there\s*\{\{-?\s*end\s*-?\}\}`)
	// oldField is a plain field reference, {{.Name}} or {{ .Name }}.
	oldField = regexp.MustCompile(`\{\{-?\s*\.(\w+)\s*-?\}\}`)
	// htmlTag: the old body was also the HTML part, so an admin could
	// write markup; plain text would show it as text.
	htmlTag = regexp.MustCompile(`<[a-zA-Z/!]`)
	// blankLines separates paragraphs.
	blankLines = regexp.MustCompile(`\n[ \t]*\n\s*`)
)

// oldFields maps the old template fields to placeholders; "" drops the
// field, since the layout puts the link in the button and the text part.
var oldFields = map[string]string{
	"HelpCenter": "{{help_center}}", "Name": "{{name}}", "Email": "{{email}}", "ExpiresAt": "{{expires_at}}", "Link": "",
}

// convertLegacy turns an old template into the new form, or answers why
// it can't.
func convertLegacy(old legacyTemplate) (portal.EmailTemplate, string) {
	if htmlTag.MatchString(old.Subject) || htmlTag.MatchString(old.Body) {
		return portal.EmailTemplate{}, "it holds HTML markup; a template is plain text now"
	}
	var unknown string
	convert := func(s string) string {
		s = nameOrThere.ReplaceAllString(s, "{{.Name}}")
		return oldField.ReplaceAllStringFunc(s, func(m string) string {
			field := oldField.FindStringSubmatch(m)[1]
			p, ok := oldFields[field]
			if !ok && unknown == "" {
				unknown = "it uses ." + field + ", which has no placeholder"
			}
			return p
		})
	}
	t := portal.EmailTemplate{Subject: strings.Join(strings.Fields(convert(old.Subject)), " "), ButtonLabel: "Accept invitation"}
	t.Heading = t.Subject
	body := strings.ReplaceAll(convert(old.Body), "\r\n", "\n")
	for _, p := range blankLines.Split(body, -1) {
		// A paragraph that only led to the link ("open this link:")
		// keeps its words; the layout adds the link below.
		if p = strings.TrimSpace(p); p != "" {
			t.Paragraphs = append(t.Paragraphs, p)
		}
	}
	if unknown != "" {
		return portal.EmailTemplate{}, unknown
	}
	// Whatever template code is left (conditions, loops, functions) is
	// an unknown placeholder here.
	if err := t.Validate(); err != nil {
		return portal.EmailTemplate{}, "it does not fit the new form: " + err.Error()
	}
	return t, ""
}
