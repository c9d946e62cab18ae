package config

import (
	"fmt"
	"strings"
)

// knownPlaceholders are values that ship in examples and former compose
// files: whoever reads this repository knows them, so a service started
// with one would take an admin key, or sign invitation links with a
// secret, that anybody can use.
var knownPlaceholders = []string{
	"change-me-admin-key",
	"change-me-to-32-or-more-random-characters",
}

// placeholderMarks are words that only a value meant to be replaced holds.
var placeholderMarks = []string{"change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder", "your-secret", "your-key", "example-key", "example-secret"}

// placeholder reports whether v is a known placeholder rather than a
// secret of the installation's own.
func placeholder(v string) bool {
	lower := strings.ToLower(v)
	for _, p := range knownPlaceholders {
		if lower == p {
			return true
		}
	}
	for _, m := range placeholderMarks {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return false
}

// validateSecrets refuses to start with a placeholder for a secret, in
// one line naming the variable and how to make a real value.
func (c *Config) validateSecrets() error {
	for _, s := range []struct{ name, value string }{
		{"PORTAL_ADMIN_API_KEY", c.AdminAPIKey},
		{"TOKEN_SECRET", c.TokenSecret},
	} {
		if s.value != "" && placeholder(s.value) {
			return fmt.Errorf("%s: is a placeholder anyone can read in the repository; set a random value of your own, such as the output of `openssl rand -hex 32`", s.name)
		}
	}
	return nil
}
