package portal

// UserBase says whether a help center shares its customers' accounts with
// the other common help centers or keeps its own.
type UserBase string

// User base types.
const (
	// UserBaseCommon: one account and password across every common help
	// center.
	UserBaseCommon UserBase = "common"
	// UserBaseUnique: accounts of this help center log in nowhere else.
	UserBaseUnique UserBase = "unique"
)

// ParseUserBase checks s against the user base types.
func ParseUserBase(s string) (UserBase, error) {
	return parse("user base", s, UserBaseCommon, UserBaseUnique)
}

// AccessStatus is where a portal account stands in one help center.
type AccessStatus string

// Portal access states.
const (
	AccessInvited         AccessStatus = "invited"
	AccessPendingApproval AccessStatus = "pending_approval"
	AccessActive          AccessStatus = "active"
	AccessRejected        AccessStatus = "rejected"
	AccessDeactivated     AccessStatus = "deactivated"
)

// AccessStatuses lists every access status.
var AccessStatuses = []AccessStatus{AccessInvited, AccessPendingApproval, AccessActive, AccessRejected, AccessDeactivated}

// ParseAccessStatus checks s against the access statuses.
func ParseAccessStatus(s string) (AccessStatus, error) {
	return parse("access status", s, AccessStatuses...)
}

// Blocking reports whether the status is an admin's decision that an
// invitation must not undo: a deactivation, a rejection, or a sign-up
// waiting for approval.
func (s AccessStatus) Blocking() bool {
	return s == AccessDeactivated || s == AccessRejected || s == AccessPendingApproval
}

// AccessAction is what an admin does to a portal user's access.
type AccessAction string

// Access actions.
const (
	ActionDeactivate AccessAction = "deactivate"
	ActionReactivate AccessAction = "reactivate"
)

// AutoInvite says which departments' first requests from new contacts
// invite them to the help center.
type AutoInvite struct {
	Enabled bool `json:"enabled"`
	// All covers every active department.
	All           bool    `json:"all"`
	DepartmentIDs []int64 `json:"department_ids"`
}

// Covers reports whether a request into the department triggers an
// auto-invite; a request with no department counts only under All.
func (a AutoInvite) Covers(departmentID *int64) bool {
	if !a.Enabled {
		return false
	}
	if a.All {
		return true
	}
	if departmentID == nil {
		return false
	}
	for _, id := range a.DepartmentIDs {
		if id == *departmentID {
			return true
		}
	}
	return false
}

// AutoInviteStatus is where a ticket's auto-invite stands.
type AutoInviteStatus string

// Auto-invite states of a ticket.
const (
	AutoInvitePending AutoInviteStatus = "pending"
	AutoInviteStarted AutoInviteStatus = "started"
	AutoInviteSkipped AutoInviteStatus = "skipped"
)

// Role is what an API key may do.
type Role string

// API key roles.
const (
	RoleAdmin Role = "admin"
	RoleAgent Role = "agent"
)

// ParseRole checks s against the roles.
func ParseRole(s string) (Role, error) {
	return parse("role", s, RoleAdmin, RoleAgent)
}
