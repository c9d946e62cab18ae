package store

// Reasons a contact can't be invited; they are also bulk-job outcomes.
const (
	ReasonNoEmail       = "no_email"
	ReasonUnverified    = "unverified"
	ReasonAlreadyActive = "already_active"
	ReasonDeactivated   = "deactivated"
)

// Ineligible returns why a contact with this email, verification and
// access status can't be invited, or "".
func Ineligible(email *string, verified bool, access string) string {
	switch {
	case email == nil:
		return ReasonNoEmail
	case !verified:
		return ReasonUnverified
	case access == AccessActive:
		return ReasonAlreadyActive
	case access == AccessDeactivated:
		return ReasonDeactivated
	}
	return ""
}
