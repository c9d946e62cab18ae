package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/portalaccess/portal/testenv"
)

// workerProcess runs `portal worker` as its own process, so a test can
// kill it the hard way.
type workerProcess struct {
	t   *testing.T
	bin string
	env []string
	cmd *exec.Cmd
	log *os.File
}

// splitPortal builds the portal binary and starts an API without a worker,
// with settings on top of the test defaults. It returns the API (stopped
// when the test ends) and a worker process for it, not yet started, whose
// environment is the API's with vars added and whose output goes to
// worker.log in the test's directory.
func splitPortal(t *testing.T, settings map[string]string, vars ...string) (*testenv.Portal, *workerProcess) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "portal")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/portalaccess/portal/cmd/portal").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	no := false
	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress, testenv.Options{Worker: &no, Env: settings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	log, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), vars...)
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	return p, &workerProcess{t: t, bin: bin, env: env, log: log}
}

// with is another worker like w, with vars added to its environment.
func (w *workerProcess) with(vars ...string) *workerProcess {
	return &workerProcess{t: w.t, bin: w.bin, env: append(w.env[:len(w.env):len(w.env)], vars...), log: w.log}
}

func (w *workerProcess) start() {
	w.t.Helper()
	w.cmd = exec.CommandContext(w.t.Context(), w.bin, "worker")
	w.cmd.Env = w.env
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *workerProcess) kill() {
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	_ = w.cmd.Wait()
}
