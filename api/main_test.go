package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/portalaccess/portal/client"
	"github.com/portalaccess/portal/testenv"
)

// The API tests run against one portal on a real Postgres database and a
// real Temporal dev server, shared by the package.
var app *testenv.Portal

// The package's database and dev server, for tests that start a portal of
// their own.
var (
	databaseURL     string
	temporalAddress string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbURL, drop, err := testenv.Database(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test database:", err)
		return 1
	}
	defer drop()
	dev, err := testenv.Temporal(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporal dev server:", err)
		return 1
	}
	defer func() {
		if err := dev.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop temporal dev server:", err)
		}
	}()
	databaseURL, temporalAddress = dbURL, dev.FrontendHostPort()
	app, err = testenv.StartPortal(ctx, dbURL, dev.FrontendHostPort(), testenv.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		return 1
	}
	defer app.Stop()
	return m.Run()
}

var seq = time.Now().UnixNano()

// unique returns a name no other test uses.
func unique(prefix string) string {
	seq++
	return fmt.Sprintf("%s%d", prefix, seq%1_000_000_000)
}

type response struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.Status, r.Body)
	}
	return v
}

// errorCode returns error.code of an error body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.Body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without message: %s", r.Body)
	}
	return e["code"].(string)
}

func call(t *testing.T, method, path, key string, body any) response {
	t.Helper()
	return callOn(t, app.URL, key, method, path, body)
}

// admin calls the API with the bootstrap admin key and requires want.
func admin(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	r := call(t, method, path, app.AdminKey, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r.json(t)
}

// typed is the generated client of the API for key, on the package's
// portal, its exchanges checked against the document like every other.
func typed(t *testing.T, key string) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(app.URL, client.WithHTTPClient(checkedClient(t)),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newHelpCenter(t *testing.T, userBase string) string {
	t.Helper()
	slug := unique("hc-")
	r, err := typed(t, app.AdminKey).CreateHelpCenterWithResponse(t.Context(), client.CreateHelpCenterJSONRequestBody{
		Slug: slug, Name: "Help " + slug, UserBase: client.UserBase(userBase)})
	if err != nil {
		t.Fatal(err)
	}
	if r.JSON201 == nil {
		t.Fatalf("create help center: %d %s", r.StatusCode(), r.Body)
	}
	return r.JSON201.Slug
}

// newContact creates a contact named Ada Lovelace; email is an address
// or nil for none.
func newContact(t *testing.T, email any, verified bool) int64 {
	t.Helper()
	body := client.CreateContactJSONRequestBody{Name: ptr("Ada Lovelace"), Verified: &verified}
	if email != nil {
		body.Email = nullable.NewNullableWithValue(email.(string))
	}
	r, err := typed(t, app.AdminKey).CreateContactWithResponse(t.Context(), body)
	if err != nil {
		t.Fatal(err)
	}
	if r.JSON201 == nil {
		t.Fatalf("create contact: %d %s", r.StatusCode(), r.Body)
	}
	return r.JSON201.Id
}

func ptr[T any](v T) *T { return &v }

type outboxItem struct {
	To       string            `json:"to"`
	Subject  string            `json:"subject"`
	Text     string            `json:"text"`
	HTML     string            `json:"html"`
	Kind     string            `json:"kind"`
	From     string            `json:"from"`
	ReplyTo  *string           `json:"reply_to"`
	Headers  map[string]string `json:"headers"`
	Tracking *struct {
		Clicks bool `json:"clicks"`
		Opens  bool `json:"opens"`
	} `json:"tracking"`
}

func outbox(t *testing.T, to string) []outboxItem {
	t.Helper()
	resp, err := get(t, app.URL+"/dev/outbox?to="+url.QueryEscape(to))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Items []outboxItem }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// waitForMail waits until to has n messages of kind and returns them,
// newest first.
func waitForMail(t *testing.T, to, kind string, n int) []outboxItem {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []outboxItem
		for _, m := range outbox(t, to) {
			if m.Kind == kind {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s emails after 20s, want %d", to, len(got), kind, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var linkPattern = regexp.MustCompile(`https?://\S+/invitations/accept\?token=([A-Za-z0-9_-]+)`)

func linkIn(t *testing.T, m outboxItem) (string, string) {
	t.Helper()
	match := linkPattern.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no acceptance link in %q", m.Text)
	}
	return match[0], match[1]
}

// browser is a customer's browser: cookies, no automatic redirects.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: checked(t, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}})}
}

func (b *browser) get(u string) response {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: body, Header: resp.Header}
}

// get fetches u with the test's context.
func get(t *testing.T, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return checkedClient(t).Do(req)
}

// postForm posts a URL-encoded form with the test's context.
func postForm(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post submits a form, echoing the CSRF token of the page it came from.
func (b *browser) post(path string, page response, form url.Values) response {
	b.t.Helper()
	if m := csrfField.FindSubmatch(page.Body); m != nil {
		form.Set("csrf_token", string(m[1]))
	}
	resp, err := postForm(b.t, b.client, app.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: body, Header: resp.Header}
}

// slowMailgun fronts the Mailgun mock with a proxy that answers each send
// delay after the mock took the message, then calls answered (if set); it
// returns the API base to configure (MAILGUN_API_BASE).
func slowMailgun(t *testing.T, mg *testenv.Mailgun, delay time.Duration, answered func()) string {
	t.Helper()
	upstream, err := url.Parse(mg.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: upstream.Scheme, Host: upstream.Host})
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method == http.MethodPost && strings.HasSuffix(r.Request.URL.Path, "/messages") {
			time.Sleep(delay)
			if answered != nil {
				answered()
			}
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	return front.URL + "/v3"
}
