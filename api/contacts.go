package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
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

// personName checks a contact's name by the portal's rule for names
// (portal.CleanPersonName) and answers 422 when it breaks it; a contact
// may have no name.
func personName(c *gin.Context, raw string) (string, bool) {
	name, err := portal.CleanPersonName(raw)
	if err != nil && !errors.Is(err, portal.ErrNameMissing) {
		invalidField(c, "name", err.Error())
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
	if err := s.Store.CreateContact(c.Request.Context(), ct, event(c, portal.AuditContactCreated, "", nil, nil)); err != nil {
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

// updateContact edits a contact. Changing the address of a contact who
// has a portal account is an admin's decision and more than an edit: see
// changeAccountEmail.
func (s *Server) updateContact(c *gin.Context) {
	ct, ok := s.contact(c, c.Param("id"))
	if !ok {
		return
	}
	var req updateContactRequest
	if !decodeJSON(c, &req) {
		return
	}
	var name *string
	if req.Name != nil {
		n, ok := personName(c, *req.Name)
		if !ok {
			return
		}
		name = &n
	}
	email := ct.Email
	if req.Email != nil {
		if email, ok = requestedEmail(c, req.Email); !ok {
			return
		}
	}
	if emailKey(email) != emailKey(ct.Email) {
		has, err := s.Store.HasPortalAccount(c.Request.Context(), ct.ID)
		if err != nil {
			s.internal(c, err)
			return
		}
		if has {
			s.changeAccountEmail(c, ct, email, name, req.Verified)
			return
		}
	}
	before := *ct
	ct.Email = email
	if name != nil {
		ct.Name = *name
	}
	if req.Verified != nil {
		ct.Verified = *req.Verified
	}
	// A PATCH that changes nothing leaves updated_at alone (and records
	// no change in the audit trail).
	unchanged := ptrEqual(before.Email, ct.Email) && before.Name == ct.Name && before.Verified == ct.Verified
	if !unchanged {
		var fields []string
		for _, f := range []struct {
			name  string
			given bool
		}{{"email", req.Email != nil}, {"name", req.Name != nil}, {"verified", req.Verified != nil}} {
			if f.given {
				fields = append(fields, f.name)
			}
		}
		// The fields' names only: values are personal data, and the trail
		// outlives an erasure.
		ev := event(c, portal.AuditContactUpdated, portal.Target("contact", ct.ID), nil, map[string]any{"fields": fields})
		if err := s.Store.UpdateContact(c.Request.Context(), ct, ev); err != nil {
			s.storeError(c, err, "contact")
			return
		}
	}
	c.JSON(http.StatusOK, viewContact(ct))
}

func ptrEqual[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// requestedEmail reads the email of a PATCH: an address (normalised) or
// null.
func requestedEmail(c *gin.Context, raw json.RawMessage) (*string, bool) {
	if bytes.Equal(raw, []byte("null")) {
		return nil, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		invalidField(c, "email", "email must be a string or null")
		return nil, false
	}
	email, ok := normalizeEmail(s)
	if !ok {
		invalidField(c, "email", "email is not a valid address")
		return nil, false
	}
	return &email, true
}

// emailKey compares addresses: a stored one the normalisation migration
// left as it was compares by its normal form.
func emailKey(email *string) string {
	if email == nil {
		return ""
	}
	if n, ok := portal.NormalizeEmail(*email); ok {
		return portal.EmailKey(n)
	}
	return portal.EmailKey(*email)
}

// changeAccountEmail changes or removes the address of a contact who has
// a portal account. Only an admin may: the address is where the
// account's invitations, links and notices go, so an agent could
// otherwise carry someone's invitation or account to their own mailbox.
// The ChangeEmail workflow applies it in one transaction (the address,
// the account's sessions, its pending sign-up links) and answers; then it
// revokes pending invitations of accounts without a password and tells
// the old address.
func (s *Server) changeAccountEmail(c *gin.Context, ct *store.Contact, email, name *string, verified *bool) {
	if requestKey(c).Role != portal.RoleAdmin {
		abort(c, http.StatusForbidden, "admin_required",
			"this contact has a portal account: only an admin may change its email address")
		return
	}
	ctx := c.Request.Context()
	if email != nil {
		if other, err := s.Store.ContactByEmail(ctx, *email); err == nil && other.ID != ct.ID {
			abort(c, http.StatusConflict, "contact_exists", "contact already exists")
			return
		}
	}
	keyID, _ := c.Value(keyIDKey).(int64)
	ch := &store.EmailChange{ID: uuid.NewString(), ContactID: ct.ID, OldEmail: ct.Email, NewEmail: email,
		Name: name, Verified: verified, APIKeyID: keyID}
	if err := s.Store.RequestEmailChange(ctx, ch); err != nil {
		s.internal(c, err)
		return
	}
	st, err := s.Start.ChangeEmail(ctx, ch)
	var refused *temporal.ApplicationError
	if errors.As(err, &refused) && refused.Type() == workflows.RejectEmailChangeRefused {
		var reason string
		_ = refused.Details(&reason)
		if reason == store.ChangeRefusedTaken {
			abort(c, http.StatusConflict, "contact_exists", "contact already exists")
		} else {
			abort(c, http.StatusConflict, "contact_changed", "the contact's email address changed meanwhile; read it again")
		}
		return
	}
	if err != nil {
		s.temporalError(c, err)
		return
	}
	// The record of who changed what, until audit events land: IDs only,
	// never the addresses.
	s.Logger.Info("contact email changed", "contact_id", ct.ID, "change_id", ch.ID, "api_key_id", keyID,
		"removed", email == nil, "sessions_ended", st.SessionsEnded, "signups_closed", st.SignupsClosed,
		"reset_links_closed", st.ResetLinksClosed, "invitations_revoked", len(st.Invitations))
	fresh, err := s.Store.ContactByID(ctx, ct.ID)
	if err != nil {
		s.storeError(c, err, "contact")
		return
	}
	c.JSON(http.StatusOK, viewContact(fresh))
}
