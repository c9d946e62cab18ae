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

func TestBounceReportedLaterClosesTheInvitationAndStopsItsReminders(t *testing.T) {
	for _, reason := range []portal.UndeliverableReason{portal.UndeliverableBounced, portal.UndeliverableComplained} {
		t.Run(string(reason), func(t *testing.T) {
			h := newHarness(t)
			var closedWith []activities.CloseInput
			h.closeFn = func(_ context.Context, in activities.CloseInput) error {
				closedWith = append(closedWith, in)
				return nil
			}
			// A day after the invite went out, Mailgun reports it bounced.
			var invitationID string
			h.env.RegisterDelayedCallback(func() {
				v, err := h.env.QueryWorkflow(StatusQuery)
				require.NoError(t, err)
				var st InvitationState
				require.NoError(t, v.Get(&st))
				invitationID = st.InvitationID
				h.env.SignalWorkflow(DeliveryFailedSignal, DeliveryFailed{InvitationID: invitationID, EmailKey: "invitation/x/invite/1", Reason: reason})
			}, day)
			st := h.run(defaultInput())
			require.Equal(t, portal.InvitationUndeliverable, st.Status)
			require.Equal(t, reason, st.UndeliverableReason)
			require.Len(t, h.sends.sends, 1, "no reminder after the bounce")
			require.Len(t, closedWith, 1)
			require.Equal(t, activities.CloseInput{InvitationID: invitationID, Status: portal.InvitationUndeliverable, Reason: reason}, closedWith[0])
		})
	}
}

func TestBounceOfAnotherInvitationOfTheContactIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(DeliveryFailedSignal, DeliveryFailed{InvitationID: "an-older-run", EmailKey: "invitation/old/invite/1", Reason: portal.UndeliverableBounced})
	}, day)
	st := h.run(defaultInput())
	require.Equal(t, portal.InvitationExpired, st.Status)
	require.Greater(t, len(h.sends.sends), 1, "reminders go on")
}

func TestSuppressedAddressClosesTheInvitationWithTheSuppressionsReason(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(activities.RecordResult{}, nil)
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(
		temporal.NewNonRetryableApplicationError("suppressed", activities.ErrTypeUndeliverable, nil, portal.UndeliverableComplained))
	var closedWith []activities.CloseInput
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseInput) error {
		closedWith = append(closedWith, in)
		return nil
	})
	env.ExecuteWorkflow(Invitation, defaultInput())
	require.NoError(t, env.GetWorkflowError())
	var st InvitationState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, portal.InvitationUndeliverable, st.Status)
	require.Equal(t, portal.UndeliverableComplained, st.UndeliverableReason)
	require.Len(t, closedWith, 1)
	require.Equal(t, portal.UndeliverableComplained, closedWith[0].Reason)
}

func TestDeclineClosesTheInvitationAndStopsItsRemindersAndReinvites(t *testing.T) {
	h := newHarness(t)
	// A day after the invite, the contact declines (reminders are due on
	// days 3 and 6, the re-invite on day 7).
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(DeclineSignal, nil) }, day)
	st := h.run(defaultInput())
	require.Equal(t, portal.InvitationDeclined, st.Status)
	require.Equal(t, []sent{{At: 0, Generation: 1}}, h.sends.sends, "no reminder or re-invite after the decline")
	require.Len(t, h.issued, 1, "no new link")
	require.Equal(t, []portal.InvitationStatus{portal.InvitationDeclined}, h.closed)
}

func TestSignupClosesUndeliverableWhenItsVerificationEmailBounces(t *testing.T) {
	for _, resends := range []bool{false, true} {
		t.Run(map[bool]string{false: "link only", true: "resending on request"}[resends], func(t *testing.T) {
			h := newSignupHarness()
			in := signupInput(false)
			if resends {
				in = resendingInput(false)
			}
			start := h.env.Now()
			// An hour after the email, Mailgun reports it bounced.
			h.env.RegisterDelayedCallback(func() {
				h.env.SignalWorkflow(DeliveryFailedSignal, DeliveryFailed{EmailKey: "signup/" + in.SignupID + "/signup_verify", Reason: portal.UndeliverableBounced})
			}, time.Hour)
			h.env.ExecuteWorkflow(Signup, in)
			st := h.result(t)
			require.Equal(t, portal.SignupUndeliverable, st.Status)
			require.Equal(t, portal.UndeliverableBounced, st.UndeliverableReason)
			require.Equal(t, []portal.EmailKind{portal.EmailSignupVerify}, h.emails, "the link is not sent again")
			require.Equal(t, []portal.SignupStatus{portal.SignupUndeliverable}, h.closed)
			require.Equal(t, time.Hour, h.env.Now().Sub(start).Round(time.Minute), "it closes when told, not when the link expires, so nothing more is sent")
			require.Zero(t, h.verified)
		})
	}
}

func TestSignupIgnoresABounceOfAnEarlierSignupOfTheAddress(t *testing.T) {
	h := newSignupHarness()
	var res updateResult
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(DeliveryFailedSignal, DeliveryFailed{EmailKey: "signup/su-0/signup_verify", Reason: portal.UndeliverableBounced})
	}, time.Hour)
	h.verifyAt(2*time.Hour, "su-1", &res, nil)
	h.env.ExecuteWorkflow(Signup, signupInput(false))
	st := h.result(t)
	require.NoError(t, res.err)
	require.Equal(t, portal.SignupActive, st.Status)
}

func TestSignupWhoseAddressIsRefusedClosesUndeliverable(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.IssueSignupToken, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.SendSignupEmail, mock.Anything, mock.Anything).Return(
		temporal.NewNonRetryableApplicationError("suppressed", activities.ErrTypeUndeliverable, nil, portal.UndeliverableComplained))
	var closed []activities.CloseSignupInput
	env.OnActivity(a.CloseSignup, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseSignupInput) error {
		closed = append(closed, in)
		return nil
	})
	env.ExecuteWorkflow(Signup, signupInput(false))
	require.NoError(t, env.GetWorkflowError())
	var st SignupState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, portal.SignupUndeliverable, st.Status)
	require.Equal(t, portal.UndeliverableComplained, st.UndeliverableReason)
	require.Len(t, closed, 1)
	require.Equal(t, portal.SignupUndeliverable, closed[0].Status)
}

func TestPasswordResetSendsNoMoreLinksOnceAnEmailBounced(t *testing.T) {
	h := newResetHarness(t)
	h.requestAt(0, 7)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(DeliveryFailedSignal, DeliveryFailed{EmailKey: "password-reset/x/link/1", Reason: portal.UndeliverableComplained})
	}, 5*time.Minute)
	h.requestAt(10*time.Minute, 7)
	h.requestAt(20*time.Minute, 7)
	st, _ := h.run(resetInput())
	require.Equal(t, []resetSent{{0, 1}}, h.links, "no link after the complaint")
	require.Len(t, h.issued, 1)
	require.Equal(t, portal.UndeliverableComplained, st.UndeliverableReason)
	require.Equal(t, 2, st.Undelivered)
	require.Equal(t, 3, st.Requests)
}
