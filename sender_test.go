package portal

import "testing"

func TestSenderAllowListTakesAddressesAndWholeDomains(t *testing.T) {
	l := SenderAllowList{"no-reply@mg.example.com", "@acme.example"}
	for addr, want := range map[string]bool{
		"no-reply@mg.example.com": true, "NO-REPLY@mg.example.com": true, "other@mg.example.com": false,
		"help@acme.example": true, "help@sub.acme.example": false, "help@evil.example": false, "acme.example": false,
	} {
		if got := l.Allows(addr); got != want {
			t.Errorf("Allows(%q) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"@", "x", "Name <a@b.example>", "@no spaces.example"} {
		if ValidSenderAllowEntry(bad) == nil {
			t.Errorf("entry %q accepted", bad)
		}
	}
	for _, bad := range []string{"", " Acme", "Acme\r\nBcc: x@y", "a@b", "<Acme>"} {
		if ValidSenderName(bad) == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}
