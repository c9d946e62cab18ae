package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/portalaccess/portal/api"
)

// malformed is a request the document does not allow and what the API
// must answer.
type malformed struct {
	name, contentType string
	body              []byte
	status            int
	code, field       string
}

// TestEveryJSONOperationRefusesMalformedRequests sends, to every operation
// of the document that takes a JSON body, a table of bodies generated from
// its schema: null, an array, a number, each field of the wrong type or
// null, each required field missing, each bounded string one character
// too long, an unknown field, the wrong media type, invalid UTF-8, a lone
// surrogate and a repeated field. Each is refused with the documented 4xx
// naming the field, and none changes the database or queues an email.
func TestEveryJSONOperationRefusesMalformedRequests(t *testing.T) {
	contract, err := api.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixtures(t)
	for _, path := range slices.Sorted(maps.Keys(contract.Doc.Paths.Map())) {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue // the JSON API; webhooks and the dev outbox check their own bodies
		}
		item := contract.Doc.Paths.Value(path)
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			media := op.RequestBody.Value.Content.Get("application/json")
			url := fx.resolve(t, path)
			for _, m := range malformedBodies(t, media) {
				t.Run(op.OperationID+"/"+m.name, func(t *testing.T) {
					before := fx.snapshot(t)
					r := sendRaw(t, method, url, m.contentType, m.body)
					if r.Status != m.status {
						t.Fatalf("%s %s with %s: %d %s, want %d", method, url, m.body, r.Status, r.Body, m.status)
					}
					var e struct {
						Error struct{ Code, Field, Message string }
					}
					if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code != m.code || e.Error.Field != m.field || e.Error.Message == "" {
						t.Fatalf("%s %s with %s: %s, want code %s field %q", method, url, m.body, r.Body, m.code, m.field)
					}
					if after := fx.snapshot(t); after != before {
						t.Fatalf("the refused request changed the database or queued mail:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
	}
}

// malformedBodies generates the table for one JSON body from its schema
// and its example (the valid body the single-field cases start from).
func malformedBodies(t *testing.T, media *openapi3.MediaType) []malformed {
	t.Helper()
	schema := media.Schema.Value
	base := exampleOf(t, media)
	invalid := func(name string, body any, field string) malformed {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		return malformed{name: name, contentType: "application/json", body: raw, status: 422, code: "invalid_field", field: field}
	}
	valid, _ := json.Marshal(base)
	out := []malformed{
		invalid("null", nil, ""),
		invalid("array", []any{base}, ""),
		invalid("number", 42, ""),
		invalid("string", "{}", ""),
		invalid("unknown field", with(base, "zz_unknown", true), "zz_unknown"),
		{name: "text/plain", contentType: "text/plain", body: valid, status: 415, code: "unsupported_media_type"},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: []byte("a=1"), status: 415, code: "unsupported_media_type"},
		{name: "not JSON", contentType: "application/json", body: []byte(`{"a":`), status: 400, code: "malformed_json"},
		{name: "empty", contentType: "application/json", body: nil, status: 400, code: "malformed_json"},
		{name: "invalid UTF-8", contentType: "application/json", body: []byte("{\"zz\":\"\xc3\x28\"}"), status: 400, code: "invalid_utf8"},
		{name: "lone surrogate", contentType: "application/json", body: []byte(`{"zz":"\ud800"}`), status: 400, code: "invalid_utf8"},
		{name: "repeated field", contentType: "application/json", body: []byte(`{"zz":1,"zz":2}`), status: 400, code: "duplicate_key", field: "zz"},
	}
	for _, name := range slices.Sorted(maps.Keys(schema.Properties)) {
		prop := schema.Properties[name].Value
		out = append(out, invalid(name+" of the wrong type", with(base, name, wrongType(prop)), name))
		if !prop.Nullable {
			out = append(out, invalid(name+" null", with(base, name, nil), name))
		}
		if prop.MaxLength != nil {
			out = append(out, invalid(name+" too long", with(base, name, tooLong(*prop.MaxLength)), name))
		}
		// One level down: the fields of an object field.
		for _, sub := range slices.Sorted(maps.Keys(prop.Properties)) {
			subProp := prop.Properties[sub].Value
			field := name + "." + sub
			out = append(out, invalid(field+" of the wrong type", with(base, name, map[string]any{sub: wrongType(subProp)}), field))
			if subProp.MaxLength != nil {
				out = append(out, invalid(field+" too long", with(base, name, map[string]any{sub: tooLong(*subProp.MaxLength)}), field))
			}
		}
	}
	for _, name := range schema.Required {
		out = append(out, invalid(name+" missing", without(base, name), name))
	}
	return out
}

func exampleOf(t *testing.T, media *openapi3.MediaType) map[string]any {
	t.Helper()
	ex := media.Example
	if ex == nil {
		for _, name := range slices.Sorted(maps.Keys(media.Examples)) {
			ex = media.Examples[name].Value.Value
			break
		}
	}
	m, ok := ex.(map[string]any)
	if !ok {
		t.Fatalf("the body's example is not an object: %v", ex)
	}
	return m
}

// wrongType is a value of none of the schema's types.
func wrongType(s *openapi3.Schema) any {
	switch {
	case s.Type.Is("string"):
		return 12345
	case s.Type.Is("integer"), s.Type.Is("number"):
		return "1"
	case s.Type.Is("array"):
		return map[string]any{}
	case s.Type.Is("object"):
		return []any{}
	case s.Type.Is("boolean"):
		return "yes"
	}
	return true // a oneOf or allOf of other types
}

// tooLong is a string one character over max, in characters that take two
// bytes each: the limit counts characters.
func tooLong(max uint64) string {
	var b strings.Builder
	for n := uint64(0); n <= max; n++ {
		b.WriteString("é")
	}
	return b.String()
}

func with(base map[string]any, name string, v any) map[string]any {
	out := maps.Clone(base)
	out[name] = v
	return out
}

func without(base map[string]any, name string) map[string]any {
	out := maps.Clone(base)
	delete(out, name)
	return out
}

func sendRaw(t *testing.T, method, path, contentType string, body []byte) response {
	t.Helper()
	return sendStream(t, method, path, contentType, bytes.NewReader(body))
}

// sendStream sends a body as it is read, with the admin key, through the
// client that checks every exchange against the document.
func sendStream(t *testing.T, method, path, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), strings.ToUpper(method), app.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+app.AdminKey)
	req.Header.Set("Content-Type", contentType)
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Body: out, Header: resp.Header}
}

// fixtures are the resources the operations' paths name, so that a
// request reaches its handler when the check lets it through.
type fixtures struct {
	slug                string
	contact, department int64
	user                int64
	email               string
}

func newFixtures(t *testing.T) *fixtures {
	fx := &fixtures{slug: newHelpCenter(t, "unique"), email: unique("malformed") + "@example.com"}
	fx.contact = newContact(t, fx.email, true)
	fx.department = int64(admin(t, "POST", "/api/v1/departments", map[string]any{"name": unique("Dept ")}, 201)["id"].(float64))
	inviteContact(t, fx.slug, fx.contact)
	waitForMail(t, fx.email, "invite", 1)
	users := admin(t, "GET", "/api/v1/help-centers/"+fx.slug+"/users", nil, 200)["items"].([]any)
	if len(users) != 1 {
		t.Fatalf("want the invited contact as the help center's one user: %v", users)
	}
	fx.user = int64(users[0].(map[string]any)["id"].(float64))
	return fx
}

// resolve fills a path's parameters with the fixtures.
func (fx *fixtures) resolve(t *testing.T, path string) string {
	t.Helper()
	id := ""
	switch {
	case strings.HasPrefix(path, "/api/v1/contacts/{id}"):
		id = fmt.Sprint(fx.contact)
	case strings.HasPrefix(path, "/api/v1/departments/{id}"):
		id = fmt.Sprint(fx.department)
	case strings.Contains(path, "/users/{id}"):
		id = fmt.Sprint(fx.user)
	case strings.Contains(path, "{id}"):
		t.Fatalf("no fixture for %s", path)
	}
	return strings.NewReplacer("{slug}", fx.slug, "{id}", id).Replace(path)
}

// snapshot is what a refused request must leave as it was: the rows it
// could have created or changed, and the mail to the fixture's contact.
func (fx *fixtures) snapshot(t *testing.T) string {
	t.Helper()
	var out string
	err := app.Service.Store.DB.NewRaw(`SELECT concat_ws(' ',
		(SELECT count(*) FROM contacts), (SELECT count(*) FROM departments), (SELECT count(*) FROM help_centers),
		(SELECT count(*) FROM api_keys), (SELECT count(*) FROM tickets),
		(SELECT count(*) FROM bulk_jobs b JOIN help_centers h ON h.id = b.help_center_id WHERE h.slug = ?),
		(SELECT count(*) FROM invitations i JOIN help_centers h ON h.id = i.help_center_id WHERE h.slug = ?),
		(SELECT updated_at FROM help_centers WHERE slug = ?), (SELECT updated_at FROM contacts WHERE id = ?),
		(SELECT updated_at FROM departments WHERE id = ?), (SELECT name FROM contacts WHERE id = ?),
		(SELECT count(*) FROM outbox_messages WHERE recipient = ?))`,
		fx.slug, fx.slug, fx.slug, fx.contact, fx.department, fx.contact, fx.email).Scan(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAPatchThatChangesNothingKeepsUpdatedAt: an empty PATCH, or one that
// repeats what is stored, answers 200 with the resource as it was.
func TestAPatchThatChangesNothingKeepsUpdatedAt(t *testing.T) {
	slug := newHelpCenter(t, "common")
	contact := newContact(t, unique("same")+"@example.com", true)
	dept := admin(t, "POST", "/api/v1/departments", map[string]any{"name": unique("Same ")}, 201)
	hc := admin(t, "GET", "/api/v1/help-centers/"+slug, nil, 200)
	ct := admin(t, "GET", fmt.Sprintf("/api/v1/contacts/%d", contact), nil, 200)
	cases := []struct {
		path   string
		before map[string]any
		bodies []map[string]any
	}{
		{"/api/v1/help-centers/" + slug, hc, []map[string]any{{}, {"name": hc["name"], "self_signup": false, "invite_policy": hc["invite_policy"]}}},
		{fmt.Sprintf("/api/v1/contacts/%d", contact), ct, []map[string]any{{}, {"name": ct["name"], "email": ct["email"], "verified": true}}},
		{fmt.Sprintf("/api/v1/departments/%v", dept["id"]), dept, []map[string]any{{}, {"name": dept["name"], "active": true}}},
	}
	time.Sleep(10 * time.Millisecond) // a bumped updated_at would differ
	for _, tc := range cases {
		for _, body := range tc.bodies {
			got := admin(t, "PATCH", tc.path, body, 200)
			if got["updated_at"] != tc.before["updated_at"] {
				t.Errorf("PATCH %s %v moved updated_at from %v to %v", tc.path, body, tc.before["updated_at"], got["updated_at"])
			}
		}
	}
	// A real change still moves it.
	got := admin(t, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", contact), map[string]any{"verified": false}, 200)
	if got["updated_at"] == ct["updated_at"] {
		t.Error("a change did not move updated_at")
	}
}
