package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"time"

	"github.com/portalaccess/portal"
)

// DefaultInvite is the invitation template that ships with the product.
var DefaultInvite = portal.EmailTemplate{
	Subject: "You're invited to the {{help_center}} help center",
	Heading: "Join the {{help_center}} help center",
	Paragraphs: []string{
		"Hello {{name}},",
		"{{help_center}} has invited you to its help center, where you can submit requests and follow their progress.",
		"To accept, open the link below and choose a password. The link is valid until {{expires_at}}.",
		"If you did not expect this invitation, you can ignore this email.",
	},
	ButtonLabel: "Accept invitation",
}

// ErrTemplate marks a template that can't be rendered; errors.As finds
// the *portal.TemplateError that says why.
var ErrTemplate = errors.New("invalid email template")

// Invite renders an invitation (or, with reminder set, its reminder) from
// the help center's template (custom, or nil for the default one). A
// custom template that can't be rendered is an ErrTemplate; the caller
// falls back to the default.
func Invite(custom *portal.EmailTemplate, d Data, reminder bool) (Message, error) {
	t := DefaultInvite
	if custom != nil {
		t = *custom
	}
	if err := t.Validate(); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	// Everything below is bounded: at most TemplateParagraphsMax parts of
	// bounded size, each expanded once, with values that are not read
	// again for placeholders.
	value := func(name string) string {
		switch name {
		case portal.PlaceholderHelpCenter:
			return d.HelpCenter
		case portal.PlaceholderName:
			if strings.TrimSpace(d.Name) == "" {
				return "there"
			}
			return d.Name
		case portal.PlaceholderEmail:
			return d.Email
		case portal.PlaceholderExpiresAt:
			return d.ExpiresAt
		}
		return ""
	}
	var out layoutData
	var err error
	expand := func(field, s string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = portal.ExpandPlaceholders(field, s, value)
		return v
	}
	subject := strings.Join(strings.Fields(expand("subject", t.Subject)), " ")
	out.Heading = expand("heading", t.Heading)
	out.ButtonLabel = expand("button_label", t.ButtonLabel)
	for i, p := range t.Paragraphs {
		out.Paragraphs = append(out.Paragraphs, expand(fmt.Sprintf("paragraphs[%d]", i), p))
	}
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	out.Link, out.DeclineLink = d.Link, d.DeclineLink

	kind, prefix := portal.EmailInvite, ""
	if reminder {
		kind, prefix = portal.EmailReminder, "Reminder: "
	}
	var html bytes.Buffer
	if err := inviteLayout.Execute(&html, out); err != nil {
		return Message{}, fmt.Errorf("invitation layout: %w", err)
	}
	return Message{To: d.Email, Subject: prefix + subject, Text: out.text(), HTML: html.String(), Kind: kind,
		Untracked: kind.CarriesToken()}, nil
}

// layoutData is an invitation with its placeholders expanded, as the
// layout places it.
type layoutData struct {
	Heading     string
	Paragraphs  []string
	ButtonLabel string
	Link        string
	DeclineLink string
}

// text is the plain-text part: the same words, the link under the
// button's label.
func (l layoutData) text() string {
	var b strings.Builder
	b.WriteString(l.Heading)
	for _, p := range l.Paragraphs {
		b.WriteString("\n\n")
		b.WriteString(p)
	}
	b.WriteString("\n\n" + l.ButtonLabel + ":\n" + l.Link)
	if l.DeclineLink != "" {
		b.WriteString("\n\nI don't want to join: " + l.DeclineLink + "\n(Open it to stop these invitations; nothing changes until you confirm.)")
	}
	return b.String()
}

// inviteLayout is the only HTML an invitation has. Admin-typed text is
// data here, so html/template escapes it, and it fills no attribute: the
// only links are the acceptance and decline links this package sets.
var inviteLayout = htmltemplate.Must(htmltemplate.New("invite").Parse(`<!doctype html><html><body>` +
	`<div style="font-family:sans-serif">` +
	`<h1 style="font-size:20px">{{.Heading}}</h1>` +
	`{{range .Paragraphs}}<p style="white-space:pre-line">{{.}}</p>{{end}}` +
	`{{if .Link}}<p><a href="{{.Link}}" style="display:inline-block;padding:10px 16px;background:#1a73e8;color:#fff;text-decoration:none;border-radius:4px">{{.ButtonLabel}}</a></p>` +
	`<p style="font-size:13px">If the button does not work, copy this address into your browser: {{.Link}}</p>{{end}}` +
	`</div>` +
	`{{if .DeclineLink}}<p style="font-family:sans-serif;font-size:13px"><a href="{{.DeclineLink}}">I don't want to join</a></p>{{end}}` +
	`</body></html>`))

// SampleInvite is what a preview or a test send fills a template with:
// the help center's own name, a made-up contact, an expiry as the policy
// would set it from now, and links to the help center's pages that carry
// no token (opened, they say the link is not valid).
func SampleInvite(helpCenter, baseURL, slug, to string, now time.Time, policy portal.InvitePolicy) Data {
	portalURL := baseURL + "/portal/" + url.PathEscape(slug)
	return Data{HelpCenter: helpCenter, Name: "Ada Lovelace", Email: to,
		Link:        portalURL + "/invitations/accept?token=sample",
		PortalURL:   portalURL + "/home",
		ExpiresAt:   FormatExpiry(now.Add(time.Duration(policy.LinkLifetimeHours) * time.Hour)),
		DeclineLink: portalURL + "/invitations/decline?invitation=sample"}
}
