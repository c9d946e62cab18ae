package api

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/portalaccess/portal/pages"
)

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPIDocumentsEveryRoute fails when a registered route, of the API
// or of the customer's pages, is missing from openapi.yaml, or the
// document names a route that does not exist.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	s := &Server{Outbox: true, Logger: slog.Default()}
	h := s.Handler()
	(&pages.Site{Logger: slog.Default()}).Register(h)
	registered := map[string]bool{}
	for _, r := range h.Routes() {
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		method := strings.ToLower(r.Method)
		registered[method+" "+path] = true
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("route %s %s is not in openapi.yaml", r.Method, path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !registered[method+" "+path] {
				t.Errorf("openapi.yaml documents %s %s, which is not a route", strings.ToUpper(method), path)
			}
		}
	}
}

// TestOpenAPIDocumentIsValid loads the document as kin-openapi does for
// the server's request validation: a reference that does not resolve, a
// schema keyword in the wrong place or an example that breaks its own
// schema fails here.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	if _, err := LoadContract(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenAPIOperationsFollowTheHouseRules holds every operation to what a
// client generator and a reader need: a stable operationId, a summary, a
// tag, the answers every API route can give, error codes listed per
// answer, and for each JSON body an example, a length limit on every
// string and no nullable boolean.
func TestOpenAPIOperationsFollowTheHouseRules(t *testing.T) {
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range c.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s: needs an operationId, a summary and a tag", name)
			}
			if !strings.HasPrefix(path, "/api/v1/") {
				continue
			}
			want := []string{"400", "401"}
			if op.RequestBody != nil {
				if _, ok := op.RequestBody.Value.Content["application/json"]; ok {
					want = append(want, "413", "415", "422")
				}
			}
			for _, status := range want {
				if op.Responses.Value(status) == nil {
					t.Errorf("%s: no %s answer", name, status)
				}
			}
			for status, resp := range op.Responses.Map() {
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				if codes := errorCodes(resp.Value); len(codes) == 0 {
					t.Errorf("%s: the %s answer lists no error codes", name, status)
				}
			}
			if op.RequestBody == nil {
				continue
			}
			media := op.RequestBody.Value.Content["application/json"]
			if media == nil {
				continue
			}
			if media.Example == nil && len(media.Examples) == 0 {
				t.Errorf("%s: the JSON body has no example", name)
			}
			checkRequestSchema(t, name, "", media.Schema.Value, map[*openapi3.Schema]bool{})
		}
	}
}

// errorCodes returns the enum of error.code in a JSON error answer.
func errorCodes(resp *openapi3.Response) []any {
	media := resp.Content["application/json"]
	if media == nil || media.Schema == nil {
		return nil
	}
	detail := media.Schema.Value.Properties["error"]
	if detail == nil || detail.Value.Properties["code"] == nil {
		return nil
	}
	return detail.Value.Properties["code"].Value.Enum
}

// checkRequestSchema walks a request body's schema: every free string is
// bounded, every boolean is true or false (never null).
func checkRequestSchema(t *testing.T, op, field string, s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	t.Helper()
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	switch {
	case s.Type.Is("string") && len(s.Enum) == 0 && s.MaxLength == nil:
		t.Errorf("%s: string %q has no maxLength", op, field)
	case s.Type.Is("boolean") && s.Nullable:
		t.Errorf("%s: boolean %q may be null", op, field)
	}
	for name, p := range s.Properties {
		checkRequestSchema(t, op, strings.TrimPrefix(field+"."+name, "."), p.Value, seen)
	}
	if s.Items != nil {
		checkRequestSchema(t, op, field+"[]", s.Items.Value, seen)
	}
	for _, group := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
		for _, sub := range group {
			checkRequestSchema(t, op, field, sub.Value, seen)
		}
	}
}
