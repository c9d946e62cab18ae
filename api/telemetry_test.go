package api_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/testenv"
)

// An admin's POST of an invitation is one trace: the HTTP request's span
// is the root of the update-with-start, the workflow's update handler and
// activities, and the email send on the mail worker, carried through
// Temporal's headers.
func TestInviteIsOneTraceFromTheRequestToTheEmailSend(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress,
		testenv.Options{Service: []service.Option{service.WithSpanExporter(spans)}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	slug := newHelpCenter(t, "unique")
	email := unique("traced") + "@example.com"
	contact := newContact(t, email, true)
	if r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}); r.Status >= 300 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	waitForMailOn(t, p.URL, email, "invite", 30*time.Second)

	var names []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := spans.GetSpans()
		root := -1
		for i, s := range got {
			if s.Name == "POST /api/v1/help-centers/:slug/invitations" {
				root = i
			}
		}
		names = names[:0]
		if root >= 0 {
			for _, s := range got {
				if s.SpanContext.TraceID() == got[root].SpanContext.TraceID() {
					names = append(names, s.Name)
				}
			}
		}
		// The workflow's own span ends when it does; its activities' spans
		// are children of it, in the same trace.
		want := []string{"UpdateWithStartWorkflow:", "HandleUpdate:", "StartActivity:RecordInvitation",
			"StartActivity:SendInvitation", "RunActivity:SendInvitation"}
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool {
			return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, w) })
		})
		if root >= 0 && len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace of the invite lacks %v; its spans: %v", missing, names)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Opening the link records its route and path, never its token.
	link, token := linkIn(t, waitForMail(t, email, "invite", 1)[0])
	resp, err := get(t, link)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	opened := false
	for _, s := range spans.GetSpans() {
		opened = opened || s.Name == "GET /portal/:slug/invitations/accept"
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.String(), token) {
				t.Errorf("span %q attribute %s holds the link's token", s.Name, a.Key)
			}
		}
	}
	if !opened {
		t.Error("no span for opening the link")
	}
}

// scrape returns the metric families /metrics serves (names of
// histograms with their _bucket, _sum and _count series).
func scrape(t *testing.T, p *testenv.Portal) map[string]bool {
	t.Helper()
	rec := httptest.NewRecorder()
	p.Service.MetricsHandler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	names := map[string]bool{}
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names[name] = true
	}
	return names
}
