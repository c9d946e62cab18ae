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

func runAccessChange(t *testing.T, change activities.AccessChange, action portal.AccessAction) (sent []activities.AccessEmailInput, revoked []string) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.SetAccess, mock.Anything, mock.Anything).Return(change, nil)
	env.OnActivity(a.SendAccessEmail, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AccessEmailInput) error {
		sent = append(sent, in)
		return nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", RevokeSignal, mock.Anything).Return(
		func(_ string, id, _, _ string, _ any) error {
			revoked = append(revoked, id)
			return nil
		})
	env.ExecuteWorkflow(ChangeAccess, AccessChangeInput{HelpCenterID: 1, AccountID: 2, Action: action})
	require.NoError(t, env.GetWorkflowError())
	return sent, revoked
}

func TestDeactivationSendsTheSystemEmail(t *testing.T) {
	sent, _ := runAccessChange(t, activities.AccessChange{Changed: true, Status: portal.AccessDeactivated, Previous: portal.AccessActive,
		Seq: 3, ContactID: 9}, portal.ActionDeactivate)
	require.Len(t, sent, 1)
	require.Equal(t, portal.EmailDeactivated, sent[0].Kind)
	require.Equal(t, "3", sent[0].Key, "the email is keyed to this change")
}

func TestDeactivatingAnInvitedContactRevokesTheInvitationWithoutAnAccountEmail(t *testing.T) {
	sent, revoked := runAccessChange(t, activities.AccessChange{Changed: true, Status: portal.AccessDeactivated, Previous: portal.AccessInvited,
		Seq: 1, ContactID: 9, PendingInvitation: "invitation/acme/9"}, portal.ActionDeactivate)
	require.Equal(t, []string{"invitation/acme/9"}, revoked)
	require.Empty(t, sent)
}

func TestRepeatedDeactivationSendsNothing(t *testing.T) {
	sent, revoked := runAccessChange(t, activities.AccessChange{Changed: false, Status: portal.AccessDeactivated, Seq: 3, ContactID: 9}, portal.ActionDeactivate)
	require.Empty(t, sent)
	require.Empty(t, revoked)
}

func TestReactivationSaysSoByEmail(t *testing.T) {
	sent, _ := runAccessChange(t, activities.AccessChange{Changed: true, Status: portal.AccessActive, Seq: 4, ContactID: 9}, portal.ActionReactivate)
	require.Len(t, sent, 1)
	require.Equal(t, portal.EmailReactivated, sent[0].Kind)
}

func TestAccessChangeOfARecordThatWentAwayChangesNothing(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.SetAccess, mock.Anything, mock.Anything).Return(activities.AccessChange{},
		temporal.NewNonRetryableApplicationError("portal access: not found", activities.ErrTypeNotFound, nil))
	env.ExecuteWorkflow(ChangeAccess, AccessChangeInput{HelpCenterID: 1, AccountID: 2, Action: portal.ActionReactivate})
	require.NoError(t, env.GetWorkflowError())
	var ch activities.AccessChange
	require.NoError(t, env.GetWorkflowResult(&ch))
	require.False(t, ch.Changed)
}
