package api_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// An invitation a bulk job started and counted as invited, which then
// fails for a business reason (its contact was deleted before its first
// step), moves itself to failed with the reason: in the job's counts and
// in its results file, never left as invited.
func TestBulkInvitationThatFailsAfterItsStartCountsAsFailed(t *testing.T) {
	ctx := context.Background()
	slug := newHelpCenter(t, "unique")
	hc, err := app.Service.Store.HelpCenterBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	ghost := int64(900_000_000) + seq%100_000_000 // no such contact
	now := time.Now()
	job := &store.BulkJob{ID: uuid.NewString(), HelpCenterID: hc.ID, Selection: portal.SelectIDs, StartedAt: &now}
	job.WorkflowID = workflows.BulkWorkflowID(job.ID)
	if err := app.Service.Store.CreateBulkJob(ctx, job, []int64{ghost}); err != nil {
		t.Fatal(err)
	}
	// What the job does as the child starts: count it invited.
	if err := app.Service.Store.RecordBulkOutcomes(ctx, job.ID, []store.BulkOutcome{{ContactID: ghost, Outcome: portal.OutcomeInvited}}); err != nil {
		t.Fatal(err)
	}
	id := workflows.InvitationWorkflowID(slug, ghost)
	run, err := app.Service.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: app.Env["TEMPORAL_TASK_QUEUE"]},
		workflows.Invitation, workflows.InvitationInput{HelpCenterID: hc.ID, HelpCenterSlug: slug, ContactID: ghost,
			Policy: workflows.PolicyFrom(hc.InvitePolicy), MailTaskQueue: app.Env["MAIL_TASK_QUEUE"], BulkJobID: job.ID})
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := run.Get(waitCtx, nil); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Fatalf("want the invitation to fail with NotFound, got %v", err)
	}

	j := admin(t, "GET", "/api/v1/bulk-invitations/"+job.ID, nil, 200)
	if num(j["invited"]) != 0 || num(j["failed"]) != 1 {
		t.Fatalf("job counts %v, want invited 0 and failed 1", j)
	}
	csv := call(t, "GET", "/api/v1/bulk-invitations/"+job.ID+"/results.csv", app.AdminKey, nil)
	if csv.Status != 200 || !strings.Contains(string(csv.Body), "failed") || !strings.Contains(string(csv.Body), "contact of invitation") {
		t.Fatalf("results %d %s", csv.Status, csv.Body)
	}
	if name := os.Getenv("RECORD_CHILD_FAILURE_HISTORY"); name != "" {
		saveHistory(t, app.Service.Temporal, id, name)
	}
}
