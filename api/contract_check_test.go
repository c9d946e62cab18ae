package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/portalaccess/portal/api"
	"github.com/portalaccess/portal/api/contract"
)

// checked is an HTTP client for t whose every exchange is held to the
// OpenAPI document: an answer with a status, header or body the document
// does not describe fails t, and so does a success answer to a request
// the document does not allow (the server took what it should refuse).
// Every request of the API tests goes through one.
func checked(t testing.TB, base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.Transport = &contractTransport{t: t, next: c.Transport}
	return c
}

// checkedClient is the plain client, checked against the document.
func checkedClient(t testing.TB) *http.Client { return checked(t, nil) }

type contractTransport struct {
	t    testing.TB
	next http.RoundTripper
}

// contractOptions validate what the document says; authentication is the
// server's business (a missing key must answer 401, which the document
// describes).
var contractOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
	MultiError:            true,
	SkipSettingDefaults:   true, // a null is a null, not the default
}

var contractOnce = sync.OnceValues(api.LoadContract)

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := ct.next
	if next == nil {
		next = http.DefaultTransport
	}
	contract, err := contractOnce()
	if err != nil {
		ct.t.Errorf("OpenAPI document: %v", err)
		return next.RoundTrip(req)
	}
	// Keep the request body to validate it after the exchange: the
	// server reads it first.
	// A streamed upload (a CSV import) is passed on unread: its body is
	// the import's business, and may be larger than memory.
	var reqBody []byte
	bodyChecked := bufferedMedia(req.Header.Get("Content-Type"))
	if bodyChecked && req.Body != nil && req.Body != http.NoBody {
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return resp, err
	}
	if problem := checkExchange(contract, req, reqBody, bodyChecked, resp, respBody); problem != "" {
		ct.t.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %s\nrequest body: %.300s\nresponse body: %.500s",
			req.Method, req.URL.Path, resp.StatusCode, problem, reqBody, respBody)
	}
	return resp, nil
}

// checkExchange returns what in the exchange breaks the document, or "".
func checkExchange(contract *contract.Contract, req *http.Request, reqBody []byte, bodyChecked bool, resp *http.Response, respBody []byte) string {
	if req.URL.Path == "/metrics" {
		return "" // Prometheus's exposition on its own address, not the API
	}
	ctx := context.Background()
	probe := req.Clone(ctx)
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := contract.Router.FindRoute(probe)
	if err != nil {
		// A route the document does not name must not exist.
		if errors.Is(err, routers.ErrPathNotFound) && resp.StatusCode == http.StatusNotFound ||
			errors.Is(err, routers.ErrMethodNotAllowed) && resp.StatusCode == http.StatusMethodNotAllowed {
			return ""
		}
		return "no such operation in the document (" + err.Error() + ")"
	}
	opts := contractOptions
	if !bodyChecked {
		o := *contractOptions
		o.ExcludeRequestBody = true
		opts = &o
	}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && resp.StatusCode < 400 {
		return "the request breaks the document, yet it succeeded: " + oneLine(reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: contractOptions}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return oneLine(err)
	}
	return ""
}

// bufferedMedia reports whether a request body of this media type is read
// and checked: JSON and form posts, or none at all.
func bufferedMedia(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(strings.ToLower(mediaType)) {
	case "", "application/json", "application/x-www-form-urlencoded":
		return true
	}
	return false
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
