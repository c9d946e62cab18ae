package workflows

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
)

// invitationCost reads a recorded history, checks the current code replays
// it (so its shape is what this code writes), and counts its cost.
func invitationCost(t *testing.T, name string) Cost {
	t.Helper()
	path := "testdata/" + name + ".json"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := worker.NewWorkflowReplayer()
	Register(r)
	if err := r.ReplayWorkflowHistory(nil, h); err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
	return HistoryCost(h)
}

// The actions an invitation bills, before actionsChange (v6, recorded on
// the code without it), after it (v7) and after its version 2,
// actionsQuickSetup (v8: the same actions, fewer events and tasks) and
// its version 3, actionsLocalMail (v9: each email in its workflow task,
// but for one a caller waits behind): an invitation accepted after its
// first email, one of a bulk job accepted (its first email goes with its
// record: no caller waits), and one reminded, re-invited, reminded again
// and expired. Each history replays exactly
// against this code, so a change that adds a command to any path fails
// here or in the replay; one behind a new version must record a new
// history, and these bounds hold it.
func TestInvitationCost(t *testing.T) {
	for _, c := range []struct {
		name            string
		events, actions int
		upserts         int
	}{
		{"invitation_accepted_v6", 42, 13, 5},
		{"invitation_accepted_v7", 37, 10, 2},
		{"invitation_reminded_reinvited_expired_v6", 66, 17, 5},
		{"invitation_reminded_reinvited_expired_v7", 61, 14, 2},
		{"invitation_accepted_v8", 31, 10, 2},
		{"invitation_reminded_reinvited_expired_v8", 60, 14, 2},
		{"invitation_accepted_v9", 31, 10, 2},
		{"invitation_bulk_child_accepted_v9", 24, 8, 2},
		{"invitation_reminded_reinvited_expired_v9", 40, 12, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := invitationCost(t, c.name)
			t.Logf("%s: %s", c.name, got)
			if got.Events != c.events || got.Actions != c.actions || got.ByType["UpsertWorkflowSearchAttributes"] != c.upserts {
				t.Errorf("%s: %d events, %d actions, %d upserts; want %d, %d, %d\n%s", c.name,
					got.Events, got.Actions, got.ByType["UpsertWorkflowSearchAttributes"], c.events, c.actions, c.upserts, got)
			}
		})
	}
}

// commandCounter counts what a workflow asks the server for, by kind: the
// commands behind its billed actions.
type commandCounter struct {
	interceptor.WorkerInterceptorBase
	activities, localActivities, timers, upserts int
	// versions: the changes that recorded a marker (and, with it, a
	// TemporalChangeVersion upsert).
	versions map[string]bool
}

func (c *commandCounter) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &countingInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, c: c}
}

type countingInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	c *commandCounter
}

func (i *countingInbound) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&countingOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}, c: i.c})
}

type countingOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	c *commandCounter
}

func (o *countingOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.c.activities++
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (o *countingOutbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.c.localActivities++
	return o.Next.ExecuteLocalActivity(ctx, activityType, args...)
}

func (o *countingOutbound) NewTimer(ctx workflow.Context, d time.Duration) workflow.Future {
	o.c.timers++
	return o.Next.NewTimer(ctx, d)
}

func (o *countingOutbound) UpsertTypedSearchAttributes(ctx workflow.Context, attrs ...temporal.SearchAttributeUpdate) error {
	o.c.upserts++
	return o.Next.UpsertTypedSearchAttributes(ctx, attrs...)
}

func (o *countingOutbound) GetVersion(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version {
	v := o.Next.GetVersion(ctx, changeID, minSupported, maxSupported)
	if v != workflow.DefaultVersion {
		o.c.versions[changeID] = true
	}
	return v
}

// countedHarness is the invitation harness with the commands counted and
// the search attributes the starter sets at the start.
func countedHarness(t *testing.T) (*harness, *commandCounter) {
	h := newHarness(t)
	c := &commandCounter{versions: map[string]bool{}}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{c}})
	require.NoError(t, h.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		InvitationStatusKey.ValueSet(string(portal.InvitationPending)), HelpCenterKey.ValueSet("acme"))))
	return h, c
}

// The default policy's full run (invite, reminders on days 3 and 6,
// expiry, automatic re-invite, its two reminders, final expiry) and an
// accept after the first email ask only for what they need: one version
// marker, one search attribute upsert (the closing status: the pending
// one is the starter's), and each email, database step and timer once;
// the first link goes with the record.
func TestInvitationAsksForNoCommandItDoesNotNeed(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		h, c := countedHarness(t)
		st := h.run(defaultInput())
		require.Equal(t, portal.InvitationExpired, st.Status)
		require.Equal(t, map[string]bool{actionsChange: true}, c.versions)
		require.Equal(t, 1, c.upserts, "search attribute upserts")
		// The close; the record with the first link, the second link and
		// six invitation emails, each in its workflow task.
		require.Equal(t, 1, c.activities, "activities")
		require.Equal(t, 8, c.localActivities, "local activities")
		// Two reminders and the expiry, for each of the two links.
		require.Equal(t, 6, c.timers, "timers")
	})
	t.Run("accepted", func(t *testing.T) {
		h, c := countedHarness(t)
		var res updateResult
		h.env.RegisterDelayedCallback(func() {
			h.sendAccept("accept", AcceptRequest{Generation: 1, StageID: "s"}, &res)
		}, day)
		st := h.run(defaultInput())
		require.NoError(t, res.err)
		require.Equal(t, portal.InvitationAccepted, st.Status)
		require.Equal(t, map[string]bool{actionsChange: true}, c.versions)
		require.Equal(t, 1, c.upserts, "search attribute upserts")
		// The welcome, from the mail queue once the accept is answered;
		// the record with the first link, the invitation email and the
		// accept, each in its workflow task.
		require.Equal(t, 1, c.activities, "activities")
		require.Equal(t, 3, c.localActivities, "local activities")
		require.Equal(t, 1, c.timers, "timers")
	})
}
