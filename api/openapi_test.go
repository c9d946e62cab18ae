package api

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"

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
