package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A worker process told to stop (SIGTERM) while an email is with the
// provider lets the send finish and records it, then exits 0: the email
// goes out once and is on record as sent, nothing is lost or repeated.
func TestWorkerStopsGracefullyOnSIGTERMDuringAnEmailSend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the portal binary")
	}
	var sends, finished atomic.Int32
	arrived := make(chan struct{}, 10)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
			http.NotFound(w, r)
			return
		}
		sends.Add(1)
		arrived <- struct{}{}
		select { // a slow provider: the stop signal lands mid-send
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
			return // the worker cut the send short
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"<graceful@mg.example.com>","message":"Queued. Thank you."}`))
		finished.Add(1)
	}))
	defer provider.Close()

	p, w := splitPortal(t, map[string]string{
		"MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "key-test",
		"MAILGUN_API_BASE": provider.URL + "/v3", "WORKER_STOP_TIMEOUT": "20s",
	})
	// Taken after the API has its port, so the two can't be handed the same.
	metricsAddr := freeAddress(t)
	w = w.with("METRICS_ADDR=" + metricsAddr)
	w.start()
	defer w.kill()

	slug := newHelpCenter(t, "unique")
	email := unique("graceful") + "@example.com"
	contact := newContact(t, email, true)
	if r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}); r.Status >= 300 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker never sent the invitation")
	}
	// The worker process serves its metrics on METRICS_ADDR, the SDK's
	// included: the email activity it is running shows in its slots.
	if m := callOn(t, "http://"+metricsAddr, "", "GET", "/metrics", nil); m.Status != http.StatusOK ||
		!strings.Contains(string(m.Body), "temporal_worker_task_slots_used") || !strings.Contains(string(m.Body), "portal_emails_total") {
		t.Fatalf("worker /metrics: %d %.500s", m.Status, m.Body)
	}
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			log, _ := os.ReadFile(w.log.Name())
			t.Fatalf("worker exit after SIGTERM: %v\n%s", err, log)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the worker did not stop within its stop timeout")
	}
	if sends.Load() != 1 || finished.Load() != 1 {
		t.Fatalf("provider saw %d sends, %d answered; want the one send finished", sends.Load(), finished.Load())
	}
	var status string
	if err := app.Service.Store.DB.NewRaw(`SELECT status FROM email_log WHERE recipient = ? AND kind = 'invite'`, email).
		Scan(context.Background(), &status); err != nil {
		t.Fatal(err)
	}
	if status != "sent" {
		t.Fatalf("email_log status %q after a graceful stop, want sent", status)
	}
	log, _ := os.ReadFile(w.log.Name())
	for _, want := range []string{"workers stopping", "workers stopped"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("worker log lacks %q:\n%s", want, log)
		}
	}
}
