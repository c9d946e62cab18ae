// Package credentials holds the secrets the portal deals in: invitation
// tokens, session tokens, API keys and passwords, and how each is hashed.
package credentials

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// Hash is the SHA-256 of a token; it is what the database stores.
func Hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// Random returns a new URL-safe token of 32 random bytes.
func Random() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms; if it does,
		// handing out a predictable token would be worse than stopping.
		panic("credentials: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Tokens derives invitation tokens from a secret key. A token is
// HMAC-SHA256(key, invitation ID, generation): 32 bytes that only the holder
// of the key can produce, so the database keeps just their hashes and a
// reminder can still repeat the current link.
type Tokens struct {
	key []byte
}

// NewTokens returns a deriver keyed by secret.
func NewTokens(secret []byte) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, errors.New("token secret must be at least 32 bytes")
	}
	return &Tokens{key: append([]byte(nil), secret...)}, nil
}

// Invitation returns the token of the given generation of an invitation.
func (t *Tokens) Invitation(invitationID string, generation int) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("invitation\x00"))
	m.Write([]byte(invitationID))
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], uint64(generation)) //nolint:gosec // G115: generations count up from 1; the bytes only need to differ per generation
	m.Write(g[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Pseudonym is a keyed hash of value for purpose: what the database keeps
// instead of an email address or a client address it counts attempts by,
// so the counters reveal neither, yet every replica holding the same
// secret finds the same row.
func (t *Tokens) Pseudonym(purpose, value string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("pseudonym\x00"))
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// Signup returns the token of a sign-up's verification link.
func (t *Tokens) Signup(signupID string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("signup\x00"))
	m.Write([]byte(signupID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// PasswordReset returns the token of a generation of a password reset
// link. A new generation replaces the link; the reset ID keeps one
// reset's tokens apart from every other's.
func (t *Tokens) PasswordReset(resetID string, generation int) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("password-reset\x00"))
	m.Write([]byte(resetID))
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], uint64(generation)) //nolint:gosec // G115: generations count up from 1; the bytes only need to differ per generation
	m.Write(g[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// AddressKey names an email address within an account scope without
// showing it: the same address (in any letter case) and scope always give
// the same key, and nobody without the secret can tell which address a
// key stands for. Password reset workflows are named by it, so a request
// finds the account's running reset without a database lookup first.
func (t *Tokens) AddressKey(scope, email string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("address\x00"))
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write([]byte(strings.ToLower(email)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Decline is the signature of an invitation's decline link. It names the
// invitation, not a generation, so the link keeps working after the
// invitation's links were replaced or expired.
func (t *Tokens) Decline(invitationID string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("decline\x00"))
	m.Write([]byte(invitationID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// DeclineValid checks a decline link's signature in constant time.
func (t *Tokens) DeclineValid(invitationID, sig string) bool {
	return hmac.Equal([]byte(t.Decline(invitationID)), []byte(sig))
}
