package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// TestBulkJobStoredWithoutItsWorkflowIsStartedBySweeper stores a job as a
// request does just before it would start the workflow, as if the process
// died (or Temporal was down) right there. The sweeper starts it.
func TestBulkJobStoredWithoutItsWorkflowIsStartedBySweeper(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	ctx := context.Background()
	hc, _ := app.Service.Store.HelpCenterBySlug(ctx, slug)
	email := unique("swept") + "@example.com"
	id := newContact(t, email, true)
	job := &store.BulkJob{ID: uuid.NewString(), HelpCenterID: hc.ID, Selection: portal.SelectIDs}
	job.WorkflowID = workflows.BulkWorkflowID(job.ID)
	if err := app.Service.Store.CreateBulkJob(ctx, job, []int64{id}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		j := admin(t, "GET", "/api/v1/bulk-invitations/"+job.ID, nil, 200)
		if j["status"] == "completed" {
			if num(j["invited"]) != 1 {
				t.Fatalf("job %v", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored job never ran: %v", j)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitForMail(t, email, "invite", 1)
}
