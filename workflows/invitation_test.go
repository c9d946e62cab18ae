package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

const day = 24 * time.Hour

// sendLog records the invitation emails the workflow asked for, with the
// (skipped) time at which it asked.
type sendLog struct {
	mu    sync.Mutex
	start time.Time
	sends []sent
}

type sent struct {
	At         time.Duration
	Generation int
	Reminder   int
}

type harness struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	sends  *sendLog
	issued []activities.IssueInput
	closed []portal.InvitationStatus
	accept int
	// Tests replace these to change how an activity behaves.
	closeFn   func(context.Context, activities.CloseInput) error
	welcomeFn func(context.Context, string) error
}

func newHarness(t *testing.T) *harness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	h := &harness{t: t, env: env, sends: &sendLog{start: env.Now().UTC()}}
	var a *activities.Activities
	env.RegisterActivity(a)
	issue := func(in activities.IssueInput) {
		in.ExpiresAt = in.ExpiresAt.UTC()
		h.issued = append(h.issued, in)
	}
	// The first link is issued with the record, as the activity does.
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RecordInput) (activities.RecordResult, error) {
		if in.FirstLink != nil {
			issue(*in.FirstLink)
		}
		return activities.RecordResult{}, nil
	})
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.IssueInput) error {
		issue(in)
		return nil
	})
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendInput) error {
		h.sends.mu.Lock()
		defer h.sends.mu.Unlock()
		h.sends.sends = append(h.sends.sends, sent{At: env.Now().UTC().Sub(h.sends.start), Generation: in.Generation, Reminder: in.Reminder})
		return nil
	})
	h.closeFn = func(_ context.Context, in activities.CloseInput) error {
		h.closed = append(h.closed, in.Status)
		return nil
	}
	h.welcomeFn = func(context.Context, string) error { return nil }
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.CloseInput) error {
		return h.closeFn(ctx, in)
	})
	env.OnActivity(a.SendWelcome, mock.Anything, mock.Anything).Return(func(ctx context.Context, id string) error {
		return h.welcomeFn(ctx, id)
	})
	env.OnActivity(a.AcceptInvitation, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.AcceptInput) error {
		h.accept++
		return nil
	})
	return h
}

func defaultInput() InvitationInput {
	return InvitationInput{HelpCenterID: 1, HelpCenterSlug: "acme", ContactID: 42, Policy: PolicyFrom(portal.DefaultInvitePolicy())}
}

func (h *harness) run(in InvitationInput) InvitationState {
	h.env.ExecuteWorkflow(Invitation, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var st InvitationState
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	return st
}

// update sends an update and returns how it ended: nil when accepted and
// completed, or the rejection or handler error.
type updateResult struct {
	done bool
	err  error
}

func (h *harness) sendAccept(id string, req AcceptRequest, into *updateResult) {
	h.env.UpdateWorkflow(AcceptUpdate, id, &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { into.done, into.err = true, err },
		OnAccept:   func() {},
		OnComplete: func(_ any, err error) { into.done, into.err = true, err },
	}, req)
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func TestRemindersOnDaysThreeAndSixThenReinviteThenExpire(t *testing.T) {
	h := newHarness(t)
	st := h.run(defaultInput())

	require.Equal(t, []sent{
		{0, 1, 0}, {3 * day, 1, 1}, {6 * day, 1, 2},
		// The link expired on day 7: one automatic re-invite with a new token.
		{7 * day, 2, 0}, {10 * day, 2, 1}, {13 * day, 2, 2},
	}, h.sends.sends)
	require.Equal(t, []portal.InvitationStatus{portal.InvitationExpired}, h.closed)
	require.Equal(t, portal.InvitationExpired, st.Status)
	require.Equal(t, 2, st.Generation)
	require.Equal(t, 2, st.SendCount)
	require.Equal(t, 1, st.ReinvitesUsed)
	require.Len(t, h.issued, 2)
	require.Equal(t, h.sends.start.Add(7*day), h.issued[0].ExpiresAt)
	require.Equal(t, h.sends.start.Add(14*day), h.issued[1].ExpiresAt)
}

func TestPolicyWithoutReinvitesExpiresAfterFirstLink(t *testing.T) {
	h := newHarness(t)
	in := defaultInput()
	in.Policy.AutoReinvites = 0
	in.Policy.Reminders = []Duration{Duration(2 * day)}
	in.Policy.LinkLifetime = Duration(3 * day)
	st := h.run(in)
	require.Equal(t, []sent{{0, 1, 0}, {2 * day, 1, 1}}, h.sends.sends)
	require.Equal(t, portal.InvitationExpired, st.Status)
}

func TestResendRotatesTokenAndExtendsDeadline(t *testing.T) {
	h := newHarness(t)
	var oldLink, newLink updateResult
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(ResendSignal, nil) }, 2*day)
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("old", AcceptRequest{Generation: 1, StageID: "s1"}, &oldLink)
	}, 8*day)
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("new", AcceptRequest{Generation: 2, StageID: "s2"}, &newLink)
	}, 8*day+time.Hour)
	st := h.run(defaultInput())

	// Day 8 is past the first link's 7 days but inside the new one's.
	require.True(t, oldLink.done)
	require.Equal(t, RejectSuperseded, errType(oldLink.err))
	require.True(t, newLink.done)
	require.NoError(t, newLink.err)
	require.Equal(t, portal.InvitationAccepted, st.Status)
	require.Equal(t, 1, h.accept)
	require.Equal(t, []sent{{0, 1, 0}, {2 * day, 2, 0}, {5 * day, 2, 1}, {8 * day, 2, 2}}, h.sends.sends)
	require.Equal(t, h.sends.start.Add(9*day), h.issued[1].ExpiresAt)
}

// failOnce makes the first call of an activity fail with a retryable
// error, so the workflow sits in the retry backoff (a second of skipped
// time) while a test delivers a message.
func failOnce[In any](record func(In)) func(context.Context, In) error {
	return failTimes(1, record)
}

// failTimes is failOnce for the first n calls. An email fails twice to
// stay under way for a second: its attempt in the workflow task, then its
// first attempt on the mail queue, which is retried a second later.
func failTimes[In any](n int, record func(In)) func(context.Context, In) error {
	calls := 0
	return func(_ context.Context, in In) error {
		calls++
		if calls <= n {
			return errors.New("database briefly unavailable")
		}
		record(in)
		return nil
	}
}

func TestRevokeStopsAllTimersAndRefusesAccept(t *testing.T) {
	h := newHarness(t)
	var late updateResult
	h.closeFn = failOnce(func(in activities.CloseInput) { h.closed = append(h.closed, in.Status) })
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(RevokeSignal, nil) }, day)
	// The accept arrives while the revocation is still being recorded: the
	// workflow has already decided, so the validator refuses it.
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("late", AcceptRequest{Generation: 1, StageID: "s"}, &late)
	}, day+500*time.Millisecond)
	st := h.run(defaultInput())

	require.Equal(t, portal.InvitationRevoked, st.Status)
	require.Equal(t, []portal.InvitationStatus{portal.InvitationRevoked}, h.closed)
	require.Equal(t, []sent{{0, 1, 0}}, h.sends.sends, "no reminder after revoke")
	require.Less(t, h.env.Now().UTC().Sub(h.sends.start), 2*day, "workflow ended at the revoke, not at a timer")
	require.True(t, late.done)
	require.Equal(t, RejectRevoked, errType(late.err))
	require.Zero(t, h.accept)
}

func TestAcceptRefusedAfterExpiry(t *testing.T) {
	h := newHarness(t)
	var late updateResult
	h.closeFn = failOnce(func(in activities.CloseInput) { h.closed = append(h.closed, in.Status) })
	// The second link expires on day 14.
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("late", AcceptRequest{Generation: 2, StageID: "s"}, &late)
	}, 14*day+500*time.Millisecond)
	st := h.run(defaultInput())
	require.Equal(t, portal.InvitationExpired, st.Status)
	require.True(t, late.done)
	require.Equal(t, RejectExpired, errType(late.err))
	require.Zero(t, h.accept)
}

func TestDuplicateAcceptActivatesOnce(t *testing.T) {
	h := newHarness(t)
	var first, second updateResult
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("one", AcceptRequest{Generation: 1, StageID: "s1"}, &first)
		h.sendAccept("two", AcceptRequest{Generation: 1, StageID: "s2"}, &second)
	}, day)
	st := h.run(defaultInput())
	require.Equal(t, portal.InvitationAccepted, st.Status)
	require.NoError(t, first.err)
	require.True(t, second.done)
	require.Equal(t, RejectAlreadyAccepted, errType(second.err))
	require.Equal(t, 1, h.accept)
}

func TestAcceptAfterCompletionOfAcceptIsRefused(t *testing.T) {
	h := newHarness(t)
	var first, second updateResult
	// A second click arrives while the welcome email is being sent, after
	// the first accept completed: the validator refuses it.
	h.welcomeFn = failTimes(2, func(string) {})
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("one", AcceptRequest{Generation: 1, StageID: "s1"}, &first)
	}, day)
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("two", AcceptRequest{Generation: 1, StageID: "s2"}, &second)
	}, day+500*time.Millisecond)
	h.run(defaultInput())
	require.NoError(t, first.err)
	require.True(t, second.done)
	require.Equal(t, RejectAlreadyAccepted, errType(second.err))
	require.Equal(t, 1, h.accept)
}

func TestStatusQueryAndDescribeReportRecordedInvitation(t *testing.T) {
	h := newHarness(t)
	var described InvitationState
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(DescribeUpdate, "d", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("describe rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				described = v.(InvitationState)
			},
		})
		v, err := h.env.QueryWorkflow(StatusQuery)
		require.NoError(t, err)
		var st InvitationState
		require.NoError(t, v.Get(&st))
		require.Equal(t, portal.InvitationPending, st.Status)
		require.Equal(t, 1, st.SendCount)
		require.Equal(t, "acme", st.HelpCenter)
		h.env.SignalWorkflow(RevokeSignal, nil)
	}, time.Hour)
	h.run(defaultInput())
	require.True(t, described.Recorded)
	require.Equal(t, int64(42), described.ContactID)
}

func TestUndeliverableInviteClosesInvitation(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(activities.RecordResult{}, nil)
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(nil)
	sends := 0
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(func(context.Context, activities.SendInput) error {
		sends++
		return temporal.NewNonRetryableApplicationError("bounced", activities.ErrTypeUndeliverable, nil)
	})
	var closed []portal.InvitationStatus
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseInput) error {
		closed = append(closed, in.Status)
		return nil
	})
	env.ExecuteWorkflow(Invitation, defaultInput())
	require.NoError(t, env.GetWorkflowError())
	var st InvitationState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, portal.InvitationUndeliverable, st.Status)
	require.Equal(t, []portal.InvitationStatus{portal.InvitationUndeliverable}, closed)
	require.Equal(t, 1, sends, "a refused address is a decision: not tried again from the mail queue")
}

func TestInvitationBlockedByAnAdminDecisionSendsNothing(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(activities.RecordResult{Blocked: true}, nil)
	env.ExecuteWorkflow(Invitation, defaultInput())
	require.NoError(t, env.GetWorkflowError())
	var st InvitationState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, portal.InvitationRevoked, st.Status)
	env.AssertNotCalled(t, "SendInvitation", mock.Anything, mock.Anything)
}
