package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/service"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

const devTemporalAddress = "127.0.0.1:7233"

// dev runs the whole portal on local defaults. Every variable the caller
// set wins over these defaults.
func dev(ctx context.Context, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	temporalCLI := fs.String("temporal-cli", "temporal", "Temporal CLI used to start a dev server")
	dataDir := fs.String("data", ".data", "directory for the dev server's database and local secrets")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return err
	}
	secret, err := localSecret(filepath.Join(*dataDir, "token-secret"), "")
	if err != nil {
		return err
	}
	// The outbox signs its simulated webhooks with this key, and the
	// webhook endpoint verifies them with it, as it would Mailgun's.
	signingKey, err := localSecret(filepath.Join(*dataDir, "webhook-signing-key"), "")
	if err != nil {
		return err
	}
	defaults := map[string]string{"MAIL_DRIVER": "outbox", "TOKEN_SECRET": secret, "MAILGUN_WEBHOOK_SIGNING_KEY": signingKey}
	adminKey, keySet := os.LookupEnv("PORTAL_ADMIN_API_KEY")
	if !keySet {
		if adminKey, err = localSecret(filepath.Join(*dataDir, "admin-api-key"), "dev_"); err != nil {
			return err
		}
		defaults["PORTAL_ADMIN_API_KEY"] = adminKey
	}
	cfg, err := config.Load(ctx, envconfig.MultiLookuper(envconfig.OsLookuper(), envconfig.MapLookuper(defaults)))
	if err != nil {
		return err
	}

	if _, set := os.LookupEnv("TEMPORAL_ADDRESS"); !set {
		cfg.TemporalAddress = devTemporalAddress
		server, err := startTemporal(ctx, logger, *temporalCLI, *dataDir)
		if err != nil {
			return err
		}
		if server != nil {
			defer stopProcess(server)
		}
	}
	if err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	svc, err := service.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.RegisterSearchAttributes(ctx); err != nil {
		return err
	}
	if err := svc.Migrate(ctx); err != nil {
		return err
	}
	if err := svc.Bootstrap(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, `
  Portal is starting (development mode)
    API            http://%s/api/v1   (OpenAPI: /api/openapi.yaml)
    Public URL     %s
    Outbox         %s/dev/outbox
    Temporal UI    http://localhost:8233 (when the dev server is ours)
    Admin API key  %s

`, displayAddr(cfg.HTTPAddr), cfg.PublicBaseURL, cfg.PublicBaseURL, adminKey)
	return svc.Run(ctx, true, true)
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "localhost" + addr
	}
	return addr
}

// localSecret reads a secret kept in path, creating it on first use, so a
// development installation keeps its links and admin key across restarts.
func localSecret(path, prefix string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 { //nolint:gosec // G304: path is under the development data directory, not input
		return strings.TrimSpace(string(b)), nil
	}
	v := prefix + credentials.Random()
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", err
	}
	return v, nil
}

// startTemporal starts a Temporal dev server with its database under
// dataDir, unless one already answers on the dev address (then it is used
// as it is, and nil is returned).
func startTemporal(ctx context.Context, logger *slog.Logger, cli, dataDir string) (*exec.Cmd, error) {
	if temporalHealthy(ctx) {
		logger.Info("using the Temporal server already running", "address", devTemporalAddress)
		return nil, nil
	}
	if conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", devTemporalAddress); err == nil {
		return nil, errors.Join(fmt.Errorf("port %s is taken by something that is not a Temporal server; set TEMPORAL_ADDRESS", devTemporalAddress), conn.Close())
	}
	db := filepath.Join(dataDir, "temporal.db")
	onePartition, err := onePartitionDatabase(db)
	if err != nil {
		return nil, err
	}
	if !onePartition {
		logger.Info("the dev server's database is older than one partition a task queue and keeps four; remove "+db+"* to start afresh with one", "database", db)
	}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", "7233", "--ui-port", "8233",
		"--db-filename", db,
		"--log-level", "warn"}
	args = append(args, config.DevServerArgs(onePartition)...)
	for _, k := range workflows.SearchAttributes() {
		args = append(args, "--search-attribute", k.GetName()+"=Keyword")
	}
	cmd := exec.Command(cli, args...) //nolint:gosec,noctx // G204: the CLI is the one make run built; it is stopped with SIGTERM by stopProcess, not killed by a context
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// The dev server must not outlive us, even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal dev server with %q (build it with `make temporal`): %w", cli, err)
	}
	logger.Info("Temporal dev server starting", "address", devTemporalAddress, "ui", "http://localhost:8233")
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if temporalHealthy(ctx) {
			if !onePartition {
				return cmd, nil
			}
			// Only now that the server made its database with one
			// partition does the marker say so.
			if err := os.WriteFile(db+onePartitionMarker, nil, 0o600); err != nil {
				stopProcess(cmd)
				return nil, err
			}
			return cmd, nil
		}
		if ctx.Err() != nil {
			stopProcess(cmd)
			return nil, ctx.Err()
		}
		time.Sleep(500 * time.Millisecond)
	}
	stopProcess(cmd)
	return nil, errors.New("the Temporal dev server did not become ready within 90s")
}

// onePartitionMarker, beside the dev server's database, says that the
// database was made with one partition a task queue.
const onePartitionMarker = ".one-partition"

// onePartitionDatabase reports whether the dev server's database at db
// runs with one partition a task queue (config.DevServerOnePartition): a
// new one does, and so does one with the marker that startTemporal leaves
// once the server made it. One made before, without the marker, keeps
// four, since tasks waiting in three of them would never be read again.
func onePartitionDatabase(db string) (bool, error) {
	if _, err := os.Stat(db + onePartitionMarker); err == nil {
		return true, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	_, err := os.Stat(db)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	return false, err
}

func temporalHealthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: devTemporalAddress, Logger: quietLogger{}})
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err == nil
}

func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
	}
}

// quietLogger silences the client's connection attempts while probing.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
