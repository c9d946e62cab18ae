package api_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/testenv"
)

// Tests of the limits on what anonymous clients can make the portal do:
// posts per client address and per target, the login lockout, the trust
// given to X-Forwarded-For, counters shared by replicas, and the bound on
// password hashing.

// visitor is a browser on a loopback address of its own (127.x.y.z), so
// that each counts as a different client, visiting any portal.
type visitor struct {
	t      *testing.T
	base   string
	addr   string
	client *http.Client
	// header is sent with every request (X-Forwarded-For, from a proxy).
	header http.Header
}

func newVisitor(t *testing.T, base string) *visitor {
	t.Helper()
	addr := net.IPv4(127, 1+rand.N[byte](250), rand.N[byte](255), 1+rand.N[byte](250))
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: addr}}
	tr := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, base: base, addr: addr.String(), header: http.Header{}, client: checked(t, &http.Client{Transport: tr, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }})}
}

func (v *visitor) do(method, path string, form url.Values) response {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(v.t.Context(), method, v.base+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	for k, vs := range v.header {
		req.Header[k] = vs
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: out, Header: resp.Header}
}

func (v *visitor) get(path string) response { v.t.Helper(); return v.do(http.MethodGet, path, nil) }

// post submits form to path, echoing the CSRF token of page.
func (v *visitor) post(path string, page response, form url.Values) response {
	v.t.Helper()
	if m := csrfField.FindSubmatch(page.Body); m != nil {
		form.Set("csrf_token", string(m[1]))
	}
	return v.do(http.MethodPost, path, form)
}

// loginForm is the visitor's login page of slug, for its CSRF token.
func (v *visitor) loginForm(slug string) response {
	v.t.Helper()
	page := v.get("/portal/" + slug + "/login")
	if page.Status != 200 {
		v.t.Fatalf("login page of %s: %d", slug, page.Status)
	}
	return page
}

// startPortal runs a portal of the test's own on the package's database
// and dev server, with env over testenv's environment; it has no worker.
func startPortal(t *testing.T, env map[string]string) *testenv.Portal {
	t.Helper()
	noWorker := false
	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress, testenv.Options{Env: env, Worker: &noWorker})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// portalPosts lists the POST routes under /portal/ of a portal's engine,
// with the slug filled in: every route, including ones added later.
func portalPosts(t *testing.T, p *testenv.Portal, slug string) []string {
	t.Helper()
	engine, ok := p.Service.Handler().(*gin.Engine)
	if !ok {
		t.Fatal("the service's handler is not a gin engine")
	}
	var paths []string
	for _, r := range engine.Routes() {
		if r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/portal/:slug/") {
			paths = append(paths, strings.Replace(r.Path, ":slug", slug, 1))
		}
	}
	if len(paths) < 6 {
		t.Fatalf("only %d portal POST routes: %v", len(paths), paths)
	}
	return paths
}

// tooManyPage requires r to be the 429 page, and returns its Retry-After.
func tooManyPage(t *testing.T, r response, what string) time.Duration {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("%s: %d, want 429: %s", what, r.Status, r.Body)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After %q", what, r.Header.Get("Retry-After"))
	}
	body := string(r.Body)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `<main id="main"`) ||
		!regexp.MustCompile(`[Tt]ry again in \d+ (second|minute|hour)s?\.`).MatchString(body) {
		t.Fatalf("%s: the 429 answer is not a page saying when to try again: %s", what, body)
	}
	return time.Duration(secs) * time.Second
}

func TestEveryPortalPostIsLimitedPerClientAddress(t *testing.T) {
	p := startPortal(t, map[string]string{"RATE_LIMIT_PER_IP": "3/1m"})
	slug := newHelpCenter(t, "unique")
	for _, path := range portalPosts(t, p, slug) {
		v := newVisitor(t, p.URL)
		page := v.loginForm(slug)
		for i := range 3 {
			if r := v.post(path, page, url.Values{}); r.Status == http.StatusTooManyRequests {
				t.Fatalf("POST %s: post %d of 3 refused", path, i+1)
			}
		}
		wait := tooManyPage(t, v.post(path, page, url.Values{}), "fourth POST "+path+" in a minute")
		// One post is earned back every 20 seconds.
		if wait > 20*time.Second {
			t.Fatalf("POST %s: Retry-After %v, want at most 20s", path, wait)
		}
		// Another client is not held back.
		other := newVisitor(t, p.URL)
		if r := other.post(path, other.loginForm(slug), url.Values{}); r.Status == http.StatusTooManyRequests {
			t.Fatalf("POST %s: another client address was refused", path)
		}
	}
}

func TestEveryPortalPostNamingAnAddressOrLinkIsLimitedPerTarget(t *testing.T) {
	p := startPortal(t, map[string]string{"RATE_LIMIT_PER_TARGET": "2/1m"})
	slug := newHelpCenter(t, "unique")
	for _, path := range portalPosts(t, p, slug) {
		// The same link token from three different clients: the third is
		// refused wherever it comes from.
		token := "tok-" + unique("")
		for i := range 2 {
			v := newVisitor(t, p.URL)
			if r := v.post(path, v.loginForm(slug), url.Values{"token": {token}}); r.Status == http.StatusTooManyRequests {
				t.Fatalf("POST %s: token post %d of 2 refused", path, i+1)
			}
		}
		v := newVisitor(t, p.URL)
		tooManyPage(t, v.post(path, v.loginForm(slug), url.Values{"token": {token}}), "third POST "+path+" with one token")
	}
	// An address counts however it is spelled: letter case, spaces, and a
	// domain in Unicode or in its IDNA ASCII form.
	local := unique("target")
	email := local + "@bücher.example"
	for i, spelled := range []string{email, " " + strings.ToUpper(local) + "@xn--bcher-kva.example "} {
		v := newVisitor(t, p.URL)
		if r := v.post("/portal/"+slug+"/login", v.loginForm(slug), url.Values{"email": {spelled}, "password": {"wrong-horse-1"}}); r.Status != 401 {
			t.Fatalf("login %d for %s: %d, want 401", i+1, spelled, r.Status)
		}
	}
	v := newVisitor(t, p.URL)
	tooManyPage(t, v.post("/portal/"+slug+"/login", v.loginForm(slug), url.Values{"email": {email}, "password": {"wrong-horse-1"}}),
		"third login for one address")
	// Sign-up is a target of its own: logging in did not use it up.
	if r := v.post("/portal/"+slug+"/signup", v.loginForm(slug), url.Values{"email": {email}}); r.Status == http.StatusTooManyRequests {
		t.Fatal("logins for an address used up its sign-ups")
	}
}

func TestForwardedForIsHonouredOnlyFromTrustedProxies(t *testing.T) {
	proxy := newVisitor(t, "")
	trusting := startPortal(t, map[string]string{"RATE_LIMIT_PER_IP": "2/1m", "TRUSTED_PROXIES": proxy.addr + "/32, 10.0.0.0/8"})
	proxy.base = trusting.URL
	slug := newHelpCenter(t, "unique")
	path := "/portal/" + slug + "/login"
	page := proxy.loginForm(slug)
	postAs := func(forwardedFor string) response {
		proxy.header.Set("X-Forwarded-For", forwardedFor)
		return proxy.post(path, page, url.Values{})
	}
	// Behind the trusted proxy, each client named by X-Forwarded-For is
	// counted on its own.
	postAs("203.0.113.7")
	postAs("203.0.113.7")
	tooManyPage(t, postAs("203.0.113.7"), "third post of one forwarded client")
	if r := postAs("203.0.113.8"); r.Status == http.StatusTooManyRequests {
		t.Fatal("a second forwarded client was counted with the first")
	}
	// The header is read from the right: what the client wrote on the left
	// (here a different address each time) changes nothing, and another
	// trusted proxy on the way (10.1.2.3) is skipped.
	postAs("198.51.100.1, 203.0.113.9, 10.1.2.3")
	postAs("198.51.100.2, 203.0.113.9")
	tooManyPage(t, postAs("198.51.100.3, 203.0.113.9"), "client-written X-Forwarded-For entries")

	// A portal that trusts no proxy ignores the header: a client can't
	// dodge the limit by writing a new address in it each time.
	wary := startPortal(t, map[string]string{"RATE_LIMIT_PER_IP": "2/1m"})
	client := newVisitor(t, wary.URL)
	page = client.loginForm(slug)
	for i := range 3 {
		client.header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", 20+i))
		r := client.post(path, page, url.Values{})
		if i < 2 && r.Status == http.StatusTooManyRequests {
			t.Fatalf("post %d refused", i+1)
		}
		if i == 2 {
			tooManyPage(t, r, "third post with a forged X-Forwarded-For")
		}
	}
}

func TestTwoPortalsShareTheCounters(t *testing.T) {
	first := startPortal(t, map[string]string{"RATE_LIMIT_PER_IP": "4/1m"})
	second := startPortal(t, map[string]string{"RATE_LIMIT_PER_IP": "4/1m", "TOKEN_SECRET": first.Env["TOKEN_SECRET"]})
	slug := newHelpCenter(t, "unique")
	path := "/portal/" + slug + "/login"

	// One client alternating between the replicas gets four posts, not
	// four from each.
	v := newVisitor(t, first.URL)
	page := v.loginForm(slug)
	for i := range 4 {
		v.base = []string{first.URL, second.URL}[i%2]
		if r := v.post(path, page, url.Values{}); r.Status == http.StatusTooManyRequests {
			t.Fatalf("post %d of 4 across replicas refused", i+1)
		}
	}
	for _, base := range []string{first.URL, second.URL} {
		v.base = base
		tooManyPage(t, v.post(path, page, url.Values{}), "fifth post, at "+base)
	}

	// Failed logins on one replica lock the address on the other.
	email := unique("shared") + "@example.com"
	for i := range 10 {
		c := newVisitor(t, first.URL)
		if r := c.post(path, c.loginForm(slug), url.Values{"email": {email}, "password": {"wrong-horse-1"}}); r.Status != 401 {
			t.Fatalf("failed login %d: %d", i+1, r.Status)
		}
	}
	c := newVisitor(t, second.URL)
	r := c.post(path, c.loginForm(slug), url.Values{"email": {email}, "password": {"wrong-horse-1"}})
	if r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "Too many failed attempts") {
		t.Fatalf("login at the other replica after 10 failures: %d %s", r.Status, r.Body)
	}
}

// digits hides the numbers of a page (the seconds left, a CSRF token's
// digits) so two answers can be compared for what they say.
var digits = regexp.MustCompile(`[0-9]+`)

func sameAnswer(a, b response, aEmail, bEmail string) bool {
	norm := func(r response, email string) string {
		return digits.ReplaceAllString(strings.ReplaceAll(string(r.Body), email, "EMAIL"), "N")
	}
	return a.Status == b.Status && (a.Header.Get("Retry-After") != "") == (b.Header.Get("Retry-After") != "") && norm(a, aEmail) == norm(b, bEmail)
}

func TestRepeatedFailedLoginsLockTheAddressWhateverThePassword(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("lock") + "@example.com"
	const password = "lockout-horse-1"
	inviteContact(t, slug, newContact(t, email, true))
	acceptWith(t, email, slug, password)
	b := newBrowser(t)
	page := b.get(app.URL + "/portal/" + slug + "/login")
	login := func(email, password string) response {
		t.Helper()
		return b.post("/portal/"+slug+"/login", page, url.Values{"email": {email}, "password": {password}})
	}

	// A success restarts the count.
	for range 5 {
		login(email, "wrong-horse-1")
	}
	if r := login(email, password); r.Status != 303 {
		t.Fatalf("right password after 5 failures: %d", r.Status)
	}
	for i := range 10 {
		if r := login(email, "wrong-horse-1"); r.Status != 401 {
			t.Fatalf("failure %d after a success: %d", i+1, r.Status)
		}
	}
	// Ten failures in a row: now even the right password is refused, with
	// the answer a wrong one gets.
	right := login(email, password)
	wait := tooManyLogin(t, right, "right password while locked")
	if wait > time.Minute {
		t.Fatalf("first lock: Retry-After %v, want at most 1m", wait)
	}
	wrong := login(email, "wrong-horse-1")
	if !sameAnswer(right, wrong, email, email) {
		t.Fatalf("a locked address answers the right password differently from a wrong one:\n%s\n---\n%s", right.Body, wrong.Body)
	}

	// An address without an account locks the same way and answers the
	// same, so the lockout tells nobody which addresses have accounts.
	nobody := unique("nobody") + "@example.com"
	for i := range 10 {
		if r := login(nobody, "wrong-horse-1"); r.Status != 401 {
			t.Fatalf("unknown address, failure %d: %d", i+1, r.Status)
		}
	}
	unknown := login(nobody, password)
	if !sameAnswer(right, unknown, email, nobody) {
		t.Fatalf("a locked unknown address answers differently from a locked account:\n%s\n---\n%s", right.Body, unknown.Body)
	}

	// When the lock ends, the next failure locks for twice as long.
	hc, err := app.Service.Store.HelpCenterBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	key := app.Service.Tokens.AddressKey(hc.AccountScope(), email)
	if _, err := app.Service.Store.DB.NewRaw(`UPDATE login_failures SET locked_until = now() WHERE key = ?`, key).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := login(email, "wrong-horse-1"); r.Status != 401 {
		t.Fatalf("failure after the lock ended: %d", r.Status)
	}
	if wait := tooManyLogin(t, login(email, password), "second lock"); wait <= time.Minute || wait > 2*time.Minute {
		t.Fatalf("second lock: Retry-After %v, want up to 2m", wait)
	}

	// Clearing the count (what a password reset does) lets the owner in.
	if err := app.Service.Store.ClearLoginFailures(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if r := login(email, password); r.Status != 303 {
		t.Fatalf("right password after clearing: %d", r.Status)
	}
}

// tooManyLogin requires r to be the login form refusing a locked address.
func tooManyLogin(t *testing.T, r response, what string) time.Duration {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "Too many failed attempts") ||
		!strings.Contains(string(r.Body), `name="password"`) {
		t.Fatalf("%s: %d, want the login form with 429: %s", what, r.Status, r.Body)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After %q", what, r.Header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

// Many logins at once never run more hashes together than the pool
// allows; those that find no slot in time are told to come back (503 with
// Retry-After) and keep what was typed, instead of queueing.
func TestConcurrentLoginsAreBoundedByTheHashingPool(t *testing.T) {
	p := startPortal(t, map[string]string{"PASSWORD_HASH_CONCURRENCY": "2", "PASSWORD_HASH_WAIT": "1ms",
		"RATE_LIMIT_PER_IP": "1000/1m"})
	slug := newHelpCenter(t, "unique")
	v := newVisitor(t, p.URL)
	page := v.loginForm(slug)
	const logins = 24
	results := make([]response, logins)
	emails := make([]string, logins)
	var wg sync.WaitGroup
	for i := range logins {
		// Unknown addresses: their dummy hash goes through the pool too.
		emails[i] = unique("crowd") + "@example.com"
		wg.Go(func() {
			results[i] = v.post("/portal/"+slug+"/login", page, url.Values{"email": {emails[i]}, "password": {"wrong-horse-1"}})
		})
	}
	wg.Wait()
	var refused, busy int
	for i, r := range results {
		switch r.Status {
		case http.StatusUnauthorized:
			refused++
		case http.StatusServiceUnavailable:
			busy++
			requireSecurityHeaders(t, "a busy login form", r)
			if r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), `value="`+emails[i]+`"`) ||
				!strings.Contains(string(r.Body), "try again in a few seconds") {
				t.Fatalf("busy answer without Retry-After or without the typed address: %v %s", r.Header, r.Body)
			}
		default:
			t.Fatalf("login %d: %d %s", i, r.Status, r.Body)
		}
	}
	peak := p.Service.Hasher.Peak()
	if busy == 0 || refused == 0 || peak < 1 || peak > 2 {
		t.Fatalf("%d refused, %d busy, peak %d concurrent hashes: want some of each and a peak of at most 2", refused, busy, peak)
	}
	// A busy answer is not a failed login: the address is not locked.
	if r := v.post("/portal/"+slug+"/login", page, url.Values{"email": {emails[0]}, "password": {"wrong-horse-1"}}); r.Status == 429 {
		t.Fatal("busy answers counted towards a lockout")
	}
}
