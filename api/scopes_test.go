package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/testenv"
)

// A key scoped to one help center sees and acts on that help center only:
// everything of another answers 404 (or, for a ticket naming it, the same
// answer as an unknown help center), and no list shows its data.
func TestScopedKeySeesOnlyItsHelpCenters(t *testing.T) {
	mine, theirs := newHelpCenter(t, "unique"), newHelpCenter(t, "unique")
	myEmail, theirEmail := unique("mine")+"@example.com", unique("theirs")+"@example.com"
	myInv := inviteContact(t, mine, newContact(t, myEmail, true))
	theirContact := newContact(t, theirEmail, true)
	theirInv := inviteContact(t, theirs, theirContact)
	waitForUser(t, theirs, theirEmail, "invited")
	theirJob := admin(t, "POST", "/api/v1/help-centers/"+theirs+"/invitations/bulk",
		map[string]any{"contact_ids": []int64{theirContact}, "dry_run": true}, 202)["id"].(string)
	theirUser := waitForUser(t, theirs, theirEmail, "invited")["id"]
	// Something of theirs in the trail, to be kept from the scoped key.
	admin(t, "PATCH", "/api/v1/help-centers/"+theirs, map[string]any{"name": "Theirs"}, 200)

	scoped, _ := newKey(t, map[string]any{"role": "agent", "help_centers": []string{mine}})
	scopedAdmin, _ := newKey(t, map[string]any{"role": "admin", "help_centers": []string{mine}})

	seen := map[string]bool{}
	for cursor := ""; ; {
		r := call(t, "GET", "/api/v1/help-centers?limit=200&cursor="+cursor, scoped, nil)
		page := r.json(t)
		for _, it := range page["items"].([]any) {
			seen[it.(map[string]any)["slug"].(string)] = true
		}
		if cursor, _ = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if !seen[mine] || len(seen) != 1 {
		t.Fatalf("the scoped key lists %v, want only %s", seen, mine)
	}

	// Each request is one the document allows, so only the scope stands
	// between it and its handler.
	hidden := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/help-centers/" + theirs, nil},
		{"GET", "/api/v1/help-centers/" + theirs + "/invitations", nil},
		{"POST", "/api/v1/help-centers/" + theirs + "/invitations", map[string]any{"contact_id": theirContact}},
		{"POST", "/api/v1/help-centers/" + theirs + "/invitations/bulk", map[string]any{"all": true}},
		{"GET", "/api/v1/help-centers/" + theirs + "/users", nil},
		{"GET", "/api/v1/help-centers/" + theirs + "/users/export.csv", nil},
		{"PATCH", userPath(theirs, theirUser), map[string]any{"name": "x"}},
		{"POST", userPath(theirs, theirUser) + "/deactivate", nil},
		{"POST", "/api/v1/help-centers/" + theirs + "/users/deactivate", map[string]any{"ids": []any{theirUser}}},
		{"GET", "/api/v1/invitations/" + theirInv["id"].(string), nil},
		{"POST", "/api/v1/invitations/" + theirInv["id"].(string) + "/resend", nil},
		{"POST", "/api/v1/invitations/" + theirInv["id"].(string) + "/revoke", nil},
		{"GET", "/api/v1/bulk-invitations/" + theirJob, nil},
		{"GET", "/api/v1/bulk-invitations/" + theirJob + "/results.csv", nil},
		{"POST", "/api/v1/bulk-invitations/" + theirJob + "/cancel", nil},
	}
	for _, key := range []string{scoped, scopedAdmin} {
		for _, h := range hidden {
			r := call(t, h.method, h.path, key, h.body)
			if r.Status != 404 || strings.Contains(string(r.Body), theirEmail) {
				t.Errorf("%s %s with a key scoped to %s: %d %s, want 404", h.method, h.path, mine, r.Status, r.Body)
			}
		}
		r := call(t, "POST", "/api/v1/tickets", key, map[string]any{"help_center": theirs, "email": unique("t") + "@example.com", "subject": "Hi"})
		if r.Status != 422 || r.json(t)["error"].(map[string]any)["field"] != "help_center" {
			t.Errorf("a ticket for %s with a key scoped to %s: %d %s", theirs, mine, r.Status, r.Body)
		}
	}
	if r := call(t, "PATCH", "/api/v1/help-centers/"+theirs, scopedAdmin, map[string]any{"name": "x"}); r.Status != 404 {
		t.Errorf("a scoped admin editing another help center: %d %s", r.Status, r.Body)
	}
	waitForUser(t, mine, myEmail, "invited")
	if r := call(t, "GET", "/api/v1/invitations/"+myInv["id"].(string), scoped, nil); r.Status != 200 {
		t.Fatalf("the scoped key's own invitation: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", "/api/v1/help-centers/"+mine+"/users/export.csv", scoped, nil); r.Status != 200 || !strings.Contains(string(r.Body), myEmail) {
		t.Fatalf("the scoped key's own export: %d %s", r.Status, r.Body)
	}
	// A scoped admin reads only its help centers' part of the trail, and
	// can't manage keys (it could issue itself a wider one).
	r := call(t, "GET", "/api/v1/audit-events?limit=200", scopedAdmin, nil)
	for _, it := range r.json(t)["items"].([]any) {
		if hc := it.(map[string]any)["help_center"]; hc != mine {
			t.Fatalf("a key scoped to %s reads an event of %v: %v", mine, hc, it)
		}
	}
	if r := call(t, "GET", "/api/v1/audit-events.csv", scopedAdmin, nil); r.Status != 200 || strings.Contains(string(r.Body), ","+theirs+",") {
		t.Fatalf("scoped audit CSV: %d %s", r.Status, r.Body)
	}
	if r := call(t, "POST", "/api/v1/api-keys", scopedAdmin, map[string]any{"name": "wider", "role": "admin"}); r.Status != 403 {
		t.Fatalf("a scoped admin issuing a key: %d", r.Status)
	}
}

// The bootstrap key is one key among others: a start with a new
// PORTAL_ADMIN_API_KEY revokes the previous one.
func TestChangingTheBootstrapKeyRevokesThePreviousOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dbURL, drop, err := testenv.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	noWorker := false
	start := func(key string) *testenv.Portal {
		p, err := testenv.StartPortal(ctx, dbURL, temporalAddress, testenv.Options{Worker: &noWorker, Env: map[string]string{"PORTAL_ADMIN_API_KEY": key}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first, second := "first-bootstrap-"+unique("k"), "second-bootstrap-"+unique("k")
	p := start(first)
	if r := callOn(t, p.URL, first, "GET", "/api/v1/api-keys", nil); r.Status != 200 {
		t.Fatalf("first bootstrap key: %d", r.Status)
	}
	p.Stop()
	p = start(second)
	defer p.Stop()
	if r := callOn(t, p.URL, first, "GET", "/api/v1/help-centers", nil); r.Status != 401 {
		t.Fatalf("the previous bootstrap key after a change: %d, want 401", r.Status)
	}
	r := callOn(t, p.URL, second, "GET", "/api/v1/audit-events?action=api_key.revoked", nil)
	items := r.json(t)["items"].([]any)
	if r.Status != 200 || len(items) != 1 || items[0].(map[string]any)["actor"] != "system" {
		t.Fatalf("revocation of the previous bootstrap key: %d %s", r.Status, r.Body)
	}
}

// The trail answers who changed what: filters, paging and the CSV, with
// the request's ID and the changed fields' names, never their values.
func TestAuditTrailAnswersWhoChangedWhat(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	agent, agentID := newKey(t, map[string]any{"role": "agent"})
	email := unique("aud") + "@example.com"
	inviteContact(t, slug, newContact(t, email, true))
	acceptWith(t, email, slug, "audit-horse-battery")
	id := jsonID(waitForUser(t, slug, email, "active")["id"])
	rid := unique("rename-")
	if r := callWithRequestID(t, "PATCH", userPath(slug, id), agent, rid, map[string]any{"name": "Secret Newname"}); r.Status != 200 {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	if r := callWithRequestID(t, "POST", userPath(slug, id)+"/deactivate", agent, rid+"-d", nil); r.Status != 200 {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	events := auditEvents(t, "target=user:"+id+"&help_center="+slug)
	if len(events) != 2 || events[0]["action"] != "user.deactivated" || events[1]["action"] != "user.updated" {
		t.Fatalf("events of user %s: %v", id, events)
	}
	for _, e := range events {
		if e["actor"] != "api_key:"+agentID {
			t.Fatalf("event by %v, want the agent's key %s", e["actor"], agentID)
		}
	}
	if f := events[1]["details"].(map[string]any)["fields"].([]any); len(f) != 1 || f[0] != "name" || events[1]["request_id"] != rid {
		t.Fatalf("rename event %v", events[1])
	}
	if got := auditEvents(t, "actor=api_key:"+agentID+"&action=user.deactivated"); len(got) != 1 {
		t.Fatalf("filter by actor and action: %v", got)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if got := auditEvents(t, "target=user:"+id+"&since="+future); len(got) != 0 {
		t.Fatalf("since an hour from now: %v", got)
	}
	if got := auditEvents(t, "target=user:"+id+"&until="+future); len(got) != 2 {
		t.Fatalf("until an hour from now: %v", got)
	}
	if r := call(t, "GET", "/api/v1/audit-events?since=yesterday", app.AdminKey, nil); r.Status != 400 || r.errorCode(t) != "invalid_query" {
		t.Fatalf("bad since: %d %s", r.Status, r.Body)
	}
	first := admin(t, "GET", "/api/v1/audit-events?limit=1&target=user:"+id, nil, 200)
	next := admin(t, "GET", "/api/v1/audit-events?limit=1&target=user:"+id+"&cursor="+first["next_cursor"].(string), nil, 200)
	if a, b := first["items"].([]any)[0].(map[string]any), next["items"].([]any)[0].(map[string]any); a["action"] != "user.deactivated" || b["action"] != "user.updated" {
		t.Fatalf("pages: %v then %v", a, b)
	}
	r := call(t, "GET", "/api/v1/audit-events.csv?target=user:"+id, app.AdminKey, nil)
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if r.Status != 200 || len(lines) != 3 || !strings.HasPrefix(lines[0], "id,at,actor,action,target,help_center,request_id,details") ||
		!strings.Contains(lines[2], rid) {
		t.Fatalf("CSV: %d %s", r.Status, r.Body)
	}
	// No event holds the person's address or name.
	all := call(t, "GET", "/api/v1/audit-events.csv?help_center="+slug, app.AdminKey, nil)
	if strings.Contains(string(all.Body), email) || strings.Contains(string(all.Body), "Newname") {
		t.Fatalf("the trail holds personal data: %s", all.Body)
	}
}
