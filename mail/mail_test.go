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
	custom := portal.EmailTemplate{Subject: "Join {{help_center}}", Heading: "Hi {{ name }}", Paragraphs: []string{"Until {{expires_at}}."}, ButtonLabel: "Go"}
	m, err := Invite(&custom, Data{HelpCenter: "Acme", Name: "Bo", Link: "L", ExpiresAt: "soon"}, false)
	if err != nil || m.Subject != "Join Acme" || m.Text != "Hi Bo\n\nUntil soon.\n\nGo:\nL" {
		t.Fatalf("%+v %v", m, err)
	}
	long := strings.Repeat("x", portal.TemplateParagraphMax+1)
	for name, bad := range map[string]portal.EmailTemplate{
		"unknown placeholder":  {Subject: "s", Heading: "h", Paragraphs: []string{"{{link}}"}, ButtonLabel: "b"},
		"go template code":     {Subject: "{{.HelpCenter}}", Heading: "h", Paragraphs: []string{"p"}, ButtonLabel: "b"},
		"unclosed":             {Subject: "s", Heading: "h {{name", Paragraphs: []string{"p"}, ButtonLabel: "b"},
		"empty subject":        {Subject: " ", Heading: "h", Paragraphs: []string{"p"}, ButtonLabel: "b"},
		"subject on two lines": {Subject: "a\nBcc: x@y", Heading: "h", Paragraphs: []string{"p"}, ButtonLabel: "b"},
		"no paragraphs":        {Subject: "s", Heading: "h", ButtonLabel: "b"},
		"long paragraph":       {Subject: "s", Heading: "h", Paragraphs: []string{long}, ButtonLabel: "b"},
		"too many paragraphs":  {Subject: "s", Heading: "h", Paragraphs: make([]string, portal.TemplateParagraphsMax+1), ButtonLabel: "b"},
	} {
		_, err := Invite(&bad, Data{Link: "L"}, false)
		var te *portal.TemplateError
		if !errors.Is(err, ErrTemplate) || !errors.As(err, &te) {
			t.Errorf("%s: want ErrTemplate, got %v", name, err)
		}
	}
}

// A name that looks like a placeholder stays text: values are never
// expanded again.
func TestPlaceholderValuesAreNotExpandedAgain(t *testing.T) {
	m, err := Invite(nil, Data{HelpCenter: "Acme", Name: "{{email}}", Email: "a@x.io", Link: "L"}, false)
	if err != nil || !strings.Contains(m.Text, "Hello {{email}},") {
		t.Fatalf("%v %q", err, m.Text)
	}
}
