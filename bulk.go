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
)
