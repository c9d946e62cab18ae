package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/credentials"
)

// Tests of portal sessions: the idle timeout, the purge of what has
// expired, logging out everywhere, a new session ID at every login, and
// the cookies' attributes.

// sessionCookieOf is the browser's session cookie for slug on the
// shared (plain http) portal.
func sessionCookieOf(t *testing.T, b *browser, slug string) string {
	t.Helper()
	u, _ := url.Parse(app.URL + "/portal/" + slug + "/home")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "portal_session_"+slug {
			return c.Value
		}
	}
	t.Fatalf("no session cookie for %s", slug)
	return ""
}

func execSQL(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := app.Service.Store.DB.NewRaw(query, args...).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func countSQL(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := app.Service.Store.DB.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitUntilGone waits (at most 10 s, the sweeper runs every 500 ms) until
// query counts nothing.
func waitUntilGone(t *testing.T, what, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for countSQL(t, query, args...) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s still there after 10s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAnIdleSessionEndsAndUseKeepsItAlive(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("idle") + "@example.com"
	inviteContact(t, slug, newContact(t, email, true))
	b := acceptWith(t, email, slug, "idle-horse-battery")
	hash := credentials.Hash(sessionCookieOf(t, b, slug))

	// Unused for 7 hours: still logged in, and the visit counts as use.
	execSQL(t, `UPDATE portal_sessions SET last_seen_at = now() - interval '7 hours' WHERE token_hash = ?`, hash)
	if r := b.get(app.URL + "/portal/" + slug + "/home"); r.Status != 200 {
		t.Fatalf("home after 7 idle hours: %d", r.Status)
	}
	if countSQL(t, `SELECT count(*) FROM portal_sessions WHERE token_hash = ? AND last_seen_at > now() - interval '1 minute'`, hash) != 1 {
		t.Fatal("a visit did not move the session's last use on")
	}
	// Unused for over 8 hours (the default idle timeout): logged out, and
	// the sweeper deletes the session.
	execSQL(t, `UPDATE portal_sessions SET last_seen_at = now() - interval '8 hours 1 minute' WHERE token_hash = ?`, hash)
	homeRedirectsToLogin(t, b, slug, "session idle for over 8 hours")
	waitUntilGone(t, "the idle session", `SELECT count(*) FROM portal_sessions WHERE token_hash = ?`, hash)
}

func TestTheSweeperPurgesExpiredSessionsSpentCountersAndDeadLinks(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("sweep") + "@example.com"
	contact := newContact(t, email, true)
	inviteContact(t, slug, contact)
	b := acceptWith(t, email, slug, "sweep-horse-battery")
	live := credentials.Hash(sessionCookieOf(t, b, slug))
	expired := mustLogIn(t, slug, email, "sweep-horse-battery")
	expiredHash := credentials.Hash(sessionCookieOf(t, expired, slug))
	execSQL(t, `UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = ?`, expiredHash)

	spent, counting := []byte(unique("spent")), []byte(unique("counting"))
	execSQL(t, `INSERT INTO rate_limits (scope, key, tat) VALUES ('test', ?, now() - interval '1 second'), ('test', ?, now() + interval '1 minute')`, spent, counting)
	oldFailures, recentFailures := unique("old-failures"), unique("recent-failures")
	execSQL(t, `INSERT INTO login_failures (key, failures, last_failed_at) VALUES (?, 3, now() - interval '16 minutes'), (?, 3, now())`, oldFailures, recentFailures)

	// A link of an invitation revoked 31 days ago is forgotten; one revoked
	// today still explains itself.
	other := unique("revoked") + "@example.com"
	otherInv := inviteContact(t, slug, newContact(t, other, true))
	link, _ := inviteLinkTo(t, other, slug)
	admin(t, "POST", "/api/v1/invitations/"+otherInv["id"].(string)+"/revoke", nil, 200)
	waitInvitationStatus(t, otherInv["id"].(string), "revoked")
	if r := newBrowser(t).get(link); r.Status != http.StatusGone {
		t.Fatalf("link of a just revoked invitation: %d, want 410", r.Status)
	}
	execSQL(t, `UPDATE invitations SET closed_at = now() - interval '31 days' WHERE id = ?`, otherInv["id"])

	waitUntilGone(t, "the expired session", `SELECT count(*) FROM portal_sessions WHERE token_hash = ?`, expiredHash)
	waitUntilGone(t, "the spent counter", `SELECT count(*) FROM rate_limits WHERE key = ?`, spent)
	waitUntilGone(t, "the old failure count", `SELECT count(*) FROM login_failures WHERE key = ?`, oldFailures)
	waitUntilGone(t, "the dead link's token", `SELECT count(*) FROM invitation_tokens WHERE invitation_id = ?`, otherInv["id"])
	if r := newBrowser(t).get(link); r.Status != http.StatusNotFound {
		t.Fatalf("link of an invitation revoked 31 days ago: %d, want 404", r.Status)
	}
	for what, n := range map[string]int{
		"live session":   countSQL(t, `SELECT count(*) FROM portal_sessions WHERE token_hash = ?`, live),
		"counter in use": countSQL(t, `SELECT count(*) FROM rate_limits WHERE key = ?`, counting),
		"recent count":   countSQL(t, `SELECT count(*) FROM login_failures WHERE key = ?`, recentFailures),
	} {
		if n != 1 {
			t.Errorf("the %s was purged", what)
		}
	}
}

var logoutEverywhereForm = `action="/portal/%s/logout/everywhere"`

func TestLogOutEverywhereEndsEverySessionOfTheAccount(t *testing.T) {
	a, b := newHelpCenter(t, "common"), newHelpCenter(t, "common")
	email := unique("everywhere") + "@example.com"
	contact := newContact(t, email, true)
	const password = "everywhere-horse-1"
	inviteContact(t, a, contact)
	here := acceptWith(t, email, a, password)
	inviteContact(t, b, contact)
	waitForUser(t, b, email, "active")
	elsewhere := mustLogIn(t, b, email, password)
	phone := mustLogIn(t, a, email, password)
	bystanderEmail := unique("bystander") + "@example.com"
	inviteContact(t, a, newContact(t, bystanderEmail, true))
	bystander := acceptWith(t, bystanderEmail, a, password)

	home := here.get(app.URL + "/portal/" + a + "/home")
	if home.Status != 200 || !strings.Contains(string(home.Body), strings.Replace(logoutEverywhereForm, "%s", a, 1)) ||
		!strings.Contains(string(home.Body), "Log out everywhere") {
		t.Fatalf("home has no log-out-everywhere form: %s", home.Body)
	}
	// A post without the page's CSRF token is refused and ends nothing.
	if r := here.post("/portal/"+a+"/logout/everywhere", response{}, url.Values{}); r.Status != http.StatusForbidden {
		t.Fatalf("log out everywhere without a CSRF token: %d", r.Status)
	}
	if r := phone.get(app.URL + "/portal/" + a + "/home"); r.Status != 200 {
		t.Fatal("a refused log-out-everywhere ended a session")
	}
	r := here.post("/portal/"+a+"/logout/everywhere", home, url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/"+a+"/login" {
		t.Fatalf("log out everywhere: %d %q", r.Status, r.Header.Get("Location"))
	}
	homeRedirectsToLogin(t, here, a, "the browser that logged out everywhere")
	homeRedirectsToLogin(t, phone, a, "another device, same help center")
	homeRedirectsToLogin(t, elsewhere, b, "another help center of the same account")
	if r := bystander.get(app.URL + "/portal/" + a + "/home"); r.Status != 200 {
		t.Fatalf("another customer's session ended: %d", r.Status)
	}
	mustLogIn(t, a, email, password)
}

func TestEveryLoginGetsANewSessionIDAndEndsTheOldOne(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("rotate") + "@example.com"
	const password = "rotate-horse-battery"
	inviteContact(t, slug, newContact(t, email, true))
	b := acceptWith(t, email, slug, password)
	first := sessionCookieOf(t, b, slug)

	if r := b.get(app.URL + "/portal/" + slug + "/login"); r.Status != http.StatusSeeOther {
		t.Fatalf("login page while logged in: %d, want a redirect home", r.Status)
	}
	// The same browser, still holding its session, logs in again.
	u, _ := url.Parse(app.URL + "/portal/" + slug + "/login")
	var csrf string
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "portal_csrf" {
			csrf = c.Value
		}
	}
	form := response{Body: []byte(`name="csrf_token" value="` + csrf + `"`)}
	if r := b.post("/portal/"+slug+"/login", form, url.Values{"email": {email}, "password": {password}}); r.Status != http.StatusSeeOther {
		t.Fatalf("second login: %d %s", r.Status, r.Body)
	}
	second := sessionCookieOf(t, b, slug)
	if second == first {
		t.Fatal("a login kept the session ID the browser came with")
	}
	if countSQL(t, `SELECT count(*) FROM portal_sessions WHERE token_hash = ?`, credentials.Hash(first)) != 0 {
		t.Fatal("the session the browser came with survived the new login")
	}
	// Someone holding the old ID is not logged in; the new one is.
	stale := newVisitor(t, app.URL)
	stale.header.Set("Cookie", "portal_session_"+slug+"="+first)
	if r := stale.get("/portal/" + slug + "/home"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/"+slug+"/login" {
		t.Fatalf("home with the session ID from before the login: %d %q", r.Status, r.Header.Get("Location"))
	}
	if r := b.get(app.URL + "/portal/" + slug + "/home"); r.Status != 200 {
		t.Fatalf("home with the new session: %d", r.Status)
	}
}

// cookieNamed parses the Set-Cookie of r for name.
func cookieNamed(t *testing.T, r response, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, r.Header.Values("Set-Cookie"))
	return nil
}

// On https, cookies are Secure, HttpOnly and __Host- prefixed (this exact
// host, Path=/, no Domain), and pages ask for HSTS; plain http in
// development sends neither.
func TestHTTPSPortalCookiesAreHostPrefixedSecureAndHSTS(t *testing.T) {
	p := startPortal(t, map[string]string{"PUBLIC_BASE_URL": "https://portal.example.test"})
	slug := newHelpCenter(t, "unique")
	email := unique("https") + "@example.com"
	const password = "https-horse-battery"
	inviteContact(t, slug, newContact(t, email, true))
	acceptWith(t, email, slug, password)

	v := newVisitor(t, p.URL)
	page := v.loginForm(slug)
	if hsts := page.Header.Get("Strict-Transport-Security"); hsts != "max-age=31536000; includeSubDomains" {
		t.Fatalf("HSTS %q", hsts)
	}
	csrf := cookieNamed(t, page, "__Host-portal_csrf")
	if !csrf.Secure || !csrf.HttpOnly || csrf.Path != "/" || csrf.Domain != "" || csrf.SameSite != http.SameSiteStrictMode {
		t.Fatalf("CSRF cookie %+v", csrf)
	}
	// The test talks plain http to a portal that believes it is on https,
	// so the cookie jar keeps Secure cookies to itself: send it by hand.
	v.header.Set("Cookie", "__Host-portal_csrf="+csrf.Value)
	r := v.post("/portal/"+slug+"/login", page, url.Values{"email": {email}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("login over https: %d %s", r.Status, r.Body)
	}
	session := cookieNamed(t, r, "__Host-portal_session_"+slug)
	if !session.Secure || !session.HttpOnly || session.Path != "/" || session.Domain != "" || session.SameSite != http.SameSiteLaxMode ||
		session.MaxAge != 14*24*3600 {
		t.Fatalf("session cookie %+v", session)
	}

	plain := newBrowser(t).get(app.URL + "/portal/" + slug + "/login")
	if plain.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS on plain http")
	}
	if c := cookieNamed(t, plain, "portal_csrf"); c.Secure || !c.HttpOnly || c.Path != "/" {
		t.Fatalf("development CSRF cookie %+v", c)
	}
}
