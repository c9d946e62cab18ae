package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// The bootstrap key is stored on every start: a restart finds it, a new
// value revokes the old one (with an audit event), and a key revoked
// through the API is not brought back.
func TestBootstrapKeyIsOneKeyAmongOthers(t *testing.T) {
	ctx := context.Background()
	first := &store.APIKey{Name: "bootstrap", KeyHash: []byte(unique("boot-a"))}
	res, err := db.EnsureBootstrapKey(ctx, first)
	if err != nil || res.Created == 0 {
		t.Fatalf("first start: %+v, %v", res, err)
	}
	again, err := db.EnsureBootstrapKey(ctx, &store.APIKey{Name: "bootstrap", KeyHash: first.KeyHash})
	if err != nil || again.Created != 0 || len(again.Revoked) != 0 {
		t.Fatalf("restart with the same key: %+v, %v; want nothing done", again, err)
	}
	second := &store.APIKey{Name: "bootstrap", KeyHash: []byte(unique("boot-b"))}
	res, err = db.EnsureBootstrapKey(ctx, second)
	if err != nil || len(res.Revoked) != 1 || res.Revoked[0] != first.ID {
		t.Fatalf("new value: %+v, %v; want key %d revoked", res, err, first.ID)
	}
	if _, err := db.APIKeyByHash(ctx, first.KeyHash); err == nil {
		t.Fatal("the previous bootstrap key still authenticates")
	}
	if _, err := db.APIKeyByHash(ctx, second.KeyHash); err != nil {
		t.Fatalf("the new bootstrap key: %v", err)
	}
	page, err := db.ListAuditEvents(ctx, store.AuditFilter{Target: portal.Target("api_key", first.ID), Action: portal.AuditAPIKeyRevoked}, "", 10)
	if err != nil || len(page.Items) != 1 || page.Items[0].Actor != portal.ActorSystem {
		t.Fatalf("revocation events: %+v, %v; want one by system", page.Items, err)
	}
	if _, err := db.RevokeAPIKey(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	res, err = db.EnsureBootstrapKey(ctx, &store.APIKey{Name: "bootstrap", KeyHash: second.KeyHash})
	if err != nil || !res.StillRevoked {
		t.Fatalf("restart with a key revoked through the API: %+v, %v; want it to stay revoked", res, err)
	}
	if _, err := db.APIKeyByHash(ctx, second.KeyHash); err == nil {
		t.Fatal("a restart brought a revoked key back")
	}
}

func TestExpiredKeyIsErrNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	k := &store.APIKey{Name: "expired", KeyHash: []byte(unique("exp")), Role: portal.RoleAgent, ExpiresAt: &past}
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	_, err := db.APIKeyByHash(ctx, k.KeyHash)
	notFound(t, err, "api key")
}

// Last use is written at most once a minute, so a busy key costs no
// write per request.
func TestTouchAPIKeyWritesAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := &store.APIKey{Name: "busy", KeyHash: []byte(unique("busy")), Role: portal.RoleAgent}
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	first, _ := db.APIKeyByID(ctx, k.ID)
	if first.LastUsedAt == nil {
		t.Fatal("last_used_at not set")
	}
	if err := db.TouchAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	second, _ := db.APIKeyByID(ctx, k.ID)
	if !second.LastUsedAt.Equal(*first.LastUsedAt) {
		t.Fatalf("last_used_at moved within a minute: %v -> %v", first.LastUsedAt, second.LastUsedAt)
	}
}

// The trail is append-only in the database itself.
func TestAuditEventsRefuseUpdateAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ev := store.AuditEvent{Actor: "system", Action: portal.AuditHelpCenterUpdated, Target: unique("help_center")}
	if err := db.Audit(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DB.NewRaw(`UPDATE audit_events SET actor = 'someone' WHERE target = ?`, ev.Target).Exec(ctx); err == nil {
		t.Fatal("an audit event was updated")
	}
	if _, err := db.DB.NewRaw(`DELETE FROM audit_events WHERE target = ?`, ev.Target).Exec(ctx); err == nil {
		t.Fatal("an audit event was deleted")
	}
}
