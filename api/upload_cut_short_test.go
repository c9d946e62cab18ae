package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/metrics"
)

// TestAnUploadCutShortIsA400NotA5xx: a client that stops sending its CSV
// half way and hangs up is counted (and logged) as a 400, and nothing of
// the file is imported.
func TestAnUploadCutShortIsA400NotA5xx(t *testing.T) {
	const route = "/api/v1/contacts/import"
	bad := counterDelta(metrics.HTTPRequests.WithLabelValues(route, "POST", "400"))
	ours := counterDelta(metrics.HTTPRequests.WithLabelValues(route, "POST", "500"))
	u, err := url.Parse(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	tag := unique("cut")
	var rows strings.Builder
	rows.WriteString("email,name\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&rows, "%s-%d@example.com,Row %d\n", tag, i, i)
	}
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	// The header promises ten times the rows that come.
	if _, err := fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s",
		route, u.Host, app.AdminKey, rows.Len()*10, rows.String()); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server reads what came
	_ = conn.Close()

	deadline := time.Now().Add(15 * time.Second)
	for bad() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the cut upload was not counted as a 400 (500s: %v)", ours())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ours() != 0 {
		t.Fatalf("the cut upload was counted as a 500")
	}
	page := admin(t, "GET", "/api/v1/contacts?q="+tag, nil, 200)
	if items := page["items"].([]any); len(items) != 0 {
		t.Fatalf("a cut upload imported %d contacts", len(items))
	}
}
