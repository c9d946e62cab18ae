package credentials

import (
	"bytes"
	"strings"
	"testing"
)

func TestInvitationTokensDifferByGenerationAndKey(t *testing.T) {
	a, _ := NewTokens(bytes.Repeat([]byte{1}, 32))
	b, _ := NewTokens(bytes.Repeat([]byte{2}, 32))
	t1 := a.Invitation("inv-1", 1)
	if t1 != a.Invitation("inv-1", 1) {
		t.Fatal("same inputs must derive the same token")
	}
	for _, other := range []string{a.Invitation("inv-1", 2), a.Invitation("inv-2", 1), b.Invitation("inv-1", 1)} {
		if other == t1 {
			t.Fatalf("token collision: %s", other)
		}
	}
	if len(t1) != 43 { // 32 bytes, unpadded base64url
		t.Fatalf("token length %d", len(t1))
	}
}

func TestNewTokensRejectsShortKey(t *testing.T) {
	if _, err := NewTokens([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") || strings.Contains(h, "correct horse") {
		t.Fatalf("unexpected hash %q", h)
	}
	if ok, err := CheckPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if ok, _ := CheckPassword(h, "wrong horse battery"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("hashes must be salted")
	}
}

func TestPasswordRules(t *testing.T) {
	if _, err := HashPassword("short"); err == nil {
		t.Fatal("short password accepted")
	}
	if err := CheckPasswordRules(strings.Repeat("x", MaxPasswordLength+1)); err == nil {
		t.Fatal("over-long password accepted")
	}
}

func TestPasswordResetTokensDifferByResetGenerationAndPurpose(t *testing.T) {
	a, _ := NewTokens(bytes.Repeat([]byte{1}, 32))
	t1 := a.PasswordReset("reset-1", 1)
	if t1 != a.PasswordReset("reset-1", 1) {
		t.Fatal("same inputs must derive the same token")
	}
	for _, other := range []string{a.PasswordReset("reset-1", 2), a.PasswordReset("reset-2", 1), a.Invitation("reset-1", 1)} {
		if other == t1 {
			t.Fatalf("token collision: %s", other)
		}
	}
}

func TestAddressKeyIgnoresLetterCaseAndHidesTheAddress(t *testing.T) {
	a, _ := NewTokens(bytes.Repeat([]byte{1}, 32))
	b, _ := NewTokens(bytes.Repeat([]byte{2}, 32))
	k := a.AddressKey("common", "Ada@Example.com")
	if k != a.AddressKey("common", "ada@example.com") {
		t.Fatal("the key must not depend on letter case")
	}
	if k == a.AddressKey("help_center:1", "ada@example.com") || k == b.AddressKey("common", "ada@example.com") {
		t.Fatal("the key must depend on the scope and the secret")
	}
	if strings.Contains(strings.ToLower(k), "ada") || len(k) != 24 {
		t.Fatalf("key %q", k)
	}
}
