package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portalaccess/portal/credentials"
)

// The workload of every case.
const (
	bulkEligible   = 500 // verified contacts with an address, in the bulk job
	bulkNoEmail    = 10  // in the bulk job, skipped: no address
	bulkUnverified = 10  // in the bulk job, skipped: not verified
	singles        = 30  // invited one by one through the API while the job runs
	acceptsBulk    = 20  // bulk contacts who accept their invitation
	acceptsSingle  = 10  // single-invite contacts who accept theirs
)

// contact is one seeded contact the workload follows.
type contact struct {
	ID    int64
	Email string
}

// workload drives the portal as its users do: an admin's bulk job and
// single invites, and customers accepting from the emails they got. Every
// request is retried until it gets a final answer, on any replica that
// answers, as a client behind a load balancer would.
type workload struct {
	r         *rig
	slug      string
	bulk      []contact // eligible contacts of the bulk job
	skipped   []int64   // contacts the job must skip
	singles   []contact
	accepting []contact // contacts who accept, from both groups
	jobID     string

	http     *http.Client
	next     atomic.Int64
	failures atomic.Int64 // answers a client had to retry: 5xx or no connection
	mu       sync.Mutex
	invited  map[int64]bool    // single invites answered 202
	accepted map[string]string // email -> how the accept ended: "accepted" or "already accepted"
	password string
	stop     chan struct{}
	wg       sync.WaitGroup
}

func newWorkload(r *rig) *workload {
	return &workload{r: r, invited: map[int64]bool{}, accepted: map[string]string{},
		password: "faults-" + random(8), stop: make(chan struct{}),
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// seed creates the help center through the API and the contacts in
// Postgres (the import is not what is under test).
func (w *workload) seed() {
	t := w.r.t
	t.Helper()
	w.slug = "faults-" + random(4)
	status, body := w.call(http.MethodPost, "/api/v1/help-centers", map[string]any{"slug": w.slug, "name": "Faults", "user_base": "unique"}, "")
	if status != http.StatusCreated {
		t.Fatalf("create help center: %d %s", status, body)
	}
	insert := func(label string, n int, withEmail, verified bool) []contact {
		var rows []contact
		err := w.r.db.DB.NewRaw(`INSERT INTO contacts (email, name, verified)
			SELECT CASE WHEN ? THEN ? || '-' || g || '@example.com' END, 'Faults ' || ? || ' ' || g, ?
			FROM generate_series(1, ?) AS g RETURNING id, coalesce(email, '') AS email`,
			withEmail, w.slug+"-"+label, label, verified, n).Scan(context.Background(), &rows)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	w.bulk = insert("bulk", bulkEligible, true, true)
	for _, c := range append(insert("noemail", bulkNoEmail, false, true), insert("unverified", bulkUnverified, true, false)...) {
		w.skipped = append(w.skipped, c.ID)
	}
	w.singles = insert("single", singles, true, true)
	// Customers late in the job, whose emails come during or after the
	// fault, and the first singles.
	w.accepting = append(append([]contact(nil), w.bulk[200:200+acceptsBulk]...), w.singles[:acceptsSingle]...)
}

// startBulk asks for the bulk invite until the API takes it; the
// Idempotency-Key makes every retry the same job.
func (w *workload) startBulk() {
	t := w.r.t
	ids := make([]int64, 0, len(w.bulk)+len(w.skipped))
	for _, c := range w.bulk {
		ids = append(ids, c.ID)
	}
	ids = append(ids, w.skipped...)
	key := "faults-bulk-" + w.slug
	for deadline := time.Now().Add(5 * time.Minute); ; {
		status, body := w.call(http.MethodPost, "/api/v1/help-centers/"+w.slug+"/invitations/bulk", map[string]any{"contact_ids": ids}, key)
		if status == http.StatusAccepted {
			var v struct{ ID string }
			_ = json.Unmarshal(body, &v)
			w.jobID = v.ID
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulk invite never accepted: %d %s", status, body)
		}
		time.Sleep(time.Second)
	}
}

// run starts the single invites (one every 1.5 s) and the customers'
// accepts in the background, until stopped or done.
func (w *workload) run() {
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		for _, c := range w.singles {
			select {
			case <-w.stop:
				return
			case <-time.After(1500 * time.Millisecond):
			}
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.inviteOne(c)
			}()
		}
	}()
	go func() {
		defer w.wg.Done()
		for !w.acceptsDone() {
			select {
			case <-w.stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			for _, c := range w.customers() {
				if w.acceptedHow(c.Email) == "" {
					w.tryAccept(c, "")
				}
			}
		}
	}()
}

// inviteOne invites a contact until the API answers 202.
func (w *workload) inviteOne(c contact) {
	for {
		status, _ := w.call(http.MethodPost, "/api/v1/help-centers/"+w.slug+"/invitations", map[string]any{"contact_id": c.ID}, "")
		if status == http.StatusAccepted || status == http.StatusUnprocessableEntity {
			// 422 already_active: accepted since an earlier try.
			w.mu.Lock()
			w.invited[c.ID] = true
			w.mu.Unlock()
			return
		}
		select {
		case <-w.stop:
			return
		case <-time.After(time.Second):
		}
	}
}

// latestToken is the link of the newest invite email the contact got.
func (w *workload) latestToken(email string) string {
	token := ""
	for _, m := range w.r.mail.messages() {
		if m.To == email && m.Kind == "invite" && m.Token != "" {
			token = m.Token
		}
	}
	return token
}

// tryAccept posts the accept form once, as the customer's browser does,
// on the given base URL (empty: any replica); it returns the status, or
// 0 when no answer came.
func (w *workload) tryAccept(c contact, base string) int {
	token := w.latestToken(c.Email)
	if token == "" {
		return 0
	}
	csrf := credentials.Random()
	form := url.Values{"token": {token}, "password": {w.password}, "password_confirm": {w.password}, "csrf_token": {csrf}}
	status := 0
	w.each(base, func(b string) bool {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, b+"/portal/"+w.slug+"/invitations/accept", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", "portal_csrf="+csrf)
		resp, err := w.http.Do(req)
		if err != nil {
			w.failures.Add(1)
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		status = resp.StatusCode
		return true
	})
	switch status {
	case http.StatusSeeOther:
		w.setAccepted(c.Email, "accepted")
	case http.StatusConflict:
		w.setAccepted(c.Email, "already accepted")
	case 0:
	default:
		if status >= 500 {
			w.failures.Add(1)
		}
	}
	return status
}

func (w *workload) setAccepted(email, how string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.accepted[email] == "" {
		w.accepted[email] = how
	}
}

func (w *workload) acceptedHow(email string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.accepted[email]
}

// acceptsDone tells whether every customer who accepts got an answer.
func (w *workload) acceptsDone() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.accepting {
		if w.accepted[c.Email] == "" {
			return false
		}
	}
	return true
}

// customers are the contacts who accept, for the background accepts.
func (w *workload) customers() []contact {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]contact(nil), w.accepting...)
}

// addCustomer adds a contact who accepted outside the background loop,
// so the checks hold it to the same rules.
func (w *workload) addCustomer(c contact) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.accepting = append(w.accepting, c)
}

func (w *workload) singlesDone() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.invited) == len(w.singles)
}

// halt stops the background clients and waits for them.
func (w *workload) halt() {
	close(w.stop)
	w.wg.Wait()
}

// each offers the request to base, or to the replicas in turn starting
// with the next one, until do reports an answer.
func (w *workload) each(base string, do func(base string) bool) {
	if base != "" {
		do(base)
		return
	}
	n := len(w.r.replicas)
	start := int(w.next.Add(1))
	for i := range n {
		if do(w.r.replicas[(start+i)%n].base) {
			return
		}
	}
}

// call sends an admin's API request to a replica that answers and
// returns the status and body (0 when none answered).
func (w *workload) call(method, path string, body any, idempotencyKey string) (int, []byte) {
	b, _ := json.Marshal(body)
	status, out := 0, []byte(nil)
	w.each("", func(base string) bool {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(context.Background(), method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+w.r.adminKey)
		req.Header.Set("Content-Type", "application/json")
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		resp, err := w.http.Do(req)
		if err != nil {
			w.failures.Add(1)
			return false
		}
		defer func() { _ = resp.Body.Close() }()
		out, _ = io.ReadAll(resp.Body)
		status = resp.StatusCode
		if status >= 500 {
			w.failures.Add(1)
		}
		return true
	})
	return status, out
}

// job reads the bulk job through the API (nil when no replica answered).
func (w *workload) job() *bulkJob {
	status, body := w.call(http.MethodGet, "/api/v1/bulk-invitations/"+w.jobID, nil, "")
	if status != http.StatusOK {
		return nil
	}
	var j bulkJob
	if err := json.Unmarshal(body, &j); err != nil {
		return nil
	}
	return &j
}

type bulkJob struct {
	Status         string         `json:"status"`
	Total          int            `json:"total"`
	Processed      int            `json:"processed"`
	Invited        int            `json:"invited"`
	AlreadyInvited int            `json:"already_invited"`
	Failed         int            `json:"failed"`
	Skipped        map[string]int `json:"skipped"`
}

func (j *bulkJob) String() string {
	return fmt.Sprintf("%s: %d of %d processed, %d invited, %d already invited, %d failed, skipped %v",
		j.Status, j.Processed, j.Total, j.Invited, j.AlreadyInvited, j.Failed, j.Skipped)
}

// invitesDelivered counts the eligible contacts (bulk and single) with
// at least one invite email the provider accepted.
func (w *workload) invitesDelivered() int {
	got := map[string]bool{}
	for _, m := range w.r.mail.messages() {
		if m.Kind == "invite" {
			got[m.To] = true
		}
	}
	n := 0
	for _, c := range append(append([]contact(nil), w.bulk...), w.singles...) {
		if got[c.Email] {
			n++
		}
	}
	return n
}
