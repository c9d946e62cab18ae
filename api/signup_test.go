package api_test

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var verifyLink = regexp.MustCompile(`https?://\S+/signup/verify\?token=[A-Za-z0-9_-]+`)

func setSignup(t *testing.T, slug string, on, approval bool) {
	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"self_signup": on, "signup_requires_approval": approval}, 200)
}

// signUp fills the sign-up form and returns the page it answers with.
func signUp(t *testing.T, slug, name, email, password string) response {
	b := newBrowser(t)
	form := b.get(app.URL + "/portal/" + slug + "/signup")
	if form.Status != 200 {
		t.Fatalf("sign-up page: %d", form.Status)
	}
	return b.post("/portal/"+slug+"/signup", form, url.Values{"name": {name}, "email": {email}, "password": {password}, "password_confirm": {password}})
}

// verify opens the verification link and confirms with the password; it
// returns the browser (logged in when the account became active) and the
// answer.
func verify(t *testing.T, email, password string) (*browser, response) {
	t.Helper()
	m := waitForMail(t, email, "signup_verify", 1)[0]
	link := verifyLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("no verification link in %q", m.Text)
	}
	b := newBrowser(t)
	page := b.get(link)
	if page.Status != 200 || !strings.Contains(string(page.Body), "Confirm") {
		t.Fatalf("verify page: %d %s", page.Status, page.Body)
	}
	// Opening the link changed nothing: it still shows the form.
	if again := b.get(link); again.Status != 200 {
		t.Fatalf("verify page twice: %d", again.Status)
	}
	u, _ := url.Parse(link)
	return b, b.post(u.Path, page, url.Values{"token": {u.Query().Get("token")}, "password": {password}})
}

func login(t *testing.T, slug, email, password string) int {
	b := newBrowser(t)
	page := b.get(app.URL + "/portal/" + slug + "/login")
	return b.post("/portal/"+slug+"/login", page, url.Values{"email": {email}, "password": {password}}).Status
}

func userID(t *testing.T, slug, email, status string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		users := admin(t, "GET", "/api/v1/help-centers/"+slug+"/users?status="+status, nil, 200)
		for _, it := range users["items"].([]any) {
			u := it.(map[string]any)
			if strings.EqualFold(u["email"].(string), email) {
				return jsonID(u["id"])
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not a %s user of %s: %v", email, status, slug, users)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jsonID(v any) string { return strconv.FormatInt(int64(v.(float64)), 10) }

func TestSignupClosedSaysSoAndCreatesNothing(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	b := newBrowser(t)
	if r := b.get(app.URL + "/portal/" + slug + "/signup"); r.Status != 403 || !strings.Contains(string(r.Body), "closed") {
		t.Fatalf("closed sign-up page: %d", r.Status)
	}
	email := unique("closed") + "@example.com"
	resp, err := postForm(t, b.client, app.URL+"/portal/"+slug+"/signup", url.Values{"name": {"X"}, "email": {email},
		"password": {"correct-horse-1"}, "password_confirm": {"correct-horse-1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("closed sign-up post: %d", resp.StatusCode)
	}
	if r := call(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(email), app.AdminKey, nil); len(r.json(t)["items"].([]any)) != 0 {
		t.Fatal("a closed sign-up created a contact")
	}
}

func TestSignupWithoutApprovalActivatesOnVerification(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	email := unique("self") + "@example.com"
	if r := signUp(t, slug, "Sam Self", email, "correct-horse-1"); r.Status != 200 || !strings.Contains(string(r.Body), "Check your email") {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	// Not active before the link is used.
	if code := login(t, slug, email, "correct-horse-1"); code != 401 {
		t.Fatalf("login before verification: %d", code)
	}
	// Someone with the link but not the password can't confirm.
	if _, r := verify(t, email, "attacker-password"); r.Status != 401 {
		t.Fatalf("verify with the wrong password: %d", r.Status)
	}
	b, r := verify(t, email, "correct-horse-1")
	if r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	if home := b.get(app.URL + "/portal/" + slug + "/home"); !strings.Contains(string(home.Body), "Sam Self") {
		t.Fatalf("home after verification: %d", home.Status)
	}
	if code := login(t, slug, email, "correct-horse-1"); code != 303 {
		t.Fatalf("login after verification: %d", code)
	}
	contacts := admin(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(email), nil, 200)["items"].([]any)
	if len(contacts) != 1 || contacts[0].(map[string]any)["verified"] != true {
		t.Fatalf("contact after verification: %v", contacts)
	}
}

func TestSignupWithApprovalWaitsForAnAdmin(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, true)
	email := unique("wait") + "@example.com"
	signUp(t, slug, "Wanda Wait", email, "correct-horse-1")
	_, r := verify(t, email, "correct-horse-1")
	if r.Status != 200 || !strings.Contains(string(r.Body), "approval") {
		t.Fatalf("verify with approval: %d %s", r.Status, r.Body)
	}
	id := userID(t, slug, email, "pending_approval")
	if code := login(t, slug, email, "correct-horse-1"); code != 401 {
		t.Fatalf("login while pending approval: %d", code)
	}
	// An invitation can't get round the admin's decision.
	contactID := admin(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(email), nil, 200)["items"].([]any)[0].(map[string]any)["id"]
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", app.AdminKey, map[string]any{"contact_id": contactID}); r.Status != 422 || r.errorCode(t) != "pending_approval" {
		t.Fatalf("inviting a sign-up waiting for approval: %d %s", r.Status, r.Body)
	}
	agent := admin(t, "POST", "/api/v1/api-keys", map[string]any{"name": "agent", "role": "agent"}, 201)["key"].(string)
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+id+"/approve", agent, nil); r.Status != 403 {
		t.Fatalf("agent approving: %d", r.Status)
	}
	if u := admin(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+id+"/approve", nil, 200); u["status"] != "active" {
		t.Fatalf("approve answered %v, want the active user", u)
	}
	userID(t, slug, email, "active")
	waitForMail(t, email, "signup_approved", 1)
	if code := login(t, slug, email, "correct-horse-1"); code != 303 {
		t.Fatalf("login after approval: %d", code)
	}
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+id+"/approve", app.AdminKey, nil); r.Status != 409 || r.errorCode(t) != "not_waiting" {
		t.Fatalf("approving twice: %d %s", r.Status, r.Body)
	}
}

func TestRejectedSignupGetsAnEmailAndNoAccess(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, true)
	email := unique("rej") + "@example.com"
	signUp(t, slug, "Rex Reject", email, "correct-horse-1")
	verify(t, email, "correct-horse-1")
	id := userID(t, slug, email, "pending_approval")
	if u := admin(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+id+"/reject", nil, 200); u["status"] != "rejected" {
		t.Fatalf("reject answered %v, want the rejected user", u)
	}
	waitForMail(t, email, "signup_rejected", 1)
	userID(t, slug, email, "rejected")
	if code := login(t, slug, email, "correct-horse-1"); code != 401 {
		t.Fatalf("login after rejection: %d", code)
	}
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+id+"/approve", app.AdminKey, nil); r.Status != 409 {
		t.Fatalf("approving a rejected sign-up: %d", r.Status)
	}
}

func TestSignupForAnExistingAccountAnswersTheSameAndEmailsInstead(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	email := unique("exists") + "@example.com"
	signUp(t, slug, "Eve Exists", email, "correct-horse-1")
	verify(t, email, "correct-horse-1")
	fresh := signUp(t, slug, "Someone", unique("new")+"@example.com", "correct-horse-2")
	again := signUp(t, slug, "Someone", email, "other-password-2")
	strip := func(r response) string {
		return regexp.MustCompile(`[\w.+-]+@example\.com`).ReplaceAllString(string(r.Body), "")
	}
	if again.Status != fresh.Status || strip(again) != strip(fresh) {
		t.Fatalf("an existing address got a different answer:\n%s\nvs\n%s", again.Body, fresh.Body)
	}
	waitForMail(t, email, "account_exists", 1)
	if n := len(waitForMail(t, email, "signup_verify", 1)); n != 1 {
		t.Fatalf("%d verification emails for an existing account", n)
	}
	// The old password still works; the one typed at the second sign-up
	// does not.
	if code := login(t, slug, email, "correct-horse-1"); code != 303 {
		t.Fatalf("login with the account's password: %d", code)
	}
	if code := login(t, slug, email, "other-password-2"); code != 401 {
		t.Fatalf("login with the second sign-up's password: %d", code)
	}
}

func TestSignupAnswerStatesTheHelpCentersLinkLifetime(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"invite_policy": map[string]any{
		"reminder_days": []int{1}, "link_lifetime_hours": 48, "auto_reinvites": 0}}, 200)
	r := signUp(t, slug, "Lia Life", unique("lifetime")+"@example.com", "correct-horse-1")
	if r.Status != 200 || !strings.Contains(string(r.Body), "The link is valid for 2 days.") {
		t.Fatalf("sign-up answer: %d %s", r.Status, r.Body)
	}
}
