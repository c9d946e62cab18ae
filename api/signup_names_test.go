package api_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// formInput returns the attributes of the form field with id, from a page.
func formInput(t *testing.T, page response, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<input id="` + id + `"[^>]*>`).Find(page.Body)
	if m == nil {
		t.Fatalf("no field %s in %s", id, page.Body)
	}
	return string(m)
}

func inputValue(t *testing.T, page response, id string) string {
	t.Helper()
	m := regexp.MustCompile(`value="([^"]*)"`).FindStringSubmatch(formInput(t, page, id))
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestSignupRefusesNamesNotFitForAnEmail sends names with links, control
// characters or too many characters: each is refused with a 422 that keeps
// what was typed, marks the name field invalid and describes why, and
// nothing is recorded or sent.
func TestSignupRefusesNamesNotFitForAnEmail(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	for _, name := range []string{
		"Claim your prize at https://evil.example",
		"cheap-pills.com",
		"www.example",
		"Ada\nLovelace",
		"Ada\u202eecalevoL",
		strings.Repeat("Ada ", 60),
		"   ",
	} {
		email := unique("name") + "@Example.com"
		r := signUp(t, slug, name, email, "correct-horse-1")
		if r.Status != 422 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("name %q: %d %s", name, r.Status, r.Header.Get("Content-Type"))
			continue
		}
		if got := inputValue(t, r, "name"); got != strings.TrimSpace(name) {
			t.Errorf("name %q: the form shows %q", name, got)
		}
		if got := inputValue(t, r, "email"); got != email {
			t.Errorf("name %q: the form lost the email typed: %q", name, got)
		}
		field := formInput(t, r, "name")
		if !strings.Contains(field, `aria-invalid="true"`) || !strings.Contains(field, `aria-describedby="name-error"`) {
			t.Errorf("name %q: the name field is not marked invalid: %s", name, field)
		}
		if f := formInput(t, r, "email"); strings.Contains(f, "aria-invalid") {
			t.Errorf("name %q: the email field is marked invalid: %s", name, f)
		}
		if !regexp.MustCompile(`id="name-error"><span class="visually-hidden">Error: </span>Please give your name`).Match(r.Body) {
			t.Errorf("name %q: no explanation tied to the field: %s", name, r.Body)
		}
		if items := admin(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(strings.ToLower(email)), nil, 200)["items"].([]any); len(items) != 0 {
			t.Errorf("name %q: a contact was recorded: %v", name, items)
		}
		if mail := outbox(t, email); len(mail) != 0 {
			t.Errorf("name %q: %d emails sent", name, len(mail))
		}
	}
}

// TestVerificationEmailEscapesTheName: a name that passes (no link, no
// control character) still carries markup characters; the HTML part
// escapes them and the text part has them as typed.
func TestVerificationEmailEscapesTheName(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	email := unique("esc") + "@example.com"
	name := `<b>Ada</b> & "Co"`
	if r := signUp(t, slug, name, email, "correct-horse-1"); r.Status != 200 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	m := waitForMail(t, email, "signup_verify", 1)[0]
	if strings.Contains(m.HTML, "<b>Ada</b>") || !strings.Contains(m.HTML, "&lt;b&gt;Ada&lt;/b&gt; &amp; ") {
		t.Fatalf("the HTML part does not escape the name: %s", m.HTML)
	}
	if !strings.Contains(m.Text, "Hello "+name+",") {
		t.Fatalf("the text part does not carry the name as typed: %s", m.Text)
	}
}
