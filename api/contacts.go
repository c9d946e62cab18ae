package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

type contactView struct {
	ID        int64     `json:"id"`
	Email     *string   `json:"email"`
	Name      string    `json:"name"`
	Verified  bool      `json:"verified"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewContact(ct *store.Contact) contactView {
	return contactView{ID: ct.ID, Email: ct.Email, Name: ct.Name, Verified: ct.Verified, CreatedAt: ct.CreatedAt, UpdatedAt: ct.UpdatedAt}
}

// maxNameLength bounds a person's name, in characters.
const maxNameLength = 200

// personName trims a contact's name and answers 422 when it is too long.
func personName(c *gin.Context, raw string) (string, bool) {
	name := strings.TrimSpace(raw)
	if utf8.RuneCountInString(name) > maxNameLength {
		invalidField(c, "name", "name must be at most 200 characters")
		return "", false
	}
	return name, true
}

// normalizeEmail is the portal's address rule, which the pages' sign-up
// form applies too.
func normalizeEmail(s string) (string, bool) { return portal.NormalizeEmail(s) }

type createContactRequest struct {
	Email    *string `json:"email"`
	Name     string  `json:"name"`
	Verified bool    `json:"verified"`
}

func (s *Server) createContact(c *gin.Context) {
	var req createContactRequest
	if !decodeJSON(c, &req) {
		return
	}
	name, ok := personName(c, req.Name)
	if !ok {
		return
	}
	ct := &store.Contact{Name: name, Verified: req.Verified}
	if req.Email != nil {
		email, ok := normalizeEmail(*req.Email)
		if !ok {
			invalidField(c, "email", "email is not a valid address")
			return
		}
		ct.Email = &email
	}
	if err := s.Store.CreateContact(c.Request.Context(), ct); err != nil {
		s.storeError(c, err, "contact")
		return
	}
	c.JSON(http.StatusCreated, viewContact(ct))
}

func (s *Server) listContacts(c *gin.Context) {
	f := store.ContactFilter{Query: c.Query("q")}
	for name, dst := range map[string]**bool{"verified": &f.Verified, "has_email": &f.HasEmail} {
		if v, ok := c.GetQuery(name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				invalidField(c, name, name+" must be true or false")
				return
			}
			*dst = &b
		}
	}
	page, err := s.Store.ListContacts(c.Request.Context(), f, c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "contact")
		return
	}
	out := list[contactView]{Items: []contactView{}, NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items = append(out.Items, viewContact(&page.Items[i]))
	}
	c.JSON(http.StatusOK, out)
}

// contact loads the contact named by the :id parameter, or answers 404.
func (s *Server) contact(c *gin.Context, id string) (*store.Contact, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		abort(c, http.StatusNotFound, "contact_not_found", "contact not found")
		return nil, false
	}
	ct, err := s.Store.ContactByID(c.Request.Context(), n)
	if err != nil {
		s.storeError(c, err, "contact")
		return nil, false
	}
	return ct, true
}

func (s *Server) getContact(c *gin.Context) {
	if ct, ok := s.contact(c, c.Param("id")); ok {
		c.JSON(http.StatusOK, viewContact(ct))
	}
}

// updateContactRequest: absent fields stay; "email": null removes the
// address.
type updateContactRequest struct {
	Email    json.RawMessage `json:"email"`
	Name     *string         `json:"name"`
	Verified *bool           `json:"verified"`
}

func (s *Server) updateContact(c *gin.Context) {
	ct, ok := s.contact(c, c.Param("id"))
	if !ok {
		return
	}
	var req updateContactRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Name != nil {
		if ct.Name, ok = personName(c, *req.Name); !ok {
			return
		}
	}
	if req.Verified != nil {
		ct.Verified = *req.Verified
	}
	if req.Email != nil {
		if bytes.Equal(req.Email, []byte("null")) {
			ct.Email = nil
		} else {
			var raw string
			if err := json.Unmarshal(req.Email, &raw); err != nil {
				invalidField(c, "email", "email must be a string or null")
				return
			}
			email, ok := normalizeEmail(raw)
			if !ok {
				invalidField(c, "email", "email is not a valid address")
				return
			}
			ct.Email = &email
		}
	}
	if err := s.Store.UpdateContact(c.Request.Context(), ct); err != nil {
		s.storeError(c, err, "contact")
		return
	}
	c.JSON(http.StatusOK, viewContact(ct))
}
