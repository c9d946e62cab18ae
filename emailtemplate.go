package portal

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EmailTemplate is a help center's invitation email as an admin edits it:
// plain text in four parts, with placeholders from a closed set. It holds
// no template code and never the link: the layout puts the acceptance
// link in the button and the text part, so no admin-typed text can send
// it anywhere else, and rendering is a single pass over bounded text.
type EmailTemplate struct {
	Subject     string   `json:"subject"`
	Heading     string   `json:"heading"`
	Paragraphs  []string `json:"paragraphs"`
	ButtonLabel string   `json:"button_label"`
}

// Size limits of an email template, in characters; the OpenAPI document
// states the same numbers.
const (
	TemplateSubjectMax     = 200
	TemplateHeadingMax     = 200
	TemplateParagraphMax   = 2000
	TemplateParagraphsMax  = 10
	TemplateButtonLabelMax = 60
)

// Template placeholders: the closed set an admin may write as
// {{name}} in any part of a template.
const (
	PlaceholderHelpCenter = "help_center"
	PlaceholderName       = "name"
	PlaceholderEmail      = "email"
	PlaceholderExpiresAt  = "expires_at"
)

// TemplatePlaceholders lists every placeholder a template may use.
var TemplatePlaceholders = []string{PlaceholderHelpCenter, PlaceholderName, PlaceholderEmail, PlaceholderExpiresAt}

// TemplateError says what is wrong with a template and where.
type TemplateError struct {
	// Field is the part, as the API names it: "subject", "paragraphs[2]".
	Field string
	// Placeholder is set when the error is an unknown placeholder.
	Placeholder string
	Message     string
}

func (e *TemplateError) Error() string { return e.Field + ": " + e.Message }

// Equal reports whether two templates have the same text.
func (t EmailTemplate) Equal(o EmailTemplate) bool {
	return t.Subject == o.Subject && t.Heading == o.Heading && t.ButtonLabel == o.ButtonLabel && slices.Equal(t.Paragraphs, o.Paragraphs)
}

// Validate checks sizes, characters and placeholders; it returns a
// *TemplateError.
func (t EmailTemplate) Validate() error {
	if err := checkLine("subject", t.Subject, TemplateSubjectMax); err != nil {
		return err
	}
	if err := checkLine("heading", t.Heading, TemplateHeadingMax); err != nil {
		return err
	}
	if err := checkLine("button_label", t.ButtonLabel, TemplateButtonLabelMax); err != nil {
		return err
	}
	if len(t.Paragraphs) == 0 || len(t.Paragraphs) > TemplateParagraphsMax {
		return &TemplateError{Field: "paragraphs", Message: fmt.Sprintf("write 1 to %d paragraphs", TemplateParagraphsMax)}
	}
	for i, p := range t.Paragraphs {
		field := fmt.Sprintf("paragraphs[%d]", i)
		if strings.TrimSpace(p) == "" || utf8.RuneCountInString(p) > TemplateParagraphMax {
			return &TemplateError{Field: field, Message: fmt.Sprintf("each paragraph must be 1 to %d characters", TemplateParagraphMax)}
		}
		// Line breaks inside a paragraph are kept; other control
		// characters have no place in an email.
		if strings.ContainsFunc(p, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' }) || !utf8.ValidString(p) {
			return &TemplateError{Field: field, Message: "a paragraph must not contain control characters other than line breaks"}
		}
	}
	for field, s := range t.parts() {
		if _, err := ExpandPlaceholders(field, s, func(string) string { return "" }); err != nil {
			return err
		}
	}
	return nil
}

// parts yields every admin-typed part with its field name.
func (t EmailTemplate) parts() func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		if !yield("subject", t.Subject) || !yield("heading", t.Heading) || !yield("button_label", t.ButtonLabel) {
			return
		}
		for i, p := range t.Paragraphs {
			if !yield(fmt.Sprintf("paragraphs[%d]", i), p) {
				return
			}
		}
	}
}

// checkLine checks a one-line part: required, at most max characters, no
// line breaks or other control characters (the subject becomes a header).
func checkLine(field, s string, limit int) error {
	if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > limit {
		return &TemplateError{Field: field, Message: fmt.Sprintf("%s must be 1 to %d characters", field, limit)}
	}
	if strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s) {
		return &TemplateError{Field: field, Message: fmt.Sprintf("%s must be one line, without control characters", field)}
	}
	return nil
}

// ExpandPlaceholders replaces each {{placeholder}} of s with value(name),
// in one pass: a value is never read for placeholders, so a contact's name
// that looks like one stays text. An unknown placeholder or an unclosed
// "{{" is a *TemplateError naming it.
func ExpandPlaceholders(field, s string, value func(name string) string) (string, error) {
	var b strings.Builder
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			return "", &TemplateError{Field: field, Message: `"{{" is not closed with "}}"; placeholders are ` + placeholderList()}
		}
		name := strings.TrimSpace(s[open+2 : open+2+end])
		if !slices.Contains(TemplatePlaceholders, name) {
			shown := name
			if utf8.RuneCountInString(shown) > 40 {
				shown = string([]rune(shown)[:40]) + "…"
			}
			return "", &TemplateError{Field: field, Placeholder: shown,
				Message: fmt.Sprintf("unknown placeholder {{%s}}; placeholders are %s", shown, placeholderList())}
		}
		b.WriteString(s[:open])
		b.WriteString(value(name))
		s = s[open+2+end+2:]
	}
}

func placeholderList() string {
	names := make([]string, len(TemplatePlaceholders))
	for i, p := range TemplatePlaceholders {
		names[i] = "{{" + p + "}}"
	}
	return strings.Join(names, ", ")
}
