package portal

// ResetStatus is where an account's password reset stands, as its
// workflow's status query shows it.
type ResetStatus string

// Password reset states.
const (
	// ResetIdle: no link has gone out (nobody eligible asked yet).
	ResetIdle ResetStatus = "idle"
	// ResetWaiting: a link is out and still works.
	ResetWaiting ResetStatus = "waiting"
	// ResetChanged: the password was changed, by the link or from the
	// home page; no link works any more.
	ResetChanged ResetStatus = "changed"
	// ResetExpired: the last link expired unused.
	ResetExpired ResetStatus = "expired"
)

// ResetLinkClosed says why a password reset link stopped working before
// it expired.
type ResetLinkClosed string

// Reasons a reset link closed.
const (
	// ResetLinkUsed: the link set a new password.
	ResetLinkUsed ResetLinkClosed = "used"
	// ResetLinkReplaced: a newer link was sent.
	ResetLinkReplaced ResetLinkClosed = "replaced"
	// ResetLinkPasswordChanged: the password changed some other way (from
	// the home page, or through another link).
	ResetLinkPasswordChanged ResetLinkClosed = "password_changed"
	// ResetLinkEmailChanged: an admin changed the account's address; the
	// link went to the old one.
	ResetLinkEmailChanged ResetLinkClosed = "email_changed"
)
