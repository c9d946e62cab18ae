// Package benchmarks measures the portal on a local Temporal dev server
// and Postgres: bulk invitations against a raw Temporal baseline, and the
// latency of the invite and accept calls. Run with `make bench`.
package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
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
	slug   string
}

func (x *bench) call(method, path string, body any, header map[string]string) (int, []byte) {
	buf, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(x.b.Context(), method, x.portal.URL+path, bytes.NewReader(buf))
	req.Header.Set("Authorization", "Bearer "+x.portal.AdminKey)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		x.b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
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
	var mu sync.Mutex
	var out []time.Duration
	ch := make(chan T)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
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

// BenchmarkBulkInviteAgainstRawTemporal prints invitations per second of
// a bulk invite (API call until every invite email is in the outbox) and
// of a raw Temporal parent starting no-op children the same way, their
// ratio, and p50/p99 of the invite and accept calls at concurrency 16.
func BenchmarkBulkInviteAgainstRawTemporal(b *testing.B) {
	n := envInt("BENCH_N", 5000)
	latencyN := envInt("BENCH_LATENCY_N", 400)
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
	p, err := testenv.StartPortal(ctx, dbURL, dev.FrontendHostPort(), testenv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	x := &bench{b: b, portal: p, slug: "bench"}
	if code, body := x.call("POST", "/api/v1/help-centers", map[string]any{"slug": "bench", "name": "Bench", "user_base": "unique"}, nil); code != 201 {
		b.Fatalf("help center: %d %s", code, body)
	}
	b.ResetTimer()

	// Bulk invite through the product.
	x.seed("bulk", n)
	start := time.Now()
	if code, body := x.call("POST", "/api/v1/help-centers/bench/invitations/bulk", map[string]any{"filter": map[string]any{"q": "Bench bulk"}}, nil); code != 202 {
		b.Fatalf("bulk: %d %s", code, body)
	}
	for x.outboxCount("bulk") < n {
		if time.Since(start) > 30*time.Minute {
			b.Fatalf("only %d of %d invite emails after 30 minutes", x.outboxCount("bulk"), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	bulkElapsed := time.Since(start)

	// The raw baseline on the same server.
	tc := p.Service.Temporal
	bw := worker.New(tc, "baseline", worker.Options{})
	bw.RegisterWorkflow(BaselineParent)
	bw.RegisterWorkflow(BaselineChild)
	if err := bw.Start(); err != nil {
		b.Fatal(err)
	}
	defer bw.Stop()
	start = time.Now()
	if _, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "baseline-parent", TaskQueue: "baseline"},
		BaselineParent, "baseline", n, 0, starter.DefaultBulkSettings.Window, starter.DefaultBulkSettings.ChildrenPerRun); err != nil {
		b.Fatal(err)
	}
	for {
		c, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: "WorkflowType = 'BaselineChild' AND ExecutionStatus = 'Completed'"})
		if err == nil && int(c.Count) >= n {
			break
		}
		if time.Since(start) > 30*time.Minute {
			b.Fatal("baseline did not finish in 30 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	baseElapsed := time.Since(start)

	// Latency of single invites, then of accepting them, 16 at a time.
	ids := x.seed("single", latencyN)
	inviteLat := concurrently(ids, func(id int64) time.Duration {
		t0 := time.Now()
		if code, body := x.call("POST", "/api/v1/help-centers/bench/invitations", map[string]any{"contact_id": id}, nil); code != 202 {
			b.Errorf("invite: %d %s", code, body)
		}
		return time.Since(t0)
	})
	for x.outboxCount("single") < latencyN {
		time.Sleep(50 * time.Millisecond)
	}
	links := x.links("single")
	acceptLat := concurrently(links, func(link string) time.Duration { return x.accept(link) })

	bulkRate := float64(n) / bulkElapsed.Seconds()
	baseRate := float64(n) / baseElapsed.Seconds()
	b.ReportMetric(bulkRate, "invites/s")
	b.ReportMetric(baseRate, "baseline-children/s")
	b.ReportMetric(bulkRate/baseRate, "ratio")
	fmt.Printf("\n== bulk invite vs raw Temporal (N=%d, GOMAXPROCS=%d)\n", n, runtime.GOMAXPROCS(0))
	fmt.Printf("bulk invite:        %7.1f invitations/s (%v until every invite email is in the outbox)\n", bulkRate, bulkElapsed.Round(time.Millisecond))
	fmt.Printf("raw Temporal:       %7.1f children/s    (%v until every no-op child completed)\n", baseRate, baseElapsed.Round(time.Millisecond))
	fmt.Printf("ratio:              %7.2f (goal >= 0.5)\n", bulkRate/baseRate)
	fmt.Printf("invite API (c=16):  p50 %v  p99 %v  (%d calls)\n", percentile(inviteLat, .5).Round(time.Millisecond), percentile(inviteLat, .99).Round(time.Millisecond), len(inviteLat))
	fmt.Printf("accept POST (c=16): p50 %v  p99 %v  (%d calls)\n", percentile(acceptLat, .5).Round(time.Millisecond), percentile(acceptLat, .99).Round(time.Millisecond), len(acceptLat))
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
