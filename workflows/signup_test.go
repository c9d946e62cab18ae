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

type signupHarness struct {
	env       *testsuite.TestWorkflowEnvironment
	emails    []portal.EmailKind
	sends     []activities.SignupEmailInput
	sentAt    []time.Duration
	verified  int
	activated int
	closed    []portal.SignupStatus
	closeFn   func(activities.CloseSignupInput) error
}

func newSignupHarness() *signupHarness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	h := &signupHarness{env: env}
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.IssueSignupToken, mock.Anything, mock.Anything).Return(nil)
	start := env.Now()
	env.OnActivity(a.SendSignupEmail, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SignupEmailInput) error {
		h.emails = append(h.emails, in.Kind)
		h.sends = append(h.sends, in)
		h.sentAt = append(h.sentAt, env.Now().Sub(start))
		return nil
	})
	env.OnActivity(a.VerifySignup, mock.Anything, mock.Anything).Return(func(context.Context, activities.VerifySignupInput) error {
		h.verified++
		return nil
	})
	env.OnActivity(a.ActivateSignup, mock.Anything, mock.Anything).Return(func(context.Context, string) error {
		h.activated++
		return nil
	})
	env.OnActivity(a.ApproveSignup, mock.Anything, mock.Anything).Return(func(context.Context, activities.DecisionInput) error {
		h.activated++
		return nil
	})
	h.closeFn = func(in activities.CloseSignupInput) error {
		h.closed = append(h.closed, in.Status)
		return nil
	}
	env.OnActivity(a.CloseSignup, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseSignupInput) error {
		return h.closeFn(in)
	})
	return h
}

func signupInput(approval bool) SignupInput {
	return SignupInput{SignupID: "su-1", HelpCenterID: 1, HelpCenterSlug: "acme", NeedsApproval: approval}
}

func (h *signupHarness) verifyAt(d time.Duration, id string, into *updateResult, state *SignupState) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(VerifyUpdate, "v-"+d.String(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) { into.done, into.err = true, err },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				into.done, into.err = true, err
				if err == nil && state != nil {
					*state = v.(SignupState)
				}
			},
		}, VerifyRequest{SignupID: id})
	}, d)
}

func (h *signupHarness) result(t *testing.T) SignupState {
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	var st SignupState
	require.NoError(t, h.env.GetWorkflowResult(&st))
	return st
}

func TestSignupVerifiedWithoutApprovalIsActiveAtOnce(t *testing.T) {
	h := newSignupHarness()
	var res updateResult
	var answered SignupState
	h.verifyAt(time.Hour, "su-1", &res, &answered)
	h.env.ExecuteWorkflow(Signup, signupInput(false))
	st := h.result(t)
	require.NoError(t, res.err)
	require.Equal(t, portal.SignupActive, answered.Status, "the verify answer already says active")
	require.Equal(t, portal.SignupActive, st.Status)
	require.Equal(t, []portal.EmailKind{portal.EmailSignupVerify}, h.emails)
	require.Equal(t, 1, h.verified)
	require.Equal(t, 1, h.activated)
}

func TestSignupWaitsForApprovalThenActivates(t *testing.T) {
	h := newSignupHarness()
	var res updateResult
	var answered SignupState
	h.verifyAt(time.Hour, "su-1", &res, &answered)
	h.env.RegisterDelayedCallback(func() {
		require.Zero(t, h.activated, "no account before the decision")
		h.env.SignalWorkflow(ApproveSignal, nil)
	}, 3*24*time.Hour)
	h.env.ExecuteWorkflow(Signup, signupInput(true))
	st := h.result(t)
	require.Equal(t, portal.SignupPendingApproval, answered.Status)
	require.Equal(t, portal.SignupActive, st.Status)
	require.Equal(t, 1, h.activated)
	require.Equal(t, []portal.EmailKind{portal.EmailSignupVerify, portal.EmailSignupApproved}, h.emails)
}

func TestSignupRejectedGetsAnEmailAndNoAccount(t *testing.T) {
	h := newSignupHarness()
	var res updateResult
	h.verifyAt(time.Hour, "su-1", &res, nil)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(RejectSignal, nil) }, 2*time.Hour)
	h.env.ExecuteWorkflow(Signup, signupInput(true))
	st := h.result(t)
	require.Equal(t, portal.SignupRejected, st.Status)
	require.Zero(t, h.activated)
	require.Equal(t, []portal.SignupStatus{portal.SignupRejected}, h.closed)
	require.Equal(t, []portal.EmailKind{portal.EmailSignupVerify, portal.EmailSignupRejected}, h.emails)
}

func TestSignupNeverVerifiedExpires(t *testing.T) {
	h := newSignupHarness()
	start := h.env.Now()
	h.env.ExecuteWorkflow(Signup, signupInput(false))
	st := h.result(t)
	require.Equal(t, portal.SignupExpired, st.Status)
	require.Equal(t, []portal.SignupStatus{portal.SignupExpired}, h.closed)
	require.Zero(t, h.verified)
	require.Equal(t, DefaultSignupLinkLifetime, h.env.Now().Sub(start).Round(time.Hour))
}

func TestSignupVerifyAfterExpiryIsRefused(t *testing.T) {
	h := newSignupHarness()
	var late updateResult
	calls := 0
	// The expiry is being recorded (first attempt fails) when the
	// customer finally clicks: the validator refuses.
	h.closeFn = func(in activities.CloseSignupInput) error {
		calls++
		if calls == 1 {
			return errTransient
		}
		h.closed = append(h.closed, in.Status)
		return nil
	}
	h.verifyAt(DefaultSignupLinkLifetime+500*time.Millisecond, "su-1", &late, nil)
	h.env.ExecuteWorkflow(Signup, signupInput(false))
	st := h.result(t)
	require.Equal(t, portal.SignupExpired, st.Status)
	require.True(t, late.done)
	require.Equal(t, RejectSignupExpired, errType(late.err))
	require.Zero(t, h.verified)
}

func TestSignupApprovalAfterTimeoutExpires(t *testing.T) {
	h := newSignupHarness()
	var res updateResult
	h.verifyAt(time.Hour, "su-1", &res, nil)
	in := signupInput(true)
	in.ApprovalTimeout = Duration(10 * 24 * time.Hour)
	h.env.ExecuteWorkflow(Signup, in)
	st := h.result(t)
	// Nobody decided within ten days: the request expires, and an approval
	// arriving later finds no workflow to signal (the API answers 409).
	require.Equal(t, portal.SignupExpired, st.Status)
	require.Zero(t, h.activated)
	require.Equal(t, []portal.SignupStatus{portal.SignupExpired}, h.closed)
}

func TestSignupLinkOfAReplacedSignupIsRefused(t *testing.T) {
	h := newSignupHarness()
	var old, cur updateResult
	h.verifyAt(time.Hour, "su-0", &old, nil)
	h.verifyAt(2*time.Hour, "su-1", &cur, nil)
	h.env.ExecuteWorkflow(Signup, signupInput(false))
	h.result(t)
	require.Equal(t, RejectSignupExpired, errType(old.err))
	require.NoError(t, cur.err)
	require.Equal(t, 1, h.activated)
}

func TestSignupForAnExistingAccountOnlySendsANotice(t *testing.T) {
	h := newSignupHarness()
	in := signupInput(false)
	in.AccountExists = true
	h.env.ExecuteWorkflow(Signup, in)
	h.result(t)
	require.Equal(t, []portal.EmailKind{portal.EmailAccountExists}, h.emails)
	require.Zero(t, h.verified)
	require.Zero(t, h.activated)
}

var errTransient = errors.New("database briefly unavailable")

// requestAt sends, d into the run, the request update a sign-up form
// submission sends with its start.
func (h *signupHarness) requestAt(d time.Duration, signupID string, into *[]SignupState) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(RequestUpdate, "r-"+d.String(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) { panic(err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					panic(err)
				}
				*into = append(*into, v.(SignupState))
			},
		}, SignupRequest{SignupID: signupID})
	}, d)
}

func resendingInput(approval bool) SignupInput {
	in := signupInput(approval)
	in.ResendInterval = Duration(5 * time.Minute)
	return in
}

func TestRepeatedSignupSendsTheSameLinkAgainAtMostOncePerInterval(t *testing.T) {
	h := newSignupHarness()
	var answers []SignupState
	// Repeats 1, 6, 7 and 12 minutes in: the first is too soon after the
	// email, the third too soon after the resend.
	for _, m := range []int{1, 6, 7, 12} {
		h.requestAt(time.Duration(m)*time.Minute, "su-repeat", &answers)
	}
	var res updateResult
	h.verifyAt(time.Hour, "su-1", &res, nil)
	h.env.ExecuteWorkflow(Signup, resendingInput(false))
	st := h.result(t)
	require.NoError(t, res.err)
	require.Equal(t, portal.SignupActive, st.Status)
	require.Len(t, h.sends, 3, "the first email and two resends")
	for i, s := range h.sends {
		require.Equal(t, "su-1", s.SignupID, "the same sign-up, so the same link")
		require.Equal(t, portal.EmailSignupVerify, s.Kind)
		require.Equal(t, i, s.Resend, "each send has its own idempotency key")
	}
	require.Equal(t, []time.Duration{0, 6 * time.Minute, 12 * time.Minute}, []time.Duration{
		h.sentAt[0].Round(time.Minute), h.sentAt[1].Round(time.Minute), h.sentAt[2].Round(time.Minute)})
	require.Len(t, answers, 4)
	for _, a := range answers {
		require.Equal(t, "su-1", a.SignupID, "a repeat is answered by the running sign-up")
		require.Equal(t, portal.SignupVerifying, a.Status)
	}
	require.Equal(t, 2, st.Resends)
	require.Equal(t, 1, h.activated)
}

func TestSignupsOwnRequestSendsNothingMore(t *testing.T) {
	h := newSignupHarness()
	var answers []SignupState
	h.requestAt(0, "su-1", &answers)
	h.requestAt(10*time.Minute, "su-1", &answers)
	h.env.ExecuteWorkflow(Signup, resendingInput(false))
	st := h.result(t)
	require.Equal(t, portal.SignupExpired, st.Status)
	require.Equal(t, []portal.EmailKind{portal.EmailSignupVerify}, h.emails)
	require.Len(t, answers, 2)
}

func TestRepeatAfterVerificationSendsNothing(t *testing.T) {
	h := newSignupHarness()
	var answers []SignupState
	var res updateResult
	h.verifyAt(time.Hour, "su-1", &res, nil)
	h.requestAt(2*time.Hour, "su-repeat", &answers)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(ApproveSignal, nil) }, 3*time.Hour)
	h.env.ExecuteWorkflow(Signup, resendingInput(true))
	st := h.result(t)
	require.Equal(t, portal.SignupActive, st.Status)
	require.Equal(t, []portal.EmailKind{portal.EmailSignupVerify, portal.EmailSignupApproved}, h.emails)
	require.Equal(t, []SignupState{{SignupID: "su-1", Status: portal.SignupPendingApproval,
		ExpiresAt: answers[0].ExpiresAt, LastSentAt: answers[0].LastSentAt}}, answers)
}

func TestRepeatedSignupKeepsTheDeadlineOfTheFirst(t *testing.T) {
	h := newSignupHarness()
	var answers []SignupState
	start := h.env.Now()
	h.requestAt(6*24*time.Hour, "su-repeat", &answers)
	h.env.ExecuteWorkflow(Signup, resendingInput(false))
	st := h.result(t)
	require.Equal(t, portal.SignupExpired, st.Status)
	require.Equal(t, 1, st.Resends)
	require.Equal(t, DefaultSignupLinkLifetime, h.env.Now().Sub(start).Round(time.Hour), "the link expires when the first one did")
}

func TestFailedResendDoesNotEndTheSignup(t *testing.T) {
	h := newSignupHarness()
	var a *activities.Activities
	h.env.OnActivity(a.SendSignupEmail, mock.Anything, mock.MatchedBy(func(in activities.SignupEmailInput) bool { return in.Resend > 0 })).
		Return(temporal.NewNonRetryableApplicationError("mailbox full", activities.ErrTypeUndeliverable, nil))
	var answers []SignupState
	h.requestAt(10*time.Minute, "su-repeat", &answers)
	var res updateResult
	h.verifyAt(time.Hour, "su-1", &res, nil)
	h.env.ExecuteWorkflow(Signup, resendingInput(false))
	st := h.result(t)
	require.NoError(t, res.err)
	require.Equal(t, portal.SignupActive, st.Status)
}
