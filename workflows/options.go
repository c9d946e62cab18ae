package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal/activities"
)

// Every workflow follows one rule for failures: an infrastructure error
// (Postgres, the mail provider or Temporal unreachable for a while) never
// ends a business process; it is retried with backoff for as long as the
// process lives. Only business errors end a workflow, and activities
// return those as non-retryable application errors with a type.

// retryPolicy retries without an attempt limit, backing off to one try
// every few minutes, so an outage of hours costs a few hundred attempts.
func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
	}
}

// withActivityOptions is how regular activities run: each attempt gets
// 30 s, and no schedule-to-close bound, so the retries last as long as the
// workflow waits for its customer (days).
func withActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         retryPolicy(),
	})
}

// Local activities must finish inside the workflow task that runs them
// (10 s by default): a few quick attempts, then the slow path.
const (
	localStartToClose    = 3 * time.Second
	localScheduleToClose = 8 * time.Second
)

// localFallbackChange: a local activity that can't finish within
// localScheduleToClose (Postgres down, say) runs again as a regular
// activity with the long retry, instead of failing the workflow as
// workflows started before this change did.
const localFallbackChange = "local-activity-fallback"

// executeLocal runs a short database step as a local activity and, when
// that can't finish for a reason other than a business error, as a
// regular activity retried for as long as it takes. ctx carries the
// regular activity options.
func executeLocal(ctx workflow.Context, fn, arg, result any) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    localStartToClose,
		ScheduleToCloseTimeout: localScheduleToClose,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 2 * time.Second},
	})
	err := workflow.ExecuteLocalActivity(lctx, fn, arg).Get(ctx, result)
	if err == nil || isBusinessError(err) || temporal.IsCanceledError(err) {
		return err
	}
	if workflow.GetVersion(ctx, localFallbackChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return err
	}
	workflow.GetLogger(ctx).Warn("local activity could not finish; running it as a regular activity", "error", err)
	return workflow.ExecuteActivity(withSummary(ctx, arg), fn, arg).Get(ctx, result)
}

// isBusinessError tells an activity's decision (a non-retryable
// application error) from an outage that only needs time.
func isBusinessError(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// mailScheduleToStart is how long an email may wait on the mail task queue
// for a worker. Longer means no worker polls that queue (it was renamed
// in configuration and nobody polls the former name), not that mail is
// slow: the rate limit drains a backlog of thousands in minutes.
const mailScheduleToStart = 15 * time.Minute

// sendEmail runs an email activity on the task queue ctx names. If no
// worker takes it from a mail queue within mailScheduleToStart, it is
// logged and sent from the workflow's own task queue, which the worker
// running this workflow polls: a renamed queue delays an email, it never
// strands it.
func sendEmail(ctx workflow.Context, fn, arg any) error {
	ctx = withSummary(ctx, arg)
	own := workflow.GetInfo(ctx).TaskQueueName
	queue := workflow.GetActivityOptions(ctx).TaskQueue
	if queue == "" || queue == own {
		return workflow.ExecuteActivity(ctx, fn, arg).Get(ctx, nil)
	}
	err := workflow.ExecuteActivity(workflow.WithScheduleToStartTimeout(ctx, mailScheduleToStart), fn, arg).Get(ctx, nil)
	var timeout *temporal.TimeoutError
	if !errors.As(err, &timeout) || timeout.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		return err
	}
	workflow.GetLogger(ctx).Warn("no worker polls the mail task queue; sending from the workflow's own queue",
		"mail_task_queue", queue, "task_queue", own)
	return workflow.ExecuteActivity(workflow.WithTaskQueue(ctx, own), fn, arg).Get(ctx, nil)
}

// mailLocalTimeout bounds an email sent in a workflow task. Updates that
// arrive meanwhile (a customer's accept, an admin's revoke) wait for the
// task, so a slow provider may hold them this long and no longer: a send
// still under way then is finished by the mail queue's attempt, which
// confirms an interrupted send with the provider before sending again.
// A send takes well under a second when the provider is well.
const mailLocalTimeout = 5 * time.Second

// sendEmailInTask sends an email as a local activity, in the workflow
// task that asks for it: no activity task, no second workflow task, no
// billed action. It tries once. When the mail rate has no room
// (ErrTypeMailQueued), or the attempt fails for any reason but a
// decision (a refused address), the email goes through sendEmail, on the
// task queue ctx names, with its rate limit and its long retry; the
// email's idempotency key makes that the same send, never a second one.
func sendEmailInTask(ctx workflow.Context, fn, arg any) error {
	o := workflow.LocalActivityOptions{
		StartToCloseTimeout: mailLocalTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	if s, ok := arg.(interface{ Summary() string }); ok {
		o.Summary = s.Summary()
	}
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, o), fn, arg).Get(ctx, nil)
	var appErr *temporal.ApplicationError
	queued := errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeMailQueued
	if err == nil || temporal.IsCanceledError(err) || (isBusinessError(err) && !queued) {
		return err
	}
	if !queued {
		workflow.GetLogger(ctx).Warn("email not sent in the workflow task; sending it from the mail task queue", "error", err)
	}
	return sendEmail(ctx, fn, arg)
}

// withSummary gives the activity scheduled with ctx the summary its input
// writes of itself (activities' Summary methods), for the Temporal UI. A
// summary is metadata of the command, which replay does not compare.
func withSummary(ctx workflow.Context, arg any) workflow.Context {
	s, ok := arg.(interface{ Summary() string })
	if !ok {
		return ctx
	}
	o := workflow.GetActivityOptions(ctx)
	o.Summary = s.Summary()
	return workflow.WithActivityOptions(ctx, o)
}
