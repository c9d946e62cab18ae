package mail

import (
	"errors"
	"strings"
	"testing"

	"github.com/portalaccess/portal"
)

func TestMailgunAddsAPIVersionToBase(t *testing.T) {
	s := NewMailgun(MailgunConfig{Domain: "d", APIKey: "k", APIBase: "https://api.eu.mailgun.net/", From: "f"})
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
