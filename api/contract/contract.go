// Package contract holds the API's OpenAPI document as the server and its
// tests use it: loaded and checked once, with a router that finds the
// operation a request names, and the checks a request must pass before a
// handler sees it (its media type, its bytes, and the document's rules).
package contract

import (
	"context"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Contract is a loaded, valid OpenAPI document and its router.
type Contract struct {
	Doc    *openapi3.T
	Router routers.Router
}

// Load parses and validates an OpenAPI document, its examples included.
func Load(spec []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("not a valid OpenAPI document: %w", err)
	}
	// Routes match by path alone: the document's server is an example,
	// and the portal answers on whatever address it is given.
	routable := *doc
	routable.Servers = nil
	router, err := gorillamux.NewRouter(&routable)
	if err != nil {
		return nil, fmt.Errorf("openapi document routes: %w", err)
	}
	return &Contract{Doc: doc, Router: router}, nil
}

func init() {
	// Bodies the document describes as plain strings: the CSV exports,
	// the HTML pages and the document itself.
	for _, mediaType := range []string{"text/csv", "text/html", "application/yaml"} {
		openapi3filter.RegisterBodyDecoder(mediaType, openapi3filter.FileBodyDecoder)
	}
}
