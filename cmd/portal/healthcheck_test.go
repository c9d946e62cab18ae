package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthURLAsksLoopbackWhenListeningEverywhere(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":           "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":    "http://127.0.0.1:9000/healthz",
		"[::]:8080":       "http://127.0.0.1:8080/healthz",
		"127.0.0.1:18080": "http://127.0.0.1:18080/healthz",
		"[::1]:8080":      "http://[::1]:8080/healthz",
		"localhost:8080":  "http://localhost:8080/healthz",
	} {
		if got, err := healthURL(addr); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL("8080"); err == nil {
		t.Error("healthURL accepted an address without a port")
	}
}

func TestHealthcheckSucceedsOnlyOn200(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	ctx := context.Background()

	if err := healthcheck(ctx, []string{"-url", srv.URL + "/healthz"}); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := healthcheck(ctx, []string{"-url", srv.URL + "/healthz"}); err == nil {
		t.Fatal("a 503 passed the health check")
	}
	srv.Close()
	if err := healthcheck(ctx, []string{"-url", srv.URL + "/healthz"}); err == nil {
		t.Fatal("a server that is gone passed the health check")
	}
}
