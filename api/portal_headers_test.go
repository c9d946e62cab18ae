package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

var (
	inlineStyle  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	eventHandler = regexp.MustCompile(`\son[a-z]+=`)
)

// requireSecurityHeaders checks what every portal answer must carry, and
// that a page runs no inline script and styles itself only with the
// stylesheet its policy allows by hash.
func requireSecurityHeaders(t *testing.T, what string, r response) {
	t.Helper()
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "img-src 'self'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("%s (%d): Content-Security-Policy %q lacks %s", what, r.Status, csp, directive)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("%s: Content-Security-Policy %q allows scripts or inline code", what, csp)
	}
	for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s (%d): %s %q, want %q", what, r.Status, name, got, want)
		}
	}
	if r.Status == http.StatusSeeOther {
		return
	}
	body := string(r.Body)
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, `<main id="main"`) || !strings.Contains(body, `<html lang="en">`) {
		t.Errorf("%s (%d): not a portal HTML page: %s %s", what, r.Status, h.Get("Content-Type"), body)
		return
	}
	if strings.Contains(body, "<script") || strings.Contains(body, " style=") || eventHandler.MatchString(body) {
		t.Errorf("%s: inline script or style attribute in %s", what, body)
	}
	m := inlineStyle.FindStringSubmatch(body)
	if m == nil {
		t.Errorf("%s: no stylesheet", what)
		return
	}
	sum := sha256.Sum256([]byte(m[1]))
	if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("%s: the policy does not allow the page's stylesheet by its hash", what)
	}
}

// Every portal route, answered any way (the page, a refused form, a
// redirect, a missing page, the wrong method, the 429 page), carries the
// security headers; so does a busy form (TestConcurrentLoginsAreBounded...).
func TestEveryPortalAnswerCarriesTheSecurityHeaders(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("headers") + "@example.com"
	inviteContact(t, slug, newContact(t, email, true))
	link, token := inviteLinkTo(t, email, slug)
	b := newBrowser(t)

	engine, ok := app.Service.Handler().(*gin.Engine)
	if !ok {
		t.Fatal("the service's handler is not a gin engine")
	}
	walked := 0
	for _, route := range engine.Routes() {
		if !strings.HasPrefix(route.Path, "/portal/:slug/") {
			continue
		}
		path := strings.Replace(route.Path, ":slug", slug, 1)
		walked++
		switch route.Method {
		case http.MethodGet:
			requireSecurityHeaders(t, "GET "+path, b.get(app.URL+path))
			requireSecurityHeaders(t, "GET "+path+" of an unknown help center", b.get(app.URL+strings.Replace(route.Path, ":slug", "no-such-help-center", 1)))
		case http.MethodPost:
			requireSecurityHeaders(t, "POST "+path+" without a CSRF token", b.post(path, response{}, url.Values{}))
		}
	}
	if walked < 10 {
		t.Fatalf("walked only %d portal routes", walked)
	}

	// Pages with a token in them, a logged-in home, and the refusals.
	requireSecurityHeaders(t, "the accept page", b.get(link))
	home := acceptWith(t, email, slug, "headers-horse-1")
	requireSecurityHeaders(t, "a logged-in home page", home.get(app.URL+"/portal/"+slug+"/home"))
	requireSecurityHeaders(t, "a redirect home", home.get(app.URL+"/portal/"+slug+"/login"))
	requireSecurityHeaders(t, "an accepted link", b.get(link))
	requireSecurityHeaders(t, "a wrong link", b.get(app.URL+"/portal/"+slug+"/invitations/accept?token=x"+token))
	login := b.get(app.URL + "/portal/" + slug + "/login")
	requireSecurityHeaders(t, "a failed login", b.post("/portal/"+slug+"/login", login, url.Values{"email": {email}, "password": {"wrong-horse-1"}}))

	// What the router can't match under /portal/ is an HTML page too.
	for path, status := range map[string]int{
		"/portal/" + slug + "/no-such-page":         http.StatusNotFound,
		"/portal/" + slug + "/home/deeper/still":    http.StatusNotFound,
		"/portal/no-such-help-center/anything":      http.StatusNotFound,
		"/portal/" + slug + "/logout":               http.StatusMethodNotAllowed,
		"/portal/" + slug + "/password/change":      http.StatusMethodNotAllowed,
		"/portal/" + slug + "/signup/verify/extra/": http.StatusNotFound,
	} {
		r := b.get(app.URL + path)
		if r.Status != status {
			t.Errorf("GET %s: %d, want %d", path, r.Status, status)
		}
		requireSecurityHeaders(t, "GET "+path, r)
	}
	// The API keeps its JSON.
	if r := b.get(app.URL + "/api/v1/no-such-route"); r.Status != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("API 404: %d %s", r.Status, r.Header.Get("Content-Type"))
	}

	// The 429 page and a busy form, from portals of their own.
	strict := startPortal(t, map[string]string{"RATE_LIMIT_PER_IP": "1/1m"})
	v := newVisitor(t, strict.URL)
	page := v.loginForm(slug)
	v.post("/portal/"+slug+"/login", page, url.Values{})
	requireSecurityHeaders(t, "the 429 page", v.post("/portal/"+slug+"/login", page, url.Values{}))
}
