package mail

import (
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal"
)

func TestPasswordResetEmailNamesTheHelpCenterAndStatesTheExpiry(t *testing.T) {
	d := Data{HelpCenter: "Acme Support", Name: "Ada", Email: "ada@example.com", Link: "https://h/portal/acme/password/reset?token=abc",
		ExpiresAt: "1 January 2030 10:00 UTC", ValidFor: FormatLifetime(time.Hour)}
	msg, err := Notice(portal.EmailPasswordReset, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Acme Support", d.Link, "for 1 hour, until 1 January 2030 10:00 UTC", "works once"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("reset email lacks %q:\n%s", want, msg.Text)
		}
	}
	if !strings.Contains(msg.Subject, "Acme Support") || msg.Kind != portal.EmailPasswordReset || msg.To != "ada@example.com" {
		t.Fatalf("message %+v", msg)
	}

	changed, err := Notice(portal.EmailPasswordChanged, Data{HelpCenter: "Acme Support", Email: "ada@example.com", Link: "https://h/portal/acme/password/forgot"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(changed.Subject, "Acme Support") || !strings.Contains(changed.Text, "https://h/portal/acme/password/forgot") {
		t.Fatalf("changed notice %+v", changed)
	}
}

func TestFormatLifetimeSaysHowLongInWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 90 * time.Minute: "90 minutes", 2 * time.Hour: "2 hours", 30 * time.Minute: "30 minutes",
		24 * time.Hour: "24 hours", 72 * time.Hour: "3 days", time.Minute: "1 minute",
	} {
		if got := FormatLifetime(d); got != want {
			t.Errorf("FormatLifetime(%s) = %q, want %q", d, got, want)
		}
	}
}
