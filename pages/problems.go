package pages

import (
	"html/template"
	"slices"
)

// problem is one reason a form was refused. Field is the id of the input
// it is about ("" for the form as a whole, such as a busy server); Also
// names other inputs the same sentence describes (a failed login is about
// the address and the password together).
type problem struct {
	Field, Message string
	Also           []string
}

// formProblem is a refusal of the whole form, tied to no field.
func formProblem(msg string) []problem { return []problem{{Message: msg}} }

// fieldProblem is a refusal tied to one field.
func fieldProblem(field, msg string) []problem { return []problem{{Field: field, Message: msg}} }

// FieldError is the problem shown next to field, nil when it is fine.
func (p page) FieldError(field string) *problem {
	for i := range p.Problems {
		if p.Problems[i].Field == field {
			return &p.Problems[i]
		}
	}
	return nil
}

// Attrs marks field invalid and points it at the sentence describing
// why: aria-invalid and aria-describedby, so a screen reader reads the
// reason with the field. The ids are the templates' own constants.
func (p page) Attrs(field string) template.HTMLAttr {
	for _, pr := range p.Problems {
		if pr.Field == field || (pr.Field != "" && slices.Contains(pr.Also, field)) {
			return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + pr.Field + `-error"`) //nolint:gosec // G203: field ids are constants of the templates
		}
	}
	return ""
}
