package activities

// Points after a committed change at which a worker may be made to die
// (PORTAL_CRASH_POINT), for the tests proving that the change and its
// audit event are kept together and recorded once when the activity runs
// again on another worker.
const (
	CrashInvitationRecorded = "after-invitation-recorded"
	CrashInvitationClosed   = "after-invitation-closed"
)

// crashAfter calls AfterCommit with point once the step's change
// committed (err is nil).
func (a *Activities) crashAfter(point string, err error) {
	if err == nil && a.AfterCommit != nil {
		a.AfterCommit(point)
	}
}
