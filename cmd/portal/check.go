package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/store"
)

// errInconsistent makes the command exit 1 when the check found anything,
// so scripts and the fault-injection suite can tell a clean state.
var errInconsistent = errors.New("inconsistencies found")

// failedKind is the finding kind of an invitation workflow that closed as
// Failed and is left to restart.
const failedKind = "failed_invitation_workflow"

// check lists the invitation workflows that closed as Failed and, with
// -restart, invites their contacts again; then it checks Postgres against
// itself and against Temporal and reports every inconsistency.
func check(ctx context.Context, logger *slog.Logger, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	restart := fs.Bool("restart", false, "invite the contacts of restartable failed invitations again")
	asJSON := fs.Bool("json", false, "write one JSON object a line instead of text")
	grace := fs.Duration("grace", time.Hour, "how long a pending invitation may go without an invite email")
	if err := fs.Parse(args); err != nil {
		return err
	}
	svc, err := open(ctx, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	r := &report{w: w, json: *asJSON}
	if err := checkFailed(ctx, svc, r, *restart); err != nil {
		return err
	}
	if err := svc.CheckConsistency(ctx, *grace, r.finding); err != nil {
		return err
	}
	if err := r.summary(); err != nil {
		return err
	}
	if r.found > 0 {
		return fmt.Errorf("%w: %d", errInconsistent, r.found)
	}
	return nil
}

// checkFailed lists the failed invitation workflows, restarting them when
// asked; one left to restart counts as a finding.
func checkFailed(ctx context.Context, svc *service.Service, r *report, restart bool) error {
	failed, err := svc.FailedInvitations(ctx)
	if err != nil {
		return err
	}
	restarted := 0
	for _, f := range failed {
		state := "no record"
		switch {
		case f.Superseded:
			state = "invited again since"
		case f.Recorded:
			state = "recorded " + string(f.Status)
		}
		finding := store.Finding{Kind: failedKind, IDs: []string{f.WorkflowID, f.RunID},
			Detail: fmt.Sprintf("failed %s, %s", f.ClosedAt.Format(time.RFC3339), state)}
		if !restart || !f.Restartable() {
			if f.Restartable() {
				if err := r.finding(finding); err != nil {
					return err
				}
			} else if err := r.note(finding); err != nil {
				return err
			}
			continue
		}
		st, err := svc.RestartInvitation(ctx, f)
		if err != nil {
			return fmt.Errorf("restart %s: %w", f.WorkflowID, err)
		}
		restarted++
		finding.Detail += fmt.Sprintf(", restarted as invitation %s (%s)", st.InvitationID, st.Status)
		if err := r.note(finding); err != nil {
			return err
		}
	}
	r.failed, r.restarted = len(failed), restarted
	return nil
}

// report writes findings as they come: a tab-separated line each, or a
// JSON object each with -json; nothing is held in memory but the counts.
type report struct {
	w                 io.Writer
	json              bool
	found             int
	failed, restarted int
}

// finding writes an inconsistency and counts it.
func (r *report) finding(f store.Finding) error {
	r.found++
	return r.write(f, true)
}

// note writes a failed workflow that needs nothing more: restarted now,
// or superseded.
func (r *report) note(f store.Finding) error {
	return r.write(f, false)
}

func (r *report) write(f store.Finding, inconsistent bool) error {
	if r.json {
		return json.NewEncoder(r.w).Encode(struct {
			store.Finding
			Inconsistent bool `json:"inconsistent"`
		}{f, inconsistent})
	}
	hc := "-"
	if f.HelpCenterID != 0 {
		hc = fmt.Sprintf("help center %d", f.HelpCenterID)
	}
	_, err := fmt.Fprintf(r.w, "%s\t%s\t%s\t%s\n", f.Kind, hc, strings.Join(f.IDs, " "), f.Detail)
	return err
}

// summary ends the text report with the counts; JSON has none, so every
// line is a finding.
func (r *report) summary() error {
	if r.json {
		return nil
	}
	_, err := fmt.Fprintf(r.w, "%d failed invitations, %d restarted; %d inconsistencies\n", r.failed, r.restarted, r.found)
	return err
}
