package portal

// BulkStatus is where a bulk invitation job stands.
type BulkStatus string

// Bulk job states.
const (
	BulkRunning   BulkStatus = "running"
	BulkCompleted BulkStatus = "completed"
	BulkCancelled BulkStatus = "cancelled"
	BulkFailed    BulkStatus = "failed"
)

// Outcome is what a bulk job did with one contact: invited, or a reason
// it did not.
type Outcome string

// Bulk outcomes beside the ineligibility reasons.
const (
	OutcomeInvited        Outcome = "invited"
	OutcomeAlreadyInvited Outcome = "already_invited"
	OutcomeFailed         Outcome = "failed"
	OutcomeNotFound       Outcome = "not_found"
)

// Selection is how a bulk job names its contacts.
type Selection string

// Selections of a bulk job.
const (
	SelectIDs    Selection = "ids"
	SelectFilter Selection = "filter"
	SelectAll    Selection = "all"
	// SelectInvitations: the contacts whose latest invitation to the help
	// center has a status (a bulk re-invite).
	SelectInvitations Selection = "invitations"
)

// ReinviteStatus is the status of the invitations a bulk re-invite
// selects.
type ReinviteStatus string

// What a bulk re-invite can select.
const (
	// ReinviteExpired: the link ran out and the invitation closed.
	ReinviteExpired ReinviteStatus = "expired"
	// ReinvitePending: still pending, the last link sent some days ago;
	// the pending invitation gets a new link.
	ReinvitePending ReinviteStatus = "pending"
	// ReinviteUndeliverable: closed undeliverable; only addresses no
	// longer suppressed are invited again.
	ReinviteUndeliverable ReinviteStatus = "undeliverable"
)

// ParseReinviteStatus checks a re-invite selection's status.
func ParseReinviteStatus(s string) (ReinviteStatus, bool) {
	switch r := ReinviteStatus(s); r {
	case ReinviteExpired, ReinvitePending, ReinviteUndeliverable:
		return r, true
	}
	return "", false
}
