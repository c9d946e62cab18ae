package store

// Reasons a contact can't be invited; they are also bulk-job outcomes.
const (
	ReasonNoEmail       = "no_email"
	ReasonUnverified    = "unverified"
	ReasonAlreadyActive = "already_active"
	ReasonDeactivated   = "deactivated"
	// A sign-up waiting for an admin, or one an admin rejected: only an
	// admin's decision changes these, not an invitation.
	ReasonPendingApproval = "pending_approval"
	ReasonRejected        = "rejected"
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
	case access == AccessPendingApproval:
		return ReasonPendingApproval
	case access == AccessRejected:
		return ReasonRejected
	}
	return ""
}
