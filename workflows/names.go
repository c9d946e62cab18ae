// Package workflows holds the portal's workflow code: deterministic, with
// every side effect in activities. The names callers need (workflow IDs,
// signals, updates, queries, search attributes) sit here beside the
// workflows that own them.
package workflows

import (
	"strconv"

	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
)

// Message names of the invitation workflow.
const (
	// StatusQuery answers the invitation's current state.
	StatusQuery = "status"
	// AcceptUpdate accepts the invitation with a staged password.
	AcceptUpdate = "accept"
	// DescribeUpdate answers the invitation once it is recorded; the API
	// sends it with the start, so one call both starts (or finds) the
	// invitation and returns it.
	DescribeUpdate = "describe"
	// ResendSignal replaces the link and sends it again.
	ResendSignal = "resend"
	// RevokeSignal withdraws the invitation.
	RevokeSignal = "revoke"
	// DeclineSignal: the contact declined through the link in the email.
	// A signal, since the customer's one-click request needs no answer
	// from the workflow, and the decline is already stored when it comes.
	DeclineSignal = "decline"
	// ResendUpdate and RevokeUpdate are an admin's resend and revoke as
	// updates: the caller gets the invitation's new state, or the reason
	// it was refused, instead of a signal that a closing run may drop.
	// The signals stay registered for callers of older versions.
	ResendUpdate = "resend"
	RevokeUpdate = "revoke"
	// DeliveryFailedSignal tells the workflow that the mail provider later
	// reported one of its emails bounced for good or complained of: an
	// invitation sends no more to that address and closes as
	// undeliverable; a sign-up still waiting for its link does the same;
	// a password reset sends no more links.
	DeliveryFailedSignal = "delivery-failed"
)

// DeliveryFailed is the DeliveryFailedSignal's payload. InvitationID
// names the invitation (the run chain) the email belonged to, so a late
// event about an earlier invitation of the same contact is told apart; a
// sign-up tells its own emails by EmailKey, which names the sign-up.
type DeliveryFailed struct {
	InvitationID string `json:",omitempty"`
	EmailKey     string
	Reason       portal.UndeliverableReason
}

// Search attributes kept current for operators in the Temporal UI.
var (
	InvitationStatusKey = temporal.NewSearchAttributeKeyKeyword("InvitationStatus")
	HelpCenterKey       = temporal.NewSearchAttributeKeyKeyword("HelpCenter")
)

// SearchAttributes lists every search attribute the workflows use, for
// registering them on a server.
func SearchAttributes() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{InvitationStatusKey, HelpCenterKey, BulkJobKey}
}

// InvitationWorkflowID is the ID of a contact's invitation to a help
// center; at most one runs at a time.
func InvitationWorkflowID(helpCenterSlug string, contactID int64) string {
	return "invitation/" + helpCenterSlug + "/" + strconv.FormatInt(contactID, 10)
}

// Reasons an accept is refused; the portal page explains each.
const (
	RejectExpired         = "InvitationExpired"
	RejectRevoked         = "InvitationRevoked"
	RejectSuperseded      = "InvitationSuperseded"
	RejectAlreadyAccepted = "InvitationAlreadyAccepted"
	RejectUndeliverable   = "InvitationUndeliverable"
	RejectNotReady        = "InvitationNotReady"
	RejectDeclined        = "InvitationDeclined"
)

// Reasons an admin's command to a sign-up or a bulk job is refused; the
// API answers each, like the invitation's above, with a 409 and a code.
const (
	RejectSignupNotWaiting = "SignupNotWaiting"
	RejectBulkNotRunning   = "BulkNotRunning"
)
