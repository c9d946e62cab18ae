package api_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// requireHTMLPage requires r to be a portal page with status want and the
// given heading: never the API's JSON.
func requireHTMLPage(t *testing.T, what string, r response, want int, heading string) {
	t.Helper()
	if r.Status != want || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.Body), "<h1>"+heading) || !strings.Contains(string(r.Body), `<main id="main"`) {
		t.Fatalf("%s: %d %s, want the %d page %q:\n%s", what, r.Status, r.Header.Get("Content-Type"), want, heading, r.Body)
	}
}

// TestEveryPortalAnswerIsAnHTMLPage: an unknown page or help center, a
// wrong method, a NUL in a link and an oversized form each answer a page
// of the portal with its status.
func TestEveryPortalAnswerIsAnHTMLPage(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	b := newBrowser(t)
	requireHTMLPage(t, "an unknown page", b.get(app.URL+"/portal/"+slug+"/no-such-page"), 404, "Page not found")
	requireHTMLPage(t, "an unknown help center", b.get(app.URL+"/portal/no-such-help-center/login"), 404, "Help center not found")
	requireHTMLPage(t, "GET of a form's address", b.get(app.URL+"/portal/"+slug+"/logout"), 405, "This page can")
	requireHTMLPage(t, "a NUL in a link", b.get(app.URL+"/portal/"+slug+"/password/reset?token=%00"), 400, "Link not valid")

	// 50 MB of form: 413 and a page that says so, not "Form expired".
	login := b.get(app.URL + "/portal/" + slug + "/login")
	csrf := csrfField.FindSubmatch(login.Body)
	body := io.MultiReader(strings.NewReader("csrf_token="+string(csrf[1])+"&email=a%40example.com&password="),
		bytes.NewReader(bytes.Repeat([]byte("x"), 50<<20)))
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, app.URL+"/portal/"+slug+"/login", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("a 50 MB form: %v", err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	requireHTMLPage(t, "a 50 MB form", response{Status: resp.StatusCode, Body: page, Header: resp.Header}, 413, "Form too large")
}

var requestLink = regexp.MustCompile(`<a href="/portal/[^/]+/requests/(\d+)">([^<]*)</a>`)

// requestsOn returns the ids and subjects a requests page lists, in order.
func requestsOn(r response) (ids []int64, subjects []string) {
	for _, m := range requestLink.FindAllSubmatch(r.Body, -1) {
		id, _ := strconv.ParseInt(string(m[1]), 10, 64)
		ids, subjects = append(ids, id), append(subjects, html.UnescapeString(string(m[2])))
	}
	return ids, subjects
}

// TestTheRequestsPageListsTheCustomersOwnRequestsNewestFirstByPages: 25
// requests come in two pages, newest first, through the page's own link;
// one opens on its page; another customer's is not found, and the pages
// need a session.
func TestTheRequestsPageListsTheCustomersOwnRequestsNewestFirstByPages(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email, _, me := activeUser(t, slug, "pages-horse-battery")
	for i := range 25 {
		admin(t, "POST", "/api/v1/tickets", map[string]any{"help_center": slug, "email": email, "subject": "Question " + strconv.Itoa(i)}, 201)
	}
	first := me.get(app.URL + "/portal/" + slug + "/requests")
	requireHTMLPage(t, "the requests page", first, 200, "Your requests")
	ids, subjects := requestsOn(first)
	if len(ids) != 20 || subjects[0] != "Question 24" || subjects[19] != "Question 5" {
		t.Fatalf("first page: %v", subjects)
	}
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindSubmatch(first.Body)
	if next == nil {
		t.Fatalf("no link to the older requests:\n%s", first.Body)
	}
	second := me.get(app.URL + html.UnescapeString(string(next[1])))
	ids2, subjects2 := requestsOn(second)
	if len(ids2) != 5 || subjects2[0] != "Question 4" || subjects2[4] != "Question 0" || ids2[0] >= ids[19] ||
		strings.Contains(string(second.Body), `rel="next"`) {
		t.Fatalf("second page: %v\n%s", subjects2, second.Body)
	}
	if r := me.get(app.URL + "/portal/" + slug + "/requests?after=not-a-cursor"); r.Status != 400 {
		t.Fatalf("a forged cursor: %d", r.Status)
	}

	one := me.get(app.URL + "/portal/" + slug + "/requests/" + strconv.FormatInt(ids[0], 10))
	requireHTMLPage(t, "one request", one, 200, "Question 24")
	if !strings.Contains(string(one.Body), "open") || !strings.Contains(string(one.Body), "Last update") {
		t.Fatalf("the request's page lacks its status or last update:\n%s", one.Body)
	}

	_, _, other := activeUser(t, slug, "other-horse-battery")
	requireHTMLPage(t, "another customer's request", other.get(app.URL+"/portal/"+slug+"/requests/"+strconv.FormatInt(ids[0], 10)), 404, "Request not found")
	if ids, _ := requestsOn(other.get(app.URL + "/portal/" + slug + "/requests")); len(ids) != 0 {
		t.Fatalf("another customer sees %d requests", len(ids))
	}
	anon := newBrowser(t)
	for _, path := range []string{"/requests", "/requests/" + strconv.FormatInt(ids[0], 10)} {
		if r := anon.get(app.URL + "/portal/" + slug + path); r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/login" {
			t.Fatalf("%s without a session: %d %s", path, r.Status, r.Header.Get("Location"))
		}
	}
}

// TestARefusedRequestKeepsWhatWasTypedAndASentOneIsConfirmedOnce: a blank
// subject answers the home page with the details typed and the subject
// marked; a sent request's notice shows on the next page, once.
func TestARefusedRequestKeepsWhatWasTypedAndASentOneIsConfirmedOnce(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	_, _, me := activeUser(t, slug, "notice-horse-battery")
	home := me.get(app.URL + "/portal/" + slug + "/home")
	r := me.post("/portal/"+slug+"/requests", home, url.Values{"subject": {"  "}, "body": {"Line one\n<b>Line two</b>"}})
	if r.Status != 422 || !strings.Contains(formInput(t, r, "subject"), `aria-invalid="true" aria-describedby="subject-error"`) ||
		!strings.Contains(string(r.Body), "Line one\n&lt;b&gt;Line two&lt;/b&gt;</textarea>") || !strings.Contains(string(r.Body), `<a href="#subject">`) {
		t.Fatalf("blank subject: %d\n%s", r.Status, r.Body)
	}
	sent := me.post("/portal/"+slug+"/requests", home, url.Values{"subject": {"Printer jammed"}})
	if sent.Status != 303 || sent.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("request: %d %v", sent.Status, sent.Header)
	}
	after := me.get(app.URL + "/portal/" + slug + "/home")
	if !regexp.MustCompile(`role="status"><p>Your request #\d+ was sent`).Match(after.Body) {
		t.Fatalf("no notice after the redirect:\n%s", after.Body)
	}
	if again := me.get(app.URL + "/portal/" + slug + "/home"); strings.Contains(string(again.Body), "was sent") {
		t.Fatal("the notice shows a second time")
	}
	// A notice cookie made up by someone else says nothing.
	forged := newBrowser(t)
	u, _ := url.Parse(app.URL)
	forged.client.Jar.SetCookies(u, append(me.client.Jar.Cookies(u), &http.Cookie{Name: "portal_notice", Value: "request-sent.1.AAAA"})) //nolint:gosec // G124: a forged cookie planted in a test client over plain http
	if r := forged.get(app.URL + "/portal/" + slug + "/home"); r.Status != 200 || strings.Contains(string(r.Body), "was sent") {
		t.Fatalf("a forged notice: %d", r.Status)
	}
}
