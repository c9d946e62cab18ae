package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/portalaccess/portal/testenv"
)

var metricName = regexp.MustCompile(`\b(?:portal|temporal)_[a-z0-9_]+\b`)

// opsQueries returns every PromQL expression of the shipped alert rules
// and dashboard, by where it is.
func opsQueries(t *testing.T) map[string]string {
	t.Helper()
	queries := map[string]string{}
	raw, err := os.ReadFile("../ops/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string
				Expr        string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %q needs a name, an expression, a severity and a summary", r.Alert)
			}
			queries["alert "+r.Alert] = r.Expr
		}
	}
	raw, err = os.ReadFile("../ops/grafana/portal.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("portal.json: %v", err)
	}
	for _, p := range dash.Panels {
		for i, q := range p.Targets {
			queries["panel "+p.Title+" #"+string(rune('A'+i))] = q.Expr
		}
	}
	if len(queries) < 20 {
		t.Fatalf("only %d queries in the shipped alerts and dashboard", len(queries))
	}
	return queries
}

// Every metric the shipped alert rules and Grafana dashboard query is one
// the portal exports: scraped from a portal that has just sent and revoked
// an invitation, or, for the SDK's failure counters (exported once a failure
// happens), named in the Temporal SDK this build uses.
func TestDashboardAndAlertsUseOnlyExportedMetrics(t *testing.T) {
	queries := opsQueries(t)
	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress, testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	slug := newHelpCenter(t, "unique")
	email := unique("metrics") + "@example.com"
	contact := newContact(t, email, true)
	r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact})
	if r.Status >= 300 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	waitForMailOn(t, p.URL, email, "invite", 30*time.Second)
	// The invitation's emails go in its workflow tasks; the revoke's
	// close is a regular activity, whose latencies the SDK then exports.
	if rv := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/invitations/"+r.json(t)["id"].(string)+"/revoke", nil); rv.Status != 200 {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	exported := scrape(t, p)
	for _, name := range []string{"portal_http_requests_total", "portal_invitations_total", "portal_emails_total",
		"portal_bulk_jobs_running", "temporal_activity_schedule_to_start_latency_seconds_bucket"} {
		if !exported[name] {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	sdkNames := sdkMetricNames(t)
	for where, q := range queries {
		for _, name := range metricName.FindAllString(q, -1) {
			if exported[name] {
				continue
			}
			if base, ok := strings.CutSuffix(name, "_total"); ok && strings.HasPrefix(name, "temporal_") && sdkNames[base] {
				continue
			}
			t.Errorf("%s uses %s, which the portal does not export", where, name)
		}
	}
}

// sdkMetricNames are the metric names the Temporal SDK in go.mod defines.
func sdkMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "common", "metrics", "constants.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`TemporalMetricsPrefix \+ "([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		names["temporal_"+m[1]] = true
	}
	if len(names) < 20 {
		t.Fatalf("found %d SDK metric names; has the SDK moved its constants?", len(names))
	}
	return names
}

// The alert rules and every dashboard query are valid PromQL, as
// Prometheus's own promtool reads them (Debian's prometheus package; CI
// installs it, and the test says so and skips where it is missing).
func TestAlertRulesAndDashboardQueriesParse(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	queries := opsQueries(t)
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	i := 0
	for where, q := range queries {
		if !strings.HasPrefix(where, "panel ") {
			continue
		}
		i++
		expr, _ := json.Marshal(q)
		fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %s\n", i, expr)
	}
	dash := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(dash, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), promtool, "check", "rules", "../ops/prometheus/alerts.yml", dash).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
