package mail

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mailgun/mailgun-go/v4"
	"github.com/mailgun/mailgun-go/v4/events"

	"github.com/portalaccess/portal"
)

func TestMailgunSenderDeliversThroughTheAPI(t *testing.T) {
	srv := mailgun.NewMockServer()
	defer srv.Stop()
	s := NewMailgun("mg.example.com", "key-test", srv.URL(), "Acme Help <help@mg.example.com>")
	msg, err := Invite(nil, Data{HelpCenter: "Acme", Name: "Ada", Email: "ada@example.com", Link: "https://h/accept?token=abc", ExpiresAt: "soon"}, false)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if id == "" || strings.ContainsAny(id, "<>") {
		t.Fatalf("provider id %q", id)
	}
	var found bool
	for _, ev := range srv.Events() {
		if acc, ok := ev.(*events.Accepted); ok && acc.Message.Headers.MessageID == id {
			found = true
			if acc.Recipient != "ada@example.com" || acc.Message.Headers.Subject != msg.Subject {
				t.Fatalf("accepted %+v", acc.Message.Headers)
			}
		}
	}
	if !found {
		t.Fatalf("mock server has no accepted event for %s", id)
	}
}

func TestMailgunSenderMarksRefusalsPermanent(t *testing.T) {
	srv := mailgun.NewMockServer()
	defer srv.Stop()
	s := NewMailgun("mg.example.com", "key-test", srv.URL(), "help@mg.example.com")
	// The mock refuses an address it cannot parse with HTTP 400.
	_, err := s.Send(context.Background(), Message{To: "not an address", Subject: "x", Text: "x"})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("want ErrRejected, got %v", err)
	}
}

func TestMailgunAddsAPIVersionToBase(t *testing.T) {
	s := NewMailgun("d", "k", "https://api.eu.mailgun.net/", "f")
	if got := s.mg.APIBase(); got != "https://api.eu.mailgun.net/v3" {
		t.Fatalf("api base %q", got)
	}
}

func TestInviteRendersHelpCenterAndLinkAndEscapesHTML(t *testing.T) {
	d := Data{HelpCenter: "Acme <Support>", Name: "Ada", Email: "a@x.io", Link: "https://h/p?token=a&b", ExpiresAt: "tomorrow"}
	m, err := Invite(nil, d, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Subject, "Acme <Support>") || !strings.Contains(m.Text, d.Link) {
		t.Fatalf("text message %+v", m)
	}
	if strings.Contains(m.HTML, "<Support>") || !strings.Contains(m.HTML, "Acme &lt;Support&gt;") {
		t.Fatalf("html not escaped: %s", m.HTML)
	}
	r, _ := Invite(nil, d, true)
	if r.Kind != portal.EmailReminder || !strings.HasPrefix(r.Subject, "Reminder: ") {
		t.Fatalf("reminder %+v", r)
	}
}

func TestCustomTemplateIsUsedAndValidated(t *testing.T) {
	custom := portal.EmailTemplate{Subject: "Join {{.HelpCenter}}", Body: "Hi {{.Name}}: {{.Link}}"}
	if err := ValidateTemplate(custom); err != nil {
		t.Fatal(err)
	}
	m, err := Invite(&custom, Data{HelpCenter: "Acme", Name: "Bo", Link: "L"}, false)
	if err != nil || m.Subject != "Join Acme" || m.Text != "Hi Bo: L" {
		t.Fatalf("%+v %v", m, err)
	}
	for name, bad := range map[string]portal.EmailTemplate{
		"no link":       {Subject: "s", Body: "no link here"},
		"parse error":   {Subject: "s", Body: "{{.Link"},
		"unknown field": {Subject: "{{.Nope}}", Body: "{{.Link}}"},
		"empty subject": {Subject: " ", Body: "{{.Link}}"},
	} {
		if err := ValidateTemplate(bad); !errors.Is(err, ErrTemplate) {
			t.Errorf("%s: want ErrTemplate, got %v", name, err)
		}
	}
}

func TestMailgunConfigurationErrorsAreRetried(t *testing.T) {
	srv := mailgun.NewMockServer()
	defer srv.Stop()
	// The mock knows no such path: a 404, as for a wrong domain or base.
	s := NewMailgun("mg.example.com", "key-test", srv.URL()+"/nowhere/v3", "help@mg.example.com")
	_, err := s.Send(context.Background(), Message{To: "ada@example.com", Subject: "x", Text: "x"})
	if err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("want a retryable error, got %v", err)
	}
}
