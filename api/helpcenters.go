package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
)

type helpCenterView struct {
	Slug          string               `json:"slug"`
	Name          string               `json:"name"`
	UserBase      portal.UserBase      `json:"user_base"`
	InvitePolicy  portal.InvitePolicy  `json:"invite_policy"`
	EmailTemplate portal.EmailTemplate `json:"email_template"`
	CustomEmail   bool                 `json:"custom_email_template"`
	SelfSignup    bool                 `json:"self_signup"`
	// SignupRequiresApproval holds verified sign-ups for an admin.
	SignupRequiresApproval bool           `json:"signup_requires_approval"`
	AutoInvite             autoInviteView `json:"auto_invite"`
	Sender                 senderView     `json:"sender"`
	PortalURL              string         `json:"portal_url"`
	CreatedAt              time.Time      `json:"created_at"`
	UpdatedAt              time.Time      `json:"updated_at"`
}

func (s *Server) helpCenterView(h *store.HelpCenter) helpCenterView {
	v := helpCenterView{Slug: h.Slug, Name: h.Name, UserBase: h.UserBase, InvitePolicy: h.InvitePolicy,
		EmailTemplate: mail.DefaultInvite, PortalURL: s.PublicBaseURL + "/portal/" + h.Slug + "/home",
		CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt,
		SelfSignup: h.SelfSignup, SignupRequiresApproval: h.SignupRequiresApproval, AutoInvite: viewAutoInvite(h.AutoInvite),
		Sender: viewSender(h)}
	if h.EmailTemplate != nil {
		v.EmailTemplate, v.CustomEmail = *h.EmailTemplate, true
	}
	return v
}

type createHelpCenterRequest struct {
	Slug     string          `json:"slug"`
	Name     string          `json:"name"`
	UserBase portal.UserBase `json:"user_base"`
}

func (s *Server) createHelpCenter(c *gin.Context) {
	var req createHelpCenterRequest
	if !decodeJSON(c, &req) {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	switch {
	case !portal.ValidSlug(req.Slug):
		invalidField(c, "slug", "slug must be 2-63 lowercase letters, digits or hyphens, starting with a letter or digit")
		return
	case req.Name == "" || utf8.RuneCountInString(req.Name) > 200:
		invalidField(c, "name", "name is required (at most 200 characters)")
		return
	case req.UserBase != portal.UserBaseCommon && req.UserBase != portal.UserBaseUnique:
		invalidField(c, "user_base", "user_base must be common or unique")
		return
	}
	h := &store.HelpCenter{Slug: req.Slug, Name: req.Name, UserBase: req.UserBase, InvitePolicy: portal.DefaultInvitePolicy()}
	if err := s.Store.CreateHelpCenter(c.Request.Context(), h, event(c, portal.AuditHelpCenterCreated, "", nil, nil)); err != nil {
		s.storeError(c, err, "help_center")
		return
	}
	c.JSON(http.StatusCreated, s.helpCenterView(h))
}

func (s *Server) listHelpCenters(c *gin.Context) {
	page, err := s.Store.ListHelpCenters(c.Request.Context(), c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "help_center")
		return
	}
	out := list[helpCenterView]{Items: []helpCenterView{}, NextCursor: page.NextCursor}
	k := requestKey(c)
	for i := range page.Items {
		if k.CanSee(page.Items[i].ID) {
			out.Items = append(out.Items, s.helpCenterView(&page.Items[i]))
		}
	}
	c.JSON(http.StatusOK, out)
}

// helpCenter loads the help center named by the :slug parameter, or
// answers 404.
func (s *Server) helpCenter(c *gin.Context) (*store.HelpCenter, bool) {
	slug := c.Param("slug")
	if !portal.ValidSlug(slug) {
		abort(c, http.StatusNotFound, "help_center_not_found", "help center not found")
		return nil, false
	}
	h, err := s.Store.HelpCenterBySlug(c.Request.Context(), slug)
	if err != nil {
		s.storeError(c, err, "help_center")
		return nil, false
	}
	return h, canSee(c, h.ID, "help_center")
}

func (s *Server) getHelpCenter(c *gin.Context) {
	if h, ok := s.helpCenter(c); ok {
		c.JSON(http.StatusOK, s.helpCenterView(h))
	}
}

// updateHelpCenterRequest: absent fields stay as they are; an
// email_template of null restores the default template.
type updateHelpCenterRequest struct {
	Name                   *string              `json:"name"`
	InvitePolicy           *portal.InvitePolicy `json:"invite_policy"`
	EmailTemplate          json.RawMessage      `json:"email_template"`
	SelfSignup             *bool                `json:"self_signup"`
	SignupRequiresApproval *bool                `json:"signup_requires_approval"`
	AutoInvite             *autoInviteRequest   `json:"auto_invite"`
	Sender                 json.RawMessage      `json:"sender"`
}

// autoInviteView shows departments as a list of IDs or "all".
type autoInviteView struct {
	Enabled     bool `json:"enabled"`
	Departments any  `json:"departments"`
}

func viewAutoInvite(a portal.AutoInvite) autoInviteView {
	if a.All {
		return autoInviteView{Enabled: a.Enabled, Departments: "all"}
	}
	ids := a.DepartmentIDs
	if ids == nil {
		ids = []int64{}
	}
	return autoInviteView{Enabled: a.Enabled, Departments: ids}
}

type autoInviteRequest struct {
	Enabled     bool            `json:"enabled"`
	Departments json.RawMessage `json:"departments"`
}

func (s *Server) updateHelpCenter(c *gin.Context) {
	h, ok := s.helpCenter(c)
	if !ok {
		return
	}
	var req updateHelpCenterRequest
	if !decodeJSON(c, &req) {
		return
	}
	before := *h
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		if name == "" || utf8.RuneCountInString(name) > 200 {
			invalidField(c, "name", "name is required (at most 200 characters)")
			return
		}
		h.Name = name
	}
	if req.InvitePolicy != nil {
		if field, msg := validatePolicy(*req.InvitePolicy); field != "" {
			invalidField(c, "invite_policy."+field, msg)
			return
		}
		h.InvitePolicy = *req.InvitePolicy
	}
	if req.EmailTemplate != nil {
		if string(req.EmailTemplate) == "null" {
			h.EmailTemplate = nil
		} else {
			t, ok := parseTemplate(c, req.EmailTemplate)
			if !ok {
				return
			}
			h.EmailTemplate = t
		}
	}
	if req.SelfSignup != nil {
		h.SelfSignup = *req.SelfSignup
	}
	if req.SignupRequiresApproval != nil {
		h.SignupRequiresApproval = *req.SignupRequiresApproval
	}
	if req.AutoInvite != nil {
		a, ok := s.parseAutoInvite(c, req.AutoInvite)
		if !ok {
			return
		}
		h.AutoInvite = a
	}
	if req.Sender != nil {
		sender, ok := s.parseSender(c, req.Sender)
		if !ok {
			return
		}
		h.Sender = sender
	}
	// A PATCH that changes nothing leaves updated_at alone (and records
	// no change in the audit trail).
	if !sameSettings(&before, h) {
		ev := event(c, portal.AuditHelpCenterUpdated, "", &h.ID, map[string]any{"fields": changedSettings(&req)})
		if err := s.Store.UpdateHelpCenter(c.Request.Context(), h, ev); err != nil {
			s.storeError(c, err, "help_center")
			return
		}
	}
	c.JSON(http.StatusOK, s.helpCenterView(h))
}

// changedSettings names the settings a PATCH set, for the audit trail.
func changedSettings(req *updateHelpCenterRequest) []string {
	var out []string
	for _, f := range []struct {
		name  string
		given bool
	}{{"name", req.Name != nil}, {"invite_policy", req.InvitePolicy != nil}, {"email_template", req.EmailTemplate != nil},
		{"self_signup", req.SelfSignup != nil}, {"signup_requires_approval", req.SignupRequiresApproval != nil},
		{"auto_invite", req.AutoInvite != nil}, {"sender", req.Sender != nil}} {
		if f.given {
			out = append(out, f.name)
		}
	}
	return out
}

// sameSettings reports whether two versions of a help center have the
// same name and settings (an empty list is no list).
func sameSettings(a, b *store.HelpCenter) bool {
	sameTemplate := a.EmailTemplate == nil && b.EmailTemplate == nil ||
		a.EmailTemplate != nil && b.EmailTemplate != nil && a.EmailTemplate.Equal(*b.EmailTemplate)
	return a.Name == b.Name && sameTemplate && a.Sender == b.Sender && a.SelfSignup == b.SelfSignup &&
		a.SignupRequiresApproval == b.SignupRequiresApproval &&
		slices.Equal(a.InvitePolicy.ReminderDays, b.InvitePolicy.ReminderDays) &&
		a.InvitePolicy.LinkLifetimeHours == b.InvitePolicy.LinkLifetimeHours &&
		a.InvitePolicy.AutoReinvites == b.InvitePolicy.AutoReinvites &&
		a.AutoInvite.Enabled == b.AutoInvite.Enabled && a.AutoInvite.All == b.AutoInvite.All &&
		slices.Equal(a.AutoInvite.DepartmentIDs, b.AutoInvite.DepartmentIDs)
}

// validatePolicy returns the offending field and why, or "".
func validatePolicy(p portal.InvitePolicy) (string, string) {
	if p.LinkLifetimeHours < 1 || p.LinkLifetimeHours > 90*24 {
		return "link_lifetime_hours", "link_lifetime_hours must be between 1 and 2160 (90 days)"
	}
	if p.AutoReinvites < 0 || p.AutoReinvites > 5 {
		return "auto_reinvites", "auto_reinvites must be between 0 and 5"
	}
	if len(p.ReminderDays) > 5 {
		return "reminder_days", "at most 5 reminders"
	}
	if !slices.IsSorted(p.ReminderDays) {
		return "reminder_days", "reminder_days must be in increasing order"
	}
	for i, d := range p.ReminderDays {
		// Compare in days first: d*24 could overflow.
		if d < 1 || d > p.LinkLifetimeHours/24 || d*24 >= p.LinkLifetimeHours {
			return "reminder_days", "each reminder must fall at least a day after sending and before the link expires"
		}
		if i > 0 && d == p.ReminderDays[i-1] {
			return "reminder_days", "reminder_days must not repeat"
		}
	}
	return "", ""
}

// parseAutoInvite reads {enabled, departments: [ids] | "all"}; every
// listed department must exist and be active.
func (s *Server) parseAutoInvite(c *gin.Context, req *autoInviteRequest) (portal.AutoInvite, bool) {
	out := portal.AutoInvite{Enabled: req.Enabled, DepartmentIDs: []int64{}}
	raw := strings.TrimSpace(string(req.Departments))
	switch raw {
	case "", "null":
	case `"all"`:
		out.All = true
	default:
		if err := json.Unmarshal(req.Departments, &out.DepartmentIDs); err != nil {
			invalidField(c, "auto_invite.departments", `departments must be a list of department ids or "all"`)
			return out, false
		}
		slices.Sort(out.DepartmentIDs)
		out.DepartmentIDs = slices.Compact(out.DepartmentIDs)
		n, err := s.Store.CountActiveDepartments(c.Request.Context(), out.DepartmentIDs)
		if err != nil {
			s.internal(c, err)
			return out, false
		}
		if n != len(out.DepartmentIDs) {
			invalidField(c, "auto_invite.departments", "every department must exist and be active")
			return out, false
		}
	}
	if out.Enabled && !out.All && len(out.DepartmentIDs) == 0 {
		invalidField(c, "auto_invite.departments", `name the departments, or "all", to enable auto-invite`)
		return out, false
	}
	return out, true
}
