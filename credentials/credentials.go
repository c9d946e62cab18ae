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

// Signup returns the token of a sign-up's verification link.
func (t *Tokens) Signup(signupID string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("signup\x00"))
	m.Write([]byte(signupID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
