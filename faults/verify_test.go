package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// outcome is what a case reports: the figures of the README's table.
type outcome struct {
	Case      string  `json:"case"`
	Fault     string  `json:"fault"`
	Happened  string  `json:"what_happened"`
	Lost      int     `json:"emails_lost"`
	Dupes     int     `json:"duplicates"`
	FirstMail float64 `json:"first_email_after_fault_s"`
	Recovered float64 `json:"recovered_s"`
	Retried   int64   `json:"client_retries"`
}

// settle waits, after the fault ended at faultEnd, for the work to be done:
// the job completed, every eligible contact emailed, every single invite
// and every accept answered. It returns how long after faultEnd the first
// invite email went out and when everything was done.
func (w *workload) settle(faultEnd time.Time, within time.Duration) (first, done time.Duration) {
	t := w.r.t
	t.Helper()
	deadline := faultEnd.Add(within)
	logged := time.Now()
	for {
		for _, m := range w.r.mail.messages() {
			if first == 0 && m.Kind == "invite" && m.At.After(faultEnd) {
				first = m.At.Sub(faultEnd)
			}
		}
		j := w.job()
		if j != nil && j.Status == "completed" && w.singlesDone() && w.acceptsDone() &&
			w.invitesDelivered() == len(w.bulk)+len(w.singles) {
			return first, time.Since(faultEnd)
		}
		if time.Since(logged) > 20*time.Second {
			logged = time.Now()
			t.Logf("%.0fs after the fault: job %v, %d of %d contacts emailed, singles done %t, accepts done %t",
				seconds(time.Since(faultEnd)), j, w.invitesDelivered(), len(w.bulk)+len(w.singles), w.singlesDone(), w.acceptsDone())
		}
		if time.Now().After(deadline) {
			t.Errorf("not settled %s after the fault: job %v, %d of %d contacts emailed, singles done %t, accepts done %t",
				within, j, w.invitesDelivered(), len(w.bulk)+len(w.singles), w.singlesDone(), w.acceptsDone())
			return first, time.Since(faultEnd)
		}
		time.Sleep(time.Second)
	}
}

// verify checks what every case must leave behind and fills in the lost
// and duplicated emails; the case fails on any of them.
func (w *workload) verify(o *outcome) {
	t := w.r.t
	t.Helper()
	ctx := context.Background()
	eligible := append(append([]contact(nil), w.bulk...), w.singles...)

	// Exactly one invitation for each eligible contact, none for the others.
	ids := make([]int64, 0, len(eligible))
	for _, c := range eligible {
		ids = append(ids, c.ID)
	}
	var wrong []struct {
		ContactID int64 `bun:"contact_id"`
		N         int   `bun:"n"`
	}
	err := w.r.db.DB.NewRaw(`SELECT c.id AS contact_id, count(i.id) AS n FROM contacts c
		LEFT JOIN invitations i ON i.contact_id = c.id AND i.help_center_id = (SELECT id FROM help_centers WHERE slug = ?)
		WHERE c.id IN (?) GROUP BY c.id HAVING count(i.id) <> 1`, w.slug, bun.List(ids)).Scan(ctx, &wrong)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range wrong {
		t.Errorf("contact %d has %d invitations, want exactly 1", r.ContactID, r.N)
	}
	var strays int
	if err := w.r.db.DB.NewRaw(`SELECT count(*) FROM invitations WHERE contact_id IN (?)`, bun.List(w.skipped)).Scan(ctx, &strays); err != nil {
		t.Fatal(err)
	}
	if strays != 0 {
		t.Errorf("%d invitations for contacts the job had to skip", strays)
	}

	// At least one invite email each, and no link emailed twice.
	invites, perToken, welcomes := map[string]int{}, map[string]int{}, map[string]int{}
	for _, m := range w.r.mail.messages() {
		switch m.Kind {
		case "invite":
			invites[m.To]++
			perToken[m.Token]++
		case "welcome":
			welcomes[m.To]++
		}
	}
	for _, c := range eligible {
		if invites[c.Email] == 0 {
			o.Lost++
		}
	}
	for token, n := range perToken {
		if n > 1 {
			o.Dupes += n - 1
			t.Errorf("one link emailed %d times (token %s...)", n, token[:min(6, len(token))])
		}
	}
	if o.Lost > 0 {
		t.Errorf("%d eligible contacts never got an invite email", o.Lost)
	}

	// No accept lost or applied twice: every customer told the account
	// is active has one accepted invitation, a password and active
	// access; nobody else was accepted; one welcome at most.
	var accepted []struct {
		Email    string `bun:"email"`
		N        int    `bun:"n"`
		Password bool   `bun:"password"`
		Active   bool   `bun:"active"`
	}
	err = w.r.db.DB.NewRaw(`SELECT c.email, count(*) AS n, bool_and(a.password_hash IS NOT NULL) AS password, bool_and(pa.status = 'active') AS active
		FROM invitations i JOIN help_centers h ON h.id = i.help_center_id JOIN contacts c ON c.id = i.contact_id
		LEFT JOIN portal_accounts a ON a.contact_id = c.id AND a.scope = 'help_center:' || h.id
		LEFT JOIN portal_access pa ON pa.account_id = a.id AND pa.help_center_id = h.id
		WHERE h.slug = ? AND i.status = 'accepted' GROUP BY c.email`, w.slug).Scan(ctx, &accepted)
	if err != nil {
		t.Fatal(err)
	}
	byEmail := map[string]bool{}
	for _, a := range accepted {
		byEmail[a.Email] = true
		switch {
		case w.acceptedHow(a.Email) == "":
			t.Errorf("%s accepted, but no customer of theirs was told so", a.Email)
		case a.N != 1:
			t.Errorf("%s has %d accepted invitations: an accept applied twice", a.Email, a.N)
			o.Dupes++
		case !a.Password || !a.Active:
			t.Errorf("%s accepted without a password (%t) or active access (%t)", a.Email, a.Password, a.Active)
		}
		if welcomes[a.Email] > 1 {
			t.Errorf("%s got %d welcome emails", a.Email, welcomes[a.Email])
			o.Dupes += welcomes[a.Email] - 1
		}
	}
	for _, c := range w.accepting {
		if how := w.acceptedHow(c.Email); how != "" && !byEmail[c.Email] {
			t.Errorf("accept of %s lost: the customer was told %q, the invitation is not accepted", c.Email, how)
		}
	}

	// The job's counts add up.
	j := w.job()
	switch {
	case j == nil:
		t.Error("bulk job unreadable at the end")
	case j.Status != "completed" || j.Total != bulkEligible+bulkNoEmail+bulkUnverified || j.Processed != j.Total ||
		j.Invited+j.AlreadyInvited != bulkEligible || j.Failed != 0 ||
		j.Skipped["no_email"] != bulkNoEmail || j.Skipped["unverified"] != bulkUnverified:
		t.Errorf("bulk job counts don't add up: %v", j)
	}

	w.check()
}

// check runs the operator's command, `portal check -json`, and fails on
// any finding it prints.
func (w *workload) check() {
	t := w.r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := w.r.command(ctx, "check", "-json", "-grace", "30s")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		t.Errorf("portal check: %s", sc.Text())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("portal check: %v\n%s", err, errOut.String())
	}
	if err != nil {
		t.Errorf("portal check exited %d: %s", exit.ExitCode(), strings.TrimSpace(errOut.String()))
	}
}

var reportMu sync.Mutex

// report logs the case's figures and appends them to FAULTS_REPORT (a
// JSON object a line), from which the README's table is filled.
func report(t *testing.T, o outcome) {
	t.Helper()
	t.Logf("%s | %s | lost %d | duplicates %d | first email %.0fs after | recovered in %.0fs | %d client retries",
		o.Fault, o.Happened, o.Lost, o.Dupes, o.FirstMail, o.Recovered, o.Retried)
	path := os.Getenv("FAULTS_REPORT")
	if path == "" {
		return
	}
	reportMu.Lock()
	defer reportMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) //nolint:gosec // G304: the report path make faults names
	if err != nil {
		t.Errorf("report: %v", err)
		return
	}
	defer func() { _ = f.Close() }()
	if err := json.NewEncoder(f).Encode(o); err != nil {
		t.Errorf("report: %v", err)
	}
}

// seconds rounds a duration for the report.
func seconds(d time.Duration) float64 { return float64(d.Round(time.Second)) / float64(time.Second) }
