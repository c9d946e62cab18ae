package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// missingID is an ID no row has: identities count up from 1.
const missingID = int64(1) << 60

// notFound fails the test unless err is ErrNotFound, not ErrConflict, and
// its message names what was looked for.
func notFound(t *testing.T, err error, context string) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	if errors.Is(err, store.ErrConflict) {
		t.Fatalf("%v is also ErrConflict", err)
	}
	if !strings.Contains(err.Error(), context) {
		t.Fatalf("error %q does not say %q", err, context)
	}
}

// conflict fails the test unless err is ErrConflict and not ErrNotFound.
func conflict(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%v is also ErrNotFound", err)
	}
}

func TestHelpCenterErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("MissingSlugIsErrNotFound", func(t *testing.T) {
		slug := unique("missing")
		_, err := db.HelpCenterBySlug(ctx, slug)
		notFound(t, err, "help center "+slug)
	})
	t.Run("MissingIDIsErrNotFound", func(t *testing.T) {
		_, err := db.HelpCenterByID(ctx, missingID)
		notFound(t, err, "help center 1152921504606846976")
	})
	t.Run("TakenSlugIsErrConflict", func(t *testing.T) {
		first := newHelpCenter(t, "taken")
		err := db.CreateHelpCenter(ctx, &store.HelpCenter{Slug: first.Slug, Name: "Other", UserBase: portal.UserBaseCommon, InvitePolicy: portal.DefaultInvitePolicy()})
		conflict(t, err)
		if !strings.Contains(err.Error(), "create help center") {
			t.Fatalf("error %q does not say what failed", err)
		}
		got, err := db.HelpCenterBySlug(ctx, first.Slug)
		if err != nil || got.ID != first.ID || got.Name != "Acme" {
			t.Fatalf("the first help center changed: %+v, %v", got, err)
		}
	})
	// Only a uniqueness rule is a conflict: a request the schema refuses
	// for another reason must not read as "already exists".
	t.Run("BadSlugIsNotErrConflict", func(t *testing.T) {
		err := db.CreateHelpCenter(ctx, &store.HelpCenter{Slug: "Not A Slug", Name: "Acme", UserBase: portal.UserBaseUnique, InvitePolicy: portal.DefaultInvitePolicy()})
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v, want a plain error", err)
		}
	})
}

func TestContactErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("MissingIDIsErrNotFound", func(t *testing.T) {
		_, err := db.ContactByID(ctx, missingID)
		notFound(t, err, "contact 1152921504606846976")
	})
	t.Run("MissingEmailIsErrNotFound", func(t *testing.T) {
		_, err := db.ContactByEmail(ctx, unique("nobody")+"@example.com")
		notFound(t, err, "contact by email")
	})
	t.Run("EmailFoundIgnoringCase", func(t *testing.T) {
		c := newContact(t, "found")
		got, err := db.ContactByEmail(ctx, strings.ToUpper(c.EmailAddress()))
		if err != nil || got.ID != c.ID {
			t.Fatalf("got %+v, %v; want contact %d", got, err, c.ID)
		}
	})
	t.Run("EmailTakenInAnotherCaseIsErrConflict", func(t *testing.T) {
		first := newContact(t, "taken")
		upper := strings.ToUpper(first.EmailAddress())
		conflict(t, db.CreateContact(ctx, &store.Contact{Email: &upper, Name: "Imposter"}))
	})
	t.Run("ChangeToTakenEmailIsErrConflict", func(t *testing.T) {
		first, second := newContact(t, "taken"), newContact(t, "moving")
		upper := strings.ToUpper(first.EmailAddress())
		second.Email = &upper
		conflict(t, db.UpdateContact(ctx, second))
		got, err := db.ContactByID(ctx, second.ID)
		if err != nil || got.EmailAddress() == upper {
			t.Fatalf("the refused change was written: %+v, %v", got, err)
		}
	})
	// Contacts from phone and chat have no email; any number may exist.
	t.Run("ContactsWithoutEmailDoNotConflict", func(t *testing.T) {
		for range 2 {
			if err := db.CreateContact(ctx, &store.Contact{Name: "Caller"}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestDepartmentErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("MissingIDIsErrNotFound", func(t *testing.T) {
		_, err := db.DepartmentByID(ctx, missingID)
		notFound(t, err, "department 1152921504606846976")
	})
	t.Run("MissingNameIsErrNotFound", func(t *testing.T) {
		name := unique("Nowhere")
		_, err := db.DepartmentByName(ctx, name)
		notFound(t, err, "department "+name)
	})
	t.Run("NameTakenInAnotherCaseIsErrConflict", func(t *testing.T) {
		name := unique("Sales")
		if err := db.CreateDepartment(ctx, &store.Department{Name: name, Active: true}); err != nil {
			t.Fatal(err)
		}
		conflict(t, db.CreateDepartment(ctx, &store.Department{Name: strings.ToUpper(name), Active: true}))
	})
	t.Run("RenameToTakenNameIsErrConflict", func(t *testing.T) {
		taken := unique("Support")
		if err := db.CreateDepartment(ctx, &store.Department{Name: taken, Active: true}); err != nil {
			t.Fatal(err)
		}
		d := &store.Department{Name: unique("Returns"), Active: true}
		if err := db.CreateDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
		d.Name = strings.ToLower(taken)
		conflict(t, db.UpdateDepartment(ctx, d))
	})
}

func TestInvitationErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("MissingIDIsErrNotFound", func(t *testing.T) {
		id := uuid.NewString()
		_, err := db.InvitationByID(ctx, id)
		notFound(t, err, "invitation "+id)
	})
	t.Run("UnknownTokenIsErrNotFound", func(t *testing.T) {
		_, _, err := db.InvitationByToken(ctx, []byte(uuid.NewString()))
		notFound(t, err, "invitation token")
	})
	t.Run("MissingHelpCenterIsErrNotFound", func(t *testing.T) {
		c := newContact(t, "orphan")
		id := uuid.NewString()
		_, err := db.CreateInvitation(ctx, &store.Invitation{ID: id, HelpCenterID: missingID, ContactID: c.ID, WorkflowID: "invitation:" + id})
		notFound(t, err, "help center of invitation")
	})
	t.Run("MissingPortalUserIsErrNotFound", func(t *testing.T) {
		hc := newHelpCenter(t, "nouser")
		_, err := db.PortalUserByID(ctx, hc.ID, missingID)
		notFound(t, err, "portal user")
	})
}

// Keys are unique by hash, and only live keys authenticate.
func TestAPIKeyOnePerHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("DatabaseRefusesDuplicateHash", func(t *testing.T) {
		hash := []byte(unique("hash"))
		insert := `INSERT INTO api_keys (name, key_hash, role) VALUES ('raw', ?, 'agent')`
		if _, err := db.DB.NewRaw(insert, hash).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := db.DB.NewRaw(insert, hash).Exec(ctx)
		uniqueViolation(t, err, "api_keys_key_hash_key")
	})
	t.Run("UnknownHashIsErrNotFound", func(t *testing.T) {
		_, err := db.APIKeyByHash(ctx, []byte(unique("unknown")))
		notFound(t, err, "api key")
	})
	t.Run("RevokedKeyIsErrNotFound", func(t *testing.T) {
		hash := []byte(unique("hash"))
		if err := db.CreateAPIKey(ctx, &store.APIKey{Name: "revoked", KeyHash: hash, Role: portal.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.DB.NewRaw(`UPDATE api_keys SET revoked_at = now() WHERE key_hash = ?`, hash).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := db.APIKeyByHash(ctx, hash)
		notFound(t, err, "api key")
	})
}
