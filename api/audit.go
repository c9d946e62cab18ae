package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

type auditEventView struct {
	ID         int64              `json:"id"`
	At         time.Time          `json:"at"`
	Actor      string             `json:"actor"`
	Action     portal.AuditAction `json:"action"`
	Target     string             `json:"target"`
	HelpCenter *string            `json:"help_center"`
	RequestID  string             `json:"request_id"`
	Details    map[string]any     `json:"details"`
}

func viewAuditEvent(e *store.AuditEvent, slugs map[int64]string) auditEventView {
	v := auditEventView{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, RequestID: e.RequestID, Details: e.Details}
	if e.HelpCenterID != nil {
		slug := slugs[*e.HelpCenterID]
		v.HelpCenter = &slug
	}
	if v.Details == nil {
		v.Details = map[string]any{}
	}
	return v
}

// auditFilter reads the query's filters; a scoped key sees only its help
// centers' events.
func (s *Server) auditFilter(c *gin.Context) (store.AuditFilter, bool) {
	var f store.AuditFilter
	k := requestKey(c)
	if k.Scoped() {
		f.HelpCenterIDs = k.HelpCenterIDs
	}
	if slug := c.Query("help_center"); slug != "" {
		ids, err := s.Store.HelpCenterIDsBySlug(c.Request.Context(), []string{slug})
		if err != nil || !k.CanSee(ids[0]) {
			// An unknown help center has no events, like one out of scope.
			f.HelpCenterIDs = []int64{}
		} else {
			f.HelpCenterID = &ids[0]
		}
	}
	f.Actor, f.Target, f.Action = c.Query("actor"), c.Query("target"), portal.AuditAction(c.Query("action"))
	for _, p := range []struct {
		name string
		to   **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		raw := c.Query(p.name)
		if raw == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			abort(c, http.StatusBadRequest, "invalid_query", p.name+" must be an RFC 3339 time, such as 2026-11-29T10:00:00Z")
			return f, false
		}
		*p.to = &t
	}
	return f, true
}

// listAuditEvents pages through the audit trail, newest first.
func (s *Server) listAuditEvents(c *gin.Context) {
	f, ok := s.auditFilter(c)
	if !ok {
		return
	}
	page, err := s.Store.ListAuditEvents(c.Request.Context(), f, c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "audit_event")
		return
	}
	var ids []int64
	for _, e := range page.Items {
		if e.HelpCenterID != nil {
			ids = append(ids, *e.HelpCenterID)
		}
	}
	slugs, err := s.Store.HelpCenterSlugs(c.Request.Context(), ids)
	if err != nil {
		s.internal(c, err)
		return
	}
	out := list[auditEventView]{Items: []auditEventView{}, NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items = append(out.Items, viewAuditEvent(&page.Items[i], slugs))
	}
	c.JSON(http.StatusOK, out)
}

// auditEventsCSV streams the selected events, newest first.
func (s *Server) auditEventsCSV(c *gin.Context) {
	f, ok := s.auditFilter(c)
	if !ok {
		return
	}
	// Reading the whole trail out is a decision of its own: it is in the
	// trail too, with the filters it used.
	if err := s.Store.Audit(c.Request.Context(), event(c, portal.AuditAuditEventsExported, "audit_events", f.HelpCenterID, map[string]any{
		"actor": f.Actor, "target": f.Target, "action": f.Action, "since": f.Since, "until": f.Until})); err != nil {
		s.internal(c, err)
		return
	}
	slugs := map[int64]string{}
	w := s.startCSV(c, "audit-events.csv", "id", "at", "actor", "action", "target", "help_center", "request_id", "details")
	err := s.Store.EachAuditEvent(c.Request.Context(), f, func(e store.AuditEvent) error {
		hc := ""
		if e.HelpCenterID != nil {
			slug, known := slugs[*e.HelpCenterID]
			if !known {
				got, err := s.Store.HelpCenterSlugs(c.Request.Context(), []int64{*e.HelpCenterID})
				if err != nil {
					return err
				}
				slug = got[*e.HelpCenterID]
				slugs[*e.HelpCenterID] = slug
			}
			hc = slug
		}
		return w.row(strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Action), e.Target, hc, e.RequestID, e.DetailsJSON())
	})
	w.finish(err)
}
