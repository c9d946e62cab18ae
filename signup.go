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
	// SignupUndeliverable: the verification email bounced for good or
	// its recipient complained of it, so nothing more is sent.
	SignupUndeliverable SignupStatus = "undeliverable"
)
