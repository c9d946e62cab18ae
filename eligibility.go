package portal

// Reasons a contact can't be invited; they are also bulk-job outcomes.
const (
	ReasonNoEmail       Outcome = "no_email"
	ReasonUnverified    Outcome = "unverified"
	ReasonAlreadyActive Outcome = "already_active"
	ReasonDeactivated   Outcome = "deactivated"
	// A sign-up waiting for an admin, or one an admin rejected: only an
	// admin's decision changes these, not an invitation.
	ReasonPendingApproval Outcome = "pending_approval"
	ReasonRejected        Outcome = "rejected"
	// ReasonDeclined: the contact declined an invitation to this help
	// center; only an admin's recorded override invites them again.
	ReasonDeclined Outcome = "declined"
	// ReasonSuppressed: the contact's address bounced for good or its
	// owner complained, so the whole installation sends it nothing until
	// an admin lifts the suppression.
	ReasonSuppressed Outcome = "suppressed"
)

// Ineligible returns why a contact with this email, verification and
// access status (empty when the contact has none) can't be invited, or
// "" when it can.
func Ineligible(email *string, verified bool, access AccessStatus) Outcome {
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
