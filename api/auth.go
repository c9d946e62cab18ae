package api

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

const (
	// apiKeyKey holds the request's API key (never its secret).
	apiKeyKey = "api_key"
	// keyIDKey holds the ID of the request's API key, for the log line
	// and the record of what it changed.
	keyIDKey = "api_key_id"
	// requestIDKey holds the request's ID, answered in X-Request-Id and
	// kept in the audit events it causes.
	requestIDKey = "request_id"
)

// authenticate requires a bearer API key that is neither revoked nor
// expired; keys are looked up by hash.
func (s *Server) authenticate(c *gin.Context) {
	secret, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(secret) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="portal"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "an API key is required: Authorization: Bearer <key>")
		return
	}
	k, err := s.Store.APIKeyByHash(c.Request.Context(), credentials.Hash(strings.TrimSpace(secret)))
	if errors.Is(err, store.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="portal", error="invalid_token"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "the API key is not valid (unknown, revoked or expired)")
		return
	}
	if err != nil {
		s.internal(c, err)
		return
	}
	c.Set(apiKeyKey, k)
	c.Set(keyIDKey, k.ID)
	if err := s.Store.TouchAPIKey(c.Request.Context(), k.ID); err != nil {
		// Last use is a hint for people tidying keys; a failed note must
		// not fail the request.
		s.Logger.Warn("note api key use", "api_key_id", k.ID, "error", err)
	}
	c.Next()
}

// requestKey is the request's API key; authenticate has set it on every
// route under /api/v1.
func requestKey(c *gin.Context) *store.APIKey {
	k, _ := c.Value(apiKeyKey).(*store.APIKey)
	if k == nil {
		return &store.APIKey{}
	}
	return k
}

// authorize enforces the role a route needs (see routes): admin routes
// refuse agent keys, and key management refuses keys scoped to some help
// centers, which could otherwise issue themselves a wider key.
func authorize(need portal.Role, unscoped bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		k := requestKey(c)
		if need == portal.RoleAdmin && k.Role != portal.RoleAdmin {
			abort(c, http.StatusForbidden, "forbidden", "this action needs the admin role")
			return
		}
		if unscoped && k.Scoped() {
			abort(c, http.StatusForbidden, "forbidden", "this action needs a key not limited to some help centers")
			return
		}
		c.Next()
	}
}

// requestIDs names each request: a caller's X-Request-Id is kept when it
// is a plain token, otherwise a new one is made. It is answered, logged,
// and kept in the audit events the request causes.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func requestIDs(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	c.Set(requestIDKey, id)
	c.Request = c.Request.WithContext(portal.WithRequestID(c.Request.Context(), id))
	c.Header("X-Request-Id", id)
	c.Next()
}

// event is an audit event by the request's key.
func event(c *gin.Context, action portal.AuditAction, target string, helpCenterID *int64, details map[string]any) store.AuditEvent {
	return store.AuditEvent{Actor: actor(c), Action: action, Target: target,
		HelpCenterID: helpCenterID, RequestID: requestID(c), Details: details}
}

// commandBy names the request's key and ID to a workflow's command, for
// the audit event its activity writes with the change.
func commandBy(c *gin.Context) workflows.CommandRequest {
	return workflows.CommandRequest{Actor: actor(c), RequestID: requestID(c)}
}

// canSee answers 404 for a help center outside the key's scope, the same
// answer as for one that does not exist, and reports whether it may go on.
func canSee(c *gin.Context, helpCenterID int64, what string) bool {
	if requestKey(c).CanSee(helpCenterID) {
		return true
	}
	abort(c, http.StatusNotFound, what+"_not_found", strings.ReplaceAll(what, "_", " ")+" not found")
	return false
}

// actor is the audit actor of the request's key.
func actor(c *gin.Context) string { return portal.KeyActor(requestKey(c).ID) }

// requestID is the request's ID (see requestIDs).
func requestID(c *gin.Context) string {
	id, _ := c.Value(requestIDKey).(string)
	return id
}
