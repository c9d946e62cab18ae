package store

import (
	"context"

	"github.com/portalaccess/portal"
)

// Standing is what the database knows about a contact that decides
// whether they can be invited to a help center: their access there (empty
// when they have none), whether their address is suppressed (as
// SuppressionFor reads it) and whether they declined the help center.
type Standing struct {
	Access     portal.AccessStatus
	Suppressed bool
	Declined   bool
}

// StandingOf reads the contact's standing with hc in one statement: every
// invite asks all three before it starts a workflow.
func (s *Store) StandingOf(ctx context.Context, ct *Contact, hc *HelpCenter) (Standing, error) {
	var st Standing
	var access *portal.AccessStatus
	err := s.DB.NewRaw(`SELECT
			(SELECT pa.status FROM portal_access pa JOIN portal_accounts a ON a.id = pa.account_id
				WHERE a.contact_id = ? AND a.scope = ? AND pa.help_center_id = ?),
			EXISTS (SELECT 1 FROM suppressions WHERE email_key = ? AND lifted_at IS NULL),
			EXISTS (SELECT 1 FROM invitation_declines WHERE help_center_id = ? AND contact_id = ?)`,
		ct.ID, hc.AccountScope(), hc.ID, portal.EmailKey(ct.EmailAddress()), hc.ID, ct.ID).
		Scan(ctx, &access, &st.Suppressed, &st.Declined)
	if access != nil {
		st.Access = *access
	}
	return st, translate(err, "standing of contact "+itoa(ct.ID))
}
