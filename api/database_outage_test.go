package api_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
	"github.com/portalaccess/portal/workflows"
)

// tcpProxy forwards a loopback port to Postgres and can be cut: stopped,
// it closes every connection and refuses new ones, as a database that
// went away does; started again, it listens on the same port.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.start(t)
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start(t *testing.T) {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *tcpProxy) forward(c net.Conn) {
	up, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go pipe(up, c)
	go pipe(c, up)
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
	_, _ = c.Close(), up.Close()
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
}

// Invitations whose worker loses Postgres for longer than a local
// activity may take (here 35 s, at their very first step) wait it out:
// once the database is back, every one has its record and its email, and
// none failed. Before, the first step gave up after 10 s and the
// invitation closed as Failed with neither.
func TestInvitationsOutliveADatabaseOutageAtTheirFirstStep(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 35-second database outage")
	}
	t.Parallel()
	ctx := context.Background()
	pgHost := strings.Split(strings.SplitN(databaseURL, "@", 2)[1], "/")[0]
	proxy := startProxy(t, pgHost)
	proxied := strings.Replace(databaseURL, "@"+pgHost+"/", "@"+proxy.addr+"/", 1)

	// A worker whose activities reach Postgres only through the proxy.
	worker, err := testenv.StartPortal(ctx, proxied, temporalAddress, testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Stop()

	slug := newHelpCenter(t, "unique")
	hc, err := app.Service.Store.HelpCenterBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	emails := make([]string, 5)
	ids := make([]int64, len(emails))
	for i := range emails {
		emails[i] = unique("outage") + "@example.com"
		ids[i] = newContact(t, emails[i], true)
	}

	proxy.stop()
	tc := worker.Service.Temporal
	runs := make([]string, len(ids))
	for i, id := range ids {
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.InvitationWorkflowID(slug, id), TaskQueue: worker.Env["TEMPORAL_TASK_QUEUE"],
		}, workflows.Invitation, workflows.InvitationInput{
			HelpCenterID: hc.ID, HelpCenterSlug: slug, ContactID: id,
			Policy: workflows.PolicyFrom(hc.InvitePolicy), MailTaskQueue: worker.Env["MAIL_TASK_QUEUE"],
		})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = run.GetRunID() // the invitation's ID
	}
	time.Sleep(35 * time.Second) // the outage
	for _, id := range ids {
		if status := workflowStatus(t, tc, workflows.InvitationWorkflowID(slug, id)); status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("invitation of contact %d is %s during the outage", id, status)
		}
	}
	proxy.start(t)

	deadline := time.Now().Add(2 * time.Minute)
	for i, id := range ids {
		for {
			_, err := app.Service.Store.InvitationByID(ctx, runs[i])
			if err == nil && hasMail(t, emails[i], "invite") {
				break
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("contact %d: no record or no email two minutes after the database came back (%v)", id, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
		if status := workflowStatus(t, tc, workflows.InvitationWorkflowID(slug, id)); status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("invitation of contact %d is %s, want running (waiting for the customer)", id, status)
		}
	}
	if name := os.Getenv("RECORD_OUTAGE_HISTORY"); name != "" {
		recordHistory(t, tc, workflows.InvitationWorkflowID(slug, ids[0]), name)
	}
}

// recordHistory revokes an invitation, waits for it to close and writes
// its history as `temporal workflow show --output json` does, for the
// replay test (RECORD_OUTAGE_HISTORY=NAME writes
// workflows/testdata/NAME.json).
func recordHistory(t *testing.T, tc client.Client, id, name string) {
	t.Helper()
	ctx := context.Background()
	if err := tc.SignalWorkflow(ctx, id, "", workflows.RevokeSignal, nil); err != nil {
		t.Fatal(err)
	}
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	saveHistory(t, tc, id, name)
}

// saveHistory writes a closed workflow's history to
// workflows/testdata/NAME.json.
func saveHistory(t *testing.T, tc client.Client, id, name string) {
	t.Helper()
	ctx := context.Background()
	var h historypb.History
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	out, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	// The test writes only where its operator asked, inside testdata.
	path := filepath.Join("..", "workflows", "testdata", filepath.Base(name)+".json")
	if err := os.WriteFile(path, out, 0o600); err != nil { //nolint:gosec // see above
		t.Fatal(err)
	}
}

func workflowStatus(t *testing.T, tc client.Client, id string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := tc.DescribeWorkflow(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	return d.RawResponse.WorkflowExecutionInfo.Status
}

func hasMail(t *testing.T, to, kind string) bool {
	t.Helper()
	for _, m := range outbox(t, to) {
		if m.Kind == kind {
			return true
		}
	}
	return false
}
