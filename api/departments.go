package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

type departmentRequest struct {
	Name   *string `json:"name"`
	Active *bool   `json:"active"`
}

// departmentView is a department requests can be filed under.
type departmentView struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewDepartment(d *store.Department) departmentView {
	return departmentView{ID: d.ID, Name: d.Name, Active: d.Active, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func validDepartmentName(c *gin.Context, name string) (string, bool) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		invalidField(c, "name", "name is required (at most 100 characters)")
		return "", false
	}
	return name, true
}

func (s *Server) createDepartment(c *gin.Context) {
	var req departmentRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Name == nil {
		invalidField(c, "name", "name is required")
		return
	}
	name, ok := validDepartmentName(c, *req.Name)
	if !ok {
		return
	}
	d := &store.Department{Name: name, Active: req.Active == nil || *req.Active}
	if err := s.Store.CreateDepartment(c.Request.Context(), d, event(c, portal.AuditDepartmentCreated, "", nil, nil)); err != nil {
		s.storeError(c, err, "department")
		return
	}
	c.JSON(http.StatusCreated, viewDepartment(d))
}

func (s *Server) listDepartments(c *gin.Context) {
	page, err := s.Store.ListDepartments(c.Request.Context(), c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "department")
		return
	}
	out := list[departmentView]{Items: []departmentView{}, NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items = append(out.Items, viewDepartment(&page.Items[i]))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) department(c *gin.Context) (*store.Department, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusNotFound, "department_not_found", "department not found")
		return nil, false
	}
	d, err := s.Store.DepartmentByID(c.Request.Context(), id)
	if err != nil {
		s.storeError(c, err, "department")
		return nil, false
	}
	return d, true
}

func (s *Server) getDepartment(c *gin.Context) {
	if d, ok := s.department(c); ok {
		c.JSON(http.StatusOK, viewDepartment(d))
	}
}

func (s *Server) updateDepartment(c *gin.Context) {
	d, ok := s.department(c)
	if !ok {
		return
	}
	var req departmentRequest
	if !decodeJSON(c, &req) {
		return
	}
	before := *d
	if req.Name != nil {
		name, ok := validDepartmentName(c, *req.Name)
		if !ok {
			return
		}
		d.Name = name
	}
	if req.Active != nil {
		d.Active = *req.Active
	}
	// A PATCH that changes nothing leaves updated_at alone.
	if d.Name != before.Name || d.Active != before.Active {
		if err := s.Store.UpdateDepartment(c.Request.Context(), d, event(c, portal.AuditDepartmentUpdated, "", nil, nil)); err != nil {
			s.storeError(c, err, "department")
			return
		}
	}
	c.JSON(http.StatusOK, viewDepartment(d))
}
