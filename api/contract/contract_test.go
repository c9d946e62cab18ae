package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portalaccess/portal/api/contract"
)

func load(t testing.TB) *contract.Contract {
	t.Helper()
	spec, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Load(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func post(path, contentType, body string) *http.Request {
	req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// TestCheckRefusesWhatTheDocumentDoesNotAllow covers each kind of refusal
// on POST /api/v1/contacts and the bulk invite, whose dry_run decides
// whether email goes out.
func TestCheckRefusesWhatTheDocumentDoesNotAllow(t *testing.T) {
	c := load(t)
	const contacts, bulk = "/api/v1/contacts", "/api/v1/help-centers/acme/invitations/bulk"
	cases := []struct {
		name, path, contentType, body string
		status                        int
		code, field, rule             string
	}{
		{"null body", contacts, "application/json", `null`, 422, "invalid_field", "", "nullable"},
		{"array body", contacts, "application/json", `[]`, 422, "invalid_field", "", "type"},
		{"number body", contacts, "application/json", `7`, 422, "invalid_field", "", "type"},
		{"not JSON", contacts, "application/json", `{"email":`, 400, "malformed_json", "", ""},
		{"two values", contacts, "application/json", `{} {}`, 400, "malformed_json", "", ""},
		{"empty", contacts, "application/json", ``, 400, "malformed_json", "", ""},
		{"text/plain", contacts, "text/plain", `{}`, 415, "unsupported_media_type", "", ""},
		{"no content type", contacts, "", `{}`, 415, "unsupported_media_type", "", ""},
		{"latin-1", contacts, "application/json; charset=iso-8859-1", `{}`, 415, "unsupported_media_type", "", ""},
		{"invalid UTF-8", contacts, "application/json", "{\"name\":\"\xff\"}", 400, "invalid_utf8", "", ""},
		{"lone high surrogate", contacts, "application/json", `{"name":"\ud800x"}`, 400, "invalid_utf8", "", ""},
		{"lone low surrogate", contacts, "application/json", `{"name":"\udc00"}`, 400, "invalid_utf8", "", ""},
		{"duplicate key", contacts, "application/json", `{"name":"a","name":"b"}`, 400, "duplicate_key", "name", ""},
		{"unknown field", contacts, "application/json", `{"emial":"a@b.c"}`, 422, "invalid_field", "emial", "properties"},
		{"wrong type", contacts, "application/json", `{"verified":"yes"}`, 422, "invalid_field", "verified", "type"},
		{"null boolean", contacts, "application/json", `{"verified":null}`, 422, "invalid_field", "verified", "nullable"},
		{"over-long name", contacts, "application/json", `{"name":"` + strings.Repeat("é", 201) + `"}`, 422, "invalid_field", "name", "maxLength"},
		{"null dry_run", bulk, "application/json", `{"all":true,"dry_run":null}`, 422, "invalid_field", "dry_run", "nullable"},
		{"string dry_run", bulk, "application/json", `{"all":true,"dry_run":"false"}`, 422, "invalid_field", "dry_run", "type"},
		{"nested unknown field", bulk, "application/json", `{"filter":{"verifed":true}}`, 422, "invalid_field", "filter.verifed", "properties"},
		{"nested duplicate", bulk, "application/json", `{"filter":{"q":"a","q":"b"}}`, 400, "duplicate_key", "filter.q", ""},
		{"id out of range", bulk, "application/json", `{"contact_ids":[0]}`, 422, "invalid_field", "contact_ids.0", "minimum"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Check(post(tc.path, tc.contentType, tc.body))
			if r == nil {
				t.Fatalf("accepted %q", tc.body)
			}
			if r.Status != tc.status || r.Code != tc.code || r.Field != tc.field || r.Rule != tc.rule || r.Message == "" {
				t.Fatalf("got %+v, want %d %s field %q rule %q", *r, tc.status, tc.code, tc.field, tc.rule)
			}
		})
	}
}

func TestCheckPassesAValidRequestAndItsBodyOn(t *testing.T) {
	c := load(t)
	body := `{"email":null,"name":"Ada \ud83d\ude00","verified":true}`
	req := post("/api/v1/contacts", "application/json; charset=utf-8", body)
	if r := c.Check(req); r != nil {
		t.Fatalf("refused: %+v", *r)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(req.Body); err != nil || got.String() != body {
		t.Fatalf("the handler would read %q (%v), want the body as sent", got.String(), err)
	}
}

func TestCheckValidatesQueryAndHeaderParameters(t *testing.T) {
	c := load(t)
	list := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/api/v1/contacts?limit=1000", nil)
	if r := c.Check(list); r == nil || r.Status != 422 || r.Field != "limit" || r.Rule != "maximum" {
		t.Fatalf("limit=1000: %+v", r)
	}
	cancel := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/api/v1/bulk-invitations/0d9c5a3e-8d54-4a57-9d6d-4e0f7a7c1b11/cancel", nil)
	cancel.Header.Set("Idempotency-Key", strings.Repeat("k", 201))
	if r := c.Check(cancel); r == nil || r.Status != 400 || r.Code != "invalid_idempotency_key" {
		t.Fatalf("long Idempotency-Key: %+v", r)
	}
	// A malformed id names no contact: the handler answers 404.
	if r := c.Check(httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/api/v1/contacts/abc", nil)); r != nil {
		t.Fatalf("path parameter: %+v", *r)
	}
}

// FuzzRequestDecoding feeds arbitrary bodies to the check of POST
// /api/v1/contacts: it never panics, refuses with a 4xx and a code, and
// whatever it lets through is one JSON object in UTF-8 that decodes
// into the handler's request shape without unknown fields.
func FuzzRequestDecoding(f *testing.F) {
	c := load(f)
	for _, seed := range []string{`{}`, `null`, `{"email":"a@b.c","name":"Ada","verified":true}`, `{"name":"a","name":"b"}`,
		`{"name":"\ud800"}`, "{\"name\":\"\xff\"}", `[{"a":1}]`, `{"email":null}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := c.Check(post("/api/v1/contacts", "application/json", string(body)))
		if r != nil {
			if r.Status < 400 || r.Status > 499 || r.Code == "" || r.Message == "" {
				t.Fatalf("refusal %+v", *r)
			}
			return
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8 JSON: %q", body)
		}
		var req struct {
			Email    *string `json:"email"`
			Name     string  `json:"name"`
			Verified bool    `json:"verified"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			t.Fatalf("accepted %q, which the handler can't decode: %v", body, err)
		}
		if utf8.RuneCountInString(req.Name) > 200 {
			t.Fatalf("accepted a name of %d characters", utf8.RuneCountInString(req.Name))
		}
	})
}
