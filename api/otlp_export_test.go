package api_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/portalaccess/portal/testenv"
)

// collector is an OTLP/gRPC trace receiver that keeps span names.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names []string
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.names = append(c.names, s.GetName())
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the portal's spans reach the
// collector over OTLP/gRPC: the request's and the email activity's.
func TestSpansAreExportedToTheOTLPEndpoint(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	recv := &collector{}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, recv)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress, testenv.Options{Env: map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + ln.Addr().String(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	slug := newHelpCenter(t, "unique")
	email := unique("otlp") + "@example.com"
	contact := newContact(t, email, true)
	if r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}); r.Status >= 300 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	waitForMailOn(t, p.URL, email, "invite", 30*time.Second)
	p.Stop() // flushes the batch

	recv.mu.Lock()
	defer recv.mu.Unlock()
	for _, want := range []string{"POST /api/v1/help-centers/:slug/invitations", "RunActivity:SendInvitation"} {
		if !slices.Contains(recv.names, want) {
			t.Errorf("collector lacks span %q; got %v", want, recv.names)
		}
	}
}
