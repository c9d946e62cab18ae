package portal

import "strconv"

// AuditAction names what an audit event records.
type AuditAction string

// Audit actions: what a person decided, or a process did on their behalf.
const (
	AuditInvitationCreated   AuditAction = "invitation.created"
	AuditInvitationResent    AuditAction = "invitation.resent"
	AuditInvitationRevoked   AuditAction = "invitation.revoked"
	AuditInvitationAccepted  AuditAction = "invitation.accepted"
	AuditInvitationExpired   AuditAction = "invitation.expired"
	AuditInvitationDeclined  AuditAction = "invitation.declined"
	AuditUserDeactivated     AuditAction = "user.deactivated"
	AuditUserReactivated     AuditAction = "user.reactivated"
	AuditUserApproved        AuditAction = "user.approved"
	AuditUserRejected        AuditAction = "user.rejected"
	AuditUserUpdated         AuditAction = "user.updated"
	AuditHelpCenterCreated   AuditAction = "help_center.created"
	AuditHelpCenterUpdated   AuditAction = "help_center.updated"
	AuditAPIKeyCreated       AuditAction = "api_key.created"
	AuditAPIKeyRevoked       AuditAction = "api_key.revoked"
	AuditBulkStarted         AuditAction = "bulk.started"
	AuditBulkCancelled       AuditAction = "bulk.cancelled"
	AuditContactCreated      AuditAction = "contact.created"
	AuditContactUpdated      AuditAction = "contact.updated"
	AuditContactErased       AuditAction = "contact.erased"
	AuditContactsImported    AuditAction = "contacts.imported"
	AuditUsersExported       AuditAction = "users.exported"
	AuditDepartmentCreated   AuditAction = "department.created"
	AuditDepartmentUpdated   AuditAction = "department.updated"
	AuditTemplateFellBack    AuditAction = "email_template.fell_back"
	AuditAuditEventsExported AuditAction = "audit_events.exported"
	AuditPasswordReset       AuditAction = "password.reset"
	AuditPasswordChanged     AuditAction = "password.changed"
	// AuditDeclineOverridden: an admin invited a contact who had declined
	// the help center's invitations.
	AuditDeclineOverridden AuditAction = "invitation.decline_overridden"
	// AuditSuppressionLifted: an admin let a suppressed address receive
	// email again.
	AuditSuppressionLifted AuditAction = "suppression.lifted"
	// AuditSuppressionsImported: an admin imported the mail provider's
	// bounce and complaint lists.
	AuditSuppressionsImported AuditAction = "suppressions.imported"
	// AuditTemplateMigrated: the migration to safe templates converted a
	// help center's template, or reset it to the default (details say
	// which, why, and hold the old text).
	AuditTemplateMigrated AuditAction = "email_template.migrated"
)

// ActorSystem is the actor of what timers and processes do on their own.
const ActorSystem = "system"

// ActorUnknown is the actor of a change asked for by a caller of an older
// version, whose message named nobody (a signal without an actor).
const ActorUnknown = "unknown"

// KeyActor is the audit actor of an API key.
func KeyActor(keyID int64) string { return "api_key:" + strconv.FormatInt(keyID, 10) }

// CustomerActor is the audit actor of a customer acting on the portal.
func CustomerActor(accountID int64) string { return "customer:" + strconv.FormatInt(accountID, 10) }

// InvitationTarget names an invitation, whose ID is a UUID, as a target.
func InvitationTarget(id string) string { return "invitation:" + id }

// BulkJobTarget names a bulk job, whose ID is a UUID, as a target.
func BulkJobTarget(id string) string { return "bulk_job:" + id }

// Target names what an audit event is about: kind and ID, never a name or
// an address, so the trail survives a person's erasure whole.
func Target(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }
