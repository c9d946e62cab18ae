package workflows

// Registry is what takes workflow registrations: a worker, or the
// replayer of the replay test.
type Registry interface {
	RegisterWorkflow(w any)
}

// all lists every workflow of the portal.
var all = []any{Invitation, BulkInvite, Signup, ChangeAccess, PasswordReset, ChangeEmail, TemplateTest}

// Register registers every workflow of the portal. The worker and the
// replay test both call it, so a workflow added here is replayed against
// its recorded histories from the start, and the replay test fails until
// one is recorded.
func Register(r Registry) {
	for _, w := range all {
		r.RegisterWorkflow(w)
	}
}
