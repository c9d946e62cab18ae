package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/testenv"
)

// callOn calls the API of the portal at base: the package's (call), or
// another one a test started. A string or []byte body goes as it is;
// anything else as JSON.
func callOn(t *testing.T, base, key, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: out, Header: resp.Header}
}

// freeAddress is a loopback address nobody listens on (yet).
func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// A portal whose Temporal is down starts, serves its pages, answers what
// needs Temporal with 503 temporal_unavailable within its call timeout,
// says it is not ready, and recovers without a restart once Temporal
// comes up where it looks for it: invites then work and their emails go
// out (the worker started late).
func TestPortalServesWhileTemporalIsDownAndRecoversWhenItReturns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second dev server")
	}
	ctx := context.Background()
	addr := freeAddress(t)
	p, err := testenv.StartPortal(ctx, databaseURL, addr, testenv.Options{Env: map[string]string{"TEMPORAL_CALL_TIMEOUT": "2s"}})
	if err != nil {
		t.Fatalf("the portal must start while Temporal is unreachable: %v", err)
	}
	defer p.Stop()

	slug := newHelpCenter(t, "unique")
	email := unique("outage") + "@example.com"
	contact := newContact(t, email, true)

	if r := callOn(t, p.URL, "", "GET", "/portal/"+slug+"/login", nil); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), "<form") {
		t.Fatalf("login page while Temporal is down: %d %s", r.Status, r.Body)
	}
	// A form that needs Temporal answers the portal's HTML 503 page, never
	// the API's JSON.
	v := newVisitor(t, p.URL)
	forgot := v.get("/portal/" + slug + "/password/forgot")
	if r := v.post("/portal/"+slug+"/password/forgot", forgot, url.Values{"email": {email}}); r.Status != http.StatusServiceUnavailable ||
		!strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), "try again") {
		t.Fatalf("forgot-password post while Temporal is down: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	unavailableBefore := testutil.ToFloat64(metrics.TemporalUnavailable)
	started := time.Now()
	r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact})
	if r.Status != http.StatusServiceUnavailable || r.errorCode(t) != "temporal_unavailable" {
		t.Fatalf("invite while Temporal is down: %d %s, want 503 temporal_unavailable", r.Status, r.Body)
	}
	if took := time.Since(started); took > 15*time.Second {
		t.Fatalf("invite took %s to fail: calls to Temporal need a deadline", took)
	}
	if testutil.ToFloat64(metrics.TemporalUnavailable) <= unavailableBefore {
		t.Error("portal_temporal_unavailable_total did not count the call that found Temporal down")
	}
	// Not ready, and nothing more: the reason is in the log.
	if r := callOn(t, p.URL, "", "GET", "/readyz", nil); r.Status != http.StatusServiceUnavailable ||
		strings.TrimSpace(string(r.Body)) != `{"status":"unavailable"}` {
		t.Fatalf("readyz while Temporal is down: %d %s", r.Status, r.Body)
	}

	dev, err := testenv.TemporalAt(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dev.Stop() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		r = callOn(t, p.URL, "", "GET", "/readyz", nil)
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz did not recover within 60s of Temporal returning: %d %s", r.Status, r.Body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for {
		r = callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact})
		if r.Status < 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("invite did not recover within 60s of Temporal returning: %d %s", r.Status, r.Body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := r.json(t)["status"]; got != "pending" {
		t.Fatalf("invite after recovery: %v", fmt.Sprint(got))
	}
	waitForMailOn(t, p.URL, email, "invite", 40*time.Second)
}

// waitForMailOn waits for an email of kind to reach to in base's outbox.
func waitForMailOn(t *testing.T, base, to, kind string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := callOn(t, base, "", "GET", "/dev/outbox?to="+to, nil)
		var out struct{ Items []outboxItem }
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("outbox: %d %s", r.Status, r.Body)
		}
		for _, m := range out.Items {
			if m.Kind == kind {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s email to %s within %s", kind, to, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
