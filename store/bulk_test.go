package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

func newBulkJob(t *testing.T, hc *store.HelpCenter, ids []int64) *store.BulkJob {
	t.Helper()
	id := uuid.NewString()
	job := &store.BulkJob{ID: id, HelpCenterID: hc.ID, Selection: portal.SelectIDs, WorkflowID: "bulk:" + id}
	if err := db.CreateBulkJob(context.Background(), job, ids); err != nil {
		t.Fatal(err)
	}
	return job
}

func bulkJob(t *testing.T, id string) *store.BulkJob {
	t.Helper()
	j, err := db.BulkJobByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// An activity retried after it recorded its outcomes records them again;
// the counts must not move twice.
func TestRecordBulkOutcomesCountsARepeatOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "bulkrepeat")
	job := newBulkJob(t, hc, []int64{1, 2, 3, 4})
	batch := []store.BulkOutcome{
		{ContactID: 1, Outcome: portal.OutcomeInvited},
		{ContactID: 2, Outcome: portal.ReasonNoEmail},
		{ContactID: 3, Outcome: portal.OutcomeFailed, Detail: "provider down"},
	}
	for range 2 {
		if err := db.RecordBulkOutcomes(ctx, job.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
	// A later batch overlapping the first counts only what is new.
	overlap := []store.BulkOutcome{
		{ContactID: 1, Outcome: portal.OutcomeInvited},
		{ContactID: 4, Outcome: portal.OutcomeInvited},
	}
	if err := db.RecordBulkOutcomes(ctx, job.ID, overlap); err != nil {
		t.Fatal(err)
	}
	got := bulkJob(t, job.ID)
	if got.Invited != 2 || got.SkippedNoEmail != 1 || got.Failed != 1 {
		t.Fatalf("counts invited=%d no_email=%d failed=%d, want 2, 1, 1", got.Invited, got.SkippedNoEmail, got.Failed)
	}
	if n := count(t, `SELECT count(*) FROM bulk_job_results WHERE job_id = ?`, job.ID); n != 4 {
		t.Fatalf("%d results, want 4", n)
	}
}

// Every outcome the product records has a counter of its own.
func TestRecordBulkOutcomesCountsEveryOutcome(t *testing.T) {
	t.Parallel()
	hc := newHelpCenter(t, "bulkall")
	outcomes := []portal.Outcome{
		portal.OutcomeInvited, portal.OutcomeAlreadyInvited, portal.OutcomeFailed, portal.OutcomeNotFound,
		portal.ReasonNoEmail, portal.ReasonUnverified, portal.ReasonAlreadyActive, portal.ReasonDeactivated,
		portal.ReasonPendingApproval, portal.ReasonRejected,
	}
	var batch []store.BulkOutcome
	var ids []int64
	for i, o := range outcomes {
		batch = append(batch, store.BulkOutcome{ContactID: int64(i + 1), Outcome: o})
		ids = append(ids, int64(i+1))
	}
	job := newBulkJob(t, hc, ids)
	if err := db.RecordBulkOutcomes(context.Background(), job.ID, batch); err != nil {
		t.Fatal(err)
	}
	got := bulkJob(t, job.ID)
	counters := map[string]int{
		"invited": got.Invited, "already_invited": got.AlreadyInvited, "failed": got.Failed, "not_found": got.SkippedNotFound,
		"no_email": got.SkippedNoEmail, "unverified": got.SkippedUnverified, "already_active": got.SkippedAlreadyActive,
		"deactivated": got.SkippedDeactivated, "pending_approval": got.SkippedPending, "rejected": got.SkippedRejected,
	}
	for _, o := range outcomes {
		if counters[string(o)] != 1 {
			t.Errorf("%s counted %d times, want 1", o, counters[string(o)])
		}
	}
	if got.Total != len(outcomes) {
		t.Errorf("total %d, want %d", got.Total, len(outcomes))
	}
}

// A bulk request retried with its idempotency key must find the job it
// started, not start another.
func TestBulkJobOnePerKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	job := func(hc *store.HelpCenter, key string) *store.BulkJob {
		id := uuid.NewString()
		return &store.BulkJob{ID: id, HelpCenterID: hc.ID, IdempotencyKey: &key, Selection: portal.SelectIDs, WorkflowID: "bulk:" + id}
	}
	t.Run("SameKeyIsErrConflict", func(t *testing.T) {
		hc, key := newHelpCenter(t, "bulkkey"), unique("key")
		first := job(hc, key)
		if err := db.CreateBulkJob(ctx, first, []int64{1}); err != nil {
			t.Fatal(err)
		}
		conflict(t, db.CreateBulkJob(ctx, job(hc, key), []int64{2}))
		found, err := db.BulkJobByKey(ctx, hc.ID, key)
		if err != nil || found.ID != first.ID {
			t.Fatalf("key finds %+v, %v; want job %s", found, err, first.ID)
		}
	})
	t.Run("SameKeyInAnotherHelpCenterAllowed", func(t *testing.T) {
		key := unique("key")
		for range 2 {
			if err := db.CreateBulkJob(ctx, job(newHelpCenter(t, "bulkkey"), key), []int64{1}); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("MissingJobIsErrNotFound", func(t *testing.T) {
		id := uuid.NewString()
		_, err := db.BulkJobByID(ctx, id)
		notFound(t, err, "bulk job "+id)
	})
	t.Run("UnknownKeyIsErrNotFound", func(t *testing.T) {
		_, err := db.BulkJobByKey(ctx, newHelpCenter(t, "bulkkey").ID, unique("key"))
		notFound(t, err, "bulk job by key")
	})
}
