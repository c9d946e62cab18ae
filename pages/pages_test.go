package pages

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/store"
)

// TestEveryTemplateRendersWithProblemsTiedToTheirFields renders each page
// with a refused form's problems: each field in error is marked invalid
// and described by the sentence beside it, the summary links to it, and
// the page has one h1, one main and a description.
func TestEveryTemplateRendersWithProblemsTiedToTheirFields(t *testing.T) {
	now := time.Now()
	ticket := store.Ticket{ID: 7, Subject: "Printer", Status: "open", CreatedAt: now, UpdatedAt: now}
	for name, field := range map[string]string{
		"accept.html": "password_confirm", "forgot.html": "email", "login.html": "email", "reset.html": "password",
		"signup.html": "name", "verify.html": "password", "home.html": "subject", "requests.html": "", "request.html": "",
		"message.html": "",
	} {
		p := page{Title: "T", HelpCenter: "Acme", Tickets: []store.Ticket{ticket}, Ticket: &ticket,
			Nav: &nav{Home: "/h", Requests: "/r", Current: "home"}}
		if field != "" {
			p.Problems = []problem{{Field: field, Message: "Wrong " + field}}
		}
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, name, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		html := b.String()
		if strings.Count(html, "<h1") != 1 || strings.Count(html, "<main") != 1 || !strings.Contains(html, `<meta name="description" content="`) {
			t.Errorf("%s: not one h1, one main and a description:\n%s", name, html)
		}
		if field == "" {
			continue
		}
		input := regexp.MustCompile(`<input id="` + field + `"[^>]*>`).FindString(html)
		if !strings.Contains(input, `aria-invalid="true" aria-describedby="`+field+`-error"`) {
			t.Errorf("%s: the field in error is not marked: %s", name, input)
		}
		if !strings.Contains(html, `<p class="field-error" id="`+field+`-error"><span class="visually-hidden">Error: </span>Wrong `+field+`</p>`) ||
			!strings.Contains(html, `<a href="#`+field+`">Wrong `+field+`</a>`) || !strings.Contains(html, `autofocus`) {
			t.Errorf("%s: no sentence beside the field or no summary linking to it:\n%s", name, html)
		}
		if strings.Count(html, `aria-invalid="true"`) != 1 {
			t.Errorf("%s: other fields are marked invalid too", name)
		}
	}
}

// TestAPanicAnswersThePortalPageWithAReferenceInTheLog: a handler that
// panics gets the 500 page, whose reference is the one logged.
func TestAPanicAnswersThePortalPageWithAReferenceInTheLog(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	var log bytes.Buffer
	s := &Site{Logger: slog.New(slog.NewTextHandler(&log, nil))}
	r := gin.New()
	r.GET("/portal/:slug/boom", s.securityHeaders, s.recoverPages, func(*gin.Context) { panic("broken") })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/portal/acme/boom", nil))
	ref := regexp.MustCompile(`<strong class="reference">([0-9a-f]{8})</strong>`).FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusInternalServerError || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || ref == nil {
		t.Fatalf("panic answered %d %s:\n%s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if !strings.Contains(log.String(), "reference="+ref[1]) || !strings.Contains(log.String(), "broken") {
		t.Fatalf("the log does not hold reference %s and the panic:\n%s", ref[1], log.String())
	}
}
