package api_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// TestRepeatedSignupReachesTheWaitingOne signs up twice more with one
// address while the first sign-up waits for its link: the first workflow
// keeps running (same run), no second one starts, no other verification
// email is sent within the resend interval, and every answer is the same
// page. The link confirms with the first sign-up's password only.
func TestRepeatedSignupReachesTheWaitingOne(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	email := unique("again") + "@example.com"
	first := signUp(t, slug, "Rita Repeat", email, "correct-horse-1")
	if first.Status != 200 {
		t.Fatalf("sign-up: %d %s", first.Status, first.Body)
	}
	waitForMail(t, email, "signup_verify", 1)
	contact := admin(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(email), nil, 200)["items"].([]any)[0].(map[string]any)
	wfID := "signup/" + slug + "/" + strconv.FormatInt(int64(contact["id"].(float64)), 10)
	tc := app.Service.Temporal
	before, err := tc.DescribeWorkflow(t.Context(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}

	for _, password := range []string{"other-password-2", "third-password-3"} {
		again := signUp(t, slug, "Someone Else", email, password)
		if again.Status != first.Status || string(again.Body) != string(first.Body) {
			t.Fatalf("a repeated sign-up got another answer:\n%d %s\nvs\n%d %s", again.Status, again.Body, first.Status, first.Body)
		}
	}

	after, err := tc.DescribeWorkflow(t.Context(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := after.WorkflowExecution.RunID, before.WorkflowExecution.RunID; got != want {
		t.Fatalf("the sign-up's run changed from %s to %s", want, got)
	}
	if st := after.Status; st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the first sign-up is %s, want still running", st)
	}
	runs, err := tc.CountWorkflow(t.Context(), &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: app.Service.Config.TemporalNamespace, Query: "WorkflowId = '" + wfID + "'"})
	if err != nil {
		t.Fatal(err)
	}
	if runs.Count != 1 {
		t.Fatalf("%d runs of %s, want 1", runs.Count, wfID)
	}
	var stored int
	if err := app.Service.Store.DB.NewRaw(`SELECT count(*) FROM signups WHERE workflow_id = ?`, wfID).Scan(t.Context(), &stored); err != nil {
		t.Fatal(err)
	}
	if stored != 1 {
		t.Fatalf("%d sign-up records, want the first only (repeats are dropped)", stored)
	}
	// Give a wrongly sent email time to arrive.
	time.Sleep(time.Second)
	if n := len(waitForMail(t, email, "signup_verify", 1)); n != 1 {
		t.Fatalf("%d verification emails within the resend interval, want 1", n)
	}

	// The link confirms with the password of the sign-up that sent it.
	if _, r := verify(t, email, "other-password-2"); r.Status != 401 {
		t.Fatalf("verify with a repeat's password: %d", r.Status)
	}
	if _, r := verify(t, email, "correct-horse-1"); r.Status != 303 {
		t.Fatalf("verify with the first password: %d %s", r.Status, r.Body)
	}
}
