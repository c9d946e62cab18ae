// Package benchmarks measures the portal on a local Temporal dev server
// and Postgres: bulk invitations against a raw Temporal baseline, and the
// latency of the invite and accept calls. Run with `make bench`.
package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal/activities"
	apiclient "github.com/portalaccess/portal/client"
	"github.com/portalaccess/portal/starter"
	"github.com/portalaccess/portal/testenv"
	"github.com/portalaccess/portal/workflows"
)

// BaselineParent starts n no-op children with the bulk workflow's window
// and continue-as-new rule, waiting only for each to start.
func BaselineParent(ctx workflow.Context, tag string, n, done, window, perRun int) error {
	started := 0
	var inflight []workflow.Future
	for done < n && started < perRun {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            fmt.Sprintf("baseline/%s/%d", tag, done),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.BulkJobKey.ValueSet(tag)),
		})
		inflight = append(inflight, workflow.ExecuteChildWorkflow(cctx, BaselineChild).GetChildWorkflowExecution())
		if len(inflight) >= window {
			_ = inflight[0].Get(ctx, nil)
			inflight = inflight[1:]
		}
		done++
		started++
	}
	for _, f := range inflight {
		_ = f.Get(ctx, nil)
	}
	if done < n {
		return workflow.NewContinueAsNewError(ctx, BaselineParent, tag, n, done, window, perRun)
	}
	return nil
}

// BaselineChild does nothing.
func BaselineChild(workflow.Context) error { return nil }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type bench struct {
	b      *testing.B
	portal *testenv.Portal
	api    *apiclient.ClientWithResponses
	slug   string
}

// newAPI is the generated client of the portal's API with its admin key:
// the benchmark drives the API as a Go integrator would.
func newAPI(p *testenv.Portal) (*apiclient.ClientWithResponses, error) {
	return apiclient.NewClientWithResponses(p.URL, apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+p.AdminKey)
		return nil
	}))
}

func (x *bench) seed(tag string, n int) []int64 {
	var ids []int64
	err := x.portal.Service.Store.DB.NewRaw(`INSERT INTO contacts (email, name, verified)
		SELECT ? || '-' || g || '@example.com', 'Bench ' || ? || ' ' || g, true FROM generate_series(1, ?) AS g RETURNING id`,
		tag, tag, n).Scan(context.Background(), &ids)
	if err != nil {
		x.b.Fatal(err)
	}
	return ids
}

func (x *bench) outboxCount(tag string) int {
	var n int
	_ = x.portal.Service.Store.DB.NewRaw(`SELECT count(*) FROM outbox_messages WHERE recipient LIKE ? AND kind = 'invite'`, tag+"-%").
		Scan(context.Background(), &n)
	return n
}

func percentile(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return d[int(float64(len(d)-1)*p)]
}

// concurrently runs fn for each item with 16 workers and returns each
// call's latency.
func concurrently[T any](items []T, fn func(T) time.Duration) []time.Duration {
	return inParallel(16, items, fn)
}

// inParallel runs fn over items from c goroutines and answers each
// call's time.
func inParallel[T any](c int, items []T, fn func(T) time.Duration) []time.Duration {
	var mu sync.Mutex
	var out []time.Duration
	ch := make(chan T)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				d := fn(it)
				mu.Lock()
				out = append(out, d)
				mu.Unlock()
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	return out
}

// BenchmarkBulkInviteAgainstRawTemporal prints, from one run on one dev
// server, each product figure beside its ceiling: a bulk invite (API call
// until every invite email is in the outbox) against a raw Temporal
// parent starting no-op children at its best window; the invite call
// against a raw update-with-start of a no-op workflow; the accept POST
// against argon2id hashing alone, all at concurrency 16. It also prints
// the machine, the dev server's storage settings, the worker's peak RSS,
// the history events of every run of the bulk parent, the email rate
// when BENCH_MAIL_RATE sets MAIL_RATE_PER_SECOND, and the history events
// and actions of an invitation accepted (invited by the API, and by the
// bulk job) and of one that expires.
func BenchmarkBulkInviteAgainstRawTemporal(b *testing.B) {
	n := envInt("BENCH_N", 5000)
	latencyN := envInt("BENCH_LATENCY_N", 400)
	mailRate := envInt("BENCH_MAIL_RATE", 0)
	// The raw baseline's size: the job's own unless BENCH_BASELINE_N says
	// otherwise (a rate needs a few thousand children, not a 100,000).
	baseN := envInt("BENCH_BASELINE_N", n)
	ctx := context.Background()
	dbURL, drop, err := testenv.Database(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer drop()
	dev, err := testenv.Temporal(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := dev.Stop(); err != nil {
			b.Log("stop temporal dev server:", err)
		}
	}()
	// Without BENCH_MAIL_RATE the mail queue has no rate limit, so the
	// bulk figure is the portal's, not the limit's.
	env := map[string]string{"MAIL_RATE_PER_SECOND": strconv.Itoa(mailRate)}
	p, err := testenv.StartPortal(ctx, dbURL, dev.FrontendHostPort(), testenv.Options{Env: env})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	api, err := newAPI(p)
	if err != nil {
		b.Fatal(err)
	}
	x := &bench{b: b, portal: p, api: api, slug: "bench"}
	hc, err := api.CreateHelpCenterWithResponse(ctx, apiclient.CreateHelpCenterJSONRequestBody{
		Slug: x.slug, Name: "Bench", UserBase: apiclient.Unique})
	if err != nil {
		b.Fatal(err)
	}
	if hc.JSON201 == nil {
		b.Fatalf("help center: %d %s", hc.StatusCode(), hc.Body)
	}
	b.ResetTimer()
	printMachine()
	meter := newCPUMeter(dev.FrontendHostPort())
	// phase times fn, with the CPU each process spent on it and, with
	// BENCH_PROFILE, this process's profile.
	phase := func(name string, fn func()) (time.Duration, cpuUse) {
		stop := profile(name)
		before, t0 := meter.read(), time.Now()
		fn()
		wall, used := time.Since(t0), meter.read().sub(before)
		stop()
		return wall, used
	}

	// 1. Bulk invite through the product.
	var bulkElapsed time.Duration
	var peakRSS uint64
	var runs []int64
	var emailRate float64
	var rssAt []string
	x.seed("bulk", n)
	_, bulkCPU := phase("bulk", func() {
		rss := startRSSWatch()
		start := time.Now()
		created, err := api.CreateBulkInvitationWithResponse(ctx, x.slug, nil, apiclient.CreateBulkInvitationJSONRequestBody{
			Filter: &apiclient.ContactFilter{Q: ptr("Bench bulk")}})
		if err != nil {
			b.Fatal(err)
		}
		if created.JSON202 == nil {
			b.Fatalf("bulk: %d %s", created.StatusCode(), created.Body)
		}
		// Polled once a second, so the count costs the run nothing worth
		// measuring; the end is the last email's own time, not the poll's.
		// The resident set at each quarter of the job shows whether
		// memory grows with the job or stays flat.
		quarter := 1
		for sent := x.outboxCount("bulk"); sent < n; sent = x.outboxCount("bulk") {
			if time.Since(start) > 180*time.Minute {
				b.Fatalf("only %d of %d invite emails after 3 hours", sent, n)
			}
			for quarter < 4 && sent >= quarter*n/4 {
				rssAt = append(rssAt, fmt.Sprintf("%d%%: %d MiB", 25*quarter, currentRSS()>>20))
				quarter++
			}
			time.Sleep(time.Second)
		}
		rssAt = append(rssAt, fmt.Sprintf("100%%: %d MiB", currentRSS()>>20))
		bulkElapsed = x.lastEmailAt("bulk").Sub(start)
		peakRSS = rss.stop()
		runs = x.bulkRuns(workflows.BulkWorkflowID(created.JSON202.Id))
		emailRate = x.emailRate("bulk")
	})

	// 2. The raw baseline on the same server, at each window; the best
	// is the ceiling.
	tc := p.Service.Temporal
	bw := worker.New(tc, "baseline", baselineWorkerOptions)
	bw.RegisterWorkflow(BaselineParent)
	bw.RegisterWorkflow(BaselineChild)
	bw.RegisterWorkflow(BaselineUpdateTarget)
	bw.RegisterWorkflow(BaselineRecordTarget)
	recordActivities = &activities.Activities{Store: p.Service.Store, Tokens: p.Service.Tokens}
	if err := bw.Start(); err != nil {
		b.Fatal(err)
	}
	defer bw.Stop()
	baseRates := map[int]float64{}
	baseCPU := map[int]cpuUse{}
	bestWindow := 0
	for _, window := range []int{25, 100, 200} {
		wall, used := phase(fmt.Sprintf("raw-window-%d", window), func() { x.rawChildren(window, baseN) })
		baseRates[window], baseCPU[window] = float64(baseN)/wall.Seconds(), used
		if bestWindow == 0 || baseRates[window] > baseRates[bestWindow] {
			bestWindow = window
		}
	}

	// 3. Single invites, then the raw update-with-start round trip, 16 at
	// a time.
	ids := x.seed("single", latencyN)
	var inviteLat, rawLat []time.Duration
	inviteWall, inviteCPU := phase("invite", func() {
		inviteLat = concurrently(ids, x.invite)
	})
	rawWall, rawCPU := phase("raw-update-with-start", func() {
		rawLat = concurrently(seq(latencyN), func(i int) time.Duration { return rawUpdateWithStart(b, tc, fmt.Sprint("c16/", i)) })
	})
	// The least an invite that answers with its record can be: the raw
	// round trip, whose first workflow task first writes the record.
	benchHC, err := p.Service.Store.HelpCenterBySlug(ctx, x.slug)
	if err != nil {
		b.Fatal(err)
	}
	var floorLat []time.Duration
	recordWall, recordCPU := phase("update-with-start-recording", func() {
		floorLat = concurrently(x.seed("floor", latencyN), func(id int64) time.Duration { return recordWithStart(b, tc, benchHC.ID, id) })
	})
	// A floor that wrote less than an invite would flatter itself.
	var recorded int
	if err := p.Service.Store.DB.NewRaw(`SELECT count(*) FROM invitations AS i JOIN invitation_tokens AS t ON t.invitation_id = i.id
		WHERE i.workflow_id LIKE 'baseline-record/%' AND i.status = 'pending'`).Scan(ctx, &recorded); err != nil || recorded != latencyN {
		b.Fatalf("the recording baseline left %d of %d pending invitations with a link (%v)", recorded, latencyN, err)
	}
	// The same calls one at a time: what each costs a caller when none
	// waits behind another for a core.
	serialN := max(latencyN/8, 10)
	serialIDs := x.seed("serial", serialN)
	serialInvite := inParallel(1, serialIDs, x.invite)
	serialRaw := inParallel(1, seq(serialN), func(i int) time.Duration { return rawUpdateWithStart(b, tc, fmt.Sprint("c1/", i)) })
	// The dev server's one partition a task queue against the CLI's four.
	partitionsReport := partitionsCost(b, tc, 4*latencyN)

	// 4. Accepts, then argon2id hashing alone, 16 at a time: through the
	// portal's own hasher, which runs as many hashes at once as there
	// are cores, as an accept does (the ceiling), and straight, all 16 at
	// once, for comparison.
	for x.outboxCount("single") < latencyN {
		time.Sleep(50 * time.Millisecond)
	}
	links := x.links("single")
	var acceptLat, hashLat []time.Duration
	acceptWall, acceptCPU := phase("accept", func() {
		acceptLat = concurrently(links, func(link string) time.Duration { return x.accept(link) })
	})
	hashWall, hashCPU := phase("hash", func() {
		hashLat = concurrently(seq(latencyN), func(int) time.Duration { return hashOnce(b, p.Service.Hasher) })
	})
	var straightLat []time.Duration
	straightWall, straightCPU := phase("hash-unbounded", func() {
		straightLat = concurrently(seq(latencyN), func(int) time.Duration { return hashOnce(b, nil) })
	})
	// The least an accept can be: a hash through the hasher, then an
	// update of a running no-op workflow, answered at once. Its rate is
	// the ceiling of any accept that goes through a workflow on this
	// machine, where the Temporal server shares the cores.
	targets := startUpdateTargets(b, tc, "accept", latencyN)
	floorWall, floorCPU := phase("hash-then-update", func() {
		concurrently(targets, func(id string) time.Duration {
			return hashOnce(b, p.Service.Hasher) + rawUpdate(b, tc, id)
		})
	})
	floorRate := float64(latencyN) / floorWall.Seconds()
	acceptRate := float64(len(links)) / acceptWall.Seconds()
	hashRate := float64(latencyN) / hashWall.Seconds()
	straightRate := float64(latencyN) / straightWall.Seconds()

	// 5. What an invitation costs in Temporal: one accepted after the
	// first email, one that runs its whole policy and expires.
	expiring := x.startExpiringInvitation()
	accepted := x.invitationCost(workflows.InvitationWorkflowID("bench", ids[0]))
	bulkAccepted := x.invitationCost(x.acceptOneOf("bulk"))
	expired := x.invitationCost(expiring)

	bulkRate := float64(n) / bulkElapsed.Seconds()
	best := baseRates[bestWindow]
	b.ReportMetric(bulkRate, "invites/s")
	b.ReportMetric(best, "baseline-children/s")
	b.ReportMetric(bulkRate/best, "ratio")
	fmt.Printf("\n== bulk invite vs raw Temporal (N=%d, raw N=%d)\n", n, baseN)
	fmt.Printf("bulk invite:           %7.1f invitations/s (%v until every invite email is in the outbox)\n", bulkRate, bulkElapsed.Round(time.Millisecond))
	fmt.Printf("  %s\n", bulkCPU.per(n, bulkElapsed))
	for _, w := range []int{25, 100, 200} {
		fmt.Printf("raw Temporal, window %3d: %7.1f children/s\n", w, baseRates[w])
		fmt.Printf("  %s\n", baseCPU[w].per(baseN, time.Duration(float64(baseN)/baseRates[w]*float64(time.Second))))
	}
	fmt.Printf("bulk / best raw (window %d): %.2f  goal >= 0.8 %s\n", bestWindow, bulkRate/best, mark(bulkRate/best >= 0.8))
	fmt.Printf("bulk parent: %d runs, history events per run max %d (bounded: %s), worker peak RSS %d MiB\n",
		len(runs), maxOf(runs), mark(maxOf(runs) <= 20000), peakRSS>>20)
	fmt.Printf("process RSS as the emails went out: %s\n", strings.Join(rssAt, ", "))
	if mailRate > 0 {
		fmt.Printf("email rate: %.1f/s against MAIL_RATE_PER_SECOND=%d  goal within 10%% %s\n",
			emailRate, mailRate, mark(emailRate >= 0.9*float64(mailRate) && emailRate <= 1.1*float64(mailRate)))
	}
	ip50, rp50 := percentile(inviteLat, .5), percentile(rawLat, .5)
	fmt.Printf("\n== invite API vs raw update-with-start (c=16, %d calls)\n", latencyN)
	fmt.Printf("invite API:            p50 %v  p99 %v\n", ip50.Round(time.Millisecond), percentile(inviteLat, .99).Round(time.Millisecond))
	fmt.Printf("  %s\n", inviteCPU.per(latencyN, inviteWall))
	fmt.Printf("raw update-with-start: p50 %v  p99 %v\n", rp50.Round(time.Millisecond), percentile(rawLat, .99).Round(time.Millisecond))
	fmt.Printf("  %s\n", rawCPU.per(latencyN, rawWall))
	fmt.Printf("invite p50 / raw p50:  %.2f  goal <= 1.5 %s\n", float64(ip50)/float64(rp50), mark(float64(ip50) <= 1.5*float64(rp50)))
	fmt.Printf("CPU per invite / per raw round trip: %.2f (both phases keep the cores busy, so each call mostly waits for\n"+
		"  a core behind the others, and the latency ratio tends to this)\n", inviteCPU.total()/rawCPU.total())
	fp50 := percentile(floorLat, .5)
	fmt.Printf("update-with-start whose first task records the invitation: p50 %v  p99 %v\n", fp50.Round(time.Millisecond), percentile(floorLat, .99).Round(time.Millisecond))
	fmt.Printf("  %s\n", recordCPU.per(latencyN, recordWall))
	fmt.Printf("  the least an invite that answers with its record can be here: p50 %.2f of raw, CPU %.2f of raw; invite p50 / this: %.2f\n",
		float64(fp50)/float64(rp50), recordCPU.total()/rawCPU.total(), float64(ip50)/float64(fp50))
	sip50, srp50 := percentile(serialInvite, .5), percentile(serialRaw, .5)
	fmt.Printf("one at a time (c=1, %d calls each): invite p50 %v, raw p50 %v: %.2f\n", serialN,
		sip50.Round(100*time.Microsecond), srp50.Round(100*time.Microsecond), float64(sip50)/float64(srp50))
	fmt.Printf("\n== task queue partitions: raw update-with-start, c=16, %d each, 8 pollers\n%s", 4*latencyN, partitionsReport)
	ap99, hp99 := percentile(acceptLat, .99), percentile(hashLat, .99)
	fmt.Printf("\n== accept POST vs argon2id alone (c=16, %d each, in this process)\n", latencyN)
	fmt.Printf("accept POST:           %6.1f/s  p50 %v  p99 %v\n", acceptRate, percentile(acceptLat, .5).Round(time.Millisecond), ap99.Round(time.Millisecond))
	fmt.Printf("  %s\n", acceptCPU.per(len(links), acceptWall))
	fmt.Printf("argon2id hash:         %6.1f/s  p50 %v  p99 %v (the portal's hasher, %d at once)\n", hashRate,
		percentile(hashLat, .5).Round(time.Millisecond), hp99.Round(time.Millisecond), p.Service.Hasher.Peak())
	fmt.Printf("  %s\n", hashCPU.per(latencyN, hashWall))
	fmt.Printf("argon2id, unbounded:   %6.1f/s  p50 %v  p99 %v (16 at once; accepts / these: %.2f)\n", straightRate,
		percentile(straightLat, .5).Round(time.Millisecond), percentile(straightLat, .99).Round(time.Millisecond), acceptRate/straightRate)
	fmt.Printf("  %s\n", straightCPU.per(latencyN, straightWall))
	fmt.Printf("hash, then a no-op update:  %.1f/s (the ceiling of an accept through a workflow here: %.2f of hashing alone)\n",
		floorRate, floorRate/hashRate)
	fmt.Printf("  %s\n", floorCPU.per(latencyN, floorWall))
	fmt.Printf("accepts / hashes:      %.2f  goal >= 0.8 %s; accept p99 / hash p99: %.2f  goal <= 2 %s\n",
		acceptRate/hashRate, mark(acceptRate/hashRate >= 0.8), float64(ap99)/float64(hp99), mark(float64(ap99) <= 2*float64(hp99)))
	fmt.Printf("accepts / that ceiling: %.2f\n", acceptRate/floorRate)
	fmt.Printf("\n== cost of an invitation accepted after the first email\n%s", accepted)
	fmt.Printf("\n== cost of a bulk job's invitation accepted after the first email\n%s", bulkAccepted)
	fmt.Printf("\n== cost of an invitation reminded, re-invited, reminded and expired\n%s", expired)
}

// rawChildren runs the raw baseline parent over n no-op children at one
// window, until every child has completed.
func (x *bench) rawChildren(window, n int) {
	ctx := context.Background()
	tc := x.portal.Service.Temporal
	tag := fmt.Sprintf("baseline-w%d", window)
	start := time.Now()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "baseline-parent/" + tag, TaskQueue: "baseline"},
		BaselineParent, tag, n, 0, window, starter.DefaultBulkSettings.ChildrenPerRun)
	if err != nil {
		x.b.Fatal(err)
	}
	// The parent's last run closes once every child has started; waiting
	// on it costs the server nothing, unlike polling visibility. The
	// children finish a moment later.
	if err := run.Get(ctx, nil); err != nil {
		x.b.Fatal(err)
	}
	for {
		c, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = 'BaselineChild' AND ExecutionStatus = 'Completed' AND BulkJob = '%s'", tag)})
		if err == nil && int(c.Count) >= n {
			return
		}
		if time.Since(start) > 90*time.Minute {
			x.b.Fatalf("baseline with window %d did not finish in 90 minutes", window)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

// acceptOneOf accepts the invitation of one contact seeded under tag and
// answers its workflow ID.
func (x *bench) acceptOneOf(tag string) string {
	var row struct {
		ContactID int64  `bun:"contact_id"`
		Text      string `bun:"text_body"`
	}
	err := x.portal.Service.Store.DB.NewRaw(`SELECT c.id AS contact_id, o.text_body FROM outbox_messages o
		JOIN contacts c ON lower(c.email) = lower(o.recipient)
		WHERE o.recipient LIKE ? AND o.kind = 'invite' ORDER BY o.id LIMIT 1`, tag+"-%").Scan(context.Background(), &row)
	if err != nil {
		x.b.Fatal(err)
	}
	x.accept(linkPattern.FindString(row.Text))
	return workflows.InvitationWorkflowID(x.slug, row.ContactID)
}

var linkPattern = regexp.MustCompile(`https?://\S+/invitations/accept\?token=[A-Za-z0-9_-]+`)

func (x *bench) links(tag string) []string {
	var texts []string
	_ = x.portal.Service.Store.DB.NewRaw(`SELECT text_body FROM outbox_messages WHERE recipient LIKE ? AND kind = 'invite'`, tag+"-%").
		Scan(context.Background(), &texts)
	var out []string
	for _, t := range texts {
		out = append(out, linkPattern.FindString(t))
	}
	return out
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// invite times one invite API call.
func (x *bench) invite(contactID int64) time.Duration {
	t0 := time.Now()
	inv, err := x.api.CreateInvitationWithResponse(context.Background(), x.slug, apiclient.CreateInvitationJSONRequestBody{ContactId: contactID})
	switch {
	case err != nil:
		x.b.Error(err)
	case inv.JSON202 == nil:
		x.b.Errorf("invite: %d %s", inv.StatusCode(), inv.Body)
	}
	return time.Since(t0)
}

// accept opens the link (untimed: it is the page load) and times the
// password POST.
func (x *bench) accept(link string) time.Duration {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(x.b.Context(), http.MethodGet, link, nil)
	resp, err := c.Do(req)
	if err != nil {
		x.b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	u, _ := url.Parse(link)
	form := url.Values{"token": {u.Query().Get("token")}, "password": {"correct-horse-battery"}, "password_confirm": {"correct-horse-battery"}}
	if m != nil {
		form.Set("csrf_token", string(m[1]))
	}
	t0 := time.Now()
	req, _ = http.NewRequestWithContext(x.b.Context(), http.MethodPost, x.portal.URL+u.Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	d := time.Since(t0)
	if err != nil {
		x.b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 {
		x.b.Errorf("accept: %d", resp.StatusCode)
	}
	return d
}
