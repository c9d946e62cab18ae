package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

// apiKeyView shows a key without its secret: the prefix tells keys apart.
type apiKeyView struct {
	ID          int64       `json:"id"`
	Name        string      `json:"name"`
	Role        portal.Role `json:"role"`
	Prefix      string      `json:"prefix"`
	HelpCenters []string    `json:"help_centers"`
	Bootstrap   bool        `json:"bootstrap"`
	CreatedAt   time.Time   `json:"created_at"`
	CreatedBy   *int64      `json:"created_by"`
	LastUsedAt  *time.Time  `json:"last_used_at"`
	ExpiresAt   *time.Time  `json:"expires_at"`
	RevokedAt   *time.Time  `json:"revoked_at"`
	// Email is the key holder's address, where template test sends go.
	Email *string `json:"email"`
}

func viewAPIKey(k *store.APIKey, slugs map[int64]string) apiKeyView {
	v := apiKeyView{ID: k.ID, Name: k.Name, Role: k.Role, Prefix: k.Prefix, HelpCenters: []string{}, Bootstrap: k.Bootstrap,
		CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt,
		Email: k.Email}
	for _, id := range k.HelpCenterIDs {
		v.HelpCenters = append(v.HelpCenters, slugs[id])
	}
	return v
}

type apiKeyRequest struct {
	Name        string      `json:"name"`
	Role        portal.Role `json:"role"`
	HelpCenters []string    `json:"help_centers"`
	ExpiresAt   *time.Time  `json:"expires_at"`
	Email       *string     `json:"email"`
}

// maxKeyScopes bounds the help centers one key names.
const maxKeyScopes = 100

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
	if len(req.HelpCenters) > maxKeyScopes {
		invalidField(c, "help_centers", "a key names at most 100 help centers")
		return
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(time.Now()) {
		invalidField(c, "expires_at", "expires_at must be in the future")
		return
	}
	if req.Email != nil {
		email, ok := portal.NormalizeEmail(*req.Email)
		if !ok {
			invalidField(c, "email", "email must be an email address")
			return
		}
		req.Email = &email
	}
	ids, err := s.Store.HelpCenterIDsBySlug(c.Request.Context(), req.HelpCenters)
	if errors.Is(err, store.ErrNotFound) {
		invalidField(c, "help_centers", "every help center must exist")
		return
	}
	if err != nil {
		s.internal(c, err)
		return
	}
	secret := "pk_" + credentials.Random()
	creator := requestKey(c).ID
	k := &store.APIKey{Name: req.Name, Role: req.Role, KeyHash: credentials.Hash(secret), Prefix: secret[:10],
		HelpCenterIDs: ids, CreatedBy: &creator, ExpiresAt: req.ExpiresAt, Email: req.Email}
	ev := event(c, portal.AuditAPIKeyCreated, "", nil, map[string]any{"role": req.Role, "help_centers": req.HelpCenters, "expires_at": req.ExpiresAt})
	if err := s.Store.CreateAPIKey(c.Request.Context(), k, ev); err != nil {
		s.internal(c, err)
		return
	}
	slugs, err := s.Store.HelpCenterSlugs(c.Request.Context(), ids)
	if err != nil {
		s.internal(c, err)
		return
	}
	c.JSON(http.StatusCreated, struct {
		apiKeyView
		Key string `json:"key"`
	}{viewAPIKey(k, slugs), secret})
}

// listAPIKeys lists every key, revoked and expired ones included, never
// a secret.
func (s *Server) listAPIKeys(c *gin.Context) {
	page, err := s.Store.ListAPIKeys(c.Request.Context(), c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "api_key")
		return
	}
	var ids []int64
	for _, k := range page.Items {
		ids = append(ids, k.HelpCenterIDs...)
	}
	slugs, err := s.Store.HelpCenterSlugs(c.Request.Context(), ids)
	if err != nil {
		s.internal(c, err)
		return
	}
	out := list[apiKeyView]{Items: []apiKeyView{}, NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items = append(out.Items, viewAPIKey(&page.Items[i], slugs))
	}
	c.JSON(http.StatusOK, out)
}

// revokeAPIKey revokes a key at once: its next request gets 401.
// Revoking a revoked key answers it as it is.
func (s *Server) revokeAPIKey(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusNotFound, "api_key_not_found", "api key not found")
		return
	}
	k, err := s.Store.RevokeAPIKey(c.Request.Context(), id, event(c, portal.AuditAPIKeyRevoked, portal.Target("api_key", id), nil, nil))
	if err != nil {
		s.storeError(c, err, "api_key")
		return
	}
	slugs, err := s.Store.HelpCenterSlugs(c.Request.Context(), k.HelpCenterIDs)
	if err != nil {
		s.internal(c, err)
		return
	}
	c.JSON(http.StatusOK, viewAPIKey(k, slugs))
}
