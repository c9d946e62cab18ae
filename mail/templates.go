package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/portalaccess/portal"
)

// Data is what an email template can use.
type Data struct {
	HelpCenter string
	Name       string
	Email      string
	Link       string
	PortalURL  string
	ExpiresAt  string
	// ValidFor is how long a link works, in words ("1 hour").
	ValidFor string
	// DeclineLink, on an invitation or reminder, lets the contact say
	// they don't want to join; the layout adds it below the button.
	DeclineLink string
	// NewEmail is, in the notice to an old address, the address that
	// replaced it, partly masked; empty when the address was removed.
	NewEmail string
}

var welcome = notice{
	Subject: "Welcome to the {{.HelpCenter}} help center",
	Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Your {{.HelpCenter}} help center account is active. Log in with {{.Email}} and the password you chose:
{{.PortalURL}}`,
}

// notices are the fixed system emails, by kind.
var notices = map[portal.EmailKind]notice{
	portal.EmailSignupVerify: {
		Subject: "Confirm your email for the {{.HelpCenter}} help center",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Someone, hopefully you, signed up for the {{.HelpCenter}} help center with this address. To confirm it, open this link:
{{.Link}}

The link is valid until {{.ExpiresAt}}. If it wasn't you, ignore this email and nothing happens.`,
	},
	portal.EmailSignupRejected: {
		Subject: "Your request to join the {{.HelpCenter}} help center",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Your request for an account on the {{.HelpCenter}} help center was declined. If you think this is a mistake, contact the support team.`,
	},
	portal.EmailSignupApproved: {
		Subject: "Your {{.HelpCenter}} help center account is approved",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Your account on the {{.HelpCenter}} help center was approved. Log in with {{.Email}} and the password you chose:
{{.PortalURL}}`,
	},
	portal.EmailAccountExists: {
		Subject: "You already have a {{.HelpCenter}} help center account",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Someone tried to sign up for the {{.HelpCenter}} help center with this address, which already has an account. Log in here:
{{.PortalURL}}

If it wasn't you, you can ignore this email.`,
	},
	portal.EmailAccessGranted: {
		Subject: "You now have access to the {{.HelpCenter}} help center",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

You can now use the {{.HelpCenter}} help center with your existing account: log in with {{.Email}} and your current password.
{{.PortalURL}}`,
	},
	portal.EmailDeactivated: {
		Subject: "Your {{.HelpCenter}} help center account was deactivated",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Your access to the {{.HelpCenter}} help center has been deactivated. Contact the support team if you need it back.`,
	},
	portal.EmailReactivated: {
		Subject: "Your {{.HelpCenter}} help center account is active again",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Your access to the {{.HelpCenter}} help center is active again. Log in with {{.Email}} and your password:
{{.PortalURL}}`,
	},
	portal.EmailPasswordReset: {
		Subject: "Reset your {{.HelpCenter}} help center password",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

Someone, hopefully you, asked to reset the password of your {{.HelpCenter}} help center account ({{.Email}}). To choose a new password, open this link:
{{.Link}}

The link works once and for {{.ValidFor}}, until {{.ExpiresAt}}. If you didn't ask for it, ignore this email: your password stays as it is.`,
	},
	portal.EmailPasswordChanged: {
		Subject: "Your {{.HelpCenter}} help center password was changed",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

The password of your {{.HelpCenter}} help center account ({{.Email}}) was just changed, and everyone logged in with it was logged out.

If you changed it, there is nothing more to do. If you didn't, choose a new password now and tell the support team:
{{.Link}}`,
	},
	// Sent to the address a contact had before an admin changed or
	// removed it, so its owner learns of it even if the change was not
	// theirs. HelpCenter lists the help centers of the account.
	portal.EmailAddressChanged: {
		Subject: "The email address of your {{with .HelpCenter}}{{.}} {{end}}help center account was changed",
		Body: `Hello {{if .Name}}{{.Name}}{{else}}there{{end}},

{{if .NewEmail}}The email address of your {{with .HelpCenter}}{{.}} {{end}}help center account was changed from this address to {{.NewEmail}}. From now on you log in with that address, and emails about your account go there.{{else}}This address was removed from your {{with .HelpCenter}}{{.}} {{end}}help center account: you can no longer log in with it.{{end}} You were logged out everywhere, and links sent to this address no longer work.

If you did not ask for this change, contact the support team at once.`,
	},
}

// Notice renders one of the fixed system emails.
func Notice(kind portal.EmailKind, d Data) (Message, error) {
	t, ok := notices[kind]
	if !ok {
		return Message{}, fmt.Errorf("no email of kind %q", kind)
	}
	return render(t, d, "", kind)
}

// FormatExpiry renders a link's expiry for an email.
func FormatExpiry(t time.Time) string { return t.UTC().Format("2 January 2006 15:04 MST") }

// FormatLifetime renders how long a link works: "1 hour", "90 minutes",
// "2 days".
func FormatLifetime(d time.Duration) string {
	unit, n := "minute", int64(d/time.Minute)
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		unit, n = "day", int64(d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hour", int64(d/time.Hour)
	}
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// Welcome renders the message sent when an account becomes active.
func Welcome(d Data) (Message, error) { return render(welcome, d, "", portal.EmailWelcome) }

// notice is a fixed system email: Go templates of this package, never
// edited by an admin.
type notice struct {
	Subject string
	Body    string
}

func render(t notice, d Data, subjectPrefix string, kind portal.EmailKind) (Message, error) {
	subject, err := execText("subject", t.Subject, d)
	if err != nil {
		return Message{}, err
	}
	text, err := execText("body", t.Body, d)
	if err != nil {
		return Message{}, err
	}
	body, err := htmltemplate.New("body").Option("missingkey=error").Parse(t.Body)
	if err != nil {
		return Message{}, fmt.Errorf("body: %w", err)
	}
	var html bytes.Buffer
	html.WriteString(`<!doctype html><html><body><div style="font-family:sans-serif;white-space:pre-wrap">`)
	if err := body.Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("body: %w", err)
	}
	html.WriteString(`</div></body></html>`)
	return Message{To: d.Email, Subject: subjectPrefix + strings.Join(strings.Fields(subject), " "), Text: text, HTML: html.String(), Kind: kind,
		Untracked: kind.CarriesToken()}, nil
}

func execText(name, src string, d Data) (string, error) {
	t, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return b.String(), nil
}
