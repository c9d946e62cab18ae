package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// An invitation's workflow carries a summary and details an operator
// reads in the Temporal UI: the contact by ID (never the address) and the
// help center.
func TestInvitationWorkflowCarriesASummaryWithoutTheAddress(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("summary") + "@example.com"
	contact := newContact(t, email, true)
	inv := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	wfID, _ := inv["workflow_id"].(string)
	if wfID == "" {
		t.Fatalf("no workflow_id in %v", inv)
	}
	d, err := app.Service.Temporal.DescribeWorkflow(t.Context(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	summary, err := d.GetStaticSummary()
	if err != nil {
		t.Fatal(err)
	}
	details, err := d.GetStaticDetails()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Invitation of contact %d to %s", contact, slug); summary != want {
		t.Errorf("summary %q, want %q", summary, want)
	}
	if !strings.Contains(details, "`"+slug+"`") || !strings.Contains(details, fmt.Sprint(contact)) {
		t.Errorf("details %q name neither the help center nor the contact", details)
	}
	if strings.Contains(summary+details, email) {
		t.Errorf("the address is in the workflow's summary or details: %q %q", summary, details)
	}
}
