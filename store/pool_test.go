package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/portalaccess/portal/store"
)

// TestPoolKeepsItsConnections runs queries eight at a time and checks
// that the pool reused its connections: with database/sql's default of
// two idle ones, every query past the second opened a connection, and
// Postgres forked a backend for it.
func TestPoolKeepsItsConnections(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	pids := map[int]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				var pid int
				if err := db.DB.NewRaw("SELECT pg_backend_pid() FROM pg_sleep(0.002)").Scan(ctx, &pid); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				pids[pid] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(pids) > store.DefaultMaxConns {
		t.Errorf("200 queries ran on %d backends; the pool holds at most %d", len(pids), store.DefaultMaxConns)
	}
	if closed := db.DB.Stats().MaxIdleClosed; closed != 0 {
		t.Errorf("the pool closed %d connections for want of idle room", closed)
	}
}
