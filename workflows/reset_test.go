package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// resetHarness runs the password reset workflow with recorded activities
// and skipped time.
type resetHarness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	start time.Time
	// issued are the links issued, links the link emails sent, with when.
	issued  []activities.IssueResetInput
	links   []resetSent
	applied []activities.ApplyResetInput
	changes []activities.ChangePasswordInput
	notices []activities.PasswordChangedInput
	// Tests replace these to change what the account looks like.
	issueFn func(activities.IssueResetInput) activities.ResetIssued
	applyFn func(activities.ApplyResetInput) error
}

type resetSent struct {
	At         time.Duration
	Generation int
}

const resetAccount = 41

func newResetHarness(t *testing.T) *resetHarness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	h := &resetHarness{t: t, env: env, start: env.Now()}
	h.issueFn = func(activities.IssueResetInput) activities.ResetIssued {
		return activities.ResetIssued{Issued: true, AccountID: resetAccount}
	}
	h.applyFn = func(activities.ApplyResetInput) error { return nil }
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.IssuePasswordReset, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.IssueResetInput) (activities.ResetIssued, error) {
		h.issued = append(h.issued, in)
		return h.issueFn(in), nil
	})
	env.OnActivity(a.SendPasswordReset, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ResetEmailInput) error {
		h.links = append(h.links, resetSent{At: env.Now().Sub(h.start), Generation: in.Generation})
		return nil
	})
	env.OnActivity(a.ApplyPasswordReset, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ApplyResetInput) error {
		if err := h.applyFn(in); err != nil {
			return err
		}
		h.applied = append(h.applied, in)
		return nil
	})
	env.OnActivity(a.ChangePassword, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChangePasswordInput) error {
		h.changes = append(h.changes, in)
		return nil
	})
	env.OnActivity(a.SendPasswordChanged, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PasswordChangedInput) error {
		h.notices = append(h.notices, in)
		return nil
	})
	return h
}

func resetInput() PasswordResetInput {
	return PasswordResetInput{Scope: "common", LinkLifetime: Duration(time.Hour), EmailInterval: Duration(time.Minute)}
}

// requestAt submits the forgot-password form from help center hc at d.
func (h *resetHarness) requestAt(d time.Duration, hc int64) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(ResetRequestSignal, ResetRequest{HelpCenterID: hc, Email: "ada@example.com"})
	}, d)
}

// resetAt submits a new password through the link of generation gen at d.
func (h *resetHarness) resetAt(d time.Duration, gen int, into *updateResult) {
	h.env.RegisterDelayedCallback(func() {
		var st PasswordResetState
		v, err := h.env.QueryWorkflow(StatusQuery)
		require.NoError(h.t, err)
		require.NoError(h.t, v.Get(&st))
		h.env.UpdateWorkflow(ResetPasswordUpdate, "reset-"+d.String(), &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { into.done, into.err = true, err },
			OnAccept:   func() {},
			OnComplete: func(_ any, err error) { into.done, into.err = true, err },
		}, ResetPasswordRequest{ResetID: st.ResetID, Generation: gen, StageID: "stage-" + d.String()})
	}, d)
}

func (h *resetHarness) run(in PasswordResetInput) (PasswordResetState, time.Duration) {
	h.t.Helper()
	h.env.ExecuteWorkflow(PasswordReset, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var st PasswordResetState
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	return st, h.env.Now().Sub(h.start)
}

func TestPasswordResetEmailsALinkThatSetsThePasswordOnce(t *testing.T) {
	h := newResetHarness(t)
	h.requestAt(0, 7)
	var first, again updateResult
	h.resetAt(10*time.Minute, 1, &first)
	h.resetAt(10*time.Minute+30*time.Second, 1, &again)
	st, took := h.run(resetInput())

	require.Equal(t, []resetSent{{0, 1}}, h.links)
	require.Len(t, h.issued, 1)
	require.Equal(t, int64(7), h.issued[0].HelpCenterID)
	require.Equal(t, h.start.Add(time.Hour).UTC(), h.issued[0].ExpiresAt.UTC(), "the link works for the configured hour")
	require.True(t, first.done)
	require.NoError(t, first.err)
	require.Equal(t, []activities.ApplyResetInput{{ResetID: st.ResetID, Generation: 1, StageID: "stage-10m0s"}}, h.applied)
	require.True(t, again.done)
	require.Equal(t, RejectResetLinkClosed, errType(again.err), "a link works once")
	require.Equal(t, []activities.PasswordChangedInput{{ResetID: st.ResetID, Seq: 1, AccountID: resetAccount, HelpCenterID: 7}}, h.notices)
	require.Equal(t, portal.ResetChanged, st.Status)
	require.Equal(t, 11*time.Minute, took, "it ends once quiet for the email interval after the last change")
}

func TestPasswordResetLinkExpiresAfterItsLifetime(t *testing.T) {
	h := newResetHarness(t)
	h.requestAt(0, 7)
	var late updateResult
	h.resetAt(61*time.Minute, 1, &late)
	in := resetInput()
	// A long email interval keeps the workflow running past the expiry,
	// so the dead link can be tried.
	in.EmailInterval = Duration(2 * time.Hour)
	st, took := h.run(in)

	require.True(t, late.done)
	require.Equal(t, RejectResetLinkExpired, errType(late.err))
	require.Empty(t, h.applied)
	require.Empty(t, h.notices)
	require.Equal(t, portal.ResetExpired, st.Status)
	require.Equal(t, 2*time.Hour, took)
}

func TestPasswordResetEndsWhenItsLinkExpires(t *testing.T) {
	h := newResetHarness(t)
	h.requestAt(0, 7)
	st, took := h.run(resetInput())
	require.Equal(t, portal.ResetExpired, st.Status)
	require.Equal(t, time.Hour, took)
	require.Equal(t, 1, st.EmailsSent)
}

func TestAskingAgainReplacesTheLinkAndExtendsTheDeadlineButNotWithinAMinute(t *testing.T) {
	h := newResetHarness(t)
	h.requestAt(0, 7)
	h.requestAt(30*time.Second, 7) // too soon: nothing sent
	h.requestAt(20*time.Minute, 8) // a new link, from another common help center
	var old, current updateResult
	h.resetAt(21*time.Minute, 1, &old)
	h.resetAt(22*time.Minute, 2, &current)
	st, _ := h.run(resetInput())

	require.Equal(t, []resetSent{{0, 1}, {20 * time.Minute, 2}}, h.links)
	require.Equal(t, 3, st.Requests)
	require.Equal(t, 1, st.Throttled)
	require.Len(t, h.issued, 2)
	require.Equal(t, h.start.Add(20*time.Minute+time.Hour).UTC(), h.issued[1].ExpiresAt.UTC(), "the new link extends the deadline")
	require.Equal(t, RejectResetLinkReplaced, errType(old.err))
	require.NoError(t, current.err)
	require.Equal(t, []activities.ApplyResetInput{{ResetID: st.ResetID, Generation: 2, StageID: "stage-22m0s"}}, h.applied)
	require.Len(t, h.notices, 1)
	require.Equal(t, int64(8), h.notices[0].HelpCenterID, "the notice names the help center of the link used")
}

func TestPasswordResetOfADeactivatedAccountSendsNothing(t *testing.T) {
	h := newResetHarness(t)
	h.issueFn = func(activities.IssueResetInput) activities.ResetIssued { return activities.ResetIssued{} }
	h.requestAt(0, 7)
	h.requestAt(5*time.Second, 7)
	st, took := h.run(resetInput())

	require.Empty(t, h.links)
	require.Len(t, h.issued, 2, "a request naming no active account is checked every time, never throttled")
	require.Equal(t, 2, st.NoLink)
	require.Equal(t, portal.ResetIdle, st.Status)
	require.Equal(t, time.Minute+5*time.Second, took)
}

func TestPasswordResetRefusedWhenTheAccountWasDeactivatedAfterTheLink(t *testing.T) {
	h := newResetHarness(t)
	h.applyFn = func(activities.ApplyResetInput) error {
		return temporal.NewNonRetryableApplicationError("reset link no longer works", activities.ErrTypeNotPending, nil)
	}
	h.requestAt(0, 7)
	var res updateResult
	h.resetAt(5*time.Minute, 1, &res)
	st, _ := h.run(resetInput())

	require.True(t, res.done)
	require.Equal(t, RejectResetLinkClosed, errType(res.err))
	require.Empty(t, h.applied)
	require.Empty(t, h.notices, "no password changed, no notice")
	require.Equal(t, portal.ResetExpired, st.Status)
}

func TestChangePasswordFromHomeClosesTheLinkAndSendsTheNotice(t *testing.T) {
	h := newResetHarness(t)
	h.requestAt(0, 7)
	var changed, late updateResult
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(ChangePasswordUpdate, "change", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { changed.done, changed.err = true, err },
			OnAccept:   func() {},
			OnComplete: func(_ any, err error) { changed.done, changed.err = true, err },
		}, ChangePasswordRequest{AccountID: resetAccount, HelpCenterID: 9, StageID: "home-stage"})
	}, 5*time.Minute)
	h.resetAt(5*time.Minute+30*time.Second, 1, &late)
	st, took := h.run(resetInput())

	require.True(t, changed.done && late.done)
	require.NoError(t, changed.err)
	// The help center places the password.changed audit event.
	require.Equal(t, []activities.ChangePasswordInput{{AccountID: resetAccount, StageID: "home-stage", HelpCenterID: 9}}, h.changes)
	require.Equal(t, RejectResetLinkClosed, errType(late.err), "the emailed link died with the change")
	require.Len(t, h.notices, 1)
	require.Equal(t, int64(9), h.notices[0].HelpCenterID)
	require.Equal(t, portal.ResetChanged, st.Status)
	require.Equal(t, 6*time.Minute, took)
}

func TestChangePasswordStartsTheWorkflowWhenNoneRuns(t *testing.T) {
	h := newResetHarness(t)
	var changed updateResult
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(ChangePasswordUpdate, "change", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { changed.done, changed.err = true, err },
			OnAccept:   func() {},
			OnComplete: func(_ any, err error) { changed.done, changed.err = true, err },
		}, ChangePasswordRequest{AccountID: resetAccount, HelpCenterID: 9, StageID: "home-stage"})
	}, 0)
	st, _ := h.run(resetInput())

	require.True(t, changed.done)
	require.NoError(t, changed.err)
	require.Len(t, h.changes, 1)
	require.Len(t, h.notices, 1)
	require.Empty(t, h.links)
	require.Equal(t, 1, st.Changes)
}
