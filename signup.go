package portal

// SignupStatus is where a customer's own sign-up stands.
type SignupStatus string

// Sign-up states.
const (
	SignupVerifying       SignupStatus = "verifying"
	SignupPendingApproval SignupStatus = "pending_approval"
	SignupActive          SignupStatus = "active"
	SignupRejected        SignupStatus = "rejected"
	SignupExpired         SignupStatus = "expired"
)
