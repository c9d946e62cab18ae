package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Refusal is why a request is refused before any handler runs, in the
// terms of the API's error body.
type Refusal struct {
	Status  int
	Code    string
	Field   string
	Rule    string
	Message string
}

// options check what the document says of a request; who may call is the
// server's own check, done before.
var options = &openapi3filter.Options{
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	// A null must not take a field's default: "dry_run": null is refused,
	// never read as false. The handlers apply defaults to absent fields.
	SkipSettingDefaults: true,
}

// Check holds a request to its operation in the document: the media type
// and bytes of a JSON body, then the document's rules for the body and
// the query and header parameters. A JSON body is read and put back for
// the handler; any other body is left unread. It returns nil for a request
// that may go on, and for one whose route the document does not name (the
// server answers those itself). A path parameter of the wrong form names
// no resource, which the handler answers with its 404.
func (c *Contract) Check(req *http.Request) *Refusal {
	route, params, err := c.Router.FindRoute(req)
	if err != nil {
		return nil
	}
	op := route.Operation
	takesJSON := op.RequestBody != nil && op.RequestBody.Value.Content.Get("application/json") != nil
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: options}
	if takesJSON {
		body, r := readBody(req)
		if r != nil {
			return r
		}
		if r := checkMediaType(req, body); r != nil {
			return r
		}
		if r := CheckJSON(body); r != nil {
			return r
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		// The validator reads the body too; the handler gets it afresh.
		defer func() { req.Body = io.NopCloser(bytes.NewReader(body)) }()
	} else {
		o := *options
		o.ExcludeRequestBody = true
		in.Options = &o
		// The validator's security step reads a body whole even when told
		// to leave it alone; an upload streams to its handler instead.
		unread := *req
		unread.Body = http.NoBody
		in.Request = &unread
	}
	return refusal(openapi3filter.ValidateRequest(req.Context(), in))
}

func readBody(req *http.Request) ([]byte, *Refusal) {
	if req.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &Refusal{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Message: fmt.Sprintf("request body exceeds %d bytes", tooLarge.Limit)}
		}
		return nil, badRequest("unreadable_body", "", "the request body could not be read")
	}
	return body, nil
}

// checkMediaType refuses a body sent as anything but JSON in UTF-8.
func checkMediaType(req *http.Request, body []byte) *Refusal {
	if len(body) == 0 && req.Header.Get("Content-Type") == "" {
		return nil // no body at all: CheckJSON says so
	}
	mediaType, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	charset := strings.ToLower(params["charset"])
	if err != nil || mediaType != "application/json" || charset != "" && charset != "utf-8" {
		return &Refusal{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send the body as application/json (UTF-8)"}
	}
	return nil
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// refusal turns the validator's complaint into the API's answer: 422
// naming the field and the rule the document sets for it.
func refusal(err error) *Refusal {
	if err == nil {
		return nil
	}
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return &Refusal{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Message: err.Error()}
	}
	var schemaErr *openapi3.SchemaError
	hasSchemaErr := errors.As(err, &schemaErr)
	if p := reqErr.Parameter; p != nil {
		switch {
		case p.In == openapi3.ParameterInPath:
			return nil
		case p.In == openapi3.ParameterInHeader && strings.EqualFold(p.Name, "Idempotency-Key"):
			return badRequest("invalid_idempotency_key", "", "Idempotency-Key must be at most 200 characters")
		}
		r := &Refusal{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: p.Name,
			Message: p.Name + ": " + reqErr.Reason}
		if hasSchemaErr {
			r.Rule, r.Message = schemaErr.SchemaField, p.Name+": "+schemaErr.Reason
		} else if reqErr.Err != nil {
			r.Message = p.Name + ": " + reqErr.Err.Error()
		}
		return r
	}
	if !hasSchemaErr {
		// A body the validator could not take as JSON, or none where one
		// is required.
		return badRequest("malformed_json", "", "request body is missing or not valid JSON")
	}
	field := strings.Join(schemaErr.JSONPointer(), ".")
	reason := schemaErr.Reason
	if m := unsupportedProperty.FindStringSubmatch(reason); m != nil {
		field = join(field, m[1])
		reason = "no such field"
	}
	subject := field
	if subject == "" {
		subject = "the body"
	}
	return &Refusal{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Field: field,
		Rule: schemaErr.SchemaField, Message: subject + ": " + reason}
}
