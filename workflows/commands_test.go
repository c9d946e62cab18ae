package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// commandResult is how an admin's update ended: the state it answered or
// the reason it was refused.
type commandResult struct {
	done  bool
	state InvitationState
	err   error
}

func (h *harness) command(name, id string, into *commandResult) {
	h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { into.done, into.err = true, err },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			into.done, into.err = true, err
			if st, ok := v.(InvitationState); ok {
				into.state = st
			}
		},
	})
}

func TestResendUpdateAnswersTheNewLinkAndDeadline(t *testing.T) {
	h := newHarness(t)
	var resent, revoked commandResult
	h.env.RegisterDelayedCallback(func() { h.command(ResendUpdate, "resend-1", &resent) }, 2*day)
	h.env.RegisterDelayedCallback(func() { h.command(RevokeUpdate, "revoke-1", &revoked) }, 4*day)
	st := h.run(defaultInput())

	require.True(t, resent.done)
	require.NoError(t, resent.err)
	require.Equal(t, portal.InvitationPending, resent.state.Status)
	require.Equal(t, 2, resent.state.Generation)
	require.Equal(t, 2, resent.state.SendCount)
	require.Equal(t, h.sends.start.Add(9*day), resent.state.ExpiresAt.UTC())
	// The wait loop took the new deadline: the reminder is three days
	// after the resend, not after the first email.
	require.Equal(t, []sent{{0, 1, 0}, {2 * day, 2, 0}}, h.sends.sends[:2])
	require.NoError(t, revoked.err)
	require.Equal(t, portal.InvitationRevoked, revoked.state.Status)
	require.Equal(t, portal.InvitationRevoked, st.Status)
	require.Equal(t, []portal.InvitationStatus{portal.InvitationRevoked}, h.closed)
	require.Less(t, h.env.Now().UTC().Sub(h.sends.start), 5*day, "the revoke ended the workflow, not a timer")
}

func TestResendUpdateDelaysTheReminderToThreeDaysAfterIt(t *testing.T) {
	h := newHarness(t)
	var resent commandResult
	in := defaultInput()
	in.Policy.AutoReinvites = 0
	h.env.RegisterDelayedCallback(func() { h.command(ResendUpdate, "r", &resent) }, 2*day)
	st := h.run(in)
	require.NoError(t, resent.err)
	require.Equal(t, []sent{{0, 1, 0}, {2 * day, 2, 0}, {5 * day, 2, 1}, {8 * day, 2, 2}}, h.sends.sends)
	require.Equal(t, portal.InvitationExpired, st.Status)
	require.Equal(t, h.sends.start.Add(9*day), h.env.Now().UTC(), "expired seven days after the resend")
}

func TestResendUpdatesWithOneIDResendOnce(t *testing.T) {
	h := newHarness(t)
	var first, second, revoked commandResult
	h.env.RegisterDelayedCallback(func() {
		h.command(ResendUpdate, "resend/inv/1", &first)
		h.command(ResendUpdate, "resend/inv/1", &second)
	}, day)
	h.env.RegisterDelayedCallback(func() { h.command(RevokeUpdate, "revoke", &revoked) }, 2*day)
	h.run(defaultInput())
	require.NoError(t, first.err)
	require.NoError(t, second.err)
	require.Equal(t, 2, first.state.Generation)
	require.Equal(t, first.state, second.state, "the repeat answers the first one's outcome")
	require.Len(t, h.issued, 2, "one first link and one resend")
}

func TestRevokeUpdateRefusesEveryLaterCommand(t *testing.T) {
	h := newHarness(t)
	var revoked, again, resend commandResult
	// The close is slow to record: commands arriving meanwhile are
	// refused by the validator all the same.
	h.closeFn = failOnce(func(in activities.CloseInput) { h.closed = append(h.closed, in.Status) })
	h.env.RegisterDelayedCallback(func() { h.command(RevokeUpdate, "revoke/a", &revoked) }, day)
	h.env.RegisterDelayedCallback(func() {
		h.command(RevokeUpdate, "revoke/b", &again)
		h.command(ResendUpdate, "resend/b", &resend)
	}, day+500*time.Millisecond)
	st := h.run(defaultInput())
	require.NoError(t, revoked.err)
	require.Equal(t, portal.InvitationRevoked, revoked.state.Status)
	require.Equal(t, RejectRevoked, errType(again.err))
	require.Equal(t, RejectRevoked, errType(resend.err))
	require.Equal(t, portal.InvitationRevoked, st.Status)
	require.Equal(t, []portal.InvitationStatus{portal.InvitationRevoked}, h.closed)
	require.Len(t, h.issued, 1)
}

func TestCommandsAfterAnAcceptAreRefusedAsAlreadyAccepted(t *testing.T) {
	h := newHarness(t)
	var accepted updateResult
	var resend, revoke commandResult
	h.welcomeFn = failTimes(2, func(string) {})
	h.env.RegisterDelayedCallback(func() {
		h.sendAccept("a", AcceptRequest{Generation: 1, StageID: "s"}, &accepted)
	}, day)
	h.env.RegisterDelayedCallback(func() {
		h.command(ResendUpdate, "r", &resend)
		h.command(RevokeUpdate, "v", &revoke)
	}, day+500*time.Millisecond)
	st := h.run(defaultInput())
	require.NoError(t, accepted.err)
	require.Equal(t, portal.InvitationAccepted, st.Status)
	require.Equal(t, RejectAlreadyAccepted, errType(resend.err))
	require.Equal(t, RejectAlreadyAccepted, errType(revoke.err))
	require.Empty(t, h.closed)
	require.Len(t, h.issued, 1)
}

func TestResendUpdateAfterExpiryIsRefused(t *testing.T) {
	h := newHarness(t)
	var late commandResult
	in := defaultInput()
	in.Policy.AutoReinvites = 0
	h.closeFn = failOnce(func(in activities.CloseInput) { h.closed = append(h.closed, in.Status) })
	h.env.RegisterDelayedCallback(func() { h.command(ResendUpdate, "late", &late) }, 7*day+500*time.Millisecond)
	st := h.run(in)
	require.Equal(t, portal.InvitationExpired, st.Status)
	require.Equal(t, RejectExpired, errType(late.err))
	require.Len(t, h.issued, 1)
}

func TestResendUpdateToAnUndeliverableAddressIsRefused(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(activities.RecordResult{}, nil)
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(nil)
	sends := 0
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(func(context.Context, activities.SendInput) error {
		// The first email went out; the provider refuses the address later.
		if sends++; sends > 1 {
			return temporal.NewNonRetryableApplicationError("bounced", activities.ErrTypeUndeliverable, nil)
		}
		return nil
	})
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(nil)
	var resend commandResult
	env.RegisterDelayedCallback(func() {
		(&harness{env: env}).command(ResendUpdate, "r", &resend)
	}, day)
	env.ExecuteWorkflow(Invitation, defaultInput())
	require.NoError(t, env.GetWorkflowError())
	var st InvitationState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, RejectUndeliverable, errType(resend.err))
	require.Equal(t, portal.InvitationUndeliverable, st.Status)
}

// decisionResult is how an admin's decision on a sign-up ended.
type decisionResult struct {
	done  bool
	state SignupState
	err   error
}

func (h *signupHarness) decideAt(d time.Duration, name, id, signupID string, into *decisionResult) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { into.done, into.err = true, err },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				into.done, into.err = true, err
				if st, ok := v.(SignupState); ok {
					into.state = st
				}
			},
		}, DecisionRequest{SignupID: signupID})
	}, d)
}

func TestApproveUpdateAnswersOnceTheAccountIsActive(t *testing.T) {
	h := newSignupHarness()
	var verified updateResult
	var early, approved, again, reject decisionResult
	h.decideAt(time.Minute, ApproveUpdate, "approve/early", "su-1", &early)
	h.verifyAt(time.Hour, "su-1", &verified, nil)
	h.decideAt(2*time.Hour, ApproveUpdate, "approve/su-1", "su-1", &approved)
	// A second click of the same admin is the same update; another
	// admin's reject comes too late.
	h.decideAt(2*time.Hour, ApproveUpdate, "approve/su-1", "su-1", &again)
	h.decideAt(2*time.Hour, RejectUpdate, "reject/su-1", "su-1", &reject)
	h.env.ExecuteWorkflow(Signup, signupInput(true))
	st := h.result(t)
	require.Equal(t, RejectSignupNotWaiting, errType(early.err), "nothing to decide before the address is confirmed")
	require.NoError(t, approved.err)
	require.Equal(t, portal.SignupActive, approved.state.Status)
	require.NoError(t, again.err)
	require.Equal(t, approved.state, again.state)
	require.Equal(t, RejectSignupNotWaiting, errType(reject.err))
	require.Equal(t, portal.SignupActive, st.Status)
	require.Equal(t, 1, h.activated)
	require.Equal(t, []portal.EmailKind{portal.EmailSignupVerify, portal.EmailSignupApproved}, h.emails)
}

func TestRejectUpdateAnswersOnceTheRejectionIsRecorded(t *testing.T) {
	h := newSignupHarness()
	var verified updateResult
	var rejected decisionResult
	h.verifyAt(time.Hour, "su-1", &verified, nil)
	h.decideAt(2*time.Hour, RejectUpdate, "reject/su-1", "su-1", &rejected)
	h.env.ExecuteWorkflow(Signup, signupInput(true))
	st := h.result(t)
	require.NoError(t, rejected.err)
	require.Equal(t, portal.SignupRejected, rejected.state.Status)
	require.Equal(t, portal.SignupRejected, st.Status)
	require.Zero(t, h.activated)
	require.Equal(t, []portal.SignupStatus{portal.SignupRejected}, h.closed)
}

func TestDecisionNamingAnotherSignupIsRefused(t *testing.T) {
	h := newSignupHarness()
	var verified updateResult
	var stale, approved decisionResult
	h.verifyAt(time.Hour, "su-1", &verified, nil)
	h.decideAt(2*time.Hour, ApproveUpdate, "approve/su-0", "su-0", &stale)
	h.decideAt(3*time.Hour, RejectUpdate, "reject/su-1", "su-1", &approved)
	h.env.ExecuteWorkflow(Signup, signupInput(true))
	h.result(t)
	require.Equal(t, RejectSignupNotWaiting, errType(stale.err))
	require.Zero(t, h.activated, "an earlier sign-up's decision never reaches this one")
}

func TestBulkCancelUpdateAnswersOnceTheJobIsCancelled(t *testing.T) {
	h := newBulkHarness(t, ids(1, 20), ids(101, 20), ids(201, 20))
	calls := 0
	h.pageFn = func(ctx context.Context, in activities.BulkPageInput) (activities.BulkPageResult, error) {
		calls++
		if calls == 2 {
			return activities.BulkPageResult{}, errors.New("database briefly unavailable")
		}
		return h.page(ctx, in)
	}
	var first, again, other bulkCancelResult
	h.env.RegisterDelayedCallback(func() {
		h.cancel("cancel/job", &first)
		h.cancel("cancel/job", &again)
	}, 500*time.Millisecond)
	h.env.RegisterDelayedCallback(func() { h.cancel("cancel/key/other", &other) }, 600*time.Millisecond)
	h.env.ExecuteWorkflow(BulkInvite, bulkInput())
	require.NoError(t, h.env.GetWorkflowError())
	require.NoError(t, first.err)
	require.True(t, first.progress.Cancelled)
	require.Equal(t, 20, first.progress.Invited, "only the first page was invited")
	require.NoError(t, again.err)
	require.Equal(t, first.progress, again.progress)
	require.Equal(t, RejectBulkNotRunning, errType(other.err))
	require.Equal(t, []portal.BulkStatus{portal.BulkCancelled}, h.finished)
}

type bulkCancelResult struct {
	progress BulkProgress
	err      error
}

func (h *bulkHarness) cancel(id string, into *bulkCancelResult) {
	h.env.UpdateWorkflow(BulkCancelUpdate, id, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { into.err = err },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			into.err = err
			if p, ok := v.(BulkProgress); ok {
				into.progress = p
			}
		},
	})
}

// A resend whose email is still going out when the old link's reminder
// falls due replaces that reminder: the timer that fired belonged to the
// old link.
func TestResendUpdateSpanningAReminderSendsNoReminderOfTheOldLink(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(activities.RecordResult{}, nil)
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(nil)
	start := env.Now()
	var sends []sent
	failed := false
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendInput) error {
		if in.Generation == 2 && !failed {
			// The new link's first try fails: the retry comes after the
			// old link's reminder time.
			failed = true
			return errors.New("provider briefly unavailable")
		}
		sends = append(sends, sent{At: env.Now().Sub(start).Round(time.Hour), Generation: in.Generation, Reminder: in.Reminder})
		return nil
	})
	var resend, revoke commandResult
	h := &harness{env: env}
	env.RegisterDelayedCallback(func() { h.command(ResendUpdate, "r", &resend) }, 3*day-500*time.Millisecond)
	env.RegisterDelayedCallback(func() { h.command(RevokeUpdate, "v", &revoke) }, 5*day)
	env.ExecuteWorkflow(Invitation, defaultInput())
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, resend.err)
	require.NoError(t, revoke.err)
	require.Equal(t, []sent{{0, 1, 0}, {3 * day, 2, 0}}, sends, "no reminder of the replaced link")
}
