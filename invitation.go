package portal

// InvitationStatus is where an invitation stands: pending until the
// customer accepts, it expires, an admin revokes it, or the mail provider
// refuses its address.
type InvitationStatus string

// Invitation states.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationExpired  InvitationStatus = "expired"
	InvitationRevoked  InvitationStatus = "revoked"
	// InvitationUndeliverable: the mail provider refused the address.
	InvitationUndeliverable InvitationStatus = "undeliverable"
	// InvitationDeclined: the contact said, through the link in the
	// email, that they don't want to join.
	InvitationDeclined InvitationStatus = "declined"
)

// InvitationStatuses lists every invitation status.
var InvitationStatuses = []InvitationStatus{InvitationPending, InvitationAccepted, InvitationExpired, InvitationRevoked, InvitationUndeliverable, InvitationDeclined}

// ParseInvitationStatus checks s against the invitation statuses.
func ParseInvitationStatus(s string) (InvitationStatus, error) {
	return parse("invitation status", s, InvitationStatuses...)
}

// Closing reports whether an open invitation may be closed with this
// status (every final state but accepted, which only accepting reaches).
func (s InvitationStatus) Closing() bool {
	return s == InvitationExpired || s == InvitationRevoked || s == InvitationUndeliverable || s == InvitationDeclined
}

// InvitePolicy is a help center's schedule for invitations.
type InvitePolicy struct {
	// ReminderDays are days after each send on which a reminder repeats
	// the same link.
	ReminderDays []int `json:"reminder_days"`
	// LinkLifetimeHours is how long a link stays valid after it is sent.
	LinkLifetimeHours int `json:"link_lifetime_hours"`
	// AutoReinvites is how many times an expired link is replaced by a
	// fresh one before the invitation expires for good.
	AutoReinvites int `json:"auto_reinvites"`
}

// DefaultInvitePolicy: reminders on days 3 and 6, a 7-day link, one
// automatic re-invite.
func DefaultInvitePolicy() InvitePolicy {
	return InvitePolicy{ReminderDays: []int{3, 6}, LinkLifetimeHours: 7 * 24, AutoReinvites: 1}
}
