package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
)

// db is the package's store on a database of its own, created and migrated
// by testenv and dropped when the tests end.
var db *store.Store

func TestMain(m *testing.M) {
	url, drop, err := testenv.Database(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "test database:", err)
		os.Exit(1)
	}
	db = store.Open(url)
	code := m.Run()
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	drop()
	os.Exit(code)
}

var seq atomic.Int64

// unique returns a name no other test uses; it is a valid slug.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, seq.Add(1))
}

func newHelpCenter(t *testing.T, prefix string) *store.HelpCenter {
	t.Helper()
	hc := &store.HelpCenter{Slug: unique(prefix), Name: "Acme", UserBase: portal.UserBaseUnique, InvitePolicy: portal.DefaultInvitePolicy()}
	if err := db.CreateHelpCenter(context.Background(), hc); err != nil {
		t.Fatal(err)
	}
	return hc
}

func newContact(t *testing.T, prefix string) *store.Contact {
	t.Helper()
	email := unique(prefix) + "@example.com"
	c := &store.Contact{Email: &email, Name: "Ada", Verified: true}
	if err := db.CreateContact(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// invite records a pending invitation of c to hc and returns it.
func invite(t *testing.T, hc *store.HelpCenter, c *store.Contact) *store.Invitation {
	t.Helper()
	id := uuid.NewString()
	inv := &store.Invitation{ID: id, HelpCenterID: hc.ID, ContactID: c.ID, WorkflowID: "invitation:" + id}
	if _, err := db.CreateInvitation(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	return inv
}

func invitation(t *testing.T, id string) *store.Invitation {
	t.Helper()
	inv, err := db.InvitationByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// count runs a count(*) query.
func count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.DB.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// uniqueViolation fails the test unless err is Postgres refusing a write
// under the named unique constraint or index.
func uniqueViolation(t *testing.T, err error, constraint string) {
	t.Helper()
	var pgErr pgdriver.Error
	if !errors.As(err, &pgErr) {
		t.Fatalf("want a unique violation of %s, got %v", constraint, err)
	}
	if code, name := pgErr.Field('C'), pgErr.Field('n'); code != "23505" || name != constraint {
		t.Fatalf("want a unique violation (23505) of %s, got %s on %q: %v", constraint, code, name, err)
	}
}
