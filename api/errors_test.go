package api_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestAPIRequiresAValidKey(t *testing.T) {
	r := call(t, "GET", "/api/v1/help-centers", "", nil)
	if r.Status != 401 || r.errorCode(t) != "unauthorized" || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no key: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", "/api/v1/help-centers", "not-a-key", nil); r.Status != 401 || r.errorCode(t) != "unauthorized" {
		t.Fatalf("bad key: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", "/api/v1/help-centers", app.AdminKey, nil); r.Status != 200 {
		t.Fatalf("admin key: %d", r.Status)
	}
}

func TestAgentsMayInviteButNotConfigure(t *testing.T) {
	created := admin(t, "POST", "/api/v1/api-keys", map[string]any{"name": "agent smith", "role": "agent"}, 201)
	agentKey := created["key"].(string)
	if r := call(t, "POST", "/api/v1/help-centers", agentKey, map[string]any{"slug": unique("x-"), "name": "X", "user_base": "unique"}); r.Status != 403 || r.errorCode(t) != "forbidden" {
		t.Fatalf("agent creating a help center: %d %s", r.Status, r.Body)
	}
	slug := newHelpCenter(t, "unique")
	if r := call(t, "PATCH", "/api/v1/help-centers/"+slug, agentKey, map[string]any{"name": "Y"}); r.Status != 403 {
		t.Fatalf("agent patching a help center: %d", r.Status)
	}
	if r := call(t, "POST", "/api/v1/api-keys", agentKey, map[string]any{"name": "n", "role": "admin"}); r.Status != 403 {
		t.Fatalf("agent issuing keys: %d", r.Status)
	}
	contact := newContact(t, unique("ag")+"@example.com", true)
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", agentKey, map[string]any{"contact_id": contact}); r.Status != 202 {
		t.Fatalf("agent inviting: %d %s", r.Status, r.Body)
	}
}

func TestBadInputGetsA4xxWithCodeAndMessage(t *testing.T) {
	slug := newHelpCenter(t, "common")
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"malformed JSON", "POST", "/api/v1/contacts", `{"email":`, 400, "malformed_json"},
		{"not an object", "POST", "/api/v1/contacts", `[1,2]`, 422, "invalid_field"},
		{"empty body", "POST", "/api/v1/contacts", ``, 400, "malformed_json"},
		{"two objects", "POST", "/api/v1/contacts", `{} {}`, 400, "malformed_json"},
		{"unknown field", "POST", "/api/v1/contacts", `{"emial":"a@b.c"}`, 422, "invalid_field"},
		{"oversized body", "POST", "/api/v1/contacts", big, 413, "body_too_large"},
		{"bad email", "POST", "/api/v1/contacts", map[string]any{"email": "not an email"}, 422, "invalid_field"},
		{"display-name email", "POST", "/api/v1/contacts", map[string]any{"email": "Ada <ada@example.com>"}, 422, "invalid_field"},
		{"wrong type", "POST", "/api/v1/contacts", map[string]any{"verified": "yes"}, 422, "invalid_field"},
		{"bad slug", "POST", "/api/v1/help-centers", map[string]any{"slug": "Bad Slug!", "name": "n", "user_base": "common"}, 422, "invalid_field"},
		{"bad user base", "POST", "/api/v1/help-centers", map[string]any{"slug": unique("ub-"), "name": "n", "user_base": "shared"}, 422, "invalid_field"},
		{"taken slug", "POST", "/api/v1/help-centers", map[string]any{"slug": slug, "name": "n", "user_base": "common"}, 409, "help_center_exists"},
		{"unknown slug", "GET", "/api/v1/help-centers/nope-" + slug, nil, 404, "help_center_not_found"},
		{"unknown contact", "GET", "/api/v1/contacts/987654321", nil, 404, "contact_not_found"},
		{"non-numeric contact", "GET", "/api/v1/contacts/abc", nil, 404, "contact_not_found"},
		{"unknown invitation", "GET", "/api/v1/invitations/0d9c5a3e-8d54-4a57-9d6d-4e0f7a7c1b11", nil, 404, "invitation_not_found"},
		{"non-uuid invitation", "GET", "/api/v1/invitations/xyz", nil, 404, "invitation_not_found"},
		{"bad cursor", "GET", "/api/v1/contacts?cursor=!!!", nil, 400, "invalid_cursor"},
		{"bad bool filter", "GET", "/api/v1/contacts?verified=maybe", nil, 422, "invalid_field"},
		{"bad status filter", "GET", "/api/v1/help-centers/" + slug + "/invitations?status=lost", nil, 422, "invalid_field"},
		{"bad policy", "PATCH", "/api/v1/help-centers/" + slug, map[string]any{"invite_policy": map[string]any{"reminder_days": []int{6, 3}, "link_lifetime_hours": 168, "auto_reinvites": 1}}, 422, "invalid_field"},
		{"reminder after expiry", "PATCH", "/api/v1/help-centers/" + slug, map[string]any{"invite_policy": map[string]any{"reminder_days": []int{8}, "link_lifetime_hours": 168, "auto_reinvites": 1}}, 422, "invalid_field"},
		{"template in the old form", "PATCH", "/api/v1/help-centers/" + slug, map[string]any{"email_template": map[string]any{"subject": "s", "body": "{{.Link}}"}}, 422, "invalid_field"},
		{"template with an unclosed placeholder", "PATCH", "/api/v1/help-centers/" + slug, map[string]any{"email_template": map[string]any{"subject": "s", "heading": "h", "paragraphs": []string{"{{name"}, "button_label": "b"}}, 422, "invalid_field"},
		{"template with an unknown placeholder", "PATCH", "/api/v1/help-centers/" + slug, map[string]any{"email_template": map[string]any{"subject": "s", "heading": "h", "paragraphs": []string{"{{link}}"}, "button_label": "b"}}, 422, "unknown_placeholder"},
		{"NUL in text", "POST", "/api/v1/contacts", `{"name":"a\u0000b"}`, 422, "invalid_text"},
		{"NUL in a query", "GET", "/api/v1/contacts?q=%00", nil, 400, "invalid_text"},
		{"cursor with a bad id", "GET", "/api/v1/help-centers/" + slug + "/invitations?cursor=" + badTimeCursor, nil, 400, "invalid_cursor"},
		{"cursor with a URN id", "GET", "/api/v1/help-centers/" + slug + "/invitations?cursor=" + cursorOf("2026-01-01T00:00:00Z|urn:uuid:0d9c5a3e-8d54-4a57-9d6d-4e0f7a7c1b11"), nil, 400, "invalid_cursor"},
		{"cursor in year 0", "GET", "/api/v1/help-centers/" + slug + "/invitations?cursor=" + cursorOf("0000-01-01T00:00:00Z|0d9c5a3e-8d54-4a57-9d6d-4e0f7a7c1b11"), nil, 400, "invalid_cursor"},
		{"escaped backslash is not NUL", "POST", "/api/v1/contacts", `{"name":"a\\u0000b"}`, 201, ""},
		{"overflowing reminder", "PATCH", "/api/v1/help-centers/" + slug, map[string]any{"invite_policy": map[string]any{"reminder_days": []int64{768614336404564651}, "link_lifetime_hours": 168, "auto_reinvites": 1}}, 422, "invalid_field"},
		{"unknown route", "GET", "/api/v1/nothing-here", nil, 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/contacts", nil, 405, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, c.path, app.AdminKey, c.body)
			if c.code == "" {
				if r.Status != c.status {
					t.Fatalf("%d %s, want %d", r.Status, r.Body, c.status)
				}
				return
			}
			if r.Status != c.status || r.errorCode(t) != c.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
		})
	}
}

// badTimeCursor is a well-formed time cursor whose id is not a UUID.
var badTimeCursor = cursorOf("2026-01-01T00:00:00Z|not-a-uuid")

func cursorOf(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestDuplicateEmailIsACaseInsensitiveConflict(t *testing.T) {
	email := unique("dup") + "@example.com"
	newContact(t, email, true)
	r := call(t, "POST", "/api/v1/contacts", app.AdminKey, map[string]any{"email": strings.ToUpper(email)})
	if r.Status != 409 || r.errorCode(t) != "contact_exists" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestHelpCenterSettingsRoundTrip(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	got := admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{
		"invite_policy":  map[string]any{"reminder_days": []int{2}, "link_lifetime_hours": 72, "auto_reinvites": 0},
		"email_template": map[string]any{"subject": "Join {{help_center}}", "heading": "Hi {{name}}", "paragraphs": []string{"Welcome."}, "button_label": "Join"},
	}, 200)
	if got["custom_email_template"] != true || got["invite_policy"].(map[string]any)["link_lifetime_hours"].(float64) != 72 {
		t.Fatalf("%v", got)
	}
	got = admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"email_template": nil}, 200)
	if got["custom_email_template"] != false {
		t.Fatalf("template not reset: %v", got)
	}
}

func TestContactSearchPaginates(t *testing.T) {
	tag := unique("page")
	for i := 0; i < 5; i++ {
		newContact(t, tag+"-"+string(rune('a'+i))+"@example.com", true)
	}
	seen := map[float64]bool{}
	cursor := ""
	pages := 0
	for {
		page := admin(t, "GET", "/api/v1/contacts?limit=2&q="+tag+"&cursor="+cursor, nil, 200)
		pages++
		for _, it := range page["items"].([]any) {
			id := it.(map[string]any)["id"].(float64)
			if seen[id] {
				t.Fatalf("contact %v on two pages", id)
			}
			seen[id] = true
		}
		cursor = page["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("%d contacts over %d pages", len(seen), pages)
	}
}

func TestPortalFormsRefuseCrossSitePosts(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	b := newBrowser(t)
	login := b.get(app.URL + "/portal/" + slug + "/login")
	// No CSRF token echoed: refused.
	resp, err := postForm(t, b.client, app.URL+"/portal/"+slug+"/login", url.Values{"email": {"a@b.c"}, "password": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("post without csrf token: %d", resp.StatusCode)
	}
	_ = login
}

func TestHealthAndReadiness(t *testing.T) {
	if r := call(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	r := call(t, "GET", "/readyz", "", nil)
	if r.Status != 200 || r.json(t)["checks"].(map[string]any)["temporal"] != "ok" {
		t.Fatalf("readyz %d %s", r.Status, r.Body)
	}
}
