package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/workflows"
)

// An invitation that an older version failed on an outage (here a
// stand-in that fails at once, as one did at its first database step)
// is listed by `portal check`, restarted into a real invitation with its
// record and email, and then listed as invited again.
func TestCheckListsAndRestartsAnInvitationLeftFailed(t *testing.T) {
	ctx := context.Background()
	slug := newHelpCenter(t, "unique")
	hc, err := app.Service.Store.HelpCenterBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	email := unique("failed") + "@example.com"
	contact := newContact(t, email, true)

	queue := unique("older-version-")
	older := worker.New(app.Service.Temporal, queue, worker.Options{})
	older.RegisterWorkflowWithOptions(func(workflow.Context, workflows.InvitationInput) error {
		return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}, workflow.RegisterOptions{Name: "Invitation"})
	if err := older.Start(); err != nil {
		t.Fatal(err)
	}
	defer older.Stop()
	id := workflows.InvitationWorkflowID(slug, contact)
	run, err := app.Service.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, "Invitation",
		workflows.InvitationInput{HelpCenterID: hc.ID, HelpCenterSlug: slug, ContactID: contact, Policy: workflows.PolicyFrom(hc.InvitePolicy)})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil {
		t.Fatal("the stand-in should fail")
	}

	f := waitForFailed(t, id, run.GetRunID())
	if f.Recorded || f.Superseded || !f.Restartable() || f.HelpCenter != slug || f.ContactID != contact {
		t.Fatalf("failed invitation %+v", f)
	}
	st, err := app.Service.RestartInvitation(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Recorded || st.Status != portal.InvitationPending {
		t.Fatalf("restarted %+v", st)
	}
	waitForMail(t, email, "invite", 1)
	if f = waitForFailed(t, id, run.GetRunID()); !f.Superseded || f.Restartable() {
		t.Fatalf("after the restart %+v", f)
	}
}

// waitForFailed waits until visibility lists the failed run.
func waitForFailed(t *testing.T, id, runID string) service.FailedInvitation {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		failed, err := app.Service.FailedInvitations(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range failed {
			if f.WorkflowID == id && f.RunID == runID {
				return f
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s run %s never listed as failed", id, runID)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
