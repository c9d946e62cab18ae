package portal

// EmailKind names what an email is for; each kind has its template and
// its delivery guarantee.
type EmailKind string

// Kinds of email.
const (
	EmailInvite   EmailKind = "invite"
	EmailReminder EmailKind = "reminder"
	EmailWelcome  EmailKind = "welcome"
	// Sign-ups.
	EmailSignupVerify   EmailKind = "signup_verify"
	EmailSignupRejected EmailKind = "signup_rejected"
	EmailSignupApproved EmailKind = "signup_approved"
	EmailAccountExists  EmailKind = "account_exists"
	// Access changes.
	EmailAccessGranted EmailKind = "access_granted"
	EmailDeactivated   EmailKind = "deactivated"
	EmailReactivated   EmailKind = "reactivated"
	// Passwords: the reset link (at least once), and the notice that a
	// password changed (at most once).
	EmailPasswordReset   EmailKind = "password_reset"
	EmailPasswordChanged EmailKind = "password_changed"
	// EmailAddressChanged tells a contact's old address that it was
	// changed or removed (a notice: at most once).
	EmailAddressChanged EmailKind = "email_changed"
)
