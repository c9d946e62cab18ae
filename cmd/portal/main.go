// Command portal runs the customer-portal access service.
//
//	portal serve     API and worker in one process (the default)
//	portal api       the HTTP API only
//	portal worker    the Temporal worker only
//	portal migrate   apply database migrations and exit
//	portal dev       everything on local defaults: a Temporal dev server,
//	                 the database, migrations, outbox mail and an admin key
//	portal version   the build: module version, commit and its time, Go release
//	portal check [-restart] [-json] [-grace 1h]
//	                 list invitation workflows that closed as Failed (an
//	                 older version failed them on an outage); -restart
//	                 invites their contacts again. Then check Postgres
//	                 against itself and Temporal (pending invitations
//	                 whose run is gone, two pending for one contact, a
//	                 link emailed twice or a pending one not emailed
//	                 after -grace, an accept lost half-way or applied
//	                 twice, active access
//	                 nothing granted, bulk counters that don't add up),
//	                 a line a finding (-json: one object a line); exit 1
//	                 when anything is found
//	portal healthcheck
//	                 exit 0 when the running server's /healthz answers 200
//	                 (the image's health check: it has no shell)
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/portalaccess/portal/buildinfo"
	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/service"
)

func main() {
	cmd := "serve"
	args := os.Args[1:]
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	switch cmd {
	case "serve", "api", "worker", "migrate", "dev":
		logger.Info("portal starting", "command", cmd, "build", buildinfo.Read())
	}
	var err error
	switch cmd {
	case "version":
		err = printVersion(os.Stdout, buildinfo.Read())
	case "healthcheck":
		err = healthcheck(ctx, args)
	case "check":
		err = check(ctx, logger, os.Stdout, args)
	case "serve":
		err = serve(ctx, logger, true, true)
	case "api":
		err = serve(ctx, logger, true, false)
	case "worker":
		err = serve(ctx, logger, false, true)
	case "migrate":
		err = migrate(ctx, logger)
	case "dev":
		err = dev(ctx, logger, args)
	default:
		err = fmt.Errorf("unknown command %q (want serve, api, worker, migrate, dev, check, version or healthcheck)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

// printVersion writes the build's description, one field a line.
func printVersion(w io.Writer, info buildinfo.Info) error {
	commit, commitTime := info.Commit, info.CommitTime
	if commit == "" {
		commit, commitTime = "(not recorded)", "(not recorded)"
	}
	_, err := fmt.Fprintf(w, "version:     %s\ncommit:      %s\ncommit time: %s\nmodified:    %t\ngo:          %s\n",
		info.Version, commit, commitTime, info.Modified, info.GoVersion)
	return err
}

// open loads the configuration from the environment and connects.
func open(ctx context.Context, logger *slog.Logger) (*service.Service, error) {
	cfg, err := config.Load(ctx, nil)
	if err != nil {
		return nil, err
	}
	return service.New(ctx, cfg, logger)
}

func serve(ctx context.Context, logger *slog.Logger, httpOn, workerOn bool) error {
	svc, err := open(ctx, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.Bootstrap(ctx); err != nil {
		return fmt.Errorf("bootstrap admin key: %w", err)
	}
	return svc.Run(ctx, httpOn, workerOn)
}

func migrate(ctx context.Context, logger *slog.Logger) error {
	svc, err := open(ctx, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	return svc.Migrate(ctx)
}
