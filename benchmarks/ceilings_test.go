package benchmarks

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/workflows"
)

// baselineWorkerOptions poll like the portal's workers (service.Workers):
// with the SDK's default of two workflow task pollers, the raw figures
// would be the pollers' ceiling, not the server's.
var baselineWorkerOptions = worker.Options{MaxConcurrentWorkflowTaskPollers: 8, MaxConcurrentActivityTaskPollers: 8}

// BaselineUpdateTarget answers its update at once and then waits, as an
// invitation does: the raw round trip of an invite.
func BaselineUpdateTarget(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, "describe", func(workflow.Context) (string, error) { return "pending", nil }); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "stop").Receive(ctx, nil)
	return nil
}

// recordActivities are the portal's own activities over the bench's
// database, for BaselineRecordTarget.
var recordActivities *activities.Activities

// BaselineRecordTarget is BaselineUpdateTarget that first records an
// invitation of contactID, with its first link and its audit event, in a
// local activity of its first workflow task (the portal's
// RecordInvitation), as an invite's first task does; its update answers
// once the record is in. Against the raw round trip it is the least an
// invite that answers with its record can cost on this machine, before
// any check of the caller or the contact and before any email.
func BaselineRecordTarget(ctx workflow.Context, helpCenterID, contactID int64) error {
	recorded := false
	if err := workflow.SetUpdateHandler(ctx, "describe", func(ctx workflow.Context) (string, error) {
		return "pending", workflow.Await(ctx, func() bool { return recorded })
	}); err != nil {
		return err
	}
	info, now := workflow.GetInfo(ctx), workflow.Now(ctx)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	err := workflow.ExecuteLocalActivity(lctx, recordActivities.RecordInvitation, activities.RecordInput{
		InvitationID: info.FirstRunID, WorkflowID: info.WorkflowExecution.ID, HelpCenterID: helpCenterID,
		ContactID: contactID, CreatedAt: now,
		FirstLink: &activities.IssueInput{InvitationID: info.FirstRunID, Generation: 1, ExpiresAt: now.Add(7 * 24 * time.Hour)},
	}).Get(ctx, nil)
	if err != nil {
		return err
	}
	recorded = true
	workflow.GetSignalChannel(ctx, "stop").Receive(ctx, nil)
	return nil
}

// recordWithStart times one update-with-start of BaselineRecordTarget
// for contactID, answered once the invitation is on record.
func recordWithStart(b *testing.B, tc client.Client, helpCenterID, contactID int64) time.Duration {
	return updateWithStart(b, tc, "update-with-start recording first", fmt.Sprint("baseline-record/", contactID),
		BaselineRecordTarget, helpCenterID, contactID)
}

// rawUpdateWithStart times one update-with-start of a new no-op workflow
// on the baseline task queue, answered at once; name tells the workflows
// apart.
func rawUpdateWithStart(b *testing.B, tc client.Client, name string) time.Duration {
	return updateWithStart(b, tc, "raw update-with-start", "baseline-update/"+name, BaselineUpdateTarget)
}

// updateWithStart times one update-with-start of workflow wf (with args)
// as id on the baseline task queue, until its describe update answers;
// what names the call in a failure.
func updateWithStart(b *testing.B, tc client.Client, what, id string, wf any, args ...any) time.Duration {
	t0 := time.Now()
	start := tc.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: id, TaskQueue: "baseline", WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, wf, args...)
	h, err := tc.UpdateWithStartWorkflow(context.Background(), client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: start, UpdateOptions: describe(id)})
	answered(b, what, h, err)
	return time.Since(t0)
}

// describe is the baseline's update of workflow id, waited for until
// answered.
func describe(id string) client.UpdateWorkflowOptions {
	return client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: "describe", WaitForStage: client.WorkflowUpdateStageCompleted}
}

// answered waits for the answer of an update sent as what, and fails the
// benchmark if it was refused.
func answered(b *testing.B, what string, h client.WorkflowUpdateHandle, err error) {
	if err == nil {
		var s string
		err = h.Get(context.Background(), &s)
	}
	if err != nil {
		b.Errorf("%s: %v", what, err)
	}
}

// startUpdateTargets starts n no-op workflows waiting for updates, named
// by prefix, and answers their IDs.
func startUpdateTargets(b *testing.B, tc client.Client, prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("baseline-target/%s/%d", prefix, i)
	}
	concurrently(ids, func(id string) time.Duration {
		if _, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: "baseline"}, BaselineUpdateTarget); err != nil {
			b.Error(err)
		}
		return 0
	})
	return ids
}

// rawUpdate times one update of a running no-op workflow, answered at
// once: the round trip of an accept.
func rawUpdate(b *testing.B, tc client.Client, id string) time.Duration {
	t0 := time.Now()
	h, err := tc.UpdateWorkflow(context.Background(), describe(id))
	answered(b, "raw update", h, err)
	return time.Since(t0)
}

// hashOnce times one argon2id hash with the portal's parameters, through
// h, or straight when h is nil.
func hashOnce(b *testing.B, h *credentials.Hasher) time.Duration {
	t0 := time.Now()
	var err error
	if h != nil {
		_, err = h.Hash(b.Context(), "correct-horse-battery")
	} else {
		_, err = credentials.HashPassword("correct-horse-battery")
	}
	if err != nil {
		b.Error(err)
	}
	return time.Since(t0)
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// printMachine says where the figures come from: cores, CPU model and the
// dev server's storage.
func printMachine() {
	model := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	fmt.Printf("machine: %d cores (GOMAXPROCS %d), %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), model)
	fmt.Printf("dev server storage: SQLite in memory, pragmas %s; dynamic config %s\n",
		strings.Join(config.DevServerSQLitePragmas, ", "), strings.Join(slices.Concat(config.DevServerDynamicConfig, config.DevServerOnePartition), ", "))
}

// rssWatch samples this process's resident set (the API and the worker
// run in it) until stopped and keeps the peak.
type rssWatch struct {
	peak atomic.Uint64
	done chan struct{}
}

func startRSSWatch() *rssWatch {
	w := &rssWatch{done: make(chan struct{})}
	go func() {
		for {
			if r := currentRSS(); r > w.peak.Load() {
				w.peak.Store(r)
			}
			select {
			case <-w.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *rssWatch) stop() uint64 {
	close(w.done)
	return w.peak.Load()
}

func currentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// bulkRuns returns the history length of every run of a bulk job's
// parent workflow.
func (x *bench) bulkRuns(workflowID string) []int64 {
	var out []int64
	var token []byte
	for {
		resp, err := x.portal.Service.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", workflowID), NextPageToken: token})
		if err != nil {
			x.b.Fatal(err)
		}
		for _, e := range resp.GetExecutions() {
			out = append(out, e.GetHistoryLength())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out
		}
	}
}

func maxOf(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Max(v)
}

// emailRate is the invite emails of tag a second, from the first to the
// last one in the outbox.
func (x *bench) emailRate(tag string) float64 {
	var r struct {
		N    int     `bun:"n"`
		Secs float64 `bun:"secs"`
	}
	_ = x.portal.Service.Store.DB.NewRaw(`SELECT count(*) AS n, extract(epoch FROM max(created_at) - min(created_at)) AS secs
		FROM outbox_messages WHERE recipient LIKE ? AND kind = 'invite'`, tag+"-%").Scan(context.Background(), &r)
	if r.Secs <= 0 {
		return 0
	}
	return float64(r.N-1) / r.Secs
}

// lastEmailAt is when the last invite email of tag reached the outbox.
func (x *bench) lastEmailAt(tag string) time.Time {
	var at time.Time
	if err := x.portal.Service.Store.DB.NewRaw(`SELECT max(created_at) FROM outbox_messages WHERE recipient LIKE ? AND kind = 'invite'`, tag+"-%").
		Scan(context.Background(), &at); err != nil {
		x.b.Fatal(err)
	}
	return at
}

// invitationCost waits for a workflow to close and counts its history
// events by type and the actions Temporal Cloud bills for them
// (workflows.HistoryCost).
func (x *bench) invitationCost(workflowID string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tc := x.portal.Service.Temporal
	_ = tc.GetWorkflow(ctx, workflowID, "").Get(ctx, nil)
	iter := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return "history: " + err.Error() + "\n"
		}
		h.Events = append(h.Events, ev)
	}
	return workflows.HistoryCost(&h).String()
}

// startExpiringInvitation starts, as the starter would, an invitation with
// a short policy (a reminder after 1 s, links of 3 s, one automatic
// re-invite) that nobody accepts: invite, reminder, expiry, re-invite,
// reminder, final expiry. It answers the workflow ID.
func (x *bench) startExpiringInvitation() string {
	ctx := context.Background()
	hc, err := x.portal.Service.Store.HelpCenterBySlug(ctx, x.slug)
	if err != nil {
		x.b.Fatal(err)
	}
	contact := x.seed("expiry", 1)[0]
	cfg := x.portal.Service.Config
	id := workflows.InvitationWorkflowID(x.slug, contact)
	_, err = x.portal.Service.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.TemporalTaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.InvitationStatusKey.ValueSet(string(portal.InvitationPending)), workflows.HelpCenterKey.ValueSet(x.slug)),
	}, workflows.Invitation, workflows.InvitationInput{
		HelpCenterID: hc.ID, HelpCenterSlug: x.slug, ContactID: contact, MailTaskQueue: cfg.MailTaskQueue,
		Policy: workflows.Policy{
			Reminders:    []workflows.Duration{workflows.Duration(time.Second)},
			LinkLifetime: workflows.Duration(3 * time.Second), AutoReinvites: 1,
		},
	})
	if err != nil {
		x.b.Fatal(err)
	}
	return id
}

// partitionsCost measures the raw update-with-start round trip, 16 at a
// time, on the bench's dev server (one partition a task queue) and on
// one with the CLI's four, each through a worker polling like the
// portal's, in alternating rounds.
func partitionsCost(b *testing.B, one client.Client, n int) string {
	quiet := tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	dev, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath: os.Getenv("TEMPORAL_CLI"), LogLevel: "error", ClientOptions: &client.Options{Logger: quiet},
		ExtraArgs: config.DevServerArgs(false), Stdout: io.Discard, Stderr: io.Discard,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = dev.Stop() }()
	four, err := client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer four.Close()
	w := worker.New(four, "baseline", baselineWorkerOptions)
	w.RegisterWorkflow(BaselineUpdateTarget)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	kinds := []struct {
		name string
		c    client.Client
	}{{"one partition", one}, {"four partitions", four}}
	lats := make([][]time.Duration, len(kinds))
	walls := make([]time.Duration, len(kinds))
	// A round first on each, uncounted, so neither pays for what a new
	// server or worker does once.
	for i, k := range kinds {
		concurrently(seq(n/8), func(j int) time.Duration {
			return rawUpdateWithStart(b, k.c, fmt.Sprintf("partitions/%d/warm/%d", i, j))
		})
	}
	const rounds = 4
	for r := range rounds {
		for i, k := range kinds {
			t0 := time.Now()
			lats[i] = append(lats[i], concurrently(seq(n/rounds), func(j int) time.Duration {
				return rawUpdateWithStart(b, k.c, fmt.Sprintf("partitions/%d/%d/%d", i, r, j))
			})...)
			walls[i] += time.Since(t0)
		}
	}
	var out strings.Builder
	for i, k := range kinds {
		slow := 0
		for _, d := range lats[i] {
			if d > time.Second {
				slow++
			}
		}
		fmt.Fprintf(&out, "%-16s %6.1f/s  p50 %v  p99 %v  max %v; %d of %d over 1 s\n", k.name+":", float64(len(lats[i]))/walls[i].Seconds(),
			percentile(lats[i], .5).Round(time.Millisecond), percentile(lats[i], .99).Round(time.Millisecond),
			slices.Max(lats[i]).Round(time.Millisecond), slow, len(lats[i]))
	}
	return out.String()
}
