package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/testenv"
)

// Tests of what slow, long or oversized requests can make the server do.

// idleTransactions counts the sessions of the test database holding a
// transaction open while they wait (for a client, say).
func idleTransactions(t *testing.T) int {
	t.Helper()
	var n int
	if err := app.Service.Store.DB.NewRaw(`SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An upload that trickles in is written to a temporary file before the
// import opens its transaction: while the client is still sending, no
// database connection waits on it.
func TestASlowUploadHoldsNoDatabaseConnection(t *testing.T) {
	tag := unique("slow")
	pr, pw := io.Pipe()
	answered := make(chan response, 1)
	go func() { answered <- postImport(t, "text/csv", pr) }()
	if _, err := fmt.Fprintf(pw, "email,name\n%s-1@example.com,Slow One\n", tag); err != nil {
		t.Fatal(err)
	}
	// The handler has the first rows; the upload has not ended.
	held := 0
	for range 5 {
		time.Sleep(300 * time.Millisecond)
		if idleTransactions(t) > 0 {
			held++
		}
	}
	if held >= 3 {
		t.Fatalf("a transaction waited on the slow upload in %d of 5 looks", held)
	}
	if _, err := fmt.Fprintf(pw, "%s-2@example.com,Slow Two\n", tag); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	if rep := decodeReport(t, <-answered); rep.Created != 2 || rep.RejectedCount != 0 {
		t.Fatalf("report %+v, want 2 created", rep)
	}
}

// A field far longer than any contact's makes its row a rejected one,
// with its line, and the rows around it are imported.
func TestAnOverlongImportRowIsRejectedNotRead(t *testing.T) {
	tag := unique("long")
	file := fmt.Sprintf("email,name\n%s-1@example.com,Fine\n%s-2@example.com,\"%s\nstill the same field\"\n%s-3@example.com,Fine Too\n",
		tag, tag, strings.Repeat("x", 2<<20), tag)
	rep := importFile(t, file)
	if rep.Created != 2 || rep.RejectedCount != 1 || rep.Rejected[0].Line != 3 || !strings.HasPrefix(rep.Rejected[0].Reason, "row longer than") {
		t.Fatalf("report %+v, want rows 2 and 5 imported and line 3 rejected as too long", rep)
	}
	if _, ok := contactsMatching(t, tag+"-3@")[tag+"-3@example.com"]; !ok {
		t.Fatalf("the row after the long one was not imported")
	}
}

// An export that takes longer than the server's write timeout completes
// while its client keeps reading: the stream moves its own deadline.
func TestALongExportOutlivesTheWriteTimeout(t *testing.T) {
	ctx := context.Background()
	p, err := testenv.StartPortal(ctx, databaseURL, temporalAddress, testenv.Options{
		Env: map[string]string{"HTTP_WRITE_TIMEOUT": "2s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	const rows = 60000
	actor := unique("exporter-")
	if _, err := app.Service.Store.DB.NewRaw(`INSERT INTO audit_events (actor, action, target, details)
		SELECT ?, 'contact.updated', 'contact:' || g, jsonb_build_object('fields', 'name')
		FROM generate_series(1, ?) AS g`, actor, rows).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/api/v1/audit-events.csv?actor="+actor, nil)
	req.Header.Set("Authorization", "Bearer "+p.AdminKey)
	started := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// A client that reads steadily, but slowly: about 1 MB a second, so
	// the export lasts several write timeouts.
	var body strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("export cut after %s and %d bytes: %v", time.Since(started), body.Len(), err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	took := time.Since(started)
	records, err := csv.NewReader(strings.NewReader(body.String())).ReadAll()
	if err != nil || len(records) != rows+1 {
		t.Fatalf("export of %d events: %d records (%v) after %s", rows, len(records), err, took)
	}
	if took < 4*time.Second {
		t.Fatalf("the export took %s: too quick to prove it outlives a 2s write timeout", took)
	}
	// Reading the trail out is itself in the trail, with its filters.
	var exports int
	if err := app.Service.Store.DB.NewRaw(`SELECT count(*) FROM audit_events WHERE action = 'audit_events.exported' AND details->>'actor' = ?`,
		actor).Scan(ctx, &exports); err != nil || exports != 1 {
		t.Fatalf("%d audit_events.exported events for the export (%v), want 1", exports, err)
	}
}
