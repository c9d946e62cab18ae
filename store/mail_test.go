package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

func claim(t *testing.T, key string) (bool, *store.EmailLog) {
	t.Helper()
	send, e, err := db.ClaimEmail(context.Background(), &store.EmailLog{IdempotencyKey: key, Kind: portal.EmailInvite, Recipient: "ada@example.com", Subject: "Welcome"})
	if err != nil {
		t.Fatal(err)
	}
	return send, e
}

func emailRows(t *testing.T, key string) int {
	t.Helper()
	return count(t, `SELECT count(*) FROM email_log WHERE idempotency_key = ?`, key)
}

// A send is keyed so that an activity retried after a crash cannot send
// the same email twice.
func TestClaimEmailOncePerKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("FirstClaimSends", func(t *testing.T) {
		key := unique("key")
		send, e := claim(t, key)
		if !send || e.ID == 0 || e.Status != store.EmailSending {
			t.Fatalf("got send=%v %+v, want a new entry claimed for sending", send, e)
		}
	})
	t.Run("SecondClaimFindsTheFirst", func(t *testing.T) {
		key := unique("key")
		_, first := claim(t, key)
		send, again := claim(t, key)
		if send {
			t.Fatal("a second claim of a key in flight may send")
		}
		if again.ID != first.ID {
			t.Fatalf("second claim answered entry %d, want %d", again.ID, first.ID)
		}
		if n := emailRows(t, key); n != 1 {
			t.Fatalf("%d email_log rows for one key, want 1", n)
		}
	})
	t.Run("SentEmailIsNotSentAgain", func(t *testing.T) {
		key := unique("key")
		claim(t, key)
		if err := db.FinishEmail(ctx, key, store.EmailSent, "provider-1", "", false); err != nil {
			t.Fatal(err)
		}
		send, e := claim(t, key)
		if send || e.Status != store.EmailSent || e.ProviderID == nil || *e.ProviderID != "provider-1" {
			t.Fatalf("got send=%v %+v, want the sent entry and no send", send, e)
		}
	})
	// A send that may have gone out is never repeated.
	t.Run("UnconfirmedEmailIsNotSentAgain", func(t *testing.T) {
		key := unique("key")
		claim(t, key)
		if err := db.FinishEmail(ctx, key, store.EmailUnconfirmed, "", "", false); err != nil {
			t.Fatal(err)
		}
		if send, _ := claim(t, key); send {
			t.Fatal("an unconfirmed send may be sent again")
		}
	})
	t.Run("RefusedEmailIsClaimedAgainInTheSameRow", func(t *testing.T) {
		key := unique("key")
		_, first := claim(t, key)
		if err := db.FinishEmail(ctx, key, store.EmailFailed, "", "mailbox full", false); err != nil {
			t.Fatal(err)
		}
		send, again := claim(t, key)
		if !send || again.ID != first.ID || again.Status != store.EmailSending {
			t.Fatalf("got send=%v %+v, want entry %d claimed again", send, again, first.ID)
		}
		if n := emailRows(t, key); n != 1 {
			t.Fatalf("%d email_log rows for one key, want 1", n)
		}
	})
	t.Run("FinishingAnUnclaimedKeyIsErrNotFound", func(t *testing.T) {
		notFound(t, db.FinishEmail(ctx, unique("unclaimed"), store.EmailSent, "", "", false), "finish email")
	})
}

func TestConcurrentClaimsSendOnce(t *testing.T) {
	t.Parallel()
	key := unique("key")
	const n = 12
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		sends int
		ids   = map[int64]bool{}
	)
	for range n {
		wg.Go(func() {
			send, e, err := db.ClaimEmail(context.Background(), &store.EmailLog{IdempotencyKey: key, Kind: portal.EmailInvite, Recipient: "ada@example.com"})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			if send {
				sends++
			}
			ids[e.ID] = true
		})
	}
	wg.Wait()
	if sends != 1 || len(ids) != 1 {
		t.Fatalf("%d of %d claims may send, answering %d entries; want exactly one send and one entry", sends, n, len(ids))
	}
	if rows := emailRows(t, key); rows != 1 {
		t.Fatalf("%d email_log rows for one key, want 1", rows)
	}
}

func TestDatabaseRefusesSecondEmailLogRowForKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := unique("key")
	insert := `INSERT INTO email_log (idempotency_key, kind, recipient, status) VALUES (?, 'invite', 'ada@example.com', 'sent')`
	if _, err := db.DB.NewRaw(insert, key).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := db.DB.NewRaw(insert, key).Exec(ctx)
	uniqueViolation(t, err, "email_log_idempotency_key_key")
}

// The development outbox stands in for a provider that honours
// idempotency keys: a repeated send is answered with the first message.
func TestAddOutboxOncePerKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := unique("key")
	to := unique("outbox") + "@example.com"
	first := &store.OutboxMessage{Recipient: to, Subject: "first", Kind: portal.EmailInvite, IdempotencyKey: &key}
	if err := db.AddOutbox(ctx, first); err != nil {
		t.Fatal(err)
	}
	again := &store.OutboxMessage{Recipient: to, Subject: "again", Kind: portal.EmailInvite, IdempotencyKey: &key}
	if err := db.AddOutbox(ctx, again); err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || again.ID != first.ID {
		t.Fatalf("repeat answered message %d, want %d", again.ID, first.ID)
	}
	page, err := db.ListOutbox(ctx, to, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs := page.Items
	if len(msgs) != 1 || msgs[0].Subject != "first" {
		t.Fatalf("outbox holds %+v, want only the first message", msgs)
	}
}
