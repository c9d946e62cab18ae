package service_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
)

// An invitation left pending in Postgres after an operator terminated its
// workflow is reported, as is one whose run Temporal never had; one whose
// run is still going is not, nor one whose workflow continued as new (its
// first run is closed, the chain goes on), nor a closed invitation.
func TestPendingRunsClosedReportsAPendingInvitationWhoseRunIsGone(t *testing.T) {
	if os.Getenv("TEMPORAL_CLI") == "" {
		t.Skip("TEMPORAL_CLI is not set: run with make test")
	}
	ctx := t.Context()
	dev, err := testenv.Temporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dev.Stop() }()
	url, drop, err := testenv.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	st := store.Open(url)
	defer func() { _ = st.Close() }()
	tc := dev.Client()

	hc := &store.HelpCenter{Slug: "consistency", Name: "Acme", UserBase: portal.UserBaseUnique, InvitePolicy: portal.DefaultInvitePolicy()}
	if err := st.CreateHelpCenter(ctx, hc); err != nil {
		t.Fatal(err)
	}
	// invitation starts a run no worker picks up (it stays running) and
	// records its pending invitation, as the workflow's first activity does.
	invitation := func(n int) (string, string) {
		t.Helper()
		email := "c" + strconv.Itoa(n) + "@example.com"
		c := &store.Contact{Email: &email, Name: "Ada", Verified: true}
		if err := st.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		wf := "invitation/" + hc.Slug + "/" + strconv.FormatInt(c.ID, 10)
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf, TaskQueue: "no-worker"}, "Invitation")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateInvitation(ctx, &store.Invitation{ID: run.GetRunID(), HelpCenterID: hc.ID, ContactID: c.ID, WorkflowID: wf}); err != nil {
			t.Fatal(err)
		}
		return wf, run.GetRunID()
	}
	terminatedWF, terminated := invitation(1)
	if err := tc.TerminateWorkflow(ctx, terminatedWF, terminated, "operator"); err != nil {
		t.Fatal(err)
	}
	_, running := invitation(2)
	closedWF, closed := invitation(3)
	if err := st.CloseInvitation(ctx, closed, portal.InvitationRevoked); err != nil {
		t.Fatal(err)
	}
	if err := tc.TerminateWorkflow(ctx, closedWF, closed, "revoked"); err != nil {
		t.Fatal(err)
	}
	chained := chainedInvitation(t, tc, st, hc)
	email := "c4@example.com"
	c := &store.Contact{Email: &email, Name: "Ada", Verified: true}
	if err := st.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	unknown := uuid.NewString()
	if _, err := st.CreateInvitation(ctx, &store.Invitation{ID: unknown, HelpCenterID: hc.ID, ContactID: c.ID,
		WorkflowID: "invitation/" + hc.Slug + "/" + strconv.FormatInt(c.ID, 10)}); err != nil {
		t.Fatal(err)
	}

	var found []store.Finding
	if err := service.PendingRunsClosed(ctx, tc, st, func(f store.Finding) error {
		found = append(found, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for _, f := range found {
		if f.Kind != store.FindingPendingRunClosed || f.HelpCenterID != hc.ID {
			t.Fatalf("unexpected finding %+v", f)
		}
		reported[f.IDs[0]] = true
	}
	if !reported[terminated] || !reported[unknown] || len(found) != 2 {
		t.Fatalf("want the terminated run's and the unknown run's invitations reported, got %+v", found)
	}
	if slices.ContainsFunc(found, func(f store.Finding) bool { return f.IDs[0] == running || f.IDs[0] == closed || f.IDs[0] == chained }) {
		t.Fatalf("a running, continued or closed invitation is reported: %+v", found)
	}
}

// chainedWorkflow continues as new once and then waits, as a long-lived
// invitation workflow does.
func chainedWorkflow(ctx workflow.Context, continued bool) error {
	if !continued {
		return workflow.NewContinueAsNewError(ctx, "ChainedInvitation", true)
	}
	workflow.GetSignalChannel(ctx, "stop").Receive(ctx, nil)
	return nil
}

// chainedInvitation records a pending invitation whose workflow has
// continued as new, and returns its ID: the first run's.
func chainedInvitation(t *testing.T, tc client.Client, st *store.Store, hc *store.HelpCenter) string {
	t.Helper()
	ctx := t.Context()
	w := worker.New(tc, "chained", worker.Options{})
	w.RegisterWorkflowWithOptions(chainedWorkflow, workflow.RegisterOptions{Name: "ChainedInvitation"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	email := "chained@example.com"
	c := &store.Contact{Email: &email, Name: "Ada", Verified: true}
	if err := st.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	wf := "invitation/" + hc.Slug + "/" + strconv.FormatInt(c.ID, 10)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf, TaskQueue: "chained"}, "ChainedInvitation", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInvitation(ctx, &store.Invitation{ID: run.GetRunID(), HelpCenterID: hc.ID, ContactID: c.ID, WorkflowID: wf}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := tc.DescribeWorkflow(ctx, wf, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID() {
			return run.GetRunID()
		}
		if time.Now().After(deadline) {
			t.Fatal("the workflow did not continue as new")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
