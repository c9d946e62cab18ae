package api_test

import (
	"strings"
	"testing"
)

// TestOneAddressInEverySpellingIsOneContact types one address in several
// spellings (decomposed and composed letters, a Unicode and a punycode
// domain, capitals) at every door that takes an address: all of them land
// on the one contact, stored in its normal form.
func TestOneAddressInEverySpellingIsOneContact(t *testing.T) {
	tag := unique("n")
	stored := "jos\u00e9-" + tag + "@xn--bcher-kva.example"
	spellings := []string{
		"JOSE\u0301-" + tag + "@B\u00dcCHER.example",   // NFD, Unicode domain, capitals
		"jos\u00e9-" + tag + "@XN--BCHER-KVA.example",  // NFC, punycode in capitals
		"Jos\u00e9-" + tag + "@b\u00fccher.EXAMPLE",    // NFC, Unicode domain
		"jose\u0301-" + tag + "@bu\u0308cher.example ", // NFD domain too, trailing space
	}

	// API create: stored in the normal form; another spelling is the
	// same contact.
	c := admin(t, "POST", "/api/v1/contacts", map[string]any{"email": spellings[0], "name": "Jos\u00e9", "verified": true}, 201)
	if c["email"] != stored {
		t.Fatalf("created with %q, want %q", c["email"], stored)
	}
	id := c["id"].(float64)
	if r := call(t, "POST", "/api/v1/contacts", app.AdminKey, map[string]any{"email": spellings[1], "name": "Other"}); r.Status != 409 || r.errorCode(t) != "contact_exists" {
		t.Fatalf("a second contact with %q: %d %s", spellings[1], r.Status, r.Body)
	}

	// Import: the row updates the contact.
	if rep := importFile(t, "email,name\n"+spellings[2]+",Jos\u00e9 Imported\n"); rep.Created != 0 || rep.Updated != 1 || rep.RejectedCount != 0 {
		t.Fatalf("import of %q: %+v, want the contact updated", spellings[2], rep)
	}
	// Two spellings in one file are one row twice.
	if rep := importFile(t, "email,name\n"+spellings[1]+",A\n"+spellings[3]+",B\n"); rep.Created+rep.Updated != 1 || rep.RejectedCount != 1 {
		t.Fatalf("a file with two spellings of one address: %+v", rep)
	}

	// Ticket intake: the request is the existing contact's.
	slug := newHelpCenter(t, "unique")
	tk := admin(t, "POST", "/api/v1/tickets", map[string]any{"help_center": slug, "email": spellings[3], "subject": "Hello"}, 201)
	if tk["new_contact"] != false || tk["contact_id"] != id {
		t.Fatalf("ticket from %q: %v, want contact %v", spellings[3], tk, id)
	}

	// Sign-up in another spelling: the verification goes to the stored
	// address and the account is the contact's.
	setSignup(t, slug, true, false)
	if r := signUp(t, slug, "Jos\u00e9", spellings[2], "correct-horse-1"); r.Status != 200 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	if _, r := verify(t, stored, "correct-horse-1"); r.Status != 303 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	if got := contactsMatching(t, tag); len(got) != 1 || got[stored].ID != int64(id) {
		t.Fatalf("contacts for %s: %v, want only %v", tag, got, id)
	}

	// Login in every spelling.
	for _, e := range append(spellings, stored, strings.ToUpper(stored)) {
		if code := login(t, slug, e, "correct-horse-1"); code != 303 {
			t.Errorf("login as %q: %d", e, code)
		}
	}
}
