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

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
)

// parseTemplate reads an email_template object and checks it as saving
// does: a shape the document allows is then held to the template's own
// rules, and an unknown placeholder is named (422 unknown_placeholder).
func parseTemplate(c *gin.Context, raw json.RawMessage) (*portal.EmailTemplate, bool) {
	var t portal.EmailTemplate
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		invalidField(c, "email_template", "email_template must be {subject, heading, paragraphs, button_label} or null")
		return nil, false
	}
	if err := t.Validate(); err != nil {
		templateRefused(c, err)
		return nil, false
	}
	return &t, true
}

// templateRefused answers a template's *portal.TemplateError.
func templateRefused(c *gin.Context, err error) {
	field := "email_template"
	var te *portal.TemplateError
	if !errors.As(err, &te) {
		invalidField(c, field, err.Error())
		return
	}
	field += "." + te.Field
	if te.Placeholder != "" {
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "unknown_placeholder", Message: te.Message, Field: field}})
		return
	}
	invalidField(c, field, te.Message)
}

// templateRequest names the template a preview or a test send renders:
// a draft, or (absent) the help center's saved one.
type templateRequest struct {
	EmailTemplate json.RawMessage `json:"email_template"`
	// Reminder renders the reminder (the subject starts "Reminder: ").
	Reminder bool `json:"reminder"`
}

// requestedTemplate reads the body of a preview or a test send and
// returns the template it names: the draft, or the one in use.
func requestedTemplate(c *gin.Context, h *store.HelpCenter) (portal.EmailTemplate, bool, bool) {
	var req templateRequest
	if !decodeJSON(c, &req) {
		return portal.EmailTemplate{}, false, false
	}
	if req.EmailTemplate != nil && string(req.EmailTemplate) != "null" {
		t, ok := parseTemplate(c, req.EmailTemplate)
		if !ok {
			return portal.EmailTemplate{}, false, false
		}
		return *t, req.Reminder, true
	}
	if h.EmailTemplate != nil {
		return *h.EmailTemplate, req.Reminder, true
	}
	return mail.DefaultInvite, req.Reminder, true
}

type previewView struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// previewTemplate renders a template with sample data and sends nothing.
func (s *Server) previewTemplate(c *gin.Context) {
	h, ok := s.helpCenter(c)
	if !ok {
		return
	}
	t, reminder, ok := requestedTemplate(c, h)
	if !ok {
		return
	}
	m, err := mail.Invite(&t, mail.SampleInvite(h.Name, s.PublicBaseURL, h.Slug, "ada@example.com", time.Now(), h.InvitePolicy), reminder)
	if err != nil {
		// A saved template that no longer renders (stored before a rule
		// changed) is refused like a draft would be.
		templateRefused(c, err)
		return
	}
	c.JSON(http.StatusOK, previewView{Subject: m.Subject, Text: m.Text, HTML: m.HTML})
}

// templateTestScope counts test sends per API key in rate_limits.
const templateTestScope = "template-test"

type templateTestView struct {
	ID        string    `json:"id"`
	To        string    `json:"to"`
	CreatedAt time.Time `json:"created_at"`
}

// sendTestTemplate emails a template, filled with sample data, to the
// address recorded on the calling key, through the invitation emails'
// own path (the mail task queue, the email log, the provider). A key
// without an address can't send tests; each key sends at most
// TemplateTestRate of them.
func (s *Server) sendTestTemplate(c *gin.Context) {
	h, ok := s.helpCenter(c)
	if !ok {
		return
	}
	t, _, ok := requestedTemplate(c, h)
	if !ok {
		return
	}
	key := requestKey(c)
	if key.Email == nil || *key.Email == "" {
		abort(c, http.StatusUnprocessableEntity, "api_key_without_email",
			"this API key has no email address recorded; create a key with an email to receive test sends")
		return
	}
	if _, err := mail.Invite(&t, mail.SampleInvite(h.Name, s.PublicBaseURL, h.Slug, *key.Email, time.Now(), h.InvitePolicy), false); err != nil {
		templateRefused(c, err)
		return
	}
	rate := s.TemplateTestRate
	if rate.Count == 0 {
		rate = DefaultTemplateTestRate
	}
	bucket := []byte(strconv.FormatInt(key.ID, 10))
	allowed, wait, err := s.Store.TakeRate(c.Request.Context(), templateTestScope, bucket, rate)
	if err != nil {
		s.internal(c, err)
		return
	}
	if !allowed {
		secs := int64((wait + time.Second - 1) / time.Second)
		c.Header("Retry-After", strconv.FormatInt(secs, 10))
		abort(c, http.StatusTooManyRequests, "too_many_test_sends",
			"this key has sent "+strconv.Itoa(rate.Count)+" test emails in "+rate.Per.String()+"; try again in "+strconv.FormatInt(secs, 10)+" seconds")
		return
	}
	test := &store.TemplateTest{ID: uuid.NewString(), HelpCenterID: h.ID, APIKeyID: key.ID, Recipient: *key.Email, Template: t}
	if err := s.Store.CreateTemplateTest(c.Request.Context(), test); err != nil {
		s.giveBackTemplateTest(c, bucket, rate)
		s.internal(c, err)
		return
	}
	if err := s.Start.TemplateTest(c.Request.Context(), h, test.ID); err != nil {
		s.giveBackTemplateTest(c, bucket, rate)
		s.temporalError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, templateTestView{ID: test.ID, To: test.Recipient, CreatedAt: test.CreatedAt})
}

// giveBackTemplateTest returns the attempt a failed test send took: the
// failure was ours, so it should not count against the key.
func (s *Server) giveBackTemplateTest(c *gin.Context, bucket []byte, rate portal.Rate) {
	if err := s.Store.ReturnRate(c.Request.Context(), templateTestScope, bucket, rate); err != nil {
		s.Logger.Warn("returning a test send to its rate limit", "error", err)
	}
}

// DefaultTemplateTestRate is TEMPLATE_TEST_RATE's default.
var DefaultTemplateTestRate = portal.Rate{Count: 5, Per: time.Hour}
