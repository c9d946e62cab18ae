package starter

import (
	"fmt"
	"strconv"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// Summaries and details are what an operator reads first in the Temporal
// UI's list and on a workflow's page: who, which help center, which job.
// They name people by their contact or account ID, never by address, as
// the workflow IDs do: the UI is read by more people than the database.

func helpCenterLine(hc *store.HelpCenter) string {
	return fmt.Sprintf("**Help center:** %s (`%s`, id %d)", hc.Name, hc.Slug, hc.ID)
}

func invitationSummary(hc *store.HelpCenter, contactID int64) (string, string) {
	return fmt.Sprintf("Invitation of contact %d to %s", contactID, hc.Slug),
		helpCenterLine(hc) + "  \n**Contact:** " + strconv.FormatInt(contactID, 10) +
			"  \nQuery `status` for the link generation, sends, reminders and deadline."
}

func bulkSummary(hc *store.HelpCenter, job *store.BulkJob) (string, string) {
	dry := ""
	if job.DryRun {
		dry = " (dry run)"
	}
	return fmt.Sprintf("Bulk invitation %s to %s%s", job.ID, hc.Slug, dry),
		helpCenterLine(hc) + "  \n**Job:** " + job.ID + "  \n**Selection:** " + string(job.Selection) +
			"  \nIts invitations: `BulkJob = '" + job.ID + "'`; progress: `GET /api/v1/bulk-invitations/" + job.ID + "`."
}

func accessSummary(hc *store.HelpCenter, accountID int64, action portal.AccessAction) (string, string) {
	return fmt.Sprintf("%s account %d in %s", action, accountID, hc.Slug),
		helpCenterLine(hc) + "  \n**Account:** " + strconv.FormatInt(accountID, 10)
}

func emailChangeSummary(ch *store.EmailChange) (string, string) {
	return fmt.Sprintf("Email change of contact %d", ch.ContactID),
		"**Contact:** " + strconv.FormatInt(ch.ContactID, 10) + "  \n**Change:** " + ch.ID + " (row in `email_changes`)"
}

func resetSummary(hc *store.HelpCenter) (string, string) {
	return "Password reset of an account in " + hc.AccountScope(),
		helpCenterLine(hc) + "  \n**Account scope:** " + hc.AccountScope() +
			"  \nThe account is named by a keyed hash of its address, never the address."
}

func signupSummary(slug, signupID string) (string, string) {
	return "Sign-up to " + slug, "**Help center:** `" + slug + "`  \n**Sign-up:** " + signupID + " (row in `signups`)"
}
