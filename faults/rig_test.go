package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/portalaccess/portal/store"
)

// rig is everything one case runs on: its own database (reached by the
// portal through a proxy), its own dev server on a file database, the
// mail provider behind a proxy, and the portal's processes.
type rig struct {
	t        *testing.T
	dir      string
	dbURL    string // direct, for the suite's own queries and portal check
	db       *store.Store
	postgres *proxy
	temporal *devServer
	mail     *provider
	mailNet  *proxy
	adminKey string
	replicas []*replica
}

// replica is one copy of the portal: an API process and a worker process.
type replica struct {
	base   string
	api    *process
	worker *process
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRig starts the case's infrastructure and n replicas of the portal.
func newRig(t *testing.T, replicas int) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, dir: t.TempDir(), adminKey: "faults_admin_" + random(16)}
	r.dbURL = "postgres://postgres@127.0.0.1:5432/portal_faults_" + random(6) + "?sslmode=disable"
	if err := store.EnsureDatabase(ctx, r.dbURL); err != nil {
		t.Fatalf("create database (is Postgres running on 127.0.0.1:5432?): %v", err)
	}
	r.db = store.Open(r.dbURL)
	t.Cleanup(func() {
		_ = r.db.Close()
		_ = store.DropDatabase(context.Background(), r.dbURL)
	})
	r.postgres = newProxy(t, "postgres", "127.0.0.1:5432")
	r.mail = startProvider(t)
	r.mailNet = newProxy(t, "mail", r.mail.address())
	r.temporal = startDevServer(t, r.dir)

	// The real command applies the migrations.
	if out, err := r.command(ctx, "migrate").CombinedOutput(); err != nil {
		t.Fatalf("portal migrate: %v\n%s", err, out)
	}
	for i := range replicas {
		rep := &replica{}
		port := freePort(t)
		rep.base = fmt.Sprintf("http://127.0.0.1:%d", port)
		e := r.env(rep.base)
		e["HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
		rep.api = newProcess(t, r.dir, fmt.Sprintf("api-%d", i+1), e, "api")
		rep.worker = newProcess(t, r.dir, fmt.Sprintf("worker-%d", i+1), e, "worker")
		rep.api.start()
		rep.worker.start()
		r.replicas = append(r.replicas, rep)
	}
	for _, rep := range r.replicas {
		waitHealthy(t, rep.base)
	}
	return r
}

// command runs a one-off portal command (migrate, check) straight at
// Postgres, as an operator would.
func (r *rig) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, portalBinary(r.t), args...) //nolint:gosec // G204: the binary under test
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range r.env("") {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "DATABASE_URL="+r.dbURL)
	return cmd
}

// env is the portal's environment: Postgres and the provider through
// their proxies, Temporal direct.
func (r *rig) env(base string) map[string]string {
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	return map[string]string{
		"DATABASE_URL":     strings.Replace(r.dbURL, "127.0.0.1:5432", r.postgres.address(), 1),
		"TEMPORAL_ADDRESS": r.temporal.address,
		"PUBLIC_BASE_URL":  base,
		"MAIL_DRIVER":      "mailgun", "MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "key-faults",
		"MAILGUN_API_BASE":     r.mail.apiBase(r.mailNet.address()),
		"TOKEN_SECRET":         "faults-token-secret-" + strings.Repeat("x", 32),
		"PORTAL_ADMIN_API_KEY": r.adminKey,
		// Emails go out at a pace that keeps work in flight when the fault
		// comes, and the sweeper looks often.
		"MAIL_RATE_PER_SECOND": "15", "SWEEP_INTERVAL": "2s", "BULK_WINDOW": "100",
		// The mock lists a message in its events at once: an interrupted
		// send can be confirmed sooner than Mailgun's own indexing allows.
		"MAILGUN_TIMEOUT": "10s", "MAILGUN_EVENTS_DELAY": "30s",
		// Every customer of the suite posts from 127.0.0.1.
		"RATE_LIMIT_PER_IP": "100000/1m", "RATE_LIMIT_PER_TARGET": "100000/1m", "PASSWORD_HASH_WAIT": "1m",
	}
}
