package api_test

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/workflows"
)

// Tests of forgotten and changed passwords, over HTTP against the shared
// portal: the forgot-password form, the emailed link, the new password,
// and the change from the home page.

var resetLinkPattern = regexp.MustCompile(`https?://\S+/password/reset\?token=([A-Za-z0-9_-]+)`)

// activeUser invites a new contact to slug and accepts with password; it
// returns the address, the contact and the browser left logged in by the
// accept.
func activeUser(t *testing.T, slug, password string) (string, int64, *browser) {
	t.Helper()
	email := unique("pw") + "@example.com"
	contact := newContact(t, email, true)
	inviteContact(t, slug, contact)
	return email, contact, acceptWith(t, email, slug, password)
}

// askForReset submits the forgot-password form of slug for email from a
// fresh browser and returns the answer.
func askForReset(t *testing.T, slug, email string) response {
	t.Helper()
	b := newBrowser(t)
	form := b.get(app.URL + "/portal/" + slug + "/password/forgot")
	if form.Status != 200 || !strings.Contains(string(form.Body), `name="email"`) {
		t.Fatalf("forgot-password page of %s: %d %s", slug, form.Status, form.Body)
	}
	return b.post("/portal/"+slug+"/password/forgot", form, url.Values{"email": {email}})
}

// resetLinkTo waits for the n-th reset email to email and returns it with
// its link and token.
func resetLinkTo(t *testing.T, email string, n int) (outboxItem, string, string) {
	t.Helper()
	m := waitForMail(t, email, "password_reset", n)[0]
	match := resetLinkPattern.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no reset link in %q", m.Text)
	}
	return m, match[0], match[1]
}

// resetWith opens a reset link and sets password; it returns the browser
// and the answer.
func resetWith(t *testing.T, link, token, password, confirm string) (*browser, response) {
	t.Helper()
	b := newBrowser(t)
	page := b.get(link)
	if page.Status != 200 {
		t.Fatalf("reset page: %d %s", page.Status, page.Body)
	}
	u, _ := url.Parse(link)
	return b, b.post(u.Path, page, url.Values{"token": {token}, "password": {password}, "password_confirm": {confirm}})
}

// resetState asks the reset workflow of an address in a scope for its
// state, once it has handled at least requests requests.
func resetState(t *testing.T, scope, email string, requests int) workflows.PasswordResetState {
	t.Helper()
	id := workflows.PasswordResetWorkflowID(scope, app.Service.Tokens.AddressKey(scope, email))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st workflows.PasswordResetState
		v, err := app.Service.Temporal.QueryWorkflow(context.Background(), id, "", workflows.StatusQuery)
		if err == nil {
			err = v.Get(&st)
		}
		if err == nil && st.Requests >= requests && st.Requests == st.EmailsSent+st.Throttled+st.NoLink {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("reset of %s in %s: %+v %v after 20s, want %d requests handled", email, scope, st, err, requests)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func helpCenterScope(t *testing.T, slug string) string {
	t.Helper()
	var scope string
	if err := app.Service.Store.DB.NewRaw(`SELECT CASE WHEN user_base = 'common' THEN 'common' ELSE 'help_center:' || id END
		FROM help_centers WHERE slug = ?`, slug).Scan(context.Background(), &scope); err != nil {
		t.Fatal(err)
	}
	return scope
}

var csrfValue = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)

func TestForgotPasswordEmailsALinkThatSetsANewPasswordAndLogsIn(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email, _, accepted := activeUser(t, slug, "old-horse-battery")
	other := mustLogIn(t, slug, email, "old-horse-battery")

	login := newBrowser(t).get(app.URL + "/portal/" + slug + "/login")
	if !strings.Contains(string(login.Body), `<a href="/portal/`+slug+`/password/forgot">Forgot your password?</a>`) {
		t.Fatalf("the login page has no link to the reset: %s", login.Body)
	}
	if r := askForReset(t, slug, email); r.Status != 200 || !strings.Contains(string(r.Body), "Check your email") {
		t.Fatalf("forgot password: %d %s", r.Status, r.Body)
	}
	m, link, token := resetLinkTo(t, email, 1)
	if !strings.Contains(m.Subject, "Help "+slug) || !strings.Contains(m.Text, "for 1 hour, until ") ||
		!strings.HasPrefix(link, app.URL+"/portal/"+slug+"/password/reset?token=") {
		t.Fatalf("reset email: %+v", m)
	}

	// Opening the link changes nothing: mail scanners do it too.
	b := newBrowser(t)
	for range 2 {
		if page := b.get(link); page.Status != 200 || !strings.Contains(string(page.Body), email) {
			t.Fatalf("reset page: %d %s", page.Status, page.Body)
		}
	}
	// A mistyped confirmation gets the form again, the field marked, and
	// neither password echoed.
	_, bad := resetWith(t, link, token, "new-horse-battery", "new-horse-batery")
	if bad.Status != 422 || !strings.Contains(string(bad.Body), `id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" maxlength="256" minlength="10" required aria-invalid="true" aria-describedby="password_confirm-error"`) ||
		strings.Contains(string(bad.Body), "new-horse-bat") {
		t.Fatalf("mismatched passwords: %d %s", bad.Status, bad.Body)
	}

	b, r := resetWith(t, link, token, "new-horse-battery", "new-horse-battery")
	if r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("reset: %d %v %s", r.Status, r.Header, r.Body)
	}
	if home := b.get(app.URL + "/portal/" + slug + "/home"); home.Status != 200 || !strings.Contains(string(home.Body), "Ada Lovelace") {
		t.Fatalf("home after the reset: %d", home.Status)
	}
	homeRedirectsToLogin(t, accepted, slug, "the session of the accept after a reset")
	homeRedirectsToLogin(t, other, slug, "another session after a reset")
	mustNotLogIn(t, slug, email, "old-horse-battery", "the old password after a reset")
	mustLogIn(t, slug, email, "new-horse-battery")

	notice := waitForMail(t, email, "password_changed", 1)[0]
	if !strings.Contains(notice.Subject, "Help "+slug) || !strings.Contains(notice.Text, app.URL+"/portal/"+slug+"/password/forgot") {
		t.Fatalf("password changed notice: %+v", notice)
	}
	// The link worked once.
	if again := newBrowser(t).get(link); again.Status != 410 || !strings.Contains(string(again.Body), "already used") {
		t.Fatalf("a used link: %d %s", again.Status, again.Body)
	}

	// Neither the token nor the password is in the workflow's history, or
	// in clear in any table.
	var wfID string
	if err := app.Service.Store.DB.NewRaw(`SELECT workflow_id FROM password_resets WHERE email = ?`, email).Scan(context.Background(), &wfID); err != nil {
		t.Fatal(err)
	}
	history := historyText(t, app.Service.Temporal, wfID)
	for _, secret := range []string{token, "new-horse-battery", "argon2id"} {
		if strings.Contains(history, secret) {
			t.Fatalf("the reset workflow's history holds %q", secret)
		}
	}
	assertNoCleartextToken(t, token)
}

func TestForgotPasswordAnswersTheSameForKnownAndUnknownAddresses(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	known, _, _ := activeUser(t, slug, "known-horse-battery")
	unknown := unique("nobody") + "@example.com"

	answer := func(email string) (int, string, time.Duration) {
		started := time.Now()
		r := askForReset(t, slug, email)
		return r.Status, csrfValue.ReplaceAllString(string(r.Body), ""), time.Since(started)
	}
	var knownTimes, unknownTimes []time.Duration
	for _, other := range []string{unknown, unique("nobody") + "@example.com", unique("nobody") + "@example.com", unique("nobody") + "@example.com"} {
		ks, kb, kt := answer(known)
		us, ub, ut := answer(other)
		if ks != 200 || us != ks || ub != kb {
			t.Fatalf("known and unknown addresses got different answers:\n%d %s\nvs\n%d %s", ks, kb, us, ub)
		}
		knownTimes, unknownTimes = append(knownTimes, kt), append(unknownTimes, ut)
	}
	// Both cost one signal to a workflow; no lookup, hash or send happens
	// while the page waits. The fastest of each is compared, since a busy
	// machine only ever adds time: work done for one kind of address only
	// (a password hash, a send) would show as a gap that no noise closes.
	if d := slices.Min(knownTimes) - slices.Min(unknownTimes); d > 250*time.Millisecond || d < -250*time.Millisecond {
		t.Fatalf("fastest answer times differ by %s (known %v, unknown %v)", d, knownTimes, unknownTimes)
	}
	waitForMail(t, known, "password_reset", 1)
	if st := resetState(t, helpCenterScope(t, slug), unknown, 1); st.NoLink != 1 || st.EmailsSent != 0 {
		t.Fatalf("the unknown address's reset: %+v", st)
	}
	if n := len(outbox(t, unknown)); n != 0 {
		t.Fatalf("%d emails to an address with no account", n)
	}
	if r := call(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(unknown), app.AdminKey, nil); len(r.json(t)["items"].([]any)) != 0 {
		t.Fatal("asking for a reset created a contact")
	}
	// Asking again within a minute answers the same and sends nothing.
	if r := askForReset(t, slug, known); r.Status != 200 {
		t.Fatalf("asking again: %d", r.Status)
	}
	if st := resetState(t, helpCenterScope(t, slug), known, 5); st.EmailsSent != 1 || st.Throttled != 4 {
		t.Fatalf("asking again within a minute: %+v", st)
	}
	if n := mailsOfKind(t, known, "password_reset"); n != 1 {
		t.Fatalf("%d reset emails within a minute, want 1", n)
	}
}

func TestNoResetEmailForAccountsDeactivatedRejectedPendingOrWithoutAPassword(t *testing.T) {
	// One common account, active in a, waiting for approval in b,
	// deactivated in c.
	a, b, c := newHelpCenter(t, "common"), newHelpCenter(t, "common"), newHelpCenter(t, "common")
	setSignup(t, b, true, true)
	email, contact, _ := activeUser(t, a, "common-horse-battery")
	signUp(t, b, "Ada Lovelace", email, "signup-horse-battery")
	verify(t, email, "signup-horse-battery")
	userID(t, b, email, "pending_approval")
	inviteContact(t, c, contact)
	inC := waitForUser(t, c, email, "active")
	setAccess(t, c, inC["id"], "deactivate", "deactivated", true)

	// Someone only invited has no password yet.
	invited := unique("invited") + "@example.com"
	inviteContact(t, a, newContact(t, invited, true))
	inviteLinkTo(t, invited, a)

	same := func(slug, who, what string) {
		t.Helper()
		want := askForReset(t, slug, unique("nobody")+"@example.com")
		if r := askForReset(t, slug, who); r.Status != want.Status || string(r.Body) != string(want.Body) {
			t.Fatalf("%s: a different answer: %d %s", what, r.Status, r.Body)
		}
	}
	same(b, email, "pending approval")
	same(c, email, "deactivated")
	same(a, invited, "no password")
	if st := resetState(t, "common", email, 2); st.NoLink != 2 || st.EmailsSent != 0 {
		t.Fatalf("pending and deactivated: %+v", st)
	}
	if st := resetState(t, "common", invited, 1); st.NoLink != 1 {
		t.Fatalf("no password: %+v", st)
	}

	// Rejected in b: still nothing.
	admin(t, "POST", "/api/v1/help-centers/"+b+"/users/"+userID(t, b, email, "pending_approval")+"/reject", nil, 200)
	userID(t, b, email, "rejected")
	same(b, email, "rejected")
	if st := resetState(t, "common", email, 3); st.NoLink != 3 || st.EmailsSent != 0 {
		t.Fatalf("rejected: %+v", st)
	}
	if n := mailsOfKind(t, email, "password_reset") + mailsOfKind(t, invited, "password_reset"); n != 0 {
		t.Fatalf("%d reset emails to accounts that may not reset", n)
	}
	// The same account asking where it is active gets its link.
	same(a, email, "active")
	resetLinkTo(t, email, 1)
}

func TestExpiredResetLinkSaysSoAndOffersANewOne(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email, _, _ := activeUser(t, slug, "old-horse-battery")
	askForReset(t, slug, email)
	_, link, token := resetLinkTo(t, email, 1)
	if _, err := app.Service.Store.DB.NewRaw(`UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE email = ?`, email).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	page := b.get(link)
	if page.Status != 410 || !strings.Contains(string(page.Body), "expired") ||
		!strings.Contains(string(page.Body), `href="/portal/`+slug+`/password/forgot"`) {
		t.Fatalf("expired link: %d %s", page.Status, page.Body)
	}
	// Posting it anyway sets nothing.
	login := b.get(app.URL + "/portal/" + slug + "/login")
	u, _ := url.Parse(link)
	if r := b.post(u.Path, login, url.Values{"token": {token}, "password": {"new-horse-battery"}, "password_confirm": {"new-horse-battery"}}); r.Status != 410 {
		t.Fatalf("posting an expired link: %d %s", r.Status, r.Body)
	}
	mustLogIn(t, slug, email, "old-horse-battery")
}

func TestChangePasswordFromHomeEndsOtherSessionsAndKeepsThisOne(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email, _, me := activeUser(t, slug, "old-horse-battery")
	elsewhere := mustLogIn(t, slug, email, "old-horse-battery")
	// A reset link sent before the change dies with it.
	askForReset(t, slug, email)
	_, link, _ := resetLinkTo(t, email, 1)

	change := func(current, password, confirm string) response {
		t.Helper()
		home := me.get(app.URL + "/portal/" + slug + "/home")
		if home.Status != 200 || !strings.Contains(string(home.Body), "Change your password") {
			t.Fatalf("home: %d %s", home.Status, home.Body)
		}
		return me.post("/portal/"+slug+"/password/change", home, url.Values{
			"current_password": {current}, "password": {password}, "password_confirm": {confirm}})
	}
	wrong := change("not-my-password", "new-horse-battery", "new-horse-battery")
	if wrong.Status != 422 || !strings.Contains(string(wrong.Body), `id="current_password" name="current_password" type="password" autocomplete="current-password" maxlength="256" required aria-invalid="true" aria-describedby="current_password-error"`) ||
		!strings.Contains(string(wrong.Body), "current password is not correct") {
		t.Fatalf("a wrong current password: %d %s", wrong.Status, wrong.Body)
	}
	for _, typed := range []string{"not-my-password", "new-horse-battery"} {
		if strings.Contains(string(wrong.Body), typed) {
			t.Fatalf("the refused form echoes a password (%q)", typed)
		}
	}
	if mismatch := change("old-horse-battery", "new-horse-battery", "new-horse-batery"); mismatch.Status != 422 ||
		!strings.Contains(string(mismatch.Body), `id="new_password_confirm" name="password_confirm" type="password" autocomplete="new-password" maxlength="256" minlength="10" required aria-invalid="true"`) {
		t.Fatalf("mismatched new passwords: %d %s", mismatch.Status, mismatch.Body)
	}
	mustLogIn(t, slug, email, "old-horse-battery")

	if r := change("old-horse-battery", "new-horse-battery", "new-horse-battery"); r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("change: %d %v %s", r.Status, r.Header, r.Body)
	}
	if home := me.get(app.URL + "/portal/" + slug + "/home"); home.Status != 200 {
		t.Fatalf("the browser that changed the password was logged out: %d", home.Status)
	}
	homeRedirectsToLogin(t, elsewhere, slug, "another session after a password change")
	mustNotLogIn(t, slug, email, "old-horse-battery", "the old password after a change")
	mustLogIn(t, slug, email, "new-horse-battery")
	notice := waitForMail(t, email, "password_changed", 1)[0]
	if !strings.Contains(notice.Subject, "Help "+slug) {
		t.Fatalf("password changed notice: %+v", notice)
	}
	if r := newBrowser(t).get(link); r.Status != 410 || !strings.Contains(string(r.Body), "password was changed") {
		t.Fatalf("a reset link sent before the change: %d %s", r.Status, r.Body)
	}
}

func TestCommonUserBaseResetChangesThePasswordEverywhereAndNamesTheHelpCenterAskedFrom(t *testing.T) {
	a, b := newHelpCenter(t, "common"), newHelpCenter(t, "common")
	email, contact, inA := activeUser(t, a, "common-horse-battery")
	inviteContact(t, b, contact)
	waitForUser(t, b, email, "active")

	askForReset(t, b, email)
	m, link, token := resetLinkTo(t, email, 1)
	if !strings.Contains(m.Subject, "Help "+b) || !strings.Contains(m.Text, "Help "+b) || strings.Contains(m.Text, "Help "+a) ||
		!strings.HasPrefix(link, app.URL+"/portal/"+b+"/password/reset") {
		t.Fatalf("the reset email does not name %s, where it was asked for: %+v", b, m)
	}
	// The link belongs to b: a's pages don't take it.
	if r := newBrowser(t).get(app.URL + "/portal/" + a + "/password/reset?token=" + token); r.Status != 404 {
		t.Fatalf("b's link on a's page: %d", r.Status)
	}
	if _, r := resetWith(t, link, token, "shared-horse-battery", "shared-horse-battery"); r.Status != 303 {
		t.Fatalf("reset from %s: %d %s", b, r.Status, r.Body)
	}
	homeRedirectsToLogin(t, inA, a, "a session in another common help center after a reset")
	mustNotLogIn(t, a, email, "common-horse-battery", "the old shared password")
	mustLogIn(t, a, email, "shared-horse-battery")
	mustLogIn(t, b, email, "shared-horse-battery")
	if notice := waitForMail(t, email, "password_changed", 1)[0]; !strings.Contains(notice.Subject, "Help "+b) {
		t.Fatalf("the notice does not name %s: %+v", b, notice)
	}
}
