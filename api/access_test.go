package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/workflows"
)

// Tests of who may log in where: common and unique user bases, and an
// admin deactivating, reactivating and editing portal users.

// quietPeriod is how long a test waits before asserting that an email was
// NOT sent; the asynchronous emails of these tests arrive well within it.
const quietPeriod = 1500 * time.Millisecond

func inviteContact(t *testing.T, slug string, contact int64) map[string]any {
	t.Helper()
	return admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
}

// inviteLinkTo waits for an invitation email to email for the help center
// and returns its link and token.
func inviteLinkTo(t *testing.T, email, slug string) (string, string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, m := range outbox(t, email) {
			if m.Kind != "invite" {
				continue
			}
			if link, token := linkIn(t, m); strings.HasPrefix(link, app.URL+"/portal/"+slug+"/") {
				return link, token
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invitation email to %s for %s after 20s", email, slug)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// acceptWith opens the help center's invitation link emailed to email and
// sets password; it returns the browser, logged in.
func acceptWith(t *testing.T, email, slug, password string) *browser {
	t.Helper()
	link, token := inviteLinkTo(t, email, slug)
	b := newBrowser(t)
	page := b.get(link)
	if page.Status != 200 {
		t.Fatalf("accept page of %s: %d %s", slug, page.Status, page.Body)
	}
	r := b.post("/portal/"+slug+"/invitations/accept", page, url.Values{
		"token": {token}, "password": {password}, "password_confirm": {password}})
	if r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("accept %s: %d %v %s", slug, r.Status, r.Header, r.Body)
	}
	return b
}

// portalLogIn submits the login form of a help center from a fresh browser.
func portalLogIn(t *testing.T, slug, email, password string) (*browser, response) {
	t.Helper()
	b := newBrowser(t)
	page := b.get(app.URL + "/portal/" + slug + "/login")
	if page.Status != 200 {
		t.Fatalf("login page of %s: %d", slug, page.Status)
	}
	return b, b.post("/portal/"+slug+"/login", page, url.Values{"email": {email}, "password": {password}})
}

// mustLogIn requires the login to succeed and returns the browser.
func mustLogIn(t *testing.T, slug, email, password string) *browser {
	t.Helper()
	b, r := portalLogIn(t, slug, email, password)
	if r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("login to %s as %s: %d %v", slug, email, r.Status, r.Header.Get("Location"))
	}
	return b
}

// mustNotLogIn requires the login to be refused.
func mustNotLogIn(t *testing.T, slug, email, password, why string) {
	t.Helper()
	if _, r := portalLogIn(t, slug, email, password); r.Status != 401 {
		t.Fatalf("%s: login to %s answered %d %v, want 401", why, slug, r.Status, r.Header.Get("Location"))
	}
}

// homeRedirectsToLogin requires the browser's session for the help center
// to be gone.
func homeRedirectsToLogin(t *testing.T, b *browser, slug, why string) {
	t.Helper()
	r := b.get(app.URL + "/portal/" + slug + "/home")
	if r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/login" {
		t.Fatalf("%s: home answered %d %q, want 303 to the login page", why, r.Status, r.Header.Get("Location"))
	}
}

// portalUserByEmail returns the help center's user with this email, or
// nil.
func portalUserByEmail(t *testing.T, slug, email string) map[string]any {
	t.Helper()
	users := admin(t, "GET", "/api/v1/help-centers/"+slug+"/users", nil, 200)
	for _, it := range users["items"].([]any) {
		if u := it.(map[string]any); strings.EqualFold(u["email"].(string), email) {
			return u
		}
	}
	return nil
}

// waitForUser waits until the help center lists email with status and
// returns the user.
func waitForUser(t *testing.T, slug, email, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		u := portalUserByEmail(t, slug, email)
		if u != nil && u["status"] == status {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in the users of %s: %v after 20s, want status %s", email, slug, u, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireUserStatus checks the users list at once, with no waiting.
func requireUserStatus(t *testing.T, slug, email, status string) {
	t.Helper()
	if u := portalUserByEmail(t, slug, email); u == nil || u["status"] != status {
		t.Fatalf("%s in the users of %s: %v, want status %s", email, slug, u, status)
	}
}

func waitInvitationStatus(t *testing.T, id, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		inv := admin(t, "GET", "/api/v1/invitations/"+id, nil, 200)
		if inv["status"] == status {
			return inv
		}
		if time.Now().After(deadline) {
			t.Fatalf("invitation %s is %v after 20s, want %s", id, inv["status"], status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mailsOfKind counts the emails of kind in email's outbox.
func mailsOfKind(t *testing.T, email, kind string) int {
	t.Helper()
	n := 0
	for _, m := range outbox(t, email) {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

func userPath(slug string, id any) string {
	return fmt.Sprintf("/api/v1/help-centers/%s/users/%v", slug, id)
}

// setAccess deactivates or reactivates one user and checks the answer.
func setAccess(t *testing.T, slug string, id any, action, wantStatus string, wantChanged bool) {
	t.Helper()
	got := admin(t, "POST", userPath(slug, id)+"/"+action, nil, 200)
	if got["id"] != id || got["status"] != wantStatus || got["changed"] != wantChanged {
		t.Fatalf("%s user %v: %v, want id %v, status %s, changed %v", action, id, got, id, wantStatus, wantChanged)
	}
}

func TestCommonUserBaseGrantsAccessToAnExistingAccountWithoutANewLink(t *testing.T) {
	a, b := newHelpCenter(t, "common"), newHelpCenter(t, "common")
	email := unique("cora") + "@example.com"
	contact := newContact(t, email, true)
	const password = "common-horse-battery"

	inviteContact(t, a, contact)
	acceptWith(t, email, a, password)
	inA := waitForUser(t, a, email, "active")

	inv := inviteContact(t, b, contact)
	granted := waitInvitationStatus(t, inv["id"].(string), "accepted")
	if granted["send_count"].(float64) != 0 {
		t.Fatalf("the invitation to %s sent %v links, want none: %v", b, granted["send_count"], granted)
	}
	notice := waitForMail(t, email, "access_granted", 1)[0]
	if !strings.Contains(notice.Subject, "Help "+b) || !strings.Contains(notice.Text, app.URL+"/portal/"+b+"/home") {
		t.Fatalf("access notice does not point to %s: %+v", b, notice)
	}
	if linkPattern.MatchString(notice.Text) {
		t.Fatalf("access notice carries an acceptance link: %q", notice.Text)
	}
	inB := waitForUser(t, b, email, "active")
	if inB["id"] != inA["id"] {
		t.Fatalf("a common user base made a second account: %v in %s, %v in %s", inA["id"], a, inB["id"], b)
	}

	// The existing password logs in to B at once; nothing else does.
	home := mustLogIn(t, b, email, password).get(app.URL + "/portal/" + b + "/home")
	if home.Status != 200 || !strings.Contains(string(home.Body), "Ada Lovelace") {
		t.Fatalf("home of %s: %d", b, home.Status)
	}
	mustNotLogIn(t, b, email, "some-other-password", "wrong password")
	mustLogIn(t, a, email, password)

	// No second invitation email, for B or anywhere.
	time.Sleep(quietPeriod)
	if n := mailsOfKind(t, email, "invite"); n != 1 {
		t.Fatalf("%d invitation emails, want only the one for %s", n, a)
	}
	if n := mailsOfKind(t, email, "access_granted"); n != 1 {
		t.Fatalf("%d access notices, want 1", n)
	}
}

func TestUniqueUserBaseKeepsAPasswordPerHelpCenter(t *testing.T) {
	c, d := newHelpCenter(t, "unique"), newHelpCenter(t, "unique")
	email := unique("ulla") + "@example.com"
	contact := newContact(t, email, true)
	const passwordC, passwordD = "password-for-c-1", "password-for-d-1"

	inviteContact(t, c, contact)
	acceptWith(t, email, c, passwordC)
	inC := waitForUser(t, c, email, "active")
	mustNotLogIn(t, d, email, passwordC, "C's credentials before any invitation to D")

	// An invitation to D sends a link of its own and grants nothing.
	inv := inviteContact(t, d, contact)
	inviteLinkTo(t, email, d)
	inD := waitForUser(t, d, email, "invited")
	if inD["id"] == inC["id"] {
		t.Fatalf("a unique user base shares account %v between %s and %s", inC["id"], c, d)
	}
	if got := admin(t, "GET", "/api/v1/invitations/"+inv["id"].(string), nil, 200); got["status"] != "pending" {
		t.Fatalf("invitation to %s: %v, want pending", d, got)
	}
	mustNotLogIn(t, d, email, passwordC, "C's credentials while merely invited to D")

	acceptWith(t, email, d, passwordD)
	waitForUser(t, d, email, "active")
	mustLogIn(t, c, email, passwordC)
	mustLogIn(t, d, email, passwordD)
	mustNotLogIn(t, d, email, passwordC, "C's password in D")
	mustNotLogIn(t, c, email, passwordD, "D's password in C")
	if n := mailsOfKind(t, email, "access_granted"); n != 0 {
		t.Fatalf("%d access notices in a unique user base, want none", n)
	}
}

func TestDeactivationEndsSessionsAtOnceAndReactivationRestoresAccess(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("dora") + "@example.com"
	contact := newContact(t, email, true)
	const password = "deactivate-me-1"
	inviteContact(t, slug, contact)
	accepted := acceptWith(t, email, slug, password)
	other := mustLogIn(t, slug, email, password)
	for _, b := range []*browser{accepted, other} {
		if r := b.get(app.URL + "/portal/" + slug + "/home"); r.Status != 200 {
			t.Fatalf("home before deactivation: %d", r.Status)
		}
	}
	id := waitForUser(t, slug, email, "active")["id"]

	setAccess(t, slug, id, "deactivate", "deactivated", true)
	// Checked as soon as the call returns: every session is already dead.
	homeRedirectsToLogin(t, accepted, slug, "session from the accept, after deactivation")
	homeRedirectsToLogin(t, other, slug, "session from a login, after deactivation")
	mustNotLogIn(t, slug, email, password, "deactivated user")
	requireUserStatus(t, slug, email, "deactivated")
	notice := waitForMail(t, email, "deactivated", 1)[0]
	if !strings.Contains(notice.Subject, "Help "+slug) {
		t.Fatalf("deactivation email does not name the help center: %+v", notice)
	}

	setAccess(t, slug, id, "deactivate", "deactivated", false)
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", app.AdminKey, map[string]any{"contact_id": contact}); r.Status != 422 || r.errorCode(t) != "deactivated" {
		t.Fatalf("inviting a deactivated user: %d %s", r.Status, r.Body)
	}

	setAccess(t, slug, id, "reactivate", "active", true)
	requireUserStatus(t, slug, email, "active")
	home := mustLogIn(t, slug, email, password).get(app.URL + "/portal/" + slug + "/home")
	if home.Status != 200 {
		t.Fatalf("home after reactivation: %d", home.Status)
	}
	// Sessions ended by the deactivation stay ended.
	homeRedirectsToLogin(t, accepted, slug, "old session after reactivation")
	notice = waitForMail(t, email, "reactivated", 1)[0]
	if !strings.Contains(notice.Subject, "Help "+slug) {
		t.Fatalf("reactivation email does not name the help center: %+v", notice)
	}

	setAccess(t, slug, id, "reactivate", "active", false)
	mustLogIn(t, slug, email, password)

	// The repeated calls sent nothing.
	time.Sleep(quietPeriod)
	if n := mailsOfKind(t, email, "deactivated"); n != 1 {
		t.Fatalf("%d deactivation emails, want 1", n)
	}
	if n := mailsOfKind(t, email, "reactivated"); n != 1 {
		t.Fatalf("%d reactivation emails, want 1", n)
	}
}

func TestDeactivatingAnInvitedUserRevokesTheInvitation(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("ivy") + "@example.com"
	contact := newContact(t, email, true)
	inv := inviteContact(t, slug, contact)
	link, token := inviteLinkTo(t, email, slug)
	id := waitForUser(t, slug, email, "invited")["id"]
	b := newBrowser(t)
	page := b.get(link)
	if page.Status != 200 {
		t.Fatalf("link before deactivation: %d", page.Status)
	}

	setAccess(t, slug, id, "deactivate", "deactivated", true)
	waitInvitationStatus(t, inv["id"].(string), "revoked")
	if r := newBrowser(t).get(link); r.Status != 410 || !strings.Contains(string(r.Body), "withdrawn") {
		t.Fatalf("link after deactivation: %d %s", r.Status, r.Body)
	}
	// A form opened before the deactivation can't accept either.
	r := b.post("/portal/"+slug+"/invitations/accept", page, url.Values{
		"token": {token}, "password": {"too-late-horse"}, "password_confirm": {"too-late-horse"}})
	if r.Status != 410 || !strings.Contains(string(r.Body), "withdrawn") {
		t.Fatalf("accept after deactivation: %d %s", r.Status, r.Body)
	}
	mustNotLogIn(t, slug, email, "too-late-horse", "deactivated before accepting")
	requireUserStatus(t, slug, email, "deactivated")
}

// A deactivation commits before its revoke reaches the invitation
// workflow; an accept submitted in that window must not undo it.
func TestAcceptRacingADeactivationLeavesTheUserDeactivated(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("rae") + "@example.com"
	contact := newContact(t, email, true)
	inv := inviteContact(t, slug, contact)
	link, token := inviteLinkTo(t, email, slug)
	id := waitForUser(t, slug, email, "invited")["id"].(float64)
	b := newBrowser(t)
	page := b.get(link)
	if page.Status != 200 {
		t.Fatalf("accept page: %d", page.Status)
	}

	// The deactivation's database step, without the revoke that follows it.
	ctx := context.Background()
	hc, err := app.Service.Store.HelpCenterBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	change, err := app.Service.Store.SetAccess(ctx, hc.ID, int64(id), "deactivate", "race-test")
	if err != nil || !change.Changed || change.PendingInvitation != workflows.InvitationWorkflowID(slug, contact) {
		t.Fatalf("deactivation: %+v %v", change, err)
	}
	const password = "racing-horse-1"
	r := b.post("/portal/"+slug+"/invitations/accept", page, url.Values{
		"token": {token}, "password": {password}, "password_confirm": {password}})
	if r.Status != 410 || !strings.Contains(string(r.Body), "withdrawn") {
		t.Fatalf("accept after the deactivation committed: %d %v %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	homeRedirectsToLogin(t, b, slug, "accept refused")
	requireUserStatus(t, slug, email, "deactivated")
	mustNotLogIn(t, slug, email, password, "accept racing a deactivation")
	if got := admin(t, "GET", "/api/v1/invitations/"+inv["id"].(string), nil, 200); got["status"] != "revoked" {
		t.Fatalf("invitation after the refused accept: %v", got)
	}

	// The revoke arrives late and finds nothing left to do.
	wfID := workflows.InvitationWorkflowID(slug, contact)
	if err := app.Service.Temporal.SignalWorkflow(ctx, wfID, "", workflows.RevokeSignal, nil); err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, app.Service.Temporal, wfID)
	requireUserStatus(t, slug, email, "deactivated")
	if n := mailsOfKind(t, email, "welcome"); n != 0 {
		t.Fatalf("%d welcome emails after a refused accept", n)
	}
}

func TestBulkDeactivateReportsUnknownIDsPerItem(t *testing.T) {
	slug, elsewhere := newHelpCenter(t, "unique"), newHelpCenter(t, "unique")
	const password = "bulk-horse-battery"
	var emails []string
	var ids []any
	for _, name := range []string{"bea", "bob"} {
		email := unique(name) + "@example.com"
		inviteContact(t, slug, newContact(t, email, true))
		acceptWith(t, email, slug, password)
		emails = append(emails, email)
		ids = append(ids, waitForUser(t, slug, email, "active")["id"])
	}
	// A user of another help center is unknown here.
	strangerEmail := unique("sam") + "@example.com"
	inviteContact(t, elsewhere, newContact(t, strangerEmail, true))
	stranger := waitForUser(t, elsewhere, strangerEmail, "invited")["id"]
	const unknown = float64(999999999)

	requested := []any{ids[0], unknown, ids[1], stranger}
	got := admin(t, "POST", "/api/v1/help-centers/"+slug+"/users/deactivate", map[string]any{"ids": requested}, 200)
	items := got["items"].([]any)
	if len(items) != len(requested) {
		t.Fatalf("%d results for %d ids: %v", len(items), len(requested), got)
	}
	for i, it := range items {
		item := it.(map[string]any)
		if item["id"] != requested[i] {
			t.Fatalf("result %d is for %v, want %v: %v", i, item["id"], requested[i], got)
		}
		if requested[i] == unknown || requested[i] == stranger {
			e, _ := item["error"].(map[string]any)
			if e == nil || e["code"] != "user_not_found" || e["message"] == "" {
				t.Fatalf("unknown id %v: %v", requested[i], item)
			}
			continue
		}
		if item["status"] != "deactivated" || item["changed"] != true || item["error"] != nil {
			t.Fatalf("id %v: %v", requested[i], item)
		}
	}
	for _, email := range emails {
		requireUserStatus(t, slug, email, "deactivated")
		mustNotLogIn(t, slug, email, password, "bulk-deactivated user")
		waitForMail(t, email, "deactivated", 1)
	}
	requireUserStatus(t, elsewhere, strangerEmail, "invited")

	got = admin(t, "POST", "/api/v1/help-centers/"+slug+"/users/reactivate", map[string]any{"ids": []any{ids[1], unknown}}, 200)
	items = got["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("bulk reactivate: %v", got)
	}
	if r := items[0].(map[string]any); r["id"] != ids[1] || r["status"] != "active" || r["changed"] != true {
		t.Fatalf("bulk reactivate of %v: %v", ids[1], r)
	}
	if e, _ := items[1].(map[string]any)["error"].(map[string]any); e == nil || e["code"] != "user_not_found" {
		t.Fatalf("bulk reactivate of an unknown id: %v", items[1])
	}
	mustLogIn(t, slug, emails[1], password)
	requireUserStatus(t, slug, emails[0], "deactivated")

	for _, body := range []any{map[string]any{"ids": []any{}}, map[string]any{}} {
		for _, action := range []string{"deactivate", "reactivate"} {
			r := call(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+action, app.AdminKey, body)
			if r.Status != 422 || r.errorCode(t) != "invalid_field" {
				t.Fatalf("bulk %s of %v: %d %s", action, body, r.Status, r.Body)
			}
		}
	}
}

func TestEditingAUserRenamesWithoutEmailingThem(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("ed") + "@example.com"
	inviteContact(t, slug, newContact(t, email, true))
	b := acceptWith(t, email, slug, "rename-horse-1")
	waitForMail(t, email, "welcome", 1)
	id := waitForUser(t, slug, email, "active")["id"]
	before := len(outbox(t, email))

	got := admin(t, "PATCH", userPath(slug, id), map[string]any{"name": "  Augusta King  "}, 200)
	if got["id"] != id || got["name"] != "Augusta King" || got["status"] != "active" {
		t.Fatalf("PATCH answered %v", got)
	}
	if u := portalUserByEmail(t, slug, email); u == nil || u["name"] != "Augusta King" {
		t.Fatalf("users list after rename: %v", u)
	}
	if home := b.get(app.URL + "/portal/" + slug + "/home"); home.Status != 200 || !strings.Contains(string(home.Body), "Augusta King") {
		t.Fatalf("home after rename: %d", home.Status)
	}
	if r := call(t, "PATCH", userPath(slug, id), app.AdminKey, map[string]any{"name": strings.Repeat("é", 201)}); r.Status != 422 || r.errorCode(t) != "invalid_field" {
		t.Fatalf("201-character name: %d %s", r.Status, r.Body)
	}
	if u := portalUserByEmail(t, slug, email); u["name"] != "Augusta King" {
		t.Fatalf("a refused rename changed the name: %v", u)
	}

	time.Sleep(quietPeriod)
	if after := outbox(t, email); len(after) != before {
		t.Fatalf("editing the user sent %d emails: %+v", len(after)-before, after[:len(after)-before])
	}
}

func TestUserRoutesAnswer404ForUnknownUsersAndHelpCenters(t *testing.T) {
	slug, elsewhere := newHelpCenter(t, "unique"), newHelpCenter(t, "unique")
	email := unique("nel") + "@example.com"
	inviteContact(t, elsewhere, newContact(t, email, true))
	stranger := waitForUser(t, elsewhere, email, "invited")["id"]
	missing := "no-such-" + unique("hc")

	for _, c := range []struct {
		method, path string
		body         any
		code         string
	}{
		{"POST", userPath(slug, 999999999) + "/deactivate", nil, "user_not_found"},
		{"POST", userPath(slug, 999999999) + "/reactivate", nil, "user_not_found"},
		{"PATCH", userPath(slug, 999999999), map[string]any{"name": "X"}, "user_not_found"},
		{"POST", userPath(slug, "abc") + "/deactivate", nil, "user_not_found"},
		{"POST", userPath(slug, stranger) + "/deactivate", nil, "user_not_found"},
		{"PATCH", userPath(slug, stranger), map[string]any{"name": "X"}, "user_not_found"},
		{"POST", userPath(missing, stranger) + "/deactivate", nil, "help_center_not_found"},
		{"POST", userPath(missing, stranger) + "/reactivate", nil, "help_center_not_found"},
		{"PATCH", userPath(missing, stranger), map[string]any{"name": "X"}, "help_center_not_found"},
		{"POST", "/api/v1/help-centers/" + missing + "/users/deactivate", map[string]any{"ids": []any{stranger}}, "help_center_not_found"},
		{"POST", "/api/v1/help-centers/" + missing + "/users/reactivate", map[string]any{"ids": []any{stranger}}, "help_center_not_found"},
		{"GET", "/api/v1/help-centers/" + missing + "/users", nil, "help_center_not_found"},
	} {
		if r := call(t, c.method, c.path, app.AdminKey, c.body); r.Status != 404 || r.errorCode(t) != c.code {
			t.Errorf("%s %s: %d %s, want 404 %s", c.method, c.path, r.Status, r.Body, c.code)
		}
	}
	// The other help center's user was not touched.
	if u := portalUserByEmail(t, elsewhere, email); u == nil || u["status"] != "invited" || u["name"] != "Ada Lovelace" {
		t.Fatalf("user of %s after the calls: %v", elsewhere, u)
	}
}
