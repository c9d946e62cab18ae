package portal

import (
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidSlug reports whether s can name a help center in a portal address:
// 2-63 lowercase letters, digits or hyphens, starting with a letter or
// digit.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// maxEmailLength bounds a stored address, in bytes (RFC 5321's limit on
// a path, less its angle brackets).
const maxEmailLength = 254

// NormalizeEmail returns the one spelling of an address that the portal
// stores and compares, or false when s is not a bare address (no display
// name) that net/mail can parse. Every door that takes an address (API,
// import, ticket intake, sign-up, login, forgotten password) passes it
// through here, so one person can't hold two contacts by changing case or
// composition:
//
//  1. surrounding space is trimmed and the text put in Unicode NFC, so
//     composed and decomposed forms of the same letters are one address;
//  2. the domain is converted by IDNA (UTS #46, lookup profile) to its
//     ASCII form in lower case, so "Bücher.example", "xn--bcher-kva.example"
//     and "XN--BCHER-KVA.EXAMPLE" are one domain;
//  3. a local part with any non-ASCII letter is lower-cased (Go's
//     strings.ToLower, then NFC again); an ASCII local part keeps the case
//     it was typed in, since mail servers may honour it;
//  4. a local part with invisible or control characters (format
//     characters, non-ASCII spaces, private use) is refused, since it
//     would look like another address.
//
// Addresses are compared by EmailKey of this form. Because step 3 leaves
// only ASCII letters in upper case, EmailKey (Go) and Postgres's lower()
// fold a normalised address the same way in any non-Turkish locale, which
// keeps the database's unique index on lower(email) and Go's comparisons
// in agreement.
func NormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	// The bound before IDNA is loose: a Unicode domain is shorter than its
	// ASCII form; the stored form is checked below.
	if s == "" || len(s) > 4*maxEmailLength || !utf8.ValidString(s) {
		return "", false
	}
	s = norm.NFC.String(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	for _, r := range local {
		if r > unicode.MaxASCII && !unicode.IsPrint(r) {
			return "", false
		}
	}
	domain, err = emailDomain.ToASCII(domain)
	if err != nil {
		return "", false
	}
	if !isASCII(local) {
		local = norm.NFC.String(strings.ToLower(local))
	}
	out := local + "@" + strings.ToLower(domain)
	// The stored form must itself be an address, whatever IDNA made of
	// the domain.
	if a, err := mail.ParseAddress(out); err != nil || a.Address != out || len(out) > maxEmailLength {
		return "", false
	}
	return out, true
}

// emailDomain is IDNA's lookup profile (UTS #46 mapping, STD3 host
// names, bidi rule) that also refuses empty or over-long labels, which
// the plain lookup profile lets through ("xn--" alone decodes to nothing).
var emailDomain = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.VerifyDNSLength(true))

// EmailKey is what two normalised addresses are compared by: they name
// the same person when their keys are equal. It is the same as SQL's
// lower(email) on a normalised address (see NormalizeEmail).
func EmailKey(normalized string) string { return strings.ToLower(normalized) }

// MaskEmail shows enough of an address for its owner to recognise it and
// little enough that a notice sent elsewhere does not disclose it:
// "ada.lovelace@example.co.uk" is "a***@e***.co.uk".
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	local, domain := addr[:at], addr[at+1:]
	first := func(s string) string {
		r, _ := utf8.DecodeRuneInString(s)
		return string(r) + "***"
	}
	suffix, _ := publicsuffix.PublicSuffix(domain)
	name := strings.TrimSuffix(strings.TrimSuffix(domain, suffix), ".")
	if name == "" || suffix == domain {
		return first(local) + "@***"
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return first(local) + "@" + first(name) + "." + suffix
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > unicode.MaxASCII {
			return false
		}
	}
	return true
}

// MaxPersonNameLength bounds a person's name, in characters.
const MaxPersonNameLength = 200

// Why a person's name is refused; the messages are fit to show the
// person.
var (
	ErrNameMissing = errors.New("please give your name")
	ErrNameTooLong = errors.New("a name can be at most 200 characters")
	ErrNameControl = errors.New("a name can't contain line breaks or control characters")
	ErrNameLink    = errors.New("a name can't contain a web address")
)

// CleanPersonName trims a person's name and checks that it is fit to be
// written into the emails the portal sends them: 1 to 200 characters, no
// control, line-separating or bidirectional-override characters, and
// nothing a mail client would turn into a link (a scheme such as
// "https://", "www.", or a domain under a real top-level domain such as
// "example.com"). A sign-up form is otherwise a way to send anyone an
// email carrying a stranger's text. Callers for whom a name is optional
// treat ErrNameMissing as "no name".
func CleanPersonName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return name, ErrNameControl
	case n == 0:
		return name, ErrNameMissing
	case n > MaxPersonNameLength:
		return name, ErrNameTooLong
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return name, ErrNameControl
		}
	}
	if looksLikeLink(name) {
		return name, ErrNameLink
	}
	return name, nil
}

// dots are the characters IDNA and mail clients take for a label
// separator.
var dots = strings.NewReplacer("．", ".", "。", ".", "｡", ".")

var (
	schemeOrWWW = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*:/|\bwww\.`)
	domainLike  = regexp.MustCompile(`[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+`)
)

// looksLikeLink reports whether a mail client might make a link of some
// of s. A dotted word counts only when it ends in a top-level domain of
// the public suffix list, so initials ("J.R.R. Tolkien") and names joined
// by dots ("Anne.Marie") pass.
func looksLikeLink(s string) bool {
	s = dots.Replace(norm.NFKC.String(s))
	if schemeOrWWW.MatchString(s) {
		return true
	}
	for _, d := range domainLike.FindAllString(s, -1) {
		ascii, err := idna.ToASCII(strings.ToLower(strings.Trim(d, "-")))
		if err != nil {
			ascii = strings.ToLower(d)
		}
		if suffix, icann := publicsuffix.PublicSuffix(ascii); icann && suffix != ascii {
			return true
		}
	}
	return false
}
