package mail

import (
	"strings"
	"testing"

	"github.com/portalaccess/portal"
)

func TestEmailChangedNoticeNamesTheMaskedNewAddressOrTheRemoval(t *testing.T) {
	changed, err := Notice(portal.EmailAddressChanged, Data{HelpCenter: "Acme", Name: "<Ada>", Email: "ada@old.example",
		NewEmail: portal.MaskEmail("someone@new-place.com")})
	if err != nil {
		t.Fatal(err)
	}
	if changed.To != "ada@old.example" || changed.Kind != portal.EmailAddressChanged {
		t.Fatalf("notice to %q of kind %q", changed.To, changed.Kind)
	}
	if !strings.Contains(changed.Text, "to s***@n***.com.") || strings.Contains(changed.Text, "someone@new-place.com") {
		t.Fatalf("the notice does not name the new address masked: %s", changed.Text)
	}
	if !strings.Contains(changed.Subject, "your Acme help center account") {
		t.Fatalf("subject %q", changed.Subject)
	}
	if strings.Contains(changed.HTML, "<Ada>") || !strings.Contains(changed.HTML, "&lt;Ada&gt;") {
		t.Fatalf("the HTML part does not escape the name: %s", changed.HTML)
	}
	removed, err := Notice(portal.EmailAddressChanged, Data{Name: "Ada", Email: "ada@old.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(removed.Text, "This address was removed from your help center account") {
		t.Fatalf("the removal notice: %s", removed.Text)
	}
}
