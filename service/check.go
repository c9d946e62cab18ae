package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// FailedInvitation is an invitation workflow that closed as Failed. Since
// outages are retried, only a business error fails one; older versions
// also failed on an outage of Postgres, and left the contact without a
// record or an email.
type FailedInvitation struct {
	WorkflowID string
	RunID      string
	HelpCenter string
	ContactID  int64
	ClosedAt   time.Time
	// Recorded: Postgres has the invitation, in Status.
	Recorded bool
	Status   portal.InvitationStatus
	// Superseded: a later run holds the workflow ID (someone invited the
	// contact again); there is nothing to restart.
	Superseded bool
}

// Restartable says whether RestartInvitation should start it again.
func (f FailedInvitation) Restartable() bool {
	return !f.Superseded && (!f.Recorded || f.Status == portal.InvitationPending)
}

// FailedInvitations lists the invitation workflows that closed as Failed,
// newest first.
func (s *Service) FailedInvitations(ctx context.Context) ([]FailedInvitation, error) {
	var out []FailedInvitation
	var token []byte
	for {
		page, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         "WorkflowType = 'Invitation' AND ExecutionStatus = 'Failed'",
			NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list failed invitations: %w", err)
		}
		for _, e := range page.Executions {
			f := FailedInvitation{WorkflowID: e.Execution.WorkflowId, RunID: e.Execution.RunId, ClosedAt: e.CloseTime.AsTime()}
			var ok bool
			if f.HelpCenter, f.ContactID, ok = parseInvitationWorkflowID(f.WorkflowID); !ok {
				continue
			}
			inv, err := s.Store.InvitationByID(ctx, f.RunID)
			switch {
			case err == nil:
				f.Recorded, f.Status = true, inv.Status
			case !errors.Is(err, store.ErrNotFound):
				return nil, err
			}
			d, err := s.Temporal.DescribeWorkflow(ctx, f.WorkflowID, "")
			if err != nil {
				return nil, fmt.Errorf("describe %s: %w", f.WorkflowID, err)
			}
			f.Superseded = d.RawResponse.WorkflowExecutionInfo.GetExecution().GetRunId() != f.RunID
			out = append(out, f)
		}
		if token = page.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

// RestartInvitation invites the contact again, as the API would: a new
// invitation with the help center's policy of today. A record the failed
// run left pending is expired first, since no workflow drives it.
func (s *Service) RestartInvitation(ctx context.Context, f FailedInvitation) (workflows.InvitationState, error) {
	if !f.Restartable() {
		return workflows.InvitationState{}, fmt.Errorf("%s: nothing to restart", f.WorkflowID)
	}
	hc, err := s.Store.HelpCenterBySlug(ctx, f.HelpCenter)
	if err != nil {
		return workflows.InvitationState{}, fmt.Errorf("help center %s: %w", f.HelpCenter, err)
	}
	if f.Recorded {
		if err := s.Store.CloseInvitation(ctx, f.RunID, portal.InvitationExpired); err != nil {
			return workflows.InvitationState{}, err
		}
	}
	return s.Starter().Invitation(ctx, hc, f.ContactID, portal.ActorSystem)
}

// parseInvitationWorkflowID reads invitation/{slug}/{contact-id}.
func parseInvitationWorkflowID(id string) (string, int64, bool) {
	rest, ok := strings.CutPrefix(id, "invitation/")
	i := strings.LastIndex(rest, "/")
	if !ok || i <= 0 {
		return "", 0, false
	}
	contact, err := strconv.ParseInt(rest[i+1:], 10, 64)
	return rest[:i], contact, err == nil
}
