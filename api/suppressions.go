package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

// SuppressionSource reads the mail provider's own bounce and complaint
// lists (mail.Mailgun); the outbox driver has none.
type SuppressionSource interface {
	SuppressionLists(ctx context.Context) ([]mail.SuppressedAddress, error)
}

// suppressionView is an address the installation sends nothing to.
type suppressionView struct {
	ID        int64                      `json:"id"`
	Email     string                     `json:"email"`
	Reason    portal.UndeliverableReason `json:"reason"`
	Source    string                     `json:"source"`
	Detail    string                     `json:"detail"`
	CreatedAt time.Time                  `json:"created_at"`
	LiftedAt  *time.Time                 `json:"lifted_at"`
	LiftedBy  *string                    `json:"lifted_by"`
}

func viewSuppression(s *store.Suppression) suppressionView {
	return suppressionView{ID: s.ID, Email: s.Email, Reason: s.Reason, Source: s.Source, Detail: s.Detail,
		CreatedAt: s.CreatedAt, LiftedAt: s.LiftedAt, LiftedBy: s.LiftedBy}
}

// listSuppressions pages through the suppressions in force by address;
// ?email= finds one address's.
func (s *Server) listSuppressions(c *gin.Context) {
	email := ""
	if raw := c.Query("email"); raw != "" {
		norm, ok := portal.NormalizeEmail(raw)
		if !ok {
			invalidField(c, "email", "email is not an email address")
			return
		}
		email = norm
	}
	page, err := s.Store.ListSuppressions(c.Request.Context(), email, c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "suppression")
		return
	}
	out := list[suppressionView]{Items: []suppressionView{}, NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items = append(out.Items, viewSuppression(&page.Items[i]))
	}
	c.JSON(http.StatusOK, out)
}

// liftSuppression lets a suppressed address receive email again; the
// audit trail records who lifted it, in the same transaction. Its
// undeliverable invitations stay closed: a bulk re-invite
// (status undeliverable) or a resend invites them again.
func (s *Server) liftSuppression(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusNotFound, "suppression_not_found", "no suppression in force has this id")
		return
	}
	sup, err := s.Store.LiftSuppressionByID(c.Request.Context(), id, event(c, portal.AuditSuppressionLifted, "", nil, nil))
	if err != nil {
		s.storeError(c, err, "suppression")
		return
	}
	c.JSON(http.StatusOK, viewSuppression(sup))
}

// importSuppressions suppresses every address on the mail provider's
// bounce and complaint lists that is not suppressed here yet; an address
// an admin lifted stays lifted. Only the Mailgun driver has such lists.
func (s *Server) importSuppressions(c *gin.Context) {
	if s.Suppressions == nil {
		abort(c, http.StatusConflict, "import_unavailable",
			"the mail driver keeps no bounce or complaint lists to import; only MAIL_DRIVER=mailgun does")
		return
	}
	listed, err := s.Suppressions.SuppressionLists(c.Request.Context())
	if err != nil {
		s.Logger.Warn("reading the mail provider's suppression lists", "error", err)
		abort(c, http.StatusBadGateway, "mail_provider_error", "the mail provider's lists could not be read; try again")
		return
	}
	in := make([]store.ImportedSuppression, 0, len(listed))
	invalid := 0
	for _, a := range listed {
		addr, ok := portal.NormalizeEmail(a.Address)
		if !ok {
			invalid++
			continue
		}
		reason := portal.UndeliverableBounced
		if a.Complaint {
			reason = portal.UndeliverableComplained
		}
		detail := a.Detail
		if len(detail) > 500 {
			detail = detail[:500]
		}
		in = append(in, store.ImportedSuppression{Email: addr, Reason: reason, Detail: detail})
	}
	res, err := s.Store.ImportSuppressions(c.Request.Context(), in, event(c, portal.AuditSuppressionsImported, "suppressions", nil, nil))
	if err != nil {
		s.internal(c, err)
		return
	}
	for reason, n := range res.AddedBy {
		metrics.Suppressions.WithLabelValues(store.SuppressedByImport, string(reason)).Add(float64(n))
	}
	c.JSON(http.StatusOK, gin.H{"listed": len(listed), "added": res.Added, "already": res.Already, "lifted": res.Lifted, "invalid": invalid})
}
