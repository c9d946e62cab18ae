package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// bigTables are the tables that grow with a help center's customers: a
// query may read of them only what its index conditions bound.
var bigTables = map[string]bool{
	"contacts": true, "portal_accounts": true, "portal_access": true, "invitations": true,
	"bulk_job_results": true, "bulk_job_contacts": true, "email_log": true, "tickets": true,
}

// captureKey marks a context whose queries a queryCapture records.
type captureKey struct{}

// queryCapture records the SELECTs run under a context it marked.
type queryCapture struct {
	mu      sync.Mutex
	queries []string
}

func (c *queryCapture) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if ctx.Value(captureKey{}) != c {
		return ctx
	}
	q := strings.TrimSpace(e.Query)
	if up := strings.ToUpper(q); strings.HasPrefix(up, "SELECT") || strings.HasPrefix(up, "WITH") {
		c.mu.Lock()
		c.queries = append(c.queries, q)
		c.mu.Unlock()
	}
	return ctx
}

func (c *queryCapture) AfterQuery(context.Context, *bun.QueryEvent) {}

func (c *queryCapture) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queries
	c.queries = nil
	return q
}

// planNode is the part of an EXPLAIN (ANALYZE, FORMAT JSON) node the
// checks read.
type planNode struct {
	NodeType      string     `json:"Node Type"`
	Relation      string     `json:"Relation Name"`
	Index         string     `json:"Index Name"`
	IndexCond     string     `json:"Index Cond"`
	RecheckCond   string     `json:"Recheck Cond"`
	ActualRows    float64    `json:"Actual Rows"`
	ActualLoops   float64    `json:"Actual Loops"`
	RemovedFilter float64    `json:"Rows Removed by Filter"`
	Plans         []planNode `json:"Plans"`
}

func (n planNode) scan() bool { return strings.HasSuffix(n.NodeType, "Scan") && n.Relation != "" }

// bounded: the scan reads only what an index condition picks.
func (n planNode) bounded() bool { return n.IndexCond != "" || n.RecheckCond != "" }

// read is how many rows the scan read in all its loops, kept or not.
func (n planNode) read() float64 { return (n.ActualRows + n.RemovedFilter) * max(n.ActualLoops, 1) }

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// planProblems explains query with sequential scans discouraged, as the
// planner would at a million rows, runs it, and names what would make it
// cost more as the tables grow: a sequential scan of a big table, a sort
// of a big table read whole, or a scan that reads far more rows than the
// query returns (a filter throwing away what an index should have
// skipped, or a join reading from the table's first row).
func planProblems(t *testing.T, query string) []string {
	t.Helper()
	ctx := context.Background()
	var raw string
	err := db.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+query).Scan(&raw)
	})
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("explain output %q: %v", raw, err)
	}
	root := plans[0].Plan
	returned := root.ActualRows
	var problems []string
	root.walk(func(n planNode) {
		switch {
		case n.NodeType == "Seq Scan" && bigTables[n.Relation]:
			problems = append(problems, "sequential scan of "+n.Relation)
		case n.NodeType == "Sort" || n.NodeType == "Incremental Sort":
			n.walk(func(c planNode) {
				if c.scan() && bigTables[c.Relation] && !c.bounded() {
					problems = append(problems, fmt.Sprintf("sort of %s read whole (%s)", c.Relation, c.NodeType))
				}
			})
		}
		if n.scan() && bigTables[n.Relation] && n.read() > 20*returned+200 {
			problems = append(problems, fmt.Sprintf("%s of %s (%s) reads %.0f rows to return %.0f",
				n.NodeType, n.Relation, n.Index, n.read(), returned))
		}
	})
	if len(problems) > 0 {
		t.Logf("plan of %s:\n%s", query, raw)
	}
	return problems
}

// seedPlanData gives one help center 10,000 contacts with accounts, access
// in every status, invitations in every status (the expired and revoked
// ones oldest, so a filter that reads newest first meets the others
// first) and a bulk job's results; a second help center gets as many
// invitations and users, so a query that reads other help centers' rows
// shows.
func seedPlanData(t *testing.T) (hc, other *store.HelpCenter, tag string, jobs map[portal.Selection]*store.BulkJob) {
	t.Helper()
	ctx := context.Background()
	hc, other = newHelpCenter(t, "plans"), newHelpCenter(t, "plans-other")
	tag = unique("plan")
	const n = 10000
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.DB.NewRaw(query, args...).Exec(ctx); err != nil {
			t.Fatalf("seed: %v\n%s", err, query)
		}
	}
	exec(`INSERT INTO contacts (email, name, verified)
		SELECT CASE WHEN g % 50 = 0 THEN NULL ELSE ? || '-' || g || '@example.com' END, 'Plan Person ' || g, g % 10 <> 0
		FROM generate_series(1, ?) AS g`, tag, n)
	contacts := `(SELECT id, row_number() OVER (ORDER BY id) AS g FROM contacts WHERE name LIKE 'Plan Person %' AND id >= (SELECT min(id) FROM contacts WHERE email LIKE ? || '-%'))`
	exec(`INSERT INTO portal_accounts (contact_id, scope) SELECT id, ? FROM `+contacts+` AS c`, hc.AccountScope(), tag)
	for _, h := range []*store.HelpCenter{hc, other} {
		exec(`INSERT INTO portal_access (account_id, help_center_id, status, invited_at)
			SELECT a.id, ?, (ARRAY['active','invited','deactivated','pending_approval','rejected'])[1 + (c.g % 5)], now()
			FROM `+contacts+` AS c JOIN portal_accounts a ON a.contact_id = c.id AND a.scope = ?`, h.ID, tag, hc.AccountScope())
		exec(`INSERT INTO invitations (id, help_center_id, contact_id, status, workflow_id, created_at, send_count, last_sent_at)
			SELECT gen_random_uuid(), ?, c.id,
				CASE WHEN c.g <= 600 THEN 'expired' WHEN c.g <= 1200 THEN 'revoked' WHEN c.g <= 1300 THEN 'undeliverable'
					WHEN c.g % 2 = 0 THEN 'accepted' ELSE 'pending' END,
				'invitation/plan/' || c.id, now() - (? - c.g) * interval '1 minute', 1, now()
			FROM `+contacts+` AS c`, h.ID, n, tag)
	}
	// Two emails a contact from each help center's invitations, under
	// the workflow IDs the invitations send them from.
	for _, h := range []*store.HelpCenter{hc, other} {
		exec(`INSERT INTO email_log (idempotency_key, kind, recipient, status, workflow_id, delivered_at)
			SELECT ? || '/' || ? || '/' || c.id || '/' || k, CASE WHEN k = 1 THEN 'invite' ELSE 'reminder' END,
				'plan-' || c.id || '@example.com', 'sent', 'invitation/' || ? || '/' || c.id, CASE WHEN c.g % 3 = 0 THEN now() END
			FROM `+contacts+` AS c, generate_series(1, 2) AS k`, tag, h.ID, h.Slug, tag)
	}
	// A hundred contacts declined: their invitation closed, which
	// withdrew their invited status.
	exec(`INSERT INTO invitation_declines (help_center_id, contact_id, invitation_id)
		SELECT ?, c.id, gen_random_uuid() FROM `+contacts+` AS c WHERE c.g BETWEEN 1301 AND 1400`, hc.ID, tag)
	exec(`DELETE FROM portal_access AS pa USING portal_accounts AS a, invitation_declines AS d
		WHERE pa.account_id = a.id AND a.contact_id = d.contact_id AND pa.help_center_id = d.help_center_id AND d.help_center_id = ?`, hc.ID)
	jobs = map[portal.Selection]*store.BulkJob{}
	for _, sel := range []portal.Selection{portal.SelectIDs, portal.SelectFilter, portal.SelectAll} {
		id := uuid.NewString()
		job := &store.BulkJob{ID: id, HelpCenterID: hc.ID, Selection: sel, WorkflowID: "bulk:" + id}
		if sel == portal.SelectFilter {
			job.Filter = &store.ContactFilter{Query: tag + "-123"}
		}
		if err := db.CreateBulkJob(ctx, job, nil); err != nil {
			t.Fatal(err)
		}
		jobs[sel] = job
	}
	exec(`INSERT INTO bulk_job_contacts (job_id, contact_id) SELECT ?, id FROM `+contacts+` AS c`, jobs[portal.SelectIDs].ID, tag)
	exec(`INSERT INTO bulk_job_results (job_id, contact_id, outcome) SELECT ?, id, 'invited' FROM `+contacts+` AS c`, jobs[portal.SelectIDs].ID, tag)
	// As autovacuum would: statistics for the planner, and the trigram
	// indexes' pending entries merged (until then a GIN index's cost is
	// guessed high and its pending list read whole).
	exec(`VACUUM ANALYZE contacts, portal_accounts, portal_access, invitations, bulk_job_contacts, bulk_job_results, email_log, invitation_declines`)
	return hc, other, tag, jobs
}

// seedNewestUsers gives a new help center 100 users on the newest
// contacts, each with an invitation and an email, two of them declined,
// and a job with a result for each of those contacts.
func seedNewestUsers(t *testing.T, tag string) (*store.HelpCenter, *store.BulkJob) {
	t.Helper()
	ctx := context.Background()
	hc := newHelpCenter(t, "plans-small")
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.DB.NewRaw(query, args...).Exec(ctx); err != nil {
			t.Fatalf("seed: %v\n%s", err, query)
		}
	}
	exec(`INSERT INTO contacts (email, name, verified) SELECT ? || '-newest-' || g || '@example.com', 'Newest ' || g, true
		FROM generate_series(1, 100) AS g`, tag)
	newest := `(SELECT id FROM contacts WHERE email LIKE ? || '-newest-%')`
	exec(`INSERT INTO portal_accounts (contact_id, scope) SELECT id, ? FROM `+newest+` AS c`, hc.AccountScope(), tag)
	exec(`INSERT INTO portal_access (account_id, help_center_id, status, invited_at)
		SELECT id, ?, 'invited', now() FROM portal_accounts WHERE scope = ?`, hc.ID, hc.AccountScope())
	exec(`INSERT INTO invitations (id, help_center_id, contact_id, status, workflow_id, send_count, last_sent_at)
		SELECT gen_random_uuid(), ?, c.id, 'pending', 'invitation/' || ? || '/' || c.id, 1, now() FROM `+newest+` AS c`, hc.ID, hc.Slug, tag)
	exec(`INSERT INTO email_log (idempotency_key, kind, recipient, status, workflow_id)
		SELECT ? || '/newest/' || c.id, 'invite', 'newest-' || c.id || '@example.com', 'sent', 'invitation/' || ? || '/' || c.id
		FROM `+newest+` AS c`, tag, hc.Slug, tag)
	exec(`INSERT INTO invitation_declines (help_center_id, contact_id, invitation_id)
		SELECT ?, c.id, gen_random_uuid() FROM (SELECT id FROM `+newest+` AS n ORDER BY id LIMIT 2) AS c`, hc.ID, tag)
	exec(`DELETE FROM portal_access AS pa USING portal_accounts AS a, invitation_declines AS d
		WHERE pa.account_id = a.id AND a.contact_id = d.contact_id AND pa.help_center_id = d.help_center_id AND d.help_center_id = ?`, hc.ID)
	id := uuid.NewString()
	job := &store.BulkJob{ID: id, HelpCenterID: hc.ID, Selection: portal.SelectAll, WorkflowID: "bulk:" + id}
	if err := db.CreateBulkJob(ctx, job, nil); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO bulk_job_results (job_id, contact_id, outcome) SELECT ?, id, 'invited' FROM `+newest+` AS c`, id, tag)
	exec(`VACUUM ANALYZE contacts, portal_accounts, portal_access, invitations, bulk_job_results, email_log, invitation_declines`)
	return hc, job
}

// Every list and export query reads what it returns through an index,
// however large the tables: checked on the real plans of the real queries
// with sequential scans discouraged, as the planner would at scale. The
// million-row figures are in the store benchmark.
func TestListAndExportQueriesReadOnlyWhatTheyReturn(t *testing.T) {
	ctx := context.Background()
	hc, _, tag, jobs := seedPlanData(t)
	capture := &queryCapture{}
	s := &store.Store{DB: db.DB.WithQueryHook(capture)}
	cctx := context.WithValue(ctx, captureKey{}, capture)

	// Cursors from the middle of each chain.
	var midContact, midAccount int64
	if err := db.DB.NewRaw(`SELECT id FROM contacts WHERE email = ?`, tag+"-5001@example.com").Scan(ctx, &midContact); err != nil {
		t.Fatal(err)
	}
	if err := db.DB.NewRaw(`SELECT a.id FROM portal_accounts a WHERE a.contact_id = ?`, midContact).Scan(ctx, &midAccount); err != nil {
		t.Fatal(err)
	}
	midInvitations, err := s.ListInvitations(ctx, store.InvitationFilter{HelpCenterID: hc.ID}, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	cases := map[string]func(context.Context) error{}
	for name, f := range map[string]store.ContactFilter{
		"all": {}, "verified": {Verified: &yes}, "unverified": {Verified: &no},
		"with email": {HasEmail: &yes}, "without email": {HasEmail: &no},
		"search matching nothing": {Query: "zqxjv"}, "search matching few": {Query: tag + "-123"},
		"search matching many": {Query: "example"}, "search and filter": {Query: "person", Verified: &no},
	} {
		cases["contacts "+name] = func(ctx context.Context) error {
			_, err := s.ListContacts(ctx, f, "", 50)
			return err
		}
		cases["contacts "+name+" from the middle"] = func(ctx context.Context) error {
			_, err := s.ListContacts(ctx, f, store.EncodeIDCursor(midContact), 50)
			return err
		}
	}
	for _, status := range []portal.InvitationStatus{"", portal.InvitationPending, portal.InvitationAccepted,
		portal.InvitationExpired, portal.InvitationRevoked, portal.InvitationUndeliverable} {
		cases["invitations "+string(status)] = func(ctx context.Context) error {
			_, err := s.ListInvitations(ctx, store.InvitationFilter{HelpCenterID: hc.ID, Status: status}, "", 50)
			return err
		}
		cases["invitations "+string(status)+" from the middle"] = func(ctx context.Context) error {
			_, err := s.ListInvitations(ctx, store.InvitationFilter{HelpCenterID: hc.ID, Status: status}, midInvitations.NextCursor, 50)
			return err
		}
	}
	for _, status := range []portal.AccessStatus{"", portal.AccessActive, portal.AccessInvited, portal.AccessDeactivated,
		portal.AccessPendingApproval, portal.AccessRejected} {
		cases["users "+string(status)] = func(ctx context.Context) error {
			_, err := s.ListUsers(ctx, hc.ID, status, "", 50)
			return err
		}
		cases["users "+string(status)+" from the middle"] = func(ctx context.Context) error {
			_, err := s.ListUsers(ctx, hc.ID, status, store.EncodeIDCursor(midAccount), 50)
			return err
		}
	}
	cases["users export"] = func(ctx context.Context) error {
		return s.EachExportUser(ctx, hc.ID, nil, func(store.ExportUser) error { return nil })
	}
	cases["users export of chosen users"] = func(ctx context.Context) error {
		return s.EachExportUser(ctx, hc.ID, []int64{midAccount, midAccount + 7, midAccount + 900}, func(store.ExportUser) error { return nil })
	}
	cases["bulk results"] = func(ctx context.Context) error {
		return s.EachBulkResult(ctx, jobs[portal.SelectIDs].ID, func(store.BulkResult) error { return nil })
	}
	// A small help center whose users' accounts and contacts are the
	// newest, and a job whose results are those contacts: a join that
	// read accounts or contacts from the first row (a merge join where a
	// probe by key was meant) would read every older one to return them.
	small, smallJob := seedNewestUsers(t, tag)
	cases["users of the small help center"] = func(ctx context.Context) error {
		_, err := s.ListUsers(ctx, small.ID, "", "", 50)
		return err
	}
	cases["users export of the small help center"] = func(ctx context.Context) error {
		return s.EachExportUser(ctx, small.ID, nil, func(store.ExportUser) error { return nil })
	}
	cases["bulk results of the newest contacts"] = func(ctx context.Context) error {
		return s.EachBulkResult(ctx, smallJob.ID, func(store.BulkResult) error { return nil })
	}
	for sel, job := range jobs {
		for _, after := range []int64{0, midContact} {
			cases[fmt.Sprintf("bulk page of a %s job after %d", sel, after)] = func(ctx context.Context) error {
				_, err := s.BulkPage(ctx, job, hc, after, 100)
				return err
			}
		}
	}

	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			if err := run(cctx); err != nil {
				t.Fatal(err)
			}
			queries := capture.take()
			if len(queries) == 0 {
				t.Fatal("no query captured")
			}
			for _, q := range queries {
				for _, p := range planProblems(t, q) {
					t.Errorf("%s\n  in %s", p, q)
				}
			}
		})
	}
}

// An export whose client went away (its request's context cancelled)
// runs no further query: each page is one short query, and the next one
// is never sent.
func TestExportsStopWhenTheirContextEnds(t *testing.T) {
	hc, _, _, jobs := seedPlanData(t)
	capture := &queryCapture{}
	s := &store.Store{DB: db.DB.WithQueryHook(capture)}
	for name, export := range map[string]func(context.Context, func()) error{
		"users": func(ctx context.Context, gone func()) error {
			return s.EachExportUser(ctx, hc.ID, nil, func(store.ExportUser) error { gone(); return nil })
		},
		"bulk results": func(ctx context.Context, gone func()) error {
			return s.EachBulkResult(ctx, jobs[portal.SelectIDs].ID, func(store.BulkResult) error { gone(); return nil })
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), captureKey{}, capture))
			defer cancel()
			err := export(ctx, cancel)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("export returned %v, want context.Canceled", err)
			}
			if q := capture.take(); len(q) != 1 {
				t.Fatalf("%d queries after the client went away during the first page, want only that page's:\n%s", len(q), strings.Join(q, "\n"))
			}
		})
	}
}
