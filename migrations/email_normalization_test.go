package migrations_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/uptrace/bun/migrate"

	"github.com/portalaccess/portal/migrations"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
)

const emailNormalization = "20261129000003"

// migratedUpTo returns a store on a new database with every migration
// before name applied, and drops the database when the test ends.
func migratedUpTo(t *testing.T, name string) *store.Store {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	url := strings.Replace(testenv.PostgresURL(), "/postgres?", "/portal_migrate_"+hex.EncodeToString(b)+"?", 1)
	if err := store.EnsureDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	st := store.Open(url)
	t.Cleanup(func() {
		_ = st.Close()
		_ = store.DropDatabase(context.Background(), url)
	})
	before := migrate.NewMigrations()
	for _, m := range migrations.Migrations.Sorted() {
		if m.Name < name {
			before.Add(m)
		}
	}
	m := migrate.NewMigrator(st.DB, before)
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestEmailNormalizationRewritesAddressesAndReportsCollisions seeds a
// database as the portal left it before addresses were normalised, with
// two people's worth of duplicates in it, and migrates it.
func TestEmailNormalizationRewritesAddressesAndReportsCollisions(t *testing.T) {
	st := migratedUpTo(t, emailNormalization)
	ctx := context.Background()
	seed := map[string]string{
		// One address, composed (NFC) and decomposed (NFD).
		"nfc": "jos\u00e9@example.com",
		"nfd": "jose\u0301@example.com",
		// One domain, in Unicode and in punycode.
		"unicode":  "ada@b\u00fccher.example",
		"punycode": "ada@xn--bcher-kva.example",
		// Alone: rewritten.
		"upper":  "Bob.Smith@Example.COM",
		"idn":    "Zo\u00eb@B\u00dcCHER.example",
		"greek":  "\u0394\u0397\u039c\u0397\u03a4\u03a1\u0397\u03a3@example.com",
		"normal": "cy@example.com",
		// No longer an address the portal takes.
		"invisible": "eve\u200b@example.com",
	}
	ids := map[string]int64{}
	for k, email := range seed {
		if err := st.DB.NewRaw(`INSERT INTO contacts (email, name, verified) VALUES (?, ?, true) RETURNING id`, email, k).Scan(ctx, new(int64)); err != nil {
			t.Fatalf("seed %s: %v", k, err)
		}
		var id int64
		if err := st.DB.NewRaw(`SELECT id FROM contacts WHERE name = ?`, k).Scan(ctx, &id); err != nil {
			t.Fatal(err)
		}
		ids[k] = id
	}
	// A contact without an address is left alone.
	if _, err := st.DB.NewRaw(`INSERT INTO contacts (email, name, verified) VALUES (NULL, 'none', true)`).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	applied, err := migrations.Up(ctx, st.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != emailNormalization {
		t.Fatalf("applied %v, want %s first", applied, emailNormalization)
	}

	emails := map[string]string{}
	for k, id := range ids {
		c, err := st.ContactByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		emails[k] = c.EmailAddress()
	}
	want := map[string]string{
		"upper": "Bob.Smith@example.com", "idn": "zo\u00eb@xn--bcher-kva.example",
		"greek": "\u03b4\u03b7\u03bc\u03b7\u03c4\u03c1\u03b7\u03c3@example.com", "normal": "cy@example.com",
	}
	for k, w := range want {
		if emails[k] != w {
			t.Errorf("%s: %q after the migration, want %q", k, emails[k], w)
		}
	}
	// Colliding and invalid addresses are kept exactly as they were.
	for _, k := range []string{"nfc", "nfd", "unicode", "punycode", "invisible"} {
		if emails[k] != seed[k] {
			t.Errorf("%s: %q after the migration, want it untouched (%q)", k, emails[k], seed[k])
		}
	}

	var report []struct {
		ContactID int64   `bun:"contact_id"`
		Email     string  `bun:"email"`
		Normal    *string `bun:"normalized"`
		Key       string  `bun:"conflict_key"`
		Reason    string  `bun:"reason"`
	}
	if err := st.DB.NewRaw(`SELECT contact_id, email, normalized, conflict_key, reason FROM email_normalization_conflicts ORDER BY contact_id`).Scan(ctx, &report); err != nil {
		t.Fatal(err)
	}
	byID := map[int64]int{}
	for i, r := range report {
		byID[r.ContactID] = i
	}
	if len(report) != 5 {
		t.Fatalf("report %+v, want the two pairs and the invalid address", report)
	}
	pair := func(a, b, key string) {
		ra, oka := byID[ids[a]]
		rb, okb := byID[ids[b]]
		if !oka || !okb {
			t.Fatalf("%s and %s are not both reported: %+v", a, b, report)
		}
		for _, r := range []int{ra, rb} {
			if report[r].Reason != "duplicate" || report[r].Key != key || report[r].Normal == nil {
				t.Errorf("report row %+v, want a duplicate under %q", report[r], key)
			}
		}
	}
	pair("nfc", "nfd", "jos\u00e9@example.com")
	pair("unicode", "punycode", "ada@xn--bcher-kva.example")
	if r, ok := byID[ids["invisible"]]; !ok || report[r].Reason != "invalid" || report[r].Normal != nil {
		t.Errorf("the invisible-character address is not reported as invalid: %+v", report)
	}
	n, err := st.EmailNormalizationConflicts(ctx)
	if err != nil || n != 5 {
		t.Fatalf("EmailNormalizationConflicts = %d, %v; want 5", n, err)
	}

	// Migrating again changes nothing.
	if again, err := migrations.Up(ctx, st.DB); err != nil || len(again) != 0 {
		t.Fatalf("second migration: %v, %v", again, err)
	}
}
