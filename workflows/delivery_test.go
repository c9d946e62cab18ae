package workflows

import (
	"context"
	"testing"

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
