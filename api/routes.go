package api

import (
	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
)

// Route is one route of the admin API and the role it needs; the role
// matrix lives here and nowhere else (README, "Roles and API keys",
// shows it, and a test holds the two together).
type Route struct {
	Method string
	// Path is relative to /api/v1, in gin's syntax (:param).
	Path string
	// Role is the least role that may call it: agent routes take any key.
	Role portal.Role
	// Unscoped routes refuse keys limited to some help centers.
	Unscoped bool
	handle   gin.HandlerFunc
}

// routes is the role matrix. Agents run the helpdesk day to day
// (inviting, reading, editing contacts and users); admins decide
// (settings, approvals, keys, the audit trail, erasure).
func (s *Server) routes() []Route {
	agent, admin := portal.RoleAgent, portal.RoleAdmin
	return []Route{
		{"POST", "/help-centers", admin, true, s.createHelpCenter},
		{"GET", "/help-centers", agent, false, s.listHelpCenters},
		{"GET", "/help-centers/:slug", agent, false, s.getHelpCenter},
		{"PATCH", "/help-centers/:slug", admin, false, s.updateHelpCenter},
		{"POST", "/help-centers/:slug/email-templates/preview", agent, false, s.previewTemplate},
		{"POST", "/help-centers/:slug/email-templates/send-test", admin, false, s.sendTestTemplate},
		{"POST", "/help-centers/:slug/invitations", agent, false, s.createInvitation},
		{"GET", "/help-centers/:slug/invitations", agent, false, s.listInvitations},
		{"GET", "/help-centers/:slug/users", agent, false, s.listUsers},
		{"GET", "/help-centers/:slug/users/export.csv", agent, false, s.exportUsers},
		{"POST", "/help-centers/:slug/invitations/bulk", agent, false, s.createBulkInvitation},
		{"POST", "/help-centers/:slug/invitations/bulk-resend", agent, false, s.createBulkResend},
		{"GET", "/bulk-invitations/:id", agent, false, s.getBulkInvitation},
		{"GET", "/bulk-invitations/:id/results.csv", agent, false, s.bulkResultsCSV},
		{"POST", "/bulk-invitations/:id/cancel", agent, false, s.cancelBulkInvitation},
		{"POST", "/contacts/import", agent, false, s.importContacts},
		{"POST", "/contacts", agent, false, s.createContact},
		{"GET", "/contacts", agent, false, s.listContacts},
		{"GET", "/contacts/:id", agent, false, s.getContact},
		{"PATCH", "/contacts/:id", agent, false, s.updateContact},
		{"DELETE", "/contacts/:id", admin, true, s.eraseContact},
		{"GET", "/invitations/:id", agent, false, s.getInvitation},
		{"POST", "/invitations/:id/resend", agent, false, s.resendInvitation},
		{"POST", "/invitations/:id/revoke", agent, false, s.revokeInvitation},
		{"GET", "/api-keys", admin, true, s.listAPIKeys},
		{"POST", "/api-keys", admin, true, s.createAPIKey},
		{"DELETE", "/api-keys/:id", admin, true, s.revokeAPIKey},
		{"GET", "/suppressions", admin, true, s.listSuppressions},
		{"DELETE", "/suppressions/:id", admin, true, s.liftSuppression},
		{"POST", "/suppressions/import", admin, true, s.importSuppressions},
		{"GET", "/audit-events", admin, false, s.listAuditEvents},
		{"GET", "/audit-events.csv", admin, false, s.auditEventsCSV},
		{"POST", "/departments", admin, false, s.createDepartment},
		{"GET", "/departments", agent, false, s.listDepartments},
		{"GET", "/departments/:id", agent, false, s.getDepartment},
		{"PATCH", "/departments/:id", admin, false, s.updateDepartment},
		{"POST", "/tickets", agent, false, s.createTicket},
		{"PATCH", "/help-centers/:slug/users/:id", agent, false, s.updateUser},
		{"POST", "/help-centers/:slug/users/:id/approve", admin, false, s.approveUser},
		{"POST", "/help-centers/:slug/users/:id/reject", admin, false, s.rejectUser},
		{"POST", "/help-centers/:slug/users/:id/deactivate", agent, false, s.deactivateUser},
		{"POST", "/help-centers/:slug/users/:id/reactivate", agent, false, s.reactivateUser},
		{"POST", "/help-centers/:slug/users/deactivate", agent, false, s.deactivateUsers},
		{"POST", "/help-centers/:slug/users/reactivate", agent, false, s.reactivateUsers},
	}
}

// Routes lists the admin API's routes with the role each needs.
func (s *Server) Routes() []Route { return s.routes() }
