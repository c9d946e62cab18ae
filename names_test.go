package portal_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/portalaccess/portal"
)

func TestNormalizeEmailMakesOneSpellingOfEachAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  ada@example.com ", "ada@example.com"},
		{"Ada.Lovelace@Example.COM", "Ada.Lovelace@example.com"},
		// NFC and NFD spellings of the same letters.
		{"jos\u00e9@example.com", "jos\u00e9@example.com"},
		{"jose\u0301@example.com", "jos\u00e9@example.com"},
		// A non-ASCII local part is lower-cased whole.
		{"JOS\u00c9@example.com", "jos\u00e9@example.com"},
		{"JOSE\u0301@example.com", "jos\u00e9@example.com"},
		// IDN domains: Unicode, punycode, any case.
		{"ada@b\u00fccher.example", "ada@xn--bcher-kva.example"},
		{"ada@B\u00dcCHER.Example", "ada@xn--bcher-kva.example"},
		{"ada@bu\u0308cher.example", "ada@xn--bcher-kva.example"},
		{"ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"},
		{"ada@XN--BCHER-KVA.EXAMPLE", "ada@xn--bcher-kva.example"},
		{"\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@\u03c0\u03b1\u03c1\u03ac\u03b4\u03b5\u03b9\u03b3\u03bc\u03b1.\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae", "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@xn--hxajbheg2az3al.xn--jxalpdlp"},
	} {
		got, ok := portal.NormalizeEmail(tc.in)
		if !ok || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestNormalizeEmailRefusesWhatIsNotABareAddress(t *testing.T) {
	for _, in := range []string{
		"", "   ", "not an email", "Ada <ada@example.com>", "ada@", "@example.com",
		"ada@exa mple.com", "ada@ex_ample.com",
		// Invisible characters would make a look-alike of another address.
		"ada\u200b@example.com", "ada\u202e@example.com", "ada\u00a0@example.com", "ada\ue000@example.com",
		"ada\xff@example.com",
		"ada@xn--invalid-.example",
		strings.Repeat("a", 250) + "@example.com",
	} {
		if got, ok := portal.NormalizeEmail(in); ok {
			t.Errorf("NormalizeEmail(%q) accepted as %q", in, got)
		}
	}
}

// EmailKey must fold a normalised address exactly as Postgres's lower()
// does; the store's tests check that on a real database. Here: a
// normalised address has no upper-case letter outside ASCII, so the
// key changes only ASCII letters, which every non-Turkish locale folds
// alike.
func TestEmailKeyOfANormalisedAddressOnlyFoldsASCII(t *testing.T) {
	for _, in := range []string{"ÉLODIE@Example.com", "ΣΊΣΥΦΟΣ@example.com", "STRAẞE@example.com", "İSTANBUL@example.com", "Ǆemal@example.com", "Ada@EXAMPLE.com"} {
		n, ok := portal.NormalizeEmail(in)
		if !ok {
			t.Fatalf("NormalizeEmail(%q) refused", in)
		}
		key := portal.EmailKey(n)
		for i, r := range n {
			k, _ := utf8.DecodeRuneInString(key[i:])
			if r > unicode.MaxASCII && k != r {
				t.Errorf("%q: key %q changes the non-ASCII %q", n, key, r)
			}
		}
		if again, _ := portal.NormalizeEmail(n); again != n {
			t.Errorf("normalising %q again gives %q", n, again)
		}
	}
}

func FuzzNormalizeEmailIsStable(f *testing.F) {
	for _, s := range []string{"ada@example.com", "JOSE\u0301@B\u00dcCHER.example", "Ǆ@xn--bcher-kva.example", "ΣΑΣ@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := portal.NormalizeEmail(s)
		if !ok {
			return
		}
		again, ok := portal.NormalizeEmail(n)
		if !ok || again != n {
			t.Fatalf("NormalizeEmail(%q) = %q, but normalising that gives %q, %v", s, n, again, ok)
		}
		if portal.EmailKey(portal.EmailKey(n)) != portal.EmailKey(n) {
			t.Fatalf("EmailKey(%q) is not stable", n)
		}
	})
}

func TestCleanPersonNameKeepsNamesAndRefusesWhatAnEmailMustNotCarry(t *testing.T) {
	for _, ok := range []string{"Ada Lovelace", "  J.R.R. Tolkien ", "Anne.Marie Dupont", "María-José Ñúñez", "李小龍", "محمد\u200cرضا", "O'Brien, Jr."} {
		if got, err := portal.CleanPersonName(ok); err != nil || got != strings.TrimSpace(ok) {
			t.Errorf("CleanPersonName(%q) = %q, %v", ok, got, err)
		}
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", portal.ErrNameMissing},
		{"   ", portal.ErrNameMissing},
		{strings.Repeat("é", 201), portal.ErrNameTooLong},
		{"Ada\nLovelace", portal.ErrNameControl},
		{"Ada\u0007", portal.ErrNameControl},
		{"Ada\u2028Lovelace", portal.ErrNameControl},
		{"Ada \u202egnp.exe", portal.ErrNameControl},
		{"Ada\xff", portal.ErrNameControl},
		{"Win at https://evil.example", portal.ErrNameLink},
		{"hxxp ftp://x", portal.ErrNameLink},
		{"visit www.anything", portal.ErrNameLink},
		{"cheap pills at evil.com now", portal.ErrNameLink},
		{"EVIL.COM", portal.ErrNameLink},
		{"evil．com", portal.ErrNameLink},
		{"ada@evil.co.uk", portal.ErrNameLink},
		{"shop.bücher.de", portal.ErrNameLink},
	} {
		if _, err := portal.CleanPersonName(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("CleanPersonName(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
	if got, err := portal.CleanPersonName(strings.Repeat("é", 200)); err != nil || len([]rune(got)) != 200 {
		t.Errorf("a 200-character name: %v", err)
	}
}

func TestMaskEmailKeepsTheFirstLettersAndTheTopLevelDomain(t *testing.T) {
	for in, want := range map[string]string{
		"ada.lovelace@example.co.uk":        "a***@e***.co.uk",
		"bob@mail.example.com":              "b***@e***.com",
		"\u00e9lodie@xn--bcher-kva.example": "\u00e9***@x***.example",
		"root@localhost":                    "r***@***",
		"nonsense":                          "***",
	} {
		if got := portal.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
