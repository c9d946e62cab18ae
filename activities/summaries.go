package activities

import "fmt"

// Summaries are what the Temporal UI shows beside an activity in a
// workflow's timeline: which email or step, for which record, in words.
// They carry IDs and counters only, never an address or a token. The
// workflows attach them (workflows.withSummary) to what they schedule.

// Summary names the invitation email: the first send of a link or a
// reminder.
func (in SendInput) Summary() string {
	if in.Reminder > 0 {
		return fmt.Sprintf("Reminder %d of link %d, invitation %s", in.Reminder, in.Generation, in.InvitationID)
	}
	return fmt.Sprintf("Invitation email, link %d, invitation %s", in.Generation, in.InvitationID)
}

// Summary names the invitation being recorded.
func (in RecordInput) Summary() string {
	return fmt.Sprintf("Record invitation %s of contact %d", in.InvitationID, in.ContactID)
}

// Summary names the link being issued.
func (in IssueInput) Summary() string {
	return fmt.Sprintf("Issue link %d of invitation %s", in.Generation, in.InvitationID)
}

// Summary names how the invitation closes.
func (in CloseInput) Summary() string {
	return fmt.Sprintf("Close invitation %s as %s", in.InvitationID, in.Status)
}

// Summary names the sign-up email.
func (in SignupEmailInput) Summary() string {
	return fmt.Sprintf("%s email of sign-up %s (resend %d)", in.Kind, in.SignupID, in.Resend)
}

// Summary names the reset email.
func (in ResetEmailInput) Summary() string {
	return fmt.Sprintf("Password reset email, link %d of reset %s", in.Generation, in.ResetID)
}

// Summary names the access email.
func (in AccessEmailInput) Summary() string {
	return fmt.Sprintf("%s email to contact %d", in.Kind, in.ContactID)
}

// Summary names the access change.
func (in AccessInput) Summary() string {
	return fmt.Sprintf("%s account %d", in.Action, in.AccountID)
}
