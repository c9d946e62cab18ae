package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// errUnreachable is what an activity sees while Postgres is down.
var errUnreachable = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

// outageEnv runs invitations whose activities fail as if unreachable
// until the (skipped) clock reaches dbBack for the database steps and
// mailBack for the emails. It counts local and regular attempts of the
// first database step.
type outageEnv struct {
	env                 *testsuite.TestWorkflowEnvironment
	recordFn            func(ctx context.Context) error
	recordedAt, sentAt  time.Time
	localTries, regular int
	closed              []portal.InvitationStatus
}

func newOutageEnv(dbBack, mailBack time.Duration) *outageEnv {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&uncapped{}}})
	o := &outageEnv{env: env}
	start := env.Now()
	down := func(until time.Duration) error {
		if env.Now().Before(start.Add(until)) {
			return errUnreachable
		}
		return nil
	}
	o.recordFn = func(context.Context) error { return down(dbBack) }
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.RecordInput) (activities.RecordResult, error) {
		if activity.GetInfo(ctx).IsLocalActivity {
			o.localTries++
		} else {
			o.regular++
		}
		if err := o.recordFn(ctx); err != nil {
			return activities.RecordResult{}, err
		}
		o.recordedAt = env.Now()
		return activities.RecordResult{}, nil
	})
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(func(context.Context, activities.IssueInput) error { return down(dbBack) })
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(func(context.Context, activities.SendInput) error {
		if err := down(mailBack); err != nil {
			return err
		}
		if o.sentAt.IsZero() {
			o.sentAt = env.Now()
		}
		return nil
	})
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseInput) error {
		o.closed = append(o.closed, in.Status)
		return nil
	})
	return o
}

// uncapped lifts the test environment's cap of 10 attempts on a retry
// policy without a limit (the server has none), so that an outage of
// hours meets the backoff the server would apply.
type uncapped struct {
	interceptor.WorkerInterceptorBase
}

func (*uncapped) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &uncappedInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type uncappedInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *uncappedInbound) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&uncappedOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}})
}

type uncappedOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *uncappedOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if opts := workflow.GetActivityOptions(ctx); opts.RetryPolicy != nil && opts.RetryPolicy.MaximumAttempts == 0 {
		p := *opts.RetryPolicy
		p.MaximumAttempts = 10_000
		opts.RetryPolicy = &p
		ctx = workflow.WithActivityOptions(ctx, opts)
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func TestActivitiesRetryWithoutLimitBackingOffToMinutes(t *testing.T) {
	p := retryPolicy()
	require.Zero(t, p.MaximumAttempts, "no attempt limit: an outage is waited out")
	require.Equal(t, 5*time.Minute, p.MaximumInterval)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		opts := workflow.GetActivityOptions(withActivityOptions(ctx))
		require.Zero(t, opts.ScheduleToCloseTimeout, "no end to the retries but the workflow's own")
		require.Zero(t, opts.RetryPolicy.MaximumAttempts)
		return nil
	})
	require.NoError(t, env.GetWorkflowError())
}

func TestInvitationOutlivesHoursOfDatabaseAndMailOutage(t *testing.T) {
	o := newOutageEnv(3*time.Hour, 5*time.Hour)
	start := o.env.Now()
	o.env.ExecuteWorkflow(Invitation, defaultInput())
	require.True(t, o.env.IsWorkflowCompleted())
	require.NoError(t, o.env.GetWorkflowError(), "an outage must not fail the invitation")
	var st InvitationState
	require.NoError(t, o.env.GetWorkflowResult(&st))
	require.True(t, st.Recorded)
	require.GreaterOrEqual(t, o.recordedAt.Sub(start), 3*time.Hour, "recorded once the database was back")
	require.GreaterOrEqual(t, o.sentAt.Sub(start), 5*time.Hour, "the first email went out once the provider was back")
	require.Equal(t, portal.InvitationExpired, st.Status, "after the outage the invitation lived its normal life")
}

func TestLocalSetupThatCannotFinishRunsAsARegularActivity(t *testing.T) {
	o := newOutageEnv(0, 0)
	// The local attempts never get through (as when Postgres is down for
	// longer than a workflow task); the regular activity does.
	o.recordFn = func(ctx context.Context) error {
		if activity.GetInfo(ctx).IsLocalActivity {
			return errUnreachable
		}
		return nil
	}
	o.env.ExecuteWorkflow(Invitation, defaultInput())
	require.NoError(t, o.env.GetWorkflowError())
	require.Positive(t, o.localTries)
	require.Equal(t, 1, o.regular, "one regular activity after the local attempts gave up")
}

func TestLocalSetupThatTimesOutRunsAsARegularActivity(t *testing.T) {
	o := newOutageEnv(0, 0)
	o.recordFn = func(ctx context.Context) error {
		if activity.GetInfo(ctx).IsLocalActivity {
			// What the SDK reports when a local activity (a hung
			// connection) outlives its ScheduleToClose bound.
			return temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil)
		}
		return nil
	}
	o.env.ExecuteWorkflow(Invitation, defaultInput())
	require.NoError(t, o.env.GetWorkflowError())
	require.Equal(t, 1, o.regular)
}

func TestBusinessErrorOfALocalStepIsNotRetriedAsARegularActivity(t *testing.T) {
	o := newOutageEnv(0, 0)
	o.recordFn = func(context.Context) error {
		return temporal.NewNonRetryableApplicationError("contact is gone", activities.ErrTypeNotFound, nil)
	}
	o.env.ExecuteWorkflow(Invitation, defaultInput())
	require.Error(t, o.env.GetWorkflowError())
	require.Equal(t, 1, o.localTries)
	require.Zero(t, o.regular)
}

func TestBulkCountsAnInvitationThatFailsAfterItsStartAsFailed(t *testing.T) {
	h := newBulkHarness(t, []int64{1, 2, 3})
	h.recordFn = func(_ context.Context, in activities.RecordInput) (activities.RecordResult, error) {
		if in.ContactID == 2 {
			return activities.RecordResult{}, temporal.NewNonRetryableApplicationError("contact 2 is gone", activities.ErrTypeNotFound, nil)
		}
		return activities.RecordResult{}, nil
	}
	h.env.ExecuteWorkflow(BulkInvite, bulkInput())
	require.NoError(t, h.env.GetWorkflowError())
	require.Len(t, h.childFailures, 1, "the failed invitation reports itself to its job")
	f := h.childFailures[0]
	require.Equal(t, "job-1", f.JobID)
	require.Equal(t, int64(2), f.ContactID)
	require.Contains(t, f.Reason, "contact 2 is gone")
}

func TestEmailNoWorkerTakesFromTheMailQueueIsSentFromTheWorkflowQueue(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(activities.RecordResult{}, nil)
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(nil)
	var queues []string
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.SendInput) error {
		if activity.GetInfo(ctx).IsLocalActivity {
			// The mail rate has no room: the email goes to the mail queue.
			queues = append(queues, "in the workflow task")
			return temporal.NewNonRetryableApplicationError("no room", activities.ErrTypeMailQueued, nil)
		}
		q := activity.GetInfo(ctx).TaskQueue
		queues = append(queues, q)
		if q == "renamed-mail" {
			// What the server reports when no worker polls the queue.
			return temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START, nil)
		}
		return nil
	})
	in := defaultInput()
	in.MailTaskQueue = "renamed-mail"
	in.Policy.Reminders = nil
	in.Policy.AutoReinvites = 0
	env.ExecuteWorkflow(Invitation, in)
	require.NoError(t, env.GetWorkflowError(), "a queue nobody polls must not fail the invitation")
	var st InvitationState
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, 1, st.SendCount)
	require.Equal(t, []string{"in the workflow task", "renamed-mail", "default-test-taskqueue"}, queues)
}

// mailPaths runs an invitation (one email, no reminders) whose invitation
// email answers local when sent in the workflow task and remote when sent
// from a queue, and returns where each attempt ran and the end state.
func mailPaths(t *testing.T, local, remote func(attempt int) error) ([]string, InvitationState) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(activities.RecordResult{}, nil)
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(nil)
	var where []string
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.SendInput) error {
		if activity.GetInfo(ctx).IsLocalActivity {
			where = append(where, "workflow task")
			return local(len(where))
		}
		where = append(where, activity.GetInfo(ctx).TaskQueue)
		return remote(len(where))
	})
	in := defaultInput()
	in.MailTaskQueue = "mail"
	in.Policy.Reminders = nil
	in.Policy.AutoReinvites = 0
	env.ExecuteWorkflow(Invitation, in)
	require.NoError(t, env.GetWorkflowError())
	var st InvitationState
	require.NoError(t, env.GetWorkflowResult(&st))
	return where, st
}

func TestEmailIsSentInTheWorkflowTaskWhenTheMailRateHasRoom(t *testing.T) {
	where, st := mailPaths(t, func(int) error { return nil }, func(int) error { return nil })
	require.Equal(t, []string{"workflow task"}, where)
	require.Equal(t, 1, st.SendCount)
}

func TestEmailWithNoRoomInTheMailRateWaitsItsTurnOnTheMailQueue(t *testing.T) {
	where, st := mailPaths(t,
		func(int) error {
			return temporal.NewNonRetryableApplicationError("no room", activities.ErrTypeMailQueued, nil)
		},
		func(int) error { return nil })
	require.Equal(t, []string{"workflow task", "mail"}, where)
	require.Equal(t, 1, st.SendCount)
}

func TestEmailThatFailsInTheWorkflowTaskIsRetriedFromTheMailQueue(t *testing.T) {
	// The provider is down for the attempt in the workflow task and the
	// first two on the queue; the queue's retries carry it through.
	down := func(attempt int) error {
		if attempt <= 3 {
			return errors.New("mail provider unreachable")
		}
		return nil
	}
	where, st := mailPaths(t, down, down)
	require.Equal(t, []string{"workflow task", "mail", "mail", "mail"}, where)
	require.Equal(t, 1, st.SendCount)
	require.Equal(t, portal.InvitationExpired, st.Status)
}
