// Package portal holds the product's vocabulary: the statuses, kinds and
// policies that every other package speaks of, and the pure rules over
// them. It does no I/O and imports no package of this module; storage,
// mail, HTTP and the workflows depend on it, never the other way round.
package portal

import "fmt"

// ParseError says that a value is not one of the words its type allows.
type ParseError struct {
	// What names the kind of value ("invitation status").
	What string
	// Value is what was given.
	Value string
	// Allowed lists the accepted words, for the message.
	Allowed []string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%q is not a valid %s; use %s", e.Value, e.What, e.Choices())
}

// Choices lists the accepted words as "a, b or c".
func (e *ParseError) Choices() string { return joinOr(e.Allowed) }

// joinOr lists words as "a, b or c".
func joinOr(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	out := ""
	for i, w := range words[:len(words)-1] {
		if i > 0 {
			out += ", "
		}
		out += w
	}
	return out + " or " + words[len(words)-1]
}

// parse finds s among the allowed values of T.
func parse[T ~string](what, s string, allowed ...T) (T, error) {
	for _, a := range allowed {
		if string(a) == s {
			return a, nil
		}
	}
	words := make([]string, len(allowed))
	for i, a := range allowed {
		words[i] = string(a)
	}
	return "", &ParseError{What: what, Value: s, Allowed: words}
}
