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

	"github.com/portalaccess/portal/activities"
)

type emailChangeRun struct {
	applied  EmailChangeState
	answer   error
	notices  []string
	revoked  []string
	state    EmailChangeState
	workflow error
}

// runEmailChange runs ChangeEmail with ApplyEmailChange answering apply,
// asking for the applied update as the starter does.
func runEmailChange(t *testing.T, apply func() (activities.EmailChangeApplied, error)) emailChangeRun {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var run emailChangeRun
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.ApplyEmailChange, mock.Anything, "ch-1").Return(func(context.Context, string) (activities.EmailChangeApplied, error) {
		return apply()
	})
	env.OnActivity(a.SendEmailChangedNotice, mock.Anything, mock.Anything).Return(func(_ context.Context, id string) error {
		run.notices = append(run.notices, id)
		return nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", RevokeSignal, mock.Anything).Return(
		func(_ string, id, _, _ string, _ any) error {
			run.revoked = append(run.revoked, id)
			if id == "invitation/acme/gone" {
				return errors.New("workflow execution already completed")
			}
			return nil
		})
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(AppliedUpdate, "applied", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { run.answer = err },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				run.answer = err
				if err == nil {
					run.applied = v.(EmailChangeState)
				}
			},
		})
	}, 0)
	env.ExecuteWorkflow(ChangeEmail, EmailChangeInput{ChangeID: "ch-1", ContactID: 7, MailTaskQueue: "mail"})
	require.True(t, env.IsWorkflowCompleted())
	run.workflow = env.GetWorkflowError()
	if run.workflow == nil {
		require.NoError(t, env.GetWorkflowResult(&run.state))
	}
	return run
}

func TestEmailChangeAnswersOnceAppliedThenRevokesAndTellsTheOldAddress(t *testing.T) {
	run := runEmailChange(t, func() (activities.EmailChangeApplied, error) {
		return activities.EmailChangeApplied{ContactID: 7, HadEmail: true, SessionsEnded: 2,
			Invitations: []string{"invitation/acme/7", "invitation/acme/gone"}}, nil
	})
	require.NoError(t, run.workflow)
	require.NoError(t, run.answer)
	require.True(t, run.applied.Applied, "the update answers with the applied change")
	require.Equal(t, int64(2), run.applied.SessionsEnded)
	require.Equal(t, []string{"invitation/acme/7", "invitation/acme/gone"}, run.revoked,
		"every pending invitation is told to withdraw, one that just ended included")
	require.Equal(t, []string{"ch-1"}, run.notices, "the old address is told once")
	require.True(t, run.state.NoticeSent)
	require.Equal(t, 2, run.state.Revoked)
}

func TestEmailChangeOfAContactWithoutAnAddressSendsNoNotice(t *testing.T) {
	run := runEmailChange(t, func() (activities.EmailChangeApplied, error) {
		return activities.EmailChangeApplied{ContactID: 7, HadEmail: false}, nil
	})
	require.NoError(t, run.answer)
	require.Empty(t, run.notices)
	require.Empty(t, run.revoked)
}

func TestRefusedEmailChangeAnswersWhyAndDoesNothingMore(t *testing.T) {
	run := runEmailChange(t, func() (activities.EmailChangeApplied, error) {
		return activities.EmailChangeApplied{}, temporal.NewNonRetryableApplicationError("address_taken", activities.ErrTypeEmailChangeRefused, nil)
	})
	require.NoError(t, run.workflow, "a refusal is an answer, not a failure")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, run.answer, &appErr)
	require.Equal(t, RejectEmailChangeRefused, appErr.Type())
	var reason string
	require.NoError(t, appErr.Details(&reason))
	require.Equal(t, "address_taken", reason)
	require.Equal(t, "address_taken", run.state.Refused)
	require.False(t, run.state.Applied)
	require.Empty(t, run.notices)
	require.Empty(t, run.revoked)
}

func TestEmailChangeRetriesThroughAnOutageBeforeAnswering(t *testing.T) {
	calls := 0
	start := time.Now()
	run := runEmailChange(t, func() (activities.EmailChangeApplied, error) {
		calls++
		if calls < 3 {
			return activities.EmailChangeApplied{}, errTransient
		}
		return activities.EmailChangeApplied{ContactID: 7, HadEmail: true}, nil
	})
	require.NoError(t, run.answer)
	require.True(t, run.applied.Applied)
	require.Equal(t, 3, calls)
	require.Less(t, time.Since(start), 10*time.Second, "the retry backoff is skipped, not slept")
}
