package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// errorBody is the one shape every API error takes.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Rule is the OpenAPI keyword a refused field breaks (maxLength,
	// type, nullable...), when the document's check refused it.
	Rule string `json:"rule,omitempty"`
}

func abort(c *gin.Context, status int, code, message string) {
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

func invalidField(c *gin.Context, field, message string) {
	c.AbortWithStatusJSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "invalid_field", Message: message, Field: field}})
}

// StatusClientClosedRequest is the status a request whose client went
// away is logged and counted with (nginx's 499): the client's doing, so
// never a 5xx that would page someone.
const StatusClientClosedRequest = 499

func (s *Server) internal(c *gin.Context, err error) {
	if c.Request.Context().Err() != nil {
		s.clientGone(c, err)
		return
	}
	s.Logger.Error("request failed", "route", c.FullPath(), "error", err)
	abort(c, http.StatusInternalServerError, "internal", "internal error")
}

// clientGone ends a request whose client went away before its answer:
// nobody reads the body, and the log says whose doing it was.
func (s *Server) clientGone(c *gin.Context, err error) {
	s.Logger.Info("client closed request", "route", c.FullPath(), "error", err)
	abort(c, StatusClientClosedRequest, "client_closed_request", "the client went away before the answer")
}

// storeError answers a store error: missing rows are 404s, uniqueness
// conflicts 409s, bad cursors 400s; anything else is ours (500).
func (s *Server) storeError(c *gin.Context, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		abort(c, http.StatusNotFound, what+"_not_found", what+" not found")
	case errors.Is(err, store.ErrConflict):
		abort(c, http.StatusConflict, what+"_exists", what+" already exists")
	case errors.Is(err, store.ErrBadCursor):
		abort(c, http.StatusBadRequest, "invalid_cursor", "cursor is not one this API issued")
	default:
		s.internal(c, err)
	}
}

// decodeJSON reads a JSON body into v, answering malformed, oversized or
// unexpected input with a 4xx. It reports whether decoding succeeded.
func decodeJSON(c *gin.Context, v any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			abort(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body exceeds %d bytes", maxErr.Limit))
		} else {
			abort(c, http.StatusBadRequest, "unreadable_body", "the request body could not be read")
		}
		return false
	}
	// Postgres text can't hold NUL; refuse it here rather than fail later.
	if containsNULEscape(body) {
		abort(c, http.StatusUnprocessableEntity, "invalid_text", `text must not contain NUL (\u0000) characters`)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if dec.More() {
			abort(c, http.StatusBadRequest, "malformed_json", "request body must be a single JSON object")
			return false
		}
		return true
	}
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		abort(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body exceeds %d bytes", maxErr.Limit))
	case errors.Is(err, io.EOF):
		abort(c, http.StatusBadRequest, "malformed_json", "request body is empty")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		abort(c, http.StatusBadRequest, "malformed_json", "request body is not valid JSON")
	case errors.As(err, &typeErr):
		invalidField(c, typeErr.Field, fmt.Sprintf("%s must be a %s", typeErr.Field, typeErr.Type.String()))
	default:
		// Unknown fields and other decoder complaints name the problem.
		abort(c, http.StatusBadRequest, "malformed_json", err.Error())
	}
	return false
}

func queryLimit(c *gin.Context) int {
	n, _ := strconv.Atoi(c.Query("limit"))
	return store.ClampLimit(n)
}

// list is the shape of every list response.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// rejectNUL refuses a query string or path with a NUL byte, which no
// Postgres text can hold.
func rejectNUL(c *gin.Context) {
	// The customer's pages refuse these themselves, with a page a person
	// can read (package pages).
	if strings.HasPrefix(c.Request.URL.Path, "/portal/") {
		c.Next()
		return
	}
	if strings.Contains(strings.ToLower(c.Request.URL.RawQuery), "%00") || strings.ContainsRune(c.Request.URL.Path, 0) {
		abort(c, http.StatusBadRequest, "invalid_text", "the URL must not contain NUL characters")
		return
	}
	c.Next()
}

// containsNULEscape reports whether a JSON text has a \u0000 escape: one
// whose backslash is not itself escaped.
func containsNULEscape(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		j += i
		backslashes := 0
		for k := j; k >= 0 && body[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 1 {
			return true
		}
		i = j + 1
	}
}

// parseStatus reads the optional ?status= filter of a list with the
// status type's own parser; empty means every status.
func parseStatus[T ~string](c *gin.Context, parse func(string) (T, error)) (T, bool) {
	raw := c.Query("status")
	if raw == "" {
		return "", true
	}
	status, err := parse(raw)
	if err != nil {
		var pe *portal.ParseError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = "status must be " + pe.Choices()
		}
		invalidField(c, "status", msg)
		return "", false
	}
	return status, true
}
