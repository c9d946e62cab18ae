package api_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portalaccess/portal/metrics"
)

// counterDelta returns a function reporting how much c grew since now.
func counterDelta(c prometheus.Collector) func() float64 {
	before := testutil.ToFloat64(c)
	return func() float64 { return testutil.ToFloat64(c) - before }
}

// An invite is counted where it happened: the request by route and
// status, the invitation by the activity that recorded it, the email by
// the activity that sent it.
func TestInviteIsCountedByRouteInvitationAndEmail(t *testing.T) {
	requests := counterDelta(metrics.HTTPRequests.WithLabelValues("/api/v1/help-centers/:slug/invitations", "POST", "202"))
	started := counterDelta(metrics.Invitations.WithLabelValues("started"))
	sent := counterDelta(metrics.Emails.WithLabelValues("invite", "sent"))
	slug := newHelpCenter(t, "unique")
	email := unique("counted") + "@example.com"
	contact := newContact(t, email, true)
	admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	waitForMail(t, email, "invite", 1)
	// Other tests of the package run beside this one: at least ours.
	if requests() < 1 || started() < 1 || sent() < 1 {
		t.Fatalf("counted %v requests, %v invitations started, %v invite emails sent; want at least one each",
			requests(), started(), sent())
	}
}

// A portal form over its per-client limit is counted as a 429 of the
// client limit.
func TestRateLimitedFormIsCounted(t *testing.T) {
	limited := counterDelta(metrics.RateLimited.WithLabelValues("client"))
	p := startPortal(t, map[string]string{"RATE_LIMIT_PER_IP": "1/1m"})
	slug := newHelpCenter(t, "unique")
	v := newVisitor(t, p.URL)
	page := v.loginForm(slug)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := v.post("/portal/"+slug+"/login", page, url.Values{"email": {"nobody@example.com"}, "password": {"wrong-password-1"}})
		if r.Status == http.StatusTooManyRequests {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 429 from a portal allowing one post a minute: last %d", r.Status)
		}
	}
	if limited() < 1 {
		t.Fatal("portal_rate_limited_total{limit=\"client\"} did not count the 429")
	}
}

// A login refused because the address is locked out is counted.
func TestLockedOutLoginIsCounted(t *testing.T) {
	lockouts := counterDelta(metrics.Lockouts)
	slug := newHelpCenter(t, "unique")
	v := newVisitor(t, app.URL)
	page := v.loginForm(slug)
	nobody := unique("locked") + "@example.com"
	for i := range 11 {
		r := v.post("/portal/"+slug+"/login", page, url.Values{"email": {nobody}, "password": {"wrong-horse-1"}})
		if r.Status == http.StatusTooManyRequests {
			break
		}
		if i == 10 {
			t.Fatalf("eleventh failed login: %d, want 429", r.Status)
		}
	}
	if lockouts() < 1 {
		t.Fatal("portal_login_lockouts_total did not count the locked-out login")
	}
}

// A bulk job is counted when it starts and ends, and each contact by its
// result: the job's progress.
func TestBulkJobAndItsContactsAreCounted(t *testing.T) {
	started := counterDelta(metrics.BulkJobs.WithLabelValues("started"))
	completed := counterDelta(metrics.BulkJobs.WithLabelValues("completed"))
	invited := counterDelta(metrics.BulkContacts.WithLabelValues("invited"))
	slug := newHelpCenter(t, "unique")
	ids := []int64{newContact(t, unique("bulkm")+"@example.com", true), newContact(t, unique("bulkm")+"@example.com", true)}
	job := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk", map[string]any{"contact_ids": ids}, 202)["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for admin(t, "GET", "/api/v1/bulk-invitations/"+job, nil, 200)["status"] != "completed" {
		if time.Now().After(deadline) {
			t.Fatal("bulk job not completed within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if started() < 1 || completed() < 1 || invited() < 2 {
		t.Fatalf("counted %v jobs started, %v completed, %v contacts invited; want 1, 1, 2 at least", started(), completed(), invited())
	}
}
