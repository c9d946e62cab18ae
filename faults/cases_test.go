package faults

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// settleWithin bounds the wait for the work to be done after a fault. It
// is a liveness bound, not a performance target: on an idle machine each
// case settles within 2 to 3 minutes of its fault, and a busy one (CI on
// two shared cores) can take several times that.
const settleWithin = 10 * time.Minute

// midway starts the workload and returns once the job is under way: 100
// invite emails out, most still to go, singles and accepts in flight.
func midway(t *testing.T, r *rig) (*workload, string) {
	t.Helper()
	w := newWorkload(r)
	w.seed()
	w.startBulk()
	w.run()
	deadline := time.Now().Add(settleWithin)
	for w.invitesDelivered() < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("the job sent %d invite emails in %s", w.invitesDelivered(), settleWithin)
		}
		time.Sleep(200 * time.Millisecond)
	}
	at := fmt.Sprintf("%d of %d emailed", w.invitesDelivered(), len(w.bulk)+len(w.singles))
	if j := w.job(); j != nil {
		at += fmt.Sprintf(", job %d of %d processed", j.Processed, j.Total)
	}
	t.Logf("fault injected at %s", at)
	return w, at
}

// finish waits for the work to be done after the fault, checks it and
// reports the figures.
func finish(t *testing.T, w *workload, o outcome, faultEnd time.Time, within time.Duration) {
	t.Helper()
	first, done := w.settle(faultEnd, within)
	w.halt()
	o.FirstMail, o.Recovered, o.Retried = seconds(first), seconds(done), w.failures.Load()
	w.verify(&o)
	report(t, o)
}

// For 2 minutes the mail provider answers 503 to two calls in three, and
// on half the connections the answer never comes back (a timeout after
// the provider took the message, the outcome unknown to the sender).
func TestMailProviderFailingFor2m(t *testing.T) {
	gate(t)
	t.Parallel()
	r := newRig(t, 1)
	w, at := midway(t, r)
	r.mail.failing.Store(true)
	r.mailNet.addToxic(`{"name": "hang", "type": "timeout", "stream": "downstream", "toxicity": 0.5, "attributes": {"timeout": 0}}`)
	time.Sleep(2 * time.Minute)
	r.mailNet.removeToxic("hang")
	r.mail.failing.Store(false)
	end := time.Now()
	finish(t, w, outcome{Case: t.Name(), Fault: "Mail provider: 503s and timeouts for 2 min",
		Happened: fmt.Sprintf("from %s on; %d calls answered 503, answers lost on half the connections; sends retried with backoff, interrupted ones confirmed with the provider first", at, r.mail.refused.Load())}, end, settleWithin)
}

// Postgres refuses connections for 60 s (the proxy stops listening and
// cuts every open connection), then comes back.
func TestPostgresUnreachableFor60s(t *testing.T) {
	gate(t)
	t.Parallel()
	r := newRig(t, 1)
	w, at := midway(t, r)
	r.postgres.cut()
	time.Sleep(60 * time.Second)
	r.postgres.restore()
	end := time.Now()
	finish(t, w, outcome{Case: t.Name(), Fault: "Postgres unreachable for 60 s",
		Happened: "cut at " + at + "; database steps and the API retried, no workflow failed"}, end, settleWithin)
}

// The Temporal dev server is SIGKILLed and started again on its file
// database.
func TestTemporalKilledAndRestarted(t *testing.T) {
	gate(t)
	t.Parallel()
	r := newRig(t, 1)
	w, at := midway(t, r)
	r.temporal.kill()
	time.Sleep(10 * time.Second)
	down := time.Now()
	r.temporal.start()
	end := time.Now()
	finish(t, w, outcome{Case: t.Name(), Fault: "Temporal dev server SIGKILLed, restarted on its file database",
		Happened: fmt.Sprintf("killed at %s; started again after 10 s down, answering %.0f s later; workers and clients reconnected", at, seconds(end.Sub(down)))}, end, settleWithin)
}

// Two replicas (API and worker each) share the work, sweepers of both
// running; one is SIGKILLed whole.
func TestReplicaKilled(t *testing.T) {
	gate(t)
	t.Parallel()
	r := newRig(t, 2)
	w, at := midway(t, r)
	r.replicas[0].api.kill()
	r.replicas[0].worker.kill()
	end := time.Now()
	finish(t, w, outcome{Case: t.Name(), Fault: "One of two replicas (API + worker) SIGKILLed",
		Happened: "killed at " + at + "; the other replica's worker took over its tasks, clients moved to its API"}, end, settleWithin)
}

// The API process dies after each step of an accept (the password staged,
// the update admitted, the update applied); the customer submits again
// once it is back.
func TestAPIKilledAtEveryAcceptStep(t *testing.T) {
	gate(t)
	t.Parallel()
	r := newRig(t, 1)
	w, at := midway(t, r)
	api := r.replicas[0].api
	base := r.replicas[0].base
	var happened []string
	var slowest time.Duration
	for i, point := range []string{"accept-staged", "accept-admitted", "accept-applied"} {
		c := w.bulk[100+i]
		for deadline := time.Now().Add(settleWithin); w.latestToken(c.Email) == ""; {
			if time.Now().After(deadline) {
				t.Fatalf("no invite email for %s", c.Email)
			}
			time.Sleep(200 * time.Millisecond)
		}
		api.kill()
		api.start("PORTAL_CRASH_POINT=" + point)
		waitHealthy(t, base)
		if status := w.tryAccept(c, base); status != 0 {
			t.Fatalf("accept with the API set to die at %s answered %d", point, status)
		}
		if !api.exited(30 * time.Second) {
			t.Fatalf("the API did not die at %s", point)
		}
		died := time.Now()
		api.start()
		waitHealthy(t, base)
		status := 0
		for deadline := time.Now().Add(settleWithin); status != http.StatusSeeOther && status != http.StatusConflict; {
			if time.Now().After(deadline) {
				t.Fatalf("the accept submitted again after %s never got an answer (last %d)", point, status)
			}
			status = w.tryAccept(c, base)
			if status != http.StatusSeeOther && status != http.StatusConflict {
				time.Sleep(time.Second)
			}
		}
		slowest = max(slowest, time.Since(died))
		// From here the checks hold this customer to the same rules.
		w.addCustomer(c)
		happened = append(happened, fmt.Sprintf("%s: %s", point, map[int]string{http.StatusSeeOther: "accepted on the retry", http.StatusConflict: "already active"}[status]))
	}
	end := time.Now()
	finish(t, w, outcome{Case: t.Name(), Fault: "API process killed after each step of an accept",
		Happened: fmt.Sprintf("from %s on; %s; slowest customer answer %.0f s after the crash", at, strings.Join(happened, ", "), seconds(slowest))}, end, settleWithin)
}
