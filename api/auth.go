package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

const (
	roleKey = "role"
	// keyIDKey holds the ID of the request's API key, for the record of
	// what it changed.
	keyIDKey = "api_key_id"
)

// authenticate requires a bearer API key; keys are looked up by hash.
func (s *Server) authenticate(c *gin.Context) {
	key, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(key) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="portal"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "an API key is required: Authorization: Bearer <key>")
		return
	}
	k, err := s.Store.APIKeyByHash(c.Request.Context(), credentials.Hash(strings.TrimSpace(key)))
	if errors.Is(err, store.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="portal", error="invalid_token"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "the API key is not valid")
		return
	}
	if err != nil {
		s.internal(c, err)
		return
	}
	c.Set(roleKey, k.Role)
	c.Set(keyIDKey, k.ID)
	c.Next()
}

func requireRole(role portal.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		if have, _ := c.Value(roleKey).(portal.Role); have != role {
			abort(c, http.StatusForbidden, "forbidden", "this action needs the "+string(role)+" role")
			return
		}
		c.Next()
	}
}

type apiKeyRequest struct {
	Name string      `json:"name"`
	Role portal.Role `json:"role"`
}

// createAPIKey issues a key; it is shown once and stored only hashed.
func (s *Server) createAPIKey(c *gin.Context) {
	var req apiKeyRequest
	if !decodeJSON(c, &req) {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 100 {
		invalidField(c, "name", "name is required (at most 100 characters)")
		return
	}
	if req.Role != portal.RoleAdmin && req.Role != portal.RoleAgent {
		invalidField(c, "role", "role must be admin or agent")
		return
	}
	key := "pk_" + credentials.Random()
	k := &store.APIKey{Name: req.Name, Role: req.Role, KeyHash: credentials.Hash(key)}
	if err := s.Store.EnsureAPIKey(c.Request.Context(), k); err != nil {
		s.internal(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"name": k.Name, "role": k.Role, "key": key})
}
