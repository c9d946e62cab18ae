package store_test

import (
	"context"
	"testing"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// An invitation that a job counted as invited and that then failed moves
// to failed, with its reason, in the counts and the results file; told
// twice, it moves once.
func TestBulkChildFailureMovesAnInvitedContactToFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "bulkchildfail")
	job := newBulkJob(t, hc, []int64{1, 2})
	if err := db.RecordBulkOutcomes(ctx, job.ID, []store.BulkOutcome{
		{ContactID: 1, Outcome: portal.OutcomeInvited}, {ContactID: 2, Outcome: portal.OutcomeInvited},
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.RecordBulkChildFailure(ctx, job.ID, 2, "contact deleted"); err != nil {
			t.Fatal(err)
		}
	}
	got := bulkJob(t, job.ID)
	if got.Invited != 1 || got.Failed != 1 {
		t.Fatalf("counts invited=%d failed=%d, want 1, 1", got.Invited, got.Failed)
	}
	var results []store.BulkResult
	if err := db.EachBulkResult(ctx, job.ID, func(r store.BulkResult) error { results = append(results, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[1].Outcome != portal.OutcomeFailed || results[1].Detail != "contact deleted" {
		t.Fatalf("results %+v", results)
	}
}

// A failure reported before the job recorded the start stays a failure:
// the job's later "invited" does not overwrite it or count it.
func TestBulkChildFailureBeforeTheJobRecordsTheStartStaysFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "bulkchildfirst")
	job := newBulkJob(t, hc, []int64{7})
	if err := db.RecordBulkChildFailure(ctx, job.ID, 7, "template broken"); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordBulkOutcomes(ctx, job.ID, []store.BulkOutcome{{ContactID: 7, Outcome: portal.OutcomeInvited}}); err != nil {
		t.Fatal(err)
	}
	got := bulkJob(t, job.ID)
	if got.Invited != 0 || got.Failed != 1 {
		t.Fatalf("counts invited=%d failed=%d, want 0, 1", got.Invited, got.Failed)
	}
}
