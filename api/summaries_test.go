package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/portalaccess/portal/workflows"
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

// The invitation email's activity carries a summary in the workflow's
// timeline: which email, which link, which invitation.
func TestInvitationEmailActivityCarriesASummary(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("activity") + "@example.com"
	contact := newContact(t, email, true)
	inv := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	waitForMail(t, email, "invite", 1)
	iter := app.Service.Temporal.GetWorkflowHistory(context.Background(), inv["workflow_id"].(string), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		a := e.GetActivityTaskScheduledEventAttributes()
		if a == nil || a.GetActivityType().GetName() != "SendInvitation" {
			continue
		}
		var summary string
		if err := converter.GetDefaultDataConverter().FromPayload(e.GetUserMetadata().GetSummary(), &summary); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("Invitation email, link 1, invitation %s", inv["id"]); summary != want {
			t.Fatalf("SendInvitation summary %q, want %q", summary, want)
		}
		return
	}
	t.Fatal("no SendInvitation activity in the history")
}

// A bulk job's invitation sends its first email in its workflow task (no
// caller waits behind it), and that local activity carries the same
// summary in the workflow's timeline.
func TestBulkInvitationsEmailInItsWorkflowTaskCarriesASummary(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("lasummary") + "@example.com"
	contact := newContact(t, email, true)
	admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk", map[string]any{"contact_ids": []int64{contact}}, 202)
	waitForMail(t, email, "invite", 1)
	wfID := workflows.InvitationWorkflowID(slug, contact)
	// The email is in the outbox once the local activity has sent it; its
	// marker enters the history only when the workflow task that ran it
	// completes, a moment later.
	var summary string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var found bool
		summary, found = sendInvitationMarkerSummary(t, wfID)
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no SendInvitation local activity in the bulk invitation's history")
		}
	}
	// The invitation's ID is its first run's.
	d, err := app.Service.Temporal.DescribeWorkflow(t.Context(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Invitation email, link 1, invitation " + d.RawResponse.GetWorkflowExecutionInfo().GetFirstRunId(); summary != want {
		t.Fatalf("SendInvitation summary %q, want %q", summary, want)
	}
}

// sendInvitationMarkerSummary reads the summary of the SendInvitation
// local activity in wfID's history, if its marker is there yet; an
// invitation email scheduled as a regular activity fails the test.
func sendInvitationMarkerSummary(t *testing.T, wfID string) (string, bool) {
	t.Helper()
	iter := app.Service.Temporal.GetWorkflowHistory(context.Background(), wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "SendInvitation" {
			t.Fatalf("the bulk invitation's email was scheduled on %s, not sent in its workflow task", a.GetTaskQueue().GetName())
		}
		m := e.GetMarkerRecordedEventAttributes()
		if m == nil || m.GetMarkerName() != "LocalActivity" {
			continue
		}
		var data struct{ ActivityType string }
		if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &data); err != nil {
			t.Fatal(err)
		}
		if data.ActivityType != "SendInvitation" {
			continue
		}
		var summary string
		if err := converter.GetDefaultDataConverter().FromPayload(e.GetUserMetadata().GetSummary(), &summary); err != nil {
			t.Fatal(err)
		}
		return summary, true
	}
	return "", false
}
