package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// check lists the invitation workflows that closed as Failed and, with
// -restart, invites their contacts again.
func check(ctx context.Context, logger *slog.Logger, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	restart := fs.Bool("restart", false, "invite the contacts of restartable failed invitations again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	svc, err := open(ctx, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
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
		if _, err := fmt.Fprintf(w, "%s\trun %s\tfailed %s\t%s\n", f.WorkflowID, f.RunID, f.ClosedAt.Format(time.RFC3339), state); err != nil {
			return err
		}
		if !*restart || !f.Restartable() {
			continue
		}
		st, err := svc.RestartInvitation(ctx, f)
		if err != nil {
			return fmt.Errorf("restart %s: %w", f.WorkflowID, err)
		}
		restarted++
		if _, err := fmt.Fprintf(w, "\trestarted as invitation %s (%s)\n", st.InvitationID, st.Status); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "%d failed invitations, %d restarted\n", len(failed), restarted)
	return err
}
