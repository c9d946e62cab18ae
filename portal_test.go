package portal_test

import (
	"errors"
	"testing"

	"github.com/portalaccess/portal"
)

func TestParseAcceptsEveryStatusAndRefusesOthers(t *testing.T) {
	for _, s := range portal.InvitationStatuses {
		got, err := portal.ParseInvitationStatus(string(s))
		if err != nil || got != s {
			t.Fatalf("ParseInvitationStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range portal.AccessStatuses {
		got, err := portal.ParseAccessStatus(string(s))
		if err != nil || got != s {
			t.Fatalf("ParseAccessStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "Pending", "pending ", "active", "all"} {
		if _, err := portal.ParseInvitationStatus(bad); err == nil {
			t.Errorf("ParseInvitationStatus(%q) accepted", bad)
		}
	}
	if _, err := portal.ParseAccessStatus("accepted"); err == nil {
		t.Error("ParseAccessStatus accepted an invitation status")
	}
}

func TestParseErrorListsTheChoices(t *testing.T) {
	_, err := portal.ParseInvitationStatus("bogus")
	var pe *portal.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *ParseError", err)
	}
	if got, want := pe.Choices(), "pending, accepted, expired, revoked, undeliverable or declined"; got != want {
		t.Fatalf("Choices() = %q, want %q", got, want)
	}
	if _, err := portal.ParseUserBase("shared"); err == nil || err.Error() != `"shared" is not a valid user base; use common or unique` {
		t.Fatalf("ParseUserBase error = %v", err)
	}
	if r, err := portal.ParseRole("agent"); err != nil || r != portal.RoleAgent {
		t.Fatalf("ParseRole(agent) = %q, %v", r, err)
	}
}

func TestInvitationStatusClosing(t *testing.T) {
	for _, s := range portal.InvitationStatuses {
		want := s != portal.InvitationPending && s != portal.InvitationAccepted
		if s.Closing() != want {
			t.Errorf("%s.Closing() = %v", s, s.Closing())
		}
	}
}
