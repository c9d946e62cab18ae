package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/workflows"
)

// devServer is a Temporal dev server run from the CLI binary on a file
// database, so it can be killed and started again with its state.
type devServer struct {
	t       *testing.T
	address string
	dbFile  string
	log     *os.File
	cmd     *exec.Cmd
}

func startDevServer(t *testing.T, dir string) *devServer {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, "temporal.log"))
	if err != nil {
		t.Fatal(err)
	}
	s := &devServer{t: t, address: freeAddress(t), dbFile: filepath.Join(dir, "temporal.db"), log: log}
	s.start()
	t.Cleanup(func() {
		s.kill()
		_ = log.Close()
	})
	return s
}

// start runs the server and waits until it answers.
func (s *devServer) start() {
	s.t.Helper()
	host, port, _ := net.SplitHostPort(s.address)
	args := []string{"server", "start-dev", "--headless", "--ip", host, "--port", port,
		"--http-port", strconv.Itoa(freePort(s.t)), "--metrics-port", strconv.Itoa(freePort(s.t)),
		"--db-filename", s.dbFile, "--log-level", "error"}
	for _, k := range workflows.SearchAttributes() {
		args = append(args, "--search-attribute", k.GetName()+"=Keyword")
	}
	s.cmd = exec.Command(os.Getenv("TEMPORAL_CLI"), args...) //nolint:gosec,noctx // G204: the pinned CLI make faults built; it is killed by the test, not by a context
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start Temporal dev server: %v", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !s.healthy() {
		if time.Now().After(deadline) {
			s.t.Fatalf("the Temporal dev server did not answer on %s within 2 minutes (log: %s)", s.address, s.log.Name())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// kill stops the server the hard way: SIGKILL, no chance to flush.
func (s *devServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

func (s *devServer) healthy() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: s.address, Logger: quiet{}})
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err == nil
}

// freePort asks the kernel for a port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func freeAddress(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
