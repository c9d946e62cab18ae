package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The role matrix as the README writes it: method and route to role.
var matrixRow = regexp.MustCompile("^\\| (GET|POST|PATCH|DELETE|PUT) \\| `(/api/v1[^`]*)` \\| (admin|agent)")

func readmeMatrix(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if m := matrixRow.FindStringSubmatch(line); m != nil {
			out[m[1]+" "+m[2]] = m[3]
		}
	}
	if len(out) == 0 {
		t.Fatal("README has no role matrix")
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

// newKey issues a key through the API and returns its secret and ID.
func newKey(t *testing.T, body map[string]any) (string, string) {
	t.Helper()
	if body["name"] == nil {
		body["name"] = unique("key-")
	}
	k := admin(t, "POST", "/api/v1/api-keys", body, 201)
	return k["key"].(string), jsonID(k["id"])
}

// TestRoleMatrixHoldsForEveryRoute calls every operation of the OpenAPI
// document with an agent key and with no key: admin routes refuse the
// agent with 403, agent routes let it through to their own checks, and
// every route wants a key. The README's matrix, the document and the
// route table must name the same routes.
func TestRoleMatrixHoldsForEveryRoute(t *testing.T) {
	matrix := readmeMatrix(t)
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, methods := range doc.Paths {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		for m := range methods {
			if m != "parameters" {
				ops = append(ops, strings.ToUpper(m)+" "+path)
			}
		}
	}
	sort.Strings(ops)
	for _, rt := range app.Service.API().Routes() {
		op := rt.Method + " /api/v1" + regexp.MustCompile(`:([A-Za-z_]+)`).ReplaceAllString(rt.Path, "{$1}")
		if matrix[op] != string(rt.Role) {
			t.Errorf("%s: the route table says %s, the README %q", op, rt.Role, matrix[op])
		}
	}
	if n := len(app.Service.API().Routes()); n != len(matrix) || n != len(ops) {
		t.Errorf("%d routes, %d in the README's matrix, %d in openapi.yaml", n, len(matrix), len(ops))
	}

	slug := newHelpCenter(t, "unique")
	agent, _ := newKey(t, map[string]any{"role": "agent"})
	for _, op := range ops {
		role, ok := matrix[op]
		if !ok {
			t.Errorf("%s is in openapi.yaml but not in the README's role matrix", op)
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		path = pathParam.ReplaceAllStringFunc(path, func(p string) string {
			switch {
			case p == "{slug}":
				return slug
			case strings.Contains(path, "/invitations/{id}") || strings.Contains(path, "/bulk-invitations/{id}"):
				return "00000000-0000-4000-8000-000000000000"
			default:
				return "999999999"
			}
		})
		if r := call(t, method, path, "", map[string]any{}); r.Status != http.StatusUnauthorized {
			t.Errorf("%s without a key: %d, want 401", op, r.Status)
		}
		r := call(t, method, path, agent, map[string]any{})
		switch {
		case role == "admin" && (r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden"):
			t.Errorf("%s with an agent key: %d %s, want 403 forbidden", op, r.Status, r.Body)
		case role == "agent" && (r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized || r.Status >= 500):
			t.Errorf("%s with an agent key: %d %s, want the route's own answer", op, r.Status, r.Body)
		}
	}
}

// adminKeyID is the ID of the package portal's bootstrap key.
func adminKeyID(t *testing.T) string {
	t.Helper()
	for cursor := ""; ; {
		page := admin(t, "GET", "/api/v1/api-keys?limit=200&cursor="+cursor, nil, 200)
		for _, it := range page["items"].([]any) {
			k := it.(map[string]any)
			if k["bootstrap"] == true && k["revoked_at"] == nil && strings.HasPrefix(app.AdminKey, k["prefix"].(string)) {
				return jsonID(k["id"])
			}
		}
		if cursor, _ = page["next_cursor"].(string); cursor == "" {
			t.Fatal("the bootstrap key is not listed")
		}
	}
}

// auditEvents lists the audit events a query selects, newest first.
func auditEvents(t *testing.T, query string) []map[string]any {
	t.Helper()
	page := admin(t, "GET", "/api/v1/audit-events?limit=200&"+query, nil, 200)
	var out []map[string]any
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// callWithRequestID is call with an X-Request-Id of the test's choosing.
func callWithRequestID(t *testing.T, method, path, key, requestID string, body any) response {
	t.Helper()
	buf, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), method, app.URL+path, strings.NewReader(string(buf)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", requestID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

// An agent can't undo an admin's decision: a sign-up waiting for approval
// or rejected keeps its status against an agent's deactivate and
// reactivate, one at a time or in bulk; an admin's decisions and changes
// are recorded with who made them.
func TestAgentCannotUndoAnAdminsRejection(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, true)
	email := unique("held") + "@example.com"
	signUp(t, slug, "Hal Held", email, "correct-horse-1")
	verify(t, email, "correct-horse-1")
	id := userID(t, slug, email, "pending_approval")
	agent, agentID := newKey(t, map[string]any{"role": "agent"})

	for _, action := range []string{"deactivate", "reactivate"} {
		if r := call(t, "POST", userPath(slug, id)+"/"+action, agent, nil); r.Status != 409 || r.errorCode(t) != "pending_approval" {
			t.Fatalf("agent %s of a sign-up waiting for approval: %d %s", action, r.Status, r.Body)
		}
	}
	rid := unique("reject-")
	if r := callWithRequestID(t, "POST", userPath(slug, id)+"/reject", app.AdminKey, rid, nil); r.Status != 200 {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	userID(t, slug, email, "rejected")
	for _, action := range []string{"deactivate", "reactivate"} {
		if r := call(t, "POST", userPath(slug, id)+"/"+action, agent, nil); r.Status != 409 || r.errorCode(t) != "rejected_by_admin" {
			t.Fatalf("agent %s of a rejected user: %d %s", action, r.Status, r.Body)
		}
		r := call(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+action, agent, map[string]any{"ids": []json.Number{json.Number(id)}})
		item := r.json(t)["items"].([]any)[0].(map[string]any)
		if r.Status != 200 || item["changed"] == true || item["error"].(map[string]any)["code"] != "rejected_by_admin" {
			t.Fatalf("agent bulk %s of a rejected user: %d %s", action, r.Status, r.Body)
		}
	}
	requireUserStatus(t, slug, email, "rejected")
	if events := auditEvents(t, "target=user:"+id+"&actor=api_key:"+agentID); len(events) != 0 {
		t.Fatalf("refused changes were recorded: %v", events)
	}

	// An admin may: the deactivation is recorded with the admin's key and
	// the request's ID.
	did := unique("deactivate-")
	if r := callWithRequestID(t, "POST", userPath(slug, id)+"/deactivate", app.AdminKey, did, nil); r.Status != 200 || r.Header.Get("X-Request-Id") != did {
		t.Fatalf("admin deactivate of a rejected user: %d %s (request id %q)", r.Status, r.Body, r.Header.Get("X-Request-Id"))
	}
	events := auditEvents(t, "target=user:"+id)
	adminActor := "api_key:" + adminKeyID(t)
	want := []struct{ action, requestID string }{{"user.deactivated", did}, {"user.rejected", rid}}
	if len(events) != len(want) {
		t.Fatalf("events of user %s: %v, want %v", id, events, want)
	}
	for i, w := range want {
		e := events[i]
		if e["action"] != w.action || e["actor"] != adminActor || e["request_id"] != w.requestID || e["help_center"] != slug {
			t.Fatalf("event %d: %v, want %s by %s in request %s of %s", i, e, w.action, adminActor, w.requestID, slug)
		}
	}
	if d := events[0]["details"].(map[string]any); d["from"] != "rejected" || d["to"] != "deactivated" {
		t.Fatalf("deactivation details %v", d)
	}
}

// Keys have a lifecycle: listed without their secret, noted when used,
// revoked at once, refused once expired, and each step is in the trail.
func TestAPIKeysAreListedRevokedAndExpire(t *testing.T) {
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	secret, id := newKey(t, map[string]any{"role": "agent", "expires_at": expires.Format(time.RFC3339)})
	if r := call(t, "GET", "/api/v1/help-centers", secret, nil); r.Status != 200 {
		t.Fatalf("new key: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", "/api/v1/api-keys", secret, nil); r.Status != 403 {
		t.Fatalf("agent listing keys: %d", r.Status)
	}
	var listed map[string]any
	for cursor := ""; listed == nil; {
		r := call(t, "GET", "/api/v1/api-keys?limit=200&cursor="+cursor, app.AdminKey, nil)
		if strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), app.AdminKey) || strings.Contains(string(r.Body), `"key"`) {
			t.Fatalf("the key list shows a secret: %s", r.Body)
		}
		page := r.json(t)
		for _, it := range page["items"].([]any) {
			if k := it.(map[string]any); jsonID(k["id"]) == id {
				listed = k
			}
		}
		if cursor, _ = page["next_cursor"].(string); cursor == "" && listed == nil {
			t.Fatalf("key %s is not listed", id)
		}
	}
	if listed["prefix"] != secret[:10] || listed["role"] != "agent" || listed["last_used_at"] == nil ||
		jsonID(listed["created_by"]) != adminKeyID(t) || listed["expires_at"] != expires.Format(time.RFC3339) {
		t.Fatalf("listed key %v", listed)
	}

	if r := call(t, "DELETE", "/api/v1/api-keys/"+id, app.AdminKey, nil); r.Status != 200 || r.json(t)["revoked_at"] == nil {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", "/api/v1/help-centers", secret, nil); r.Status != 401 {
		t.Fatalf("revoked key: %d, want 401", r.Status)
	}
	if r := call(t, "DELETE", "/api/v1/api-keys/"+id, app.AdminKey, nil); r.Status != 200 {
		t.Fatalf("revoking twice: %d", r.Status)
	}
	if r := call(t, "DELETE", "/api/v1/api-keys/999999999", app.AdminKey, nil); r.Status != 404 || r.errorCode(t) != "api_key_not_found" {
		t.Fatalf("revoking an unknown key: %d %s", r.Status, r.Body)
	}
	events := auditEvents(t, "target=api_key:"+id)
	if len(events) != 2 || events[0]["action"] != "api_key.revoked" || events[1]["action"] != "api_key.created" {
		t.Fatalf("events of key %s: %v, want created then revoked once", id, events)
	}

	if r := call(t, "POST", "/api/v1/api-keys", app.AdminKey, map[string]any{"name": "past", "role": "agent",
		"expires_at": time.Now().Add(-time.Minute).Format(time.RFC3339)}); r.Status != 422 {
		t.Fatalf("a key expiring in the past: %d", r.Status)
	}
	short, _ := newKey(t, map[string]any{"role": "agent", "expires_at": time.Now().Add(2 * time.Second).Format(time.RFC3339Nano)})
	deadline := time.Now().Add(15 * time.Second)
	for call(t, "GET", "/api/v1/help-centers", short, nil).Status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("an expired key still authenticates")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
